"""Load the YAML (and JSON) people actually write, safely, precisely and fast.

PyYAML's `safe_load` is YAML 1.1: `no` becomes False, `010` becomes 8, `1.0`
becomes a float, duplicate keys silently keep the last value and aliases can
expand exponentially. Here a parser only produces *events* (libyaml's C parser
when PyYAML has it, which keeps marks for line numbers; PyYAML's pure-Python
parser otherwise, and to word syntax errors), and one pass over the events
builds Python values with YAML 1.2 core-schema rules, refusing anchors,
aliases, merge keys, tags and deep nesting as the events arrive:

* `true`/`false` (any case) are the only booleans; `yes/no/on/off` stay text;
* `null`, `~` and empty are None;
* `123`, `+1`, `010` (= 10), `0o17`, `0x1F` are int;
* `1.0`, `.5`, `1e3` are `decimal.Decimal` built from the source text, never
  float; `.inf`/`.nan` are refused, and so are numbers with more than 100
  digits or an exponent beyond ±100 (no evidence needs them; they only make
  arithmetic explode later);
* `2026-01-01` is `datetime.date`, `2026-01-01 09:30:00` is `datetime.datetime`;
  impossible dates and times of day are errors;
* mapping keys must be scalars and are kept as their *text*: `1: x` gives the
  key "1", `true: x` gives "true" (keys are names, never numbers);
* quoted and block scalars are always text; control characters (raw, or
  written as escapes such as `"\\0"`) and unpaired surrogates are refused.

Files larger than `max_file_bytes()` (256 MB, or the environment variable
AGRADE_MAX_FILE_MB) are refused before they are read.

Every problem is an `Issue(file, line, col, $.json.path, message)`; all
construction problems of a document are collected into one `InputError`.
"""
from __future__ import annotations

import bisect
import contextlib
import datetime as _dt
import gc
import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence

import yaml
from yaml.events import (AliasEvent, MappingEndEvent, MappingStartEvent, ScalarEvent, SequenceEndEvent,
                         SequenceStartEvent, StreamEndEvent)
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner

try:  # libyaml's parser: ~20x faster, same events and marks
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None

from ..errors import InputError, Issue, json_path

__all__ = ["Locator", "load_yaml", "load_yaml_text", "load_json", "load_json_text", "load_document",
           "decode_text", "read_limited", "check_size", "max_file_bytes", "max_file_mb", "find_control", "control_message",
           "gc_paused"]

MAX_DEPTH = 100  # far beyond any real standard; stops stack exhaustion from `[[[[...` bombs
MAX_DIGITS = 100  # digits in one number
MAX_EXPONENT = 100  # |exponent| of one number
DEFAULT_MAX_FILE_MB = 256
MAX_FILE_ENV = "AGRADE_MAX_FILE_MB"

_YAML = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ = _YAML + "str", _YAML + "map", _YAML + "seq"
_PLAIN = "agrade:plain"  # our marker for untagged plain scalars, resolved in _resolve_plain
_SCALAR_TAGS = {_YAML + t for t in ("str", "int", "float", "bool", "null", "timestamp")}

# C0 and C1 control characters other than tab, newline and carriage return: invisible, they
# make two equal-looking names differ and some of them break CSV, XML and terminals.
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_CONTROL_RE = re.compile(f"[{_CONTROL}]")
# what YAML cannot hold raw: controls, surrogates, U+FFFE/U+FFFF (YAML 1.2 "printable", minus NEL)
_NOT_PRINTABLE = re.compile(f"[{_CONTROL}\ud800-\udfff\ufffe\uffff]")
# a built string needs a closer look (escapes can produce what the raw text may not hold)
_BAD_TEXT = re.compile(f"[{_CONTROL}\ud800-\udfff]")


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
    """Raised while building; stops the document and becomes an Issue at `mark`."""

    def __init__(self, mark, path, message):
        super().__init__(message)
        self.mark, self.path, self.message = mark, path, message


class _ScalarError(ValueError):
    pass


