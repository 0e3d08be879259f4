"""JSON Schema checking of loaded YAML/JSON, reported with the file's line numbers.

Documents come from `evaluator.standard.yamlsafe`, so they hold `Decimal` and
`datetime.date` values. Rather than converting the document (and losing the
exact values), the validator class is extended: Decimal counts as "number"
(and as "integer" when integral), date/datetime count as "string" and string
keywords see their ISO text. The keywords whose messages users read are
re-implemented so values print the way they were written (`1.0`, not
`Decimal('1.0')`; `2026-01-01`, not `datetime.date(...)`), and an unknown key is
reported on its own line with a "did you mean" hint.
"""
from __future__ import annotations

import datetime as _dt
import difflib
import hashlib
import json
import re
from decimal import Decimal
from functools import cache
from typing import Any, Iterable

import jsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, relevance

from ..errors import Issue
from .yamlsafe import Locator

__all__ = ["schema", "validator", "check", "check_with", "make_validator", "Validator", "render"]

_BASE = Draft202012Validator
_ORIG = _BASE.VALIDATORS


# --- rendering values in messages --------------------------------------------

def render(value: Any, limit: int = 80) -> str:
    """A short, readable rendering: Decimal as written, dates ISO, Chinese as is."""
    text = _render(value)
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, (list, tuple)):
        shown = [_render(v) for v in value[:12]] + (["..."] if len(value) > 12 else [])
        return "[" + ", ".join(shown) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_render(k)}: {_render(v)}" for k, v in value.items()) + "}"
    return str(value)


def _did_you_mean(word: Any, choices: Iterable[Any]) -> str:
    if not isinstance(word, str):
        return ""
    names = [c for c in choices if isinstance(c, str)]
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --- types ------------------------------------------------------------------------

def _is_number(checker, instance) -> bool:
    return isinstance(instance, Decimal) or _BASE.TYPE_CHECKER.is_type(instance, "number")


def _is_integer(checker, instance) -> bool:
    if isinstance(instance, Decimal):
        return instance.is_finite() and instance == instance.to_integral_value()
    return _BASE.TYPE_CHECKER.is_type(instance, "integer")


def _is_string(checker, instance) -> bool:
    # datetime is a subclass of date: both are strings in JSON terms.
    return isinstance(instance, (str, _dt.date))


_TYPES = _BASE.TYPE_CHECKER.redefine_many(
    {"number": _is_number, "integer": _is_integer, "string": _is_string})


def _as_text(instance):
    return instance.isoformat() if isinstance(instance, _dt.date) else instance


# --- keywords with messages users read --------------------------------------------

def _type(validator, types, instance, schema):
    types = [types] if isinstance(types, str) else types
    if not any(validator.is_type(instance, t) for t in types):
        yield ValidationError(f"{render(instance)} is not of type {', '.join(repr(t) for t in types)}")


def _enum(validator, enums, instance, schema):
    errors = list(_ORIG["enum"](validator, enums, instance, schema))
    if errors:
        yield ValidationError(f"{render(instance)} is not one of {render(enums, 200)}"
                              + _did_you_mean(instance, enums))


def _const(validator, const, instance, schema):
    if list(_ORIG["const"](validator, const, instance, schema)):
        yield ValidationError(f"{render(instance)} is not {render(const)}")


def _bound(fails, text):
    def check(validator, bound, instance, schema):
        if validator.is_type(instance, "number") and fails(instance, bound):
            yield ValidationError(f"{render(instance)} {text} {render(bound)}")
    return check


def _multiple_of(validator, step, instance, schema):
    if not validator.is_type(instance, "number"):
        return
    if isinstance(instance, Decimal) or isinstance(step, float):
        # exact decimal arithmetic; jsonschema's float path fails on Decimal
        quotient = Decimal(str(instance)) / Decimal(str(step))
        bad = quotient != quotient.to_integral_value()
    else:
        bad = instance % step != 0
    if bad:
        yield ValidationError(f"{render(instance)} is not a multiple of {render(step)}")


