"""What the vectorized scorer takes from agrade: the round file and its compiled standards.

Everything here is per round and per standard (a few hundred criteria), never per
organization; it is built once and not timed by the benchmark.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from evaluator.intake.rounds import load_round
from evaluator.model import Field, Standard
from evaluator.scoring.run import with_round_overrides
from evaluator.standard.listrules import normalize_rules

EPOCH = dt.date(1970, 1, 1)
SCALE = 10 ** 6            # evidence numbers are int64 fixed point: value * 10^6

# parse kinds (what a cell is read as) and value kinds (what expressions see)
KIND = {"number": "num", "integer": "num", "percentage": "num", "boolean": "bool", "enum": "text",
        "text": "text", "date": "date", "records": "rec"}


def days(d: dt.date) -> int:
    return (d - EPOCH).days


class Strings:
    """One table of text values for the whole run: text is compared as int codes."""

    def __init__(self):
        self.code_of: dict[str, int] = {}
        self.items: list[str] = []

    def code(self, s: str) -> int:
        c = self.code_of.get(s)
        if c is None:
            c = self.code_of[s] = len(self.items)
            self.items.append(s)
        return c

    def codes(self, values) -> np.ndarray:
        """Codes of a sequence of str (a polars Series or list), via its distinct values."""
        import polars as pl
        s = values if isinstance(values, pl.Series) else pl.Series(values, dtype=pl.String)
        s = s.fill_null("")
        uniq = s.unique().to_list()
        mapped = [self.code(u) for u in uniq]
        return s.replace_strict(uniq, mapped, return_dtype=pl.Int64).to_numpy()


@dataclass
class FieldInfo:
    """A field id across the round's standards (its type must agree; limits may differ)."""
    id: str
    code: int
    type: str                  # number integer percentage boolean enum text date records
    kind: str                  # num bool text date rec


class Setup:
    def __init__(self, round_path: str | Path):
        rnd = load_round(Path(round_path))
        self.rnd = rnd
        self.period = rnd.period
        self.start, self.end = days(rnd.period[0]), days(rnd.period[1])
        by_type = {t: with_round_overrides(s, rnd.grading_override) for t, s in rnd.standards.items()}
        self.standards: list[Standard] = []
        self.std_index: dict[str, int] = {}
        for s in by_type.values():
            if s.id not in self.std_index:
                self.std_index[s.id] = len(self.standards)
                self.standards.append(s)
        self.type_std = {t: self.std_index[s.id] for t, s in by_type.items()}
        self.tie_breaks = self.standards[0].grading.tie_breaks
        self.waivers = dict(rnd.waivers)
        self.lists = normalize_rules(rnd.lists)
        self.strings = Strings()
        self._fields()

    def _fields(self) -> None:
        self.fields: list[FieldInfo] = []
        self.field: dict[str, FieldInfo] = {}
        for s in self.standards:
            for f in s.fields.values():
                info = self.field.get(f.id)
                if info is None:
                    info = self.field[f.id] = FieldInfo(f.id, len(self.fields), f.type, KIND[f.type])
                    self.fields.append(info)
                elif info.type != f.type:
                    raise NotImplementedError(f"field {f.id} is {info.type} in one standard and {f.type} in another")
        nf, ns = len(self.fields), len(self.standards)
        self.ftype = np.array([f.type for f in self.fields], dtype=object)
        # per (standard, field): declared?, limits (fixed point), blank policy
        self.member = np.zeros((ns, nf), bool)
        self.lo = np.full((ns, nf), np.iinfo(np.int64).min, np.int64)
        self.hi = np.full((ns, nf), np.iinfo(np.int64).max, np.int64)
        self.blank_zero = np.zeros((ns, nf), bool)
        self.fdef: list[dict[int, Field]] = []
        for si, s in enumerate(self.standards):
            defs = {}
            for f in s.fields.values():
                c = self.field[f.id].code
                defs[c] = f
                self.member[si, c] = True
                self.blank_zero[si, c] = f.blank == "zero"
                lo, hi = f.min, f.max
                if f.type == "percentage":
                    lo = Decimal(0) if lo is None else lo
                    hi = Decimal(1) if hi is None else hi
                if lo is not None:
                    self.lo[si, c] = _fixed_bound(lo, ceil=True)
                if hi is not None:
                    self.hi[si, c] = _fixed_bound(hi, ceil=False)
            self.fdef.append(defs)


def _fixed_bound(d: Decimal, ceil: bool) -> int:
    """A limit in fixed point; a limit between two fixed-point steps is rounded inwards."""
    x = d * SCALE
    i = int(x.to_integral_value(rounding="ROUND_CEILING" if ceil else "ROUND_FLOOR"))
    return max(min(i, np.iinfo(np.int64).max), np.iinfo(np.int64).min)