# --- text ------------------------------------------------------------------------------

def find_control(text: str) -> re.Match | None:
    """The first C0/C1 control character other than tab, newline and carriage return."""
    return _CONTROL_RE.search(text)


def control_message(char: str, where: str = "text") -> str:
    """Why a control character is refused and what to do, for every file format."""
    return (f"{where} contains the control character #x{ord(char):04x}, which is not allowed "
            "(it is invisible and makes equal-looking text differ); delete it and type the text again")


def _checked_text(text: str) -> str:
    """A built string. JSON-style `"\\ud840\\udc00"` escapes reach us as two surrogates (PyYAML
    decodes each \\u alone): join them; refuse lone ones and control characters."""
    if _BAD_TEXT.search(text) is None:
        return text
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        try:
            text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        except UnicodeDecodeError:
            raise _ScalarError("invalid \\u escape: unpaired surrogate (\\ud800-\\udfff); "
                               "write the character itself, or both halves of the pair") from None
    bad = find_control(text)
    if bad:
        raise _ScalarError(control_message(bad.group(), "the text"))
    return text


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# --- numbers -------------------------------------------------------------------------------

def _number_guard(text: str, mantissa: str, exponent: str | None = None) -> None:
    """Refuse numbers no evidence or standard needs but that make arithmetic explode."""
    digits = sum(ch in "0123456789abcdefABCDEF" for ch in mantissa)     # hex digits count too
    if digits > MAX_DIGITS:
        raise _ScalarError(f"the number {_short(text)} has {digits} digits, more than the {MAX_DIGITS} allowed; "
                           "check the value (quote it if it is text, not a number)")
    if exponent is not None and abs(int(exponent)) > MAX_EXPONENT:
        raise _ScalarError(f"the number {_short(text)} has the exponent {_short(exponent)}, beyond ±{MAX_EXPONENT}; "
                           "write the number out in full, such as 1500 or 0.015")


# --- scalar resolution (YAML 1.2 core schema, plus dates) -------------------

_A = re.ASCII  # `\d` must not accept full-width or other Unicode digits
_NULL = re.compile(r"(?:~|null|Null|NULL|)", _A)
_BOOL = re.compile(r"(?i:true|false)", _A)
_INT = re.compile(r"[-+]?[0-9]+", _A)
_OCT = re.compile(r"0o[0-7]+", _A)
_HEX = re.compile(r"0x[0-9a-fA-F]+", _A)
_FLOAT = re.compile(r"([-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?))(?:[eE]([-+]?[0-9]+))?", _A)
_NONFINITE = re.compile(r"[-+]?\.(?i:inf|nan)", _A)
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", _A)
_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]*))?(?:[ \t]*(Z|[-+][0-9]{1,2}(?::?[0-9]{2})?))?", _A)


def _resolve_plain(text: str) -> Any:
    if _NULL.fullmatch(text):
        return None
    if _BOOL.fullmatch(text):
        return text.lower() == "true"
    if _INT.fullmatch(text):
        _number_guard(text, text)
        return int(text)
    if _OCT.fullmatch(text) or _HEX.fullmatch(text):
        _number_guard(text, text[2:])
        return int(text[2:], 8 if text[1] == "o" else 16)
    m = _FLOAT.fullmatch(text)
    if m:
        _number_guard(text, m.group(1), m.group(2))
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
        return _checked_text(text)
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


def _scalar_tag(event) -> str:
    """The tag a scalar event stands for: our plain marker, text, or what was written."""
    tag = event.tag
    if tag is None:
        return _PLAIN if event.implicit[0] else _STR
    return _STR if tag == "!" else tag  # YAML's non-specific tag on a scalar means text


# --- building values from parser events ---------------------------------------------

def _pos(mark) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_YAML):] if tag.startswith(_YAML) else tag


class _Builder:
    """Problems and positions of one document; `_EventBuilder` and `_JsonBuilder` fill them."""

    def __init__(self, filename: str):
        self.filename = filename
        self.positions: dict[tuple, tuple[int, int]] = {}
        self.issues: list[Issue] = []

    def fail(self, mark, path, message):
        line, col = _pos(mark)
        self.issues.append(Issue(self.filename, line, col, json_path(list(path)), message))


