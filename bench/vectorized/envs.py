"""What expressions read: evidence columns of one standard's organizations, gate names, and
the record summaries (len, count per calendar unit, records per period) computed once per
records field for all organizations.
"""
from __future__ import annotations

import numpy as np

from evaluator.standard.periods import periods

from .expr import MISSING, OK, RecView, Val, record_unit_keys
from .intake import Pivot
from .rational import Frac
from .setup import SCALE, Setup, days


class RecordCache:
    """Per records field (resolved or self-reported) and all organizations: number of records,
    distinct calendar units holding a record inside the round period, records per period."""

    def __init__(self, setup: Setup, piv: Pivot):
        self.setup, self.piv = setup, piv
        self._len: dict = {}
        self._count: dict = {}
        self._periods: dict = {}

    def _field(self, field: int, self_values: bool):
        return (self.piv.self_rec if self_values else self.piv.rec)[field]

    def _org_of_row(self, rf) -> np.ndarray:
        return np.repeat(np.arange(self.piv.n), np.diff(rf.off))

    def length(self, field: int, self_values: bool) -> np.ndarray:
        key = (field, self_values)
        if key not in self._len:
            self._len[key] = np.diff(self._field(field, self_values).off)
        return self._len[key]

    def count(self, field: int, self_values: bool, unit: str) -> np.ndarray:
        """agrade's count(records, unit): distinct units of the round period holding a record."""
        key = (field, self_values, unit)
        if key not in self._count:
            rf = self._field(field, self_values)
            org = self._org_of_row(rf)
            inside = (rf.day >= self.setup.start) & (rf.day <= self.setup.end)
            org, k = org[inside], record_unit_keys(rf.day[inside], unit)
            new = np.ones(len(org), bool)
            new[1:] = (org[1:] != org[:-1]) | (k[1:] != k[:-1])     # days ascend within an organization
            self._count[key] = np.bincount(org[new], minlength=self.piv.n)
        return self._count[key]

    def per_period(self, field: int, self_values: bool, unit: str) -> np.ndarray:
        """(N, periods) records per calendar period wholly inside the round (periods.periods)."""
        key = (field, self_values, unit)
        if key not in self._periods:
            spans = periods(unit, self.setup.period[0], self.setup.period[1])
            ps = np.array([days(a) for a, _ in spans], np.int64)
            pe = np.array([days(b) for _, b in spans], np.int64)
            rf = self._field(field, self_values)
            org = self._org_of_row(rf)
            p = np.searchsorted(ps, rf.day, side="right") - 1
            inside = (p >= 0) & (rf.day <= pe[np.maximum(p, 0)])
            counts = np.bincount(org[inside] * len(ps) + p[inside], minlength=self.piv.n * len(ps))
            self._periods[key] = counts.reshape(self.piv.n, len(ps))
        return self._periods[key]


class CriteriaEnv:
    """Evidence of the organizations `rows` (one standard), resolved or self-reported."""

    def __init__(self, setup: Setup, piv: Pivot, cache: RecordCache, rows: np.ndarray, self_values: bool):
        self.setup, self.piv, self.cache, self.rows = setup, piv, cache, rows
        self.self_values = self_values
        self.strings = setup.strings
        self.end = setup.end
        self.n = len(rows)
        self._names: dict[str, Val] = {}
        self._val = piv.self_val if self_values else piv.val
        self._has = piv.self_has if self_values else piv.has

    def present(self, name: str) -> np.ndarray:
        if name.startswith("org."):
            return np.ones(self.n, bool)
        return self._has[self.setup.field[name].code, self.rows]

    def name(self, name: str) -> Val:
        v = self._names.get(name)
        if v is None:
            v = self._names[name] = self._load(name)
        return v

    def _load(self, name: str) -> Val:
        p, r = self.piv, self.rows
        if name.startswith("org."):
            if name in ("org.id", "org.name"):
                return Val("text", p.text_codes(name, self.strings)[r])
            col = {"org.type": p.type_code, "org.district": p.district, "org.street": p.street}[name]
            return Val("text", col[r])
        f = self.setup.field[name]
        has = self._has[f.code, r]
        st = None if has.all() else np.where(has, OK, MISSING).astype(np.int8)
        if f.kind == "rec":
            return Val("rec", RecView(f.code, self.self_values), st)
        v = self._val[f.code, r]
        if f.kind == "num":
            return Val("num", Frac(v, SCALE).reduced(), st)
        if f.kind == "bool":
            return Val("bool", v.astype(bool), st)
        return Val(f.kind, v, st)

    def length(self, rv: RecView) -> np.ndarray:
        return self.cache.length(rv.field, rv.self_values)[self.rows]

    def count(self, rv: RecView, unit: str) -> np.ndarray:
        return self.cache.count(rv.field, rv.self_values, unit)[self.rows]

    def period_counts(self, rv: RecView, unit: str) -> np.ndarray:
        return self.cache.per_period(rv.field, rv.self_values, unit)[self.rows]

    def result_function(self, func: str, arg: str) -> Val:
        raise NotImplementedError(f"{func}() is only available in gates")


class GateEnv(CriteriaEnv):
    """A criteria env plus what gates read: total, base, bonus, veto_count, points('id'),
    outcome('id'), section_points('id')."""

    def __init__(self, base: CriteriaEnv, extra: dict[str, Val], results):
        super().__init__(base.setup, base.piv, base.cache, base.rows, base.self_values)
        self._names.update(base._names)
        self._names.update(extra)
        self.results = results            # callable(func, arg) -> Val

    def present(self, name: str) -> np.ndarray:
        if name in ("total", "base", "bonus", "veto_count"):
            return np.ones(self.n, bool)
        return super().present(name)

    def result_function(self, func: str, arg: str) -> Val:
        return self.results(func, arg)
