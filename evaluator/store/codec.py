"""Evidence values kept exactly as they were typed.

A cell's raw value is what intake read: text from CSV, numbers, dates and booleans from YAML
or Excel, lists of dated records. Normalization happens when the round is evaluated, by the
same code as for files (intake.evidence.resolve), so a stored round and its folder can never
be read two ways. JSON has no dates or decimals, so those are tagged: {"$d": "12.50"},
{"$date": "2026-03-01"}; a mapping is tagged too, so no value can pass for a tag.
"""
from __future__ import annotations

import datetime
import json
from decimal import Decimal

import orjson
from typing import Any

from ..errors import Issue
from ..model import Record


def encode(v: Any) -> Any:
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, Decimal):
        return {"$d": str(v)}
    if isinstance(v, float):
        return {"$f": repr(v)}
    if isinstance(v, datetime.datetime):             # before date: a datetime is a date too
        return {"$dt": v.isoformat()}
    if isinstance(v, datetime.date):
        return {"$date": v.isoformat()}
    if isinstance(v, datetime.time):
        return {"$time": v.isoformat()}
    if isinstance(v, Record):
        return {"$rec": [v.date.isoformat(), v.title]}
    if isinstance(v, (list, tuple)):
        return [encode(x) for x in v]
    if isinstance(v, dict):
        return {"$map": [[str(k), encode(x)] for k, x in v.items()]}
    raise TypeError(f"cannot store an evidence value of type {type(v).__name__}: {v!r}")


_TAGS = {
    "$d": Decimal, "$f": float, "$dt": datetime.datetime.fromisoformat, "$date": datetime.date.fromisoformat,
    "$time": datetime.time.fromisoformat,
    "$rec": lambda p: Record(datetime.date.fromisoformat(p[0]), p[1]),
    "$map": lambda items: {k: decode(x) for k, x in items},
}


def decode(v: Any) -> Any:
    if isinstance(v, list):
        return [decode(x) for x in v]
    if isinstance(v, dict):
        (tag, payload), = v.items()
        return _TAGS[tag](payload)
    return v


def dumps(v: Any) -> str:
    return orjson.dumps(encode(v)).decode()        # compact, UTF-8 as is (json.dumps' separators=(",", ":"))


def loads(text: str | None) -> Any:
    return None if text is None else decode(json.loads(text))


def where_json(w: Issue) -> dict:
    return {"file": w.file, "line": w.line, "col": w.col, "path": w.path}


def where_of(d: dict) -> Issue:
    return Issue(d["file"], d["line"], d["col"], d["path"])