class _EventBuilder(_Builder):
    """One pass over parser events into Python values: no node tree is kept, nothing an alias
    names is ever looked up (a "billion laughs" file costs one event), and every value's
    position is recorded for the Locator."""

    def __init__(self, parser, filename: str):
        super().__init__(filename)
        self.next = parser.get_event
        self.parser = parser

    def document(self) -> tuple[bool, Any]:
        """(True, value) for the stream's single document, (False, None) for an empty stream."""
        self.next()  # StreamStart
        if self.parser.check_event(StreamEndEvent):
            return False, None
        self.next()  # DocumentStart
        event = self.next()
        self.positions[()] = _pos(event.start_mark)
        value = self.node(event, ())
        self.next()  # DocumentEnd
        if not self.parser.check_event(StreamEndEvent):
            raise _Refused(self.parser.peek_event().start_mark, (), "multiple documents in one file are not allowed")
        return True, value

    def _admit(self, event, path, depth: int = 0):
        # Refuse before anything is registered or looked up.
        if type(event) is AliasEvent or event.anchor is not None:
            raise _Refused(event.start_mark, path, "anchors and aliases are not allowed")
        if len(path) + depth > MAX_DEPTH:
            raise _Refused(event.start_mark, path, f"nesting deeper than {MAX_DEPTH} levels is not allowed")

    def node(self, event, path: tuple) -> Any:
        self._admit(event, path)
        kind = type(event)
        if kind is ScalarEvent:
            return self.scalar(event, path)
        if kind is SequenceStartEvent:
            if event.tag not in (None, "!", _SEQ):
                self.fail(event.start_mark, path, f"tag '{_show_tag(event.tag)}' is not allowed")
                return self.skip(event, path)
            return self.sequence(path)
        if event.tag not in (None, "!", _MAP):
            self.fail(event.start_mark, path, f"tag '{_show_tag(event.tag)}' is not allowed")
            return self.skip(event, path)
        return self.mapping(path)

    def sequence(self, path: tuple) -> list:
        out: list[Any] = []
        positions, nxt = self.positions, self.next
        while True:
            event = nxt()
            if type(event) is SequenceEndEvent:
                return out
            item = path + (len(out),)
            positions[item] = _pos(event.start_mark)
            out.append(self.node(event, item))

    def mapping(self, path: tuple) -> dict:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        while True:
            kev = self.next()
            if type(kev) is MappingEndEvent:
                return out
            self._admit(kev, path)
            if type(kev) is not ScalarEvent:
                self.fail(kev.start_mark, path, "mapping keys must be scalars (text, numbers or dates)")
                self.skip(kev, path)
                self.skip(self.next(), path)
                continue
            tag = _scalar_tag(kev)
            try:
                key = _checked_text(kev.value)  # the key's text: keys are names, `1:` gives "1"
            except _ScalarError as exc:
                self.fail(kev.start_mark, path, str(exc))
                self.skip(self.next(), path)
                continue
            if key == "<<" and tag == _PLAIN:
                self.fail(kev.start_mark, path, "merge keys ('<<') are not allowed (aliases are not allowed)")
                self.skip(self.next(), path)
                continue
            member = path + (key,)
            if tag not in (_PLAIN, _STR):
                self.fail(kev.start_mark, member, f"tag '{_show_tag(tag)}' is not allowed on a key")
            if key in first_line:
                self.fail(kev.start_mark, member, f"duplicate key '{key}' (first defined on line {first_line[key]})")
                self.skip(self.next(), member)
                continue
            first_line[key] = kev.start_mark.line + 1
            self.positions[member] = _pos(kev.start_mark)
            out[key] = self.node(self.next(), member)

    def skip(self, event, path: tuple) -> None:
        """Consume a node that is not built (it is already refused), still refusing aliases,
        anchors and deep nesting inside it as building it would."""
        self._admit(event, path)
        if type(event) is not SequenceStartEvent and type(event) is not MappingStartEvent:
            return None
        depth = 1
        while depth:
            event = self.next()
            kind = type(event)
            if kind is SequenceEndEvent or kind is MappingEndEvent:
                depth -= 1
                continue
            self._admit(event, path, depth)
            if kind is SequenceStartEvent or kind is MappingStartEvent:
                depth += 1
        return None

    def scalar(self, event, path: tuple) -> Any:
        tag = _scalar_tag(event)
        try:
            if tag == _PLAIN:
                return _resolve_plain(event.value)
            if tag == _STR:
                return _checked_text(event.value)
            if tag in _SCALAR_TAGS:
                return _resolve_tagged(tag, event.value)
            self.fail(event.start_mark, path, f"tag '{_show_tag(tag)}' is not allowed")
        except _ScalarError as exc:
            self.fail(event.start_mark, path, str(exc))
        return None


