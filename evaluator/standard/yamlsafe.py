"""Load the YAML (and JSON) people actually write, safely and precisely.

PyYAML's `safe_load` is YAML 1.1: `no` becomes False, `010` becomes 8, `1.0`
becomes a float, duplicate keys silently keep the last value and aliases can
expand exponentially. Here the parser only *composes* nodes (with a loader that
refuses anchors, aliases and deep nesting as the events arrive), and we build
Python values ourselves with YAML 1.2 core-schema rules:

* `true`/`false` (any case) are the only booleans; `yes/no/on/off` stay text;
* `null`, `~` and empty are None;
* `123`, `+1`, `010` (= 10), `0o17`, `0x1F` are int;
* `1.0`, `.5`, `1e3` are `decimal.Decimal` built from the source text, never
  float; `.inf`/`.nan` are refused;
* `2026-01-01` is `datetime.date`, `2026-01-01 09:30:00` is `datetime.datetime`;
  impossible dates are errors;
* mapping keys must be scalars and are kept as their *text*: `1: x` gives the
  key "1", `true: x` gives "true" (keys are names, never numbers);
* quoted and block scalars are always text.

Every problem is an `Issue(file, line, col, $.json.path, message)`; all
construction problems of a document are collected into one `InputError`.
"""
from __future__ import annotations

import bisect
import datetime as _dt
import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, ScalarEvent, StreamEndEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from ..errors import InputError, Issue, json_path

__all__ = ["Locator", "load_yaml", "load_yaml_text", "load_json", "load_json_text", "load_document"]

MAX_DEPTH = 100  # far beyond any real standard; stops stack exhaustion from `[[[[...` bombs

_YAML = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ = _YAML + "str", _YAML + "map", _YAML + "seq"
_PLAIN = "agrade:plain"  # our marker for untagged plain scalars, resolved in _resolve_plain
_SCALAR_TAGS = {_YAML + t for t in ("str", "int", "float", "bool", "null", "timestamp")}


class Locator:
    """Maps JSON paths of a loaded document to (line, col), both 1-based.

    Mapping members point at their key (where the member is defined), sequence
    items at the item, the root at the first node.
    """

    def __init__(self, filename: str, positions: dict[tuple, tuple[int, int]] | None = None):
        self.filename = filename
        self._pos = positions if positions is not None else {}

    def where(self, path: Sequence[str | int]) -> tuple[int, int]:
        """(line, col) of the node at `path`, else of its nearest existing ancestor."""
        parts = tuple(path)
        for n in range(len(parts), -1, -1):
            pos = self._pos.get(parts[:n])
            if pos is not None:
                return pos
        return (1, 1)

    def issue(self, path: Sequence[str | int], message: str) -> Issue:
        line, col = self.where(path)
        return Issue(self.filename, line, col, json_path(list(path)), message)

    def __repr__(self) -> str:
        return f"Locator({self.filename!r}, {len(self._pos)} positions)"


class _Refused(Exception):
    """Raised inside the composer; turned into an Issue with the loader's path."""

    def __init__(self, mark, path, message):
        super().__init__(message)
        self.mark, self.path, self.message = mark, path, message


class _Resolver(BaseResolver):
    # No implicit resolvers at all: plain scalars get a marker and are resolved
    # by our YAML 1.2 rules; quoted/block scalars fall back to str.
    def resolve(self, kind, value, implicit):
        if kind is ScalarNode and implicit[0]:
            return _PLAIN
        return super().resolve(kind, value, implicit)


class _Loader(Reader, Scanner, Parser, Composer, _Resolver):
    def __init__(self, text: str):
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _Resolver.__init__(self)
        self._paths: list[tuple] = [()]

    def compose_node(self, parent, index):
        # Track the JSON path being composed so refusals can name it.
        path = self._paths[-1]
        if isinstance(parent, SequenceNode):
            path += (index,)
        elif isinstance(parent, MappingNode) and isinstance(index, ScalarNode):
            path += (index.value,)
        event = self.peek_event()
        # Refuse before the composer registers or looks up anything: no alias
        # is ever followed, so "billion laughs" costs one event.
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(event.start_mark, path, "anchors and aliases are not allowed")
        if len(path) > MAX_DEPTH:
            raise _Refused(event.start_mark, path, f"nesting deeper than {MAX_DEPTH} levels is not allowed")
        if isinstance(event, ScalarEvent) and event.tag == "!":
            event.tag = _STR  # YAML's non-specific tag on a scalar means text
        self._paths.append(path)
        try:
            return super().compose_node(parent, index)
        finally:
            self._paths.pop()