def _min_length(validator, n, instance, schema):
    if validator.is_type(instance, "string") and len(_as_text(instance)) < n:
        yield ValidationError(f"{render(instance)} should be non-empty" if n == 1
                              else f"{render(instance)} is shorter than {n} characters")


def _max_length(validator, n, instance, schema):
    if validator.is_type(instance, "string") and len(_as_text(instance)) > n:
        yield ValidationError(f"{render(instance)} is longer than {n} characters")


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not re.search(pattern, _as_text(instance)):
        yield ValidationError(f"{render(instance)} does not match {pattern!r}")


def _format(validator, fmt, instance, schema):
    if validator.format_checker is not None and isinstance(instance, (str, _dt.date)):
        if not validator.format_checker.conforms(_as_text(instance), fmt):
            yield ValidationError(f"{render(instance)} is not a valid {fmt}")


def _required(validator, required, instance, schema):
    if validator.is_type(instance, "object"):
        for name in required:
            if name not in instance:
                yield ValidationError(f"missing required key '{name}'")


def _min_items(validator, n, instance, schema):
    if validator.is_type(instance, "array") and len(instance) < n:
        yield ValidationError("should be non-empty" if n == 1 else f"has {len(instance)} items, at least {n} expected")


def _max_items(validator, n, instance, schema):
    if validator.is_type(instance, "array") and len(instance) > n:
        yield ValidationError(f"has {len(instance)} items, at most {n} allowed")