class _PyParser(Reader, Scanner, Parser):
    """PyYAML's pure-Python parser: the fallback without libyaml, and the one that words
    syntax errors (its messages and marks are the ones our users and tests know)."""

    def __init__(self, text: str):
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)


# --- file size, bytes and text -------------------------------------------------------

def max_file_mb(filename: str = "$") -> float:
    """The size limit per file in megabytes: AGRADE_MAX_FILE_MB, 256 by default."""
    raw = os.environ.get(MAX_FILE_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_FILE_MB
    try:
        mb = float(raw)
        if not 0 < mb < float("inf"):
            raise ValueError
    except ValueError:
        raise InputError(Issue(filename, 0, 0, "$", f"the environment variable {MAX_FILE_ENV}={raw!r} is not a "
                                                    "positive number of megabytes; write e.g. 64")) from None
    return mb


def max_file_bytes(filename: str = "$") -> int:
    """The largest file read, in bytes (1 MB = 1024 x 1024 bytes)."""
    return int(max_file_mb(filename) * 1024 * 1024)


def _size_text(size: int) -> str:
    return f"{size / 1048576:.1f} MB" if size >= 104858 else f"{size:,} bytes"


def check_size(path: str | os.PathLike, filename: str | None = None) -> None:
    """Refuse a file above the size limit at once, before any of it is read."""
    name = filename or os.fspath(path)
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise InputError(Issue(name, 0, 0, "$", f"cannot read file: {exc.strerror or exc}")) from None
    _check_size_of(size, name)


def _check_size_of(size: int, name: str) -> None:
    mb = max_file_mb(name)
    if size > int(mb * 1024 * 1024):
        raise InputError(Issue(name, 0, 0, "$",
                               f"the file is {_size_text(size)}, above the limit of {mb:g} MB per file; split it "
                               f"into several files, or raise the limit with the environment variable {MAX_FILE_ENV}"))


def read_limited(source: str | os.PathLike, filename: str | None = None) -> bytes:
    """A file's bytes, refusing it when it is above the size limit."""
    name = filename or os.fspath(source)
    check_size(source, name)
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise InputError(Issue(name, 0, 0, "$", f"cannot read file: {exc.strerror or exc}")) from None


def decode_text(data: bytes, filename: str) -> str:
    """UTF-8 (with or without BOM) -> str; otherwise the line and column of the first bad byte.
    The column counts characters, as every other column we report does."""
    try:
        return data.decode("utf-8-sig")        # a leading BOM dropped without copying the text
    except UnicodeDecodeError:
        pass
    try:                                       # where the error is, counted from the file's start
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        col = len(data[start:exc.start].decode("utf-8", "replace")) + 1
        guess = ""
        try:
            data.decode("gb18030")
            guess = " the file looks like GBK/GB18030 (a Chinese Windows encoding);"
        except UnicodeDecodeError:
            pass
        raise InputError(Issue(filename, line, col, "$",
                               f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at byte offset {exc.start});{guess}"
                               " save the file as UTF-8 (Excel: 另存为 → “CSV UTF-8”)")) from None
    return text.removeprefix("\ufeff")


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _refuse_unprintable(text: str, filename: str, pattern: re.Pattern = _NOT_PRINTABLE) -> None:
    """One regex pass over the raw text: characters no YAML/JSON document should hold raw."""
    m = pattern.search(text)
    if m is None:
        return
    ch = m.group()
    line, col = _line_col(text, m.start())
    if "\ud800" <= ch <= "\udfff" or ch in "\ufffe\uffff":
        message = f"character #x{ord(ch):04x} is not allowed (not a character); delete it"
    else:
        message = control_message(ch, "the file")
    raise InputError(Issue(filename, line, col, "$", message))


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while a large acyclic document is built: with
    millions of new objects its repeated full scans made a 10 MB file superlinear (measured
    +35% at 10 MB); reference counting still frees everything."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --- YAML entry points --------------------------------------------------------------------