# --- scalar resolution (YAML 1.2 core schema, plus dates) -------------------

_A = re.ASCII  # `\d` must not accept full-width or other Unicode digits
_NULL = re.compile(r"(?:~|null|Null|NULL|)", _A)
_BOOL = re.compile(r"(?i:true|false)", _A)
_INT = re.compile(r"[-+]?[0-9]+", _A)
_OCT = re.compile(r"0o[0-7]+", _A)
_HEX = re.compile(r"0x[0-9a-fA-F]+", _A)
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?", _A)
_NONFINITE = re.compile(r"[-+]?\.(?i:inf|nan)", _A)
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", _A)
_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]*))?(?:[ \t]*(Z|[-+][0-9]{1,2}(?::?[0-9]{2})?))?", _A)


class _ScalarError(ValueError):
    pass


def _resolve_plain(text: str) -> Any:
    if _NULL.fullmatch(text):
        return None
    if _BOOL.fullmatch(text):
        return text.lower() == "true"
    if _INT.fullmatch(text):
        return int(text)
    if _OCT.fullmatch(text):
        return int(text[2:], 8)
    if _HEX.fullmatch(text):
        return int(text[2:], 16)
    if _FLOAT.fullmatch(text):
        return Decimal(text)
    if _NONFINITE.fullmatch(text):
        raise _ScalarError(f"non-finite numbers are not allowed ('{text}')")
    if _DATE.fullmatch(text) or _DATETIME.fullmatch(text):
        return _timestamp(text)
    return text


def _timestamp(text: str) -> _dt.date | _dt.datetime:
    try:
        m = _DATE.fullmatch(text)
        if m:
            return _dt.date(*map(int, m.groups()))
        m = _DATETIME.fullmatch(text)
        if not m:
            raise ValueError("expected YYYY-MM-DD or YYYY-MM-DD hh:mm:ss")
        y, mo, d, h, mi, s, frac, tz = m.groups()
        micro = int((frac or "0")[:6].ljust(6, "0"))
        tzinfo = None
        if tz:
            tzinfo = _dt.timezone.utc
            if tz != "Z":
                sign, rest = (-1 if tz[0] == "-" else 1), tz[1:]
                hh, mm = rest.split(":") if ":" in rest else (rest[:-2], rest[-2:]) if len(rest) > 2 else (rest, "0")
                tzinfo = _dt.timezone(sign * _dt.timedelta(hours=int(hh), minutes=int(mm)))
        return _dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, tzinfo)
    except ValueError as exc:
        raise _ScalarError(f"invalid date '{text}': {exc}") from None


def _resolve_tagged(tag: str, text: str) -> Any:
    """An explicitly tagged scalar (`!!int "12"`): the text must fit the tag."""
    if tag == _STR:
        return text
    value = _resolve_plain(text)
    kind = tag[len(_YAML):]
    ok = {
        "null": value is None,
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, Decimal)) and not isinstance(value, bool),
        "timestamp": isinstance(value, _dt.date),
    }[kind]
    if not ok:
        raise _ScalarError(f"'{text}' is not a valid !!{kind}")
    return Decimal(value) if kind == "float" else value


def _text(node: ScalarNode) -> str:
    """A scalar's text. JSON-style `"\\ud840\\udc00"` escapes reach us as two
    surrogates (PyYAML decodes each \\u alone); join them, refuse lone ones."""
    text = node.value
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        try:
            text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        except UnicodeDecodeError:
            raise _ScalarError("invalid \\u escape: unpaired surrogate") from None
    return text


# --- building values from nodes ---------------------------------------------

def _pos(mark) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_YAML):] if tag.startswith(_YAML) else tag