def _additional_properties(validator, extra_schema, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    for key in instance:
        if key in known or any(re.search(p, key) for p in patterns):
            continue
        if validator.is_type(extra_schema, "object"):
            yield from validator.descend(instance[key], extra_schema, path=key)
        elif extra_schema is False:
            # One error per key, at the key, so the line number points at it.
            yield ValidationError(f"unknown key '{key}'" + _did_you_mean(key, known), path=[key])


def _property_names(validator, names_schema, instance, schema):
    if validator.is_type(instance, "object"):
        for key in instance:  # path=key: report at the offending key's line
            yield from validator.descend(key, names_schema, path=key)


Validator = jsonschema.validators.extend(
    _BASE,
    validators={
        "type": _type, "enum": _enum, "const": _const,
        "minimum": _bound(lambda i, b: i < b, "is less than the minimum of"),
        "maximum": _bound(lambda i, b: i > b, "is greater than the maximum of"),
        "exclusiveMinimum": _bound(lambda i, b: i <= b, "must be greater than"),
        "exclusiveMaximum": _bound(lambda i, b: i >= b, "must be less than"),
        "multipleOf": _multiple_of,
        "minLength": _min_length, "maxLength": _max_length, "pattern": _pattern, "format": _format,
        "required": _required, "minItems": _min_items, "maxItems": _max_items,
        "additionalProperties": _additional_properties, "propertyNames": _property_names,
    },
    type_checker=_TYPES,
)


# --- loading and checking ---------------------------------------------------------

@cache
def schema(name: str) -> dict:
    """The shipped schema `schemas/<name>.schema.json` (parsed once)."""
    from ..resources import schemas_dir  # late: keeps this module importable on its own
    with open(schemas_dir() / f"{name}.schema.json", encoding="utf-8") as fh:
        return json.load(fh)


def make_validator(schema_doc: dict, trusted: bool = False):
    """A validator for any schema document, checked first (a broken schema is our bug) unless
    it is one of ours, which the test suite checks (tests/test_schemacheck.py): checking the
    standard schema costs more than validating a standard with it."""
    if not trusted:
        Validator.check_schema(schema_doc)
    return Validator(schema_doc, format_checker=_BASE.FORMAT_CHECKER)


@cache
def validator(name: str):
    """The compiled validator for a shipped schema, built once per process."""
    return make_validator(schema(name), trusted=True)


def check(instance: Any, name: str, locator: Locator, content_digest: str | None = None) -> list[Issue]:
    """Issues for `instance` against the shipped schema `name`; [] when valid.

    `content_digest`, the sha256 of the file `instance` was read from, lets a file found valid
    before skip the check: checking the shipped standards takes longer than everything else
    `agrade validate rules/` does. What is remembered is only "these bytes were valid against
    this schema with this agrade and jsonschema" (an empty file named by that key in the cache
    folder); problems are always found afresh, so every message still comes with its line."""
    mark = _valid_mark(name, content_digest) if content_digest else None
    if mark is not None and mark.exists():
        return []
    issues = check_with(instance, validator(name), locator)
    if not issues and mark is not None:
        try:
            mark.parent.mkdir(parents=True, exist_ok=True)
            mark.touch()
        except OSError:          # a read-only home: nothing is remembered, nothing is wrong
            pass
    return issues


def cache_dir():
    """Where agrade remembers what it can compute again: AGRADE_CACHE_DIR, else
    $XDG_CACHE_HOME/agrade, else ~/.cache/agrade."""
    import os
    from pathlib import Path
    if os.environ.get("AGRADE_CACHE_DIR"):
        return Path(os.environ["AGRADE_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "agrade"


@cache
def _schema_key(name: str) -> str:
    """What a verdict depends on besides the file: the schema, the code that reads YAML into
    values (yamlsafe) and checks them (this module, with its own keywords and types), agrade's
    and jsonschema's versions. Any change to one of them and nothing remembered applies."""
    from pathlib import Path
    from .. import __version__
    from . import yamlsafe
    code = Path(__file__).read_bytes() + Path(yamlsafe.__file__).read_bytes()
    body = json.dumps(schema(name), sort_keys=True).encode()
    return hashlib.sha256(b"\0".join([name.encode(), body, code, __version__.encode(),
                                       jsonschema_version().encode()])).hexdigest()


def jsonschema_version() -> str:
    from importlib.metadata import version
    return version("jsonschema")


def _valid_mark(name: str, content_digest: str):
    key = hashlib.sha256(f"{_schema_key(name)}:{content_digest}".encode()).hexdigest()
    return cache_dir() / "schema-valid" / key[:2] / key[2:]


def check_with(instance: Any, v, locator: Locator) -> list[Issue]:
    """Every schema error as an Issue, in document order."""
    issues = set()
    for error in v.iter_errors(instance):
        path, message = _explain(error)
        issues.add(locator.issue(path, message))
    return sorted(issues, key=lambda i: (i.line, i.col, i.path, i.message))


def _explain(error: ValidationError) -> tuple[list, str]:
    """(path, message) for one error; anyOf/oneOf are narrowed to one cause.

    jsonschema's `best_match` alone prefers the *shallowest* sub-error, which for
    `{min: 500, points: 六}` against [{min, points}, {equals, points}] blames
    the missing `equals`. So first pick the alternative the author most likely
    meant (the one with the fewest errors, ignoring alternatives of another
    type), then let `best_match` choose among that alternative's errors.
    """
    if not error.context:
        return list(error.absolute_path), error.message
    alternatives: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        alternatives.setdefault(sub.relative_schema_path[0], []).append(sub)
    # An alternative rejected only for the instance's type says nothing specific.
    specific = [errs for errs in alternatives.values()
                if not (len(errs) == 1 and errs[0].validator == "type" and not errs[0].path)]
    if not specific:
        types = [t for errs in alternatives.values() for t in _as_list(errs[0].validator_value)]
        expected = ", ".join(repr(t) for t in dict.fromkeys(types))
        return list(error.absolute_path), f"{render(error.instance)} is not of type {expected}"
    fewest = min(len(errs) for errs in specific)
    closest = [e for errs in specific if len(errs) == fewest for e in errs]
    # best_match's first step (its relevance key); nested anyOf/oneOf recurse here.
    return _explain(max(closest, key=relevance))


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]