def load_yaml(source: str | bytes | os.PathLike, *, filename: str | None = None) -> tuple[Any, Locator]:
    """Load one YAML document. `source` is a path (str/PathLike), or bytes holding the content."""
    if isinstance(source, bytes):
        name = filename or "<bytes>"
        _check_size_of(len(source), name)      # callers that read the file themselves (and cache it)
        return load_yaml_text(decode_text(source, name), name)
    name = filename or os.fspath(source)
    return load_yaml_text(decode_text(read_limited(source, name), name), name)


def load_yaml_text(text: str, filename: str = "<string>") -> tuple[Any, Locator]:
    text = text.removeprefix("\ufeff")
    _refuse_unprintable(text, filename)
    with gc_paused():
        if _CParser is not None:
            try:
                return _load_events(_CParser(text), filename)
            except yaml.YAMLError:
                pass  # word the error as the pure-Python parser does (it may also accept the text)
        return _load_events(_PyParser(text), filename)


_KEY_WITHOUT_SPACE = re.compile(r"([^\s:{},\[\]#'\"]+):(?=[^\s:/])")


def _syntax_hint(mark, problem: str) -> str:
    """What to change, for the syntax errors authors make most: PyYAML's own words
    ("mapping values are not allowed here") do not say that `key:{...}` lacks the space
    YAML needs after a key's colon."""
    if problem != "mapping values are not allowed here" or not getattr(mark, "buffer", None):
        return ""
    text = mark.buffer.split("\n")[mark.line] if mark.line < mark.buffer.count("\n") + 1 else ""
    m = _KEY_WITHOUT_SPACE.search(text[: mark.column])
    return f"; write a space after the colon of '{m.group(1)}:' (key: value)" if m else ""


def _load_events(parser, filename: str) -> tuple[Any, Locator]:
    """Build the document from `parser`'s events. Syntax errors of the C parser propagate (as
    yaml.YAMLError) for the caller to retry; the pure-Python parser's become Issues."""
    builder = _EventBuilder(parser, filename)
    try:
        found, value = builder.document()
    except _Refused as exc:
        line, col = _pos(exc.mark)
        raise InputError(Issue(filename, line, col, json_path(list(exc.path)), exc.message)) from None
    except yaml.MarkedYAMLError as exc:
        if not isinstance(parser, _PyParser):
            raise
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem and exc.context_mark:
            message += f" ({exc.context} on line {exc.context_mark.line + 1})"
        line, col = _pos(mark) if mark else (0, 0)
        message += _syntax_hint(mark, exc.problem or "")
        raise InputError(Issue(filename, line, col, "$", f"YAML syntax error: {message}")) from None
    except yaml.reader.ReaderError as exc:  # pragma: no cover - _refuse_unprintable ran first
        if not isinstance(parser, _PyParser):
            raise
        raise InputError(Issue(filename, 0, 0, "$", f"character #x{exc.character:04x} is not allowed in YAML: "
                                                    f"{exc.reason}")) from None
    finally:
        parser.dispose()
    if not found:
        return None, Locator(filename, {(): (1, 1)})
    if builder.issues:
        raise InputError(sorted(builder.issues))
    return value, Locator(filename, builder.positions)