class _Builder:
    def __init__(self, filename: str):
        self.filename = filename
        self.positions: dict[tuple, tuple[int, int]] = {}
        self.issues: list[Issue] = []

    def fail(self, node, path, message):
        line, col = _pos(node.start_mark)
        self.issues.append(Issue(self.filename, line, col, json_path(list(path)), message))

    def build(self, node, path: tuple) -> Any:
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                return self.fail(node, path, f"tag '{_show_tag(node.tag)}' is not allowed")
            out = []
            for i, item in enumerate(node.value):
                self.positions[path + (i,)] = _pos(item.start_mark)
                out.append(self.build(item, path + (i,)))
            return out
        if node.tag != _MAP:
            return self.fail(node, path, f"tag '{_show_tag(node.tag)}' is not allowed")
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for knode, vnode in node.value:
            if not isinstance(knode, ScalarNode):
                self.fail(knode, path, "mapping keys must be scalars (text, numbers or dates)")
                continue
            try:
                key = _text(knode)  # the key's text: keys are names, `1:` gives "1"
            except _ScalarError as exc:
                self.fail(knode, path, str(exc))
                continue
            if key == "<<" and knode.tag == _PLAIN:
                self.fail(knode, path, "merge keys ('<<') are not allowed (aliases are not allowed)")
                continue
            if knode.tag not in (_PLAIN, _STR):
                self.fail(knode, path + (key,), f"tag '{_show_tag(knode.tag)}' is not allowed on a key")
            if key in first_line:
                self.fail(knode, path + (key,), f"duplicate key '{key}' (first defined on line {first_line[key]})")
                continue
            first_line[key] = knode.start_mark.line + 1
            self.positions[path + (key,)] = _pos(knode.start_mark)
            out[key] = self.build(vnode, path + (key,))
        return out

    def scalar(self, node: ScalarNode, path: tuple) -> Any:
        try:
            if node.tag == _PLAIN:
                return _resolve_plain(node.value)
            if node.tag == _STR:
                return _text(node)
            if node.tag in _SCALAR_TAGS:
                return _resolve_tagged(node.tag, node.value)
            self.fail(node, path, f"tag '{_show_tag(node.tag)}' is not allowed")
        except _ScalarError as exc:
            self.fail(node, path, str(exc))
        return None


# --- entry points -------------------------------------------------------------

def _decode(data: bytes, filename: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(Issue(filename, line, col, "$",
                               f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at byte offset {exc.start});"
                               " save the file as UTF-8")) from None
    return text.removeprefix("\ufeff")


def _read(source: str | os.PathLike, filename: str | None) -> tuple[bytes, str]:
    name = filename or os.fspath(source)
    try:
        return Path(source).read_bytes(), name
    except OSError as exc:
        raise InputError(Issue(name, 0, 0, "$", f"cannot read file: {exc.strerror or exc}")) from None


def load_yaml(source: str | bytes | os.PathLike, *, filename: str | None = None) -> tuple[Any, Locator]:
    """Load one YAML document. `source` is a path (str/PathLike), or bytes holding the content."""
    if isinstance(source, bytes):
        name = filename or "<bytes>"
        return load_yaml_text(_decode(source, name), name)
    data, name = _read(source, filename)
    return load_yaml_text(_decode(data, name), name)


def load_yaml_text(text: str, filename: str = "<string>") -> tuple[Any, Locator]:
    text = text.removeprefix("\ufeff")
    loader = None
    try:
        loader = _Loader(text)  # the reader rejects control characters right here
        loader.get_event()  # StreamStart
        node = None if loader.check_event(StreamEndEvent) else loader.compose_document()
        if not loader.check_event(StreamEndEvent):
            raise _Refused(loader.peek_event().start_mark, (), "multiple documents in one file are not allowed")
    except _Refused as exc:
        line, col = _pos(exc.mark)
        raise InputError(Issue(filename, line, col, json_path(list(exc.path)), exc.message)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem and exc.context_mark:
            message += f" ({exc.context} on line {exc.context_mark.line + 1})"
        line, col = _pos(mark) if mark else (0, 0)
        raise InputError(Issue(filename, line, col, "$", f"YAML syntax error: {message}")) from None
    except yaml.reader.ReaderError as exc:
        before = text[:exc.position]
        line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        raise InputError(Issue(filename, line, col, "$",
                               f"character #x{exc.character:04x} is not allowed in YAML: {exc.reason}")) from None
    finally:
        if loader is not None:
            loader.dispose()
    builder = _Builder(filename)
    if node is None:
        return None, Locator(filename, {(): (1, 1)})
    builder.positions[()] = _pos(node.start_mark)
    value = builder.build(node, ())
    if builder.issues:
        raise InputError(sorted(builder.issues))
    return value, Locator(filename, builder.positions)


# --- JSON ------------------------------------------------------------------------

_WS = re.compile(r"[ \t\n\r]*")
_JNUM = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?", _A)


class _JsonBuilder(_Builder):
    """A tiny position-tracking parser for text `json.loads` already accepted.

    The stdlib parser gives exact syntax errors but no positions for values and
    no duplicate-key hook with positions; this one gives both.
    """

    def __init__(self, text: str, filename: str):
        super().__init__(filename)
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def at(self, i: int) -> tuple[int, int]:
        n = bisect.bisect_right(self.line_starts, i) - 1
        return (n + 1, i - self.line_starts[n] + 1)

    def error(self, i: int, path: tuple, message: str) -> None:
        line, col = self.at(i)
        self.issues.append(Issue(self.filename, line, col, json_path(list(path)), message))

    def value(self, i: int, path: tuple) -> tuple[Any, int]:
        s = self.text
        i = _WS.match(s, i).end()
        c = s[i]
        if len(path) > MAX_DEPTH:
            line, col = self.at(i)
            raise InputError(Issue(self.filename, line, col, json_path(list(path)),
                                   f"nesting deeper than {MAX_DEPTH} levels is not allowed"))
        if c == "{":
            out: dict[str, Any] = {}
            first_line: dict[str, int] = {}
            i = _WS.match(s, i + 1).end()
            while s[i] != "}":
                key, end = json.decoder.scanstring(s, i + 1)
                if key in first_line:
                    self.error(i, path + (key,), f"duplicate key '{key}' (first defined on line {first_line[key]})")
                else:
                    first_line[key] = self.at(i)[0]
                    self.positions[path + (key,)] = self.at(i)
                i = _WS.match(s, end).end() + 1  # past ':'
                val, i = self.value(i, path + (key,))
                out.setdefault(key, val)
                i = _WS.match(s, i).end()
                if s[i] == ",":
                    i = _WS.match(s, i + 1).end()
            return out, i + 1
        if c == "[":
            items: list[Any] = []
            i = _WS.match(s, i + 1).end()
            while s[i] != "]":
                self.positions[path + (len(items),)] = self.at(i)
                val, i = self.value(i, path + (len(items),))
                items.append(val)
                i = _WS.match(s, i).end()
                if s[i] == ",":
                    i = _WS.match(s, i + 1).end()
            return items, i + 1
        if c == '"':
            return json.decoder.scanstring(s, i + 1)
        for word, val in (("true", True), ("false", False), ("null", None)):
            if s.startswith(word, i):
                return val, i + len(word)
        m = _JNUM.match(s, i)
        if m and m.end() > i:
            text = m.group()
            return (Decimal(text) if m.group(1) or m.group(2) else int(text)), m.end()
        # NaN / Infinity / -Infinity: accepted by json.loads, refused here.
        word = re.match(r"-?[A-Za-z]+", s[i:]).group()
        self.error(i, path, f"non-finite numbers are not allowed ('{word}')")
        return None, i + len(word)


def load_json_text(text: str, filename: str = "<string>") -> tuple[Any, Locator]:
    text = text.removeprefix("\ufeff")
    try:
        json.loads(text)  # exact syntax errors with line/col from the stdlib
    except json.JSONDecodeError as exc:
        raise InputError(Issue(filename, exc.lineno, exc.colno, "$", f"JSON syntax error: {exc.msg}")) from None
    except RecursionError:
        raise InputError(Issue(filename, 1, 1, "$", "nesting is too deep")) from None
    b = _JsonBuilder(text, filename)
    start = _WS.match(text).end()
    b.positions[()] = b.at(start)
    value, _ = b.value(start, ())
    if b.issues:
        raise InputError(sorted(b.issues))
    return value, Locator(filename, b.positions)


def load_json(source: str | bytes | os.PathLike, *, filename: str | None = None) -> tuple[Any, Locator]:
    """Load a JSON file (path) or bytes: duplicate keys refused, decimals as Decimal."""
    if isinstance(source, bytes):
        name = filename or "<bytes>"
        return load_json_text(_decode(source, name), name)
    data, name = _read(source, filename)
    return load_json_text(_decode(data, name), name)


def load_document(path: str | os.PathLike, *, filename: str | None = None) -> tuple[Any, Locator]:
    """Load by suffix: .yaml/.yml as YAML, .json as JSON."""
    suffix = Path(path).suffix.lower()
    if suffix in (".yaml", ".yml"):
        return load_yaml(path, filename=filename)
    if suffix == ".json":
        return load_json(path, filename=filename)
    name = filename or os.fspath(path)
    raise InputError(Issue(name, 0, 0, "$", f"unsupported file type '{suffix}' (expected .yaml, .yml or .json)"))