# --- JSON ------------------------------------------------------------------------

_WS = re.compile(r"[ \t\n\r]*")
_JNUM = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?(?:[eE]([-+]?[0-9]+))?", _A)


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

    def string(self, i: int, path: tuple) -> tuple[str | None, int]:
        text, end = json.decoder.scanstring(self.text, i + 1)
        try:
            return _checked_text(text), end
        except _ScalarError as exc:
            self.error(i, path, str(exc))
            return None, end

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
                key, end = self.string(i, path)
                if key is None:
                    pass
                elif key in first_line:
                    self.error(i, path + (key,), f"duplicate key '{key}' (first defined on line {first_line[key]})")
                else:
                    first_line[key] = self.at(i)[0]
                    self.positions[path + (key,)] = self.at(i)
                i = _WS.match(s, end).end() + 1  # past ':'
                val, i = self.value(i, path + (key,))
                if key is not None:
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
            return self.string(i, path)
        for word, val in (("true", True), ("false", False), ("null", None)):
            if s.startswith(word, i):
                return val, i + len(word)
        m = _JNUM.match(s, i)
        if m and m.end() > i:
            text = m.group()
            try:
                _number_guard(text, re.split("[eE]", text)[0], m.group(2))
            except _ScalarError as exc:
                self.error(i, path, str(exc))
                return None, m.end()
            return (Decimal(text) if m.group(1) or m.group(2) else int(text)), m.end()
        # NaN / Infinity / -Infinity: accepted by json.loads, refused here.
        word = re.compile(r"-?[A-Za-z]+").match(s, i).group()
        self.error(i, path, f"non-finite numbers are not allowed ('{word}')")
        return None, i + len(word)


def _no_number(text: str) -> None:
    """json.loads only checks syntax here: converting numbers is our builder's job (a
    5,000-digit integer would make int() raise, 1e999 would become inf)."""
    return None


def load_json_text(text: str, filename: str = "<string>") -> tuple[Any, Locator]:
    text = text.removeprefix("\ufeff")
    _refuse_unprintable(text, filename, _CONTROL_RE)
    try:
        json.loads(text, parse_int=_no_number, parse_float=_no_number)  # exact syntax errors from the stdlib
    except json.JSONDecodeError as exc:
        raise InputError(Issue(filename, exc.lineno, exc.colno, "$", f"JSON syntax error: {exc.msg}")) from None
    except RecursionError:
        raise InputError(Issue(filename, 1, 1, "$", "nesting is too deep")) from None
    b = _JsonBuilder(text, filename)
    start = _WS.match(text).end()
    b.positions[()] = b.at(start)
    with gc_paused():
        value, _ = b.value(start, ())
    if b.issues:
        raise InputError(sorted(b.issues))
    return value, Locator(filename, b.positions)


def load_json(source: str | bytes | os.PathLike, *, filename: str | None = None) -> tuple[Any, Locator]:
    """Load a JSON file (path) or bytes: duplicate keys refused, decimals as Decimal."""
    if isinstance(source, bytes):
        name = filename or "<bytes>"
        _check_size_of(len(source), name)
        return load_json_text(decode_text(source, name), name)
    name = filename or os.fspath(source)
    return load_json_text(decode_text(read_limited(source, name), name), name)


def load_document(path: str | os.PathLike, *, filename: str | None = None,
                  data: bytes | None = None) -> tuple[Any, Locator]:
    """Load by suffix: .yaml/.yml as YAML, .json as JSON. `data`: the file's bytes, already read."""
    suffix = Path(path).suffix.lower()
    name = filename or os.fspath(path)
    if suffix in (".yaml", ".yml"):
        return load_yaml(path if data is None else data, filename=name)
    if suffix == ".json":
        return load_json(path if data is None else data, filename=name)
    raise InputError(Issue(name, 0, 0, "$", f"unsupported file type '{suffix}' (expected .yaml, .yml or .json)"))
