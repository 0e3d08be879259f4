"""agrade's expression language (evaluator/standard/expr.py) evaluated over whole columns.

An expression is evaluated once for all rows (organizations) of a standard. Every value
carries a per-row state: 0 computed, 1 missing (a name without a value: the criterion is
not reviewed), 2 error (division by zero, a failed function: the criterion cannot be
computed). As in `Expr.evaluate`, the first failure in evaluation order wins, and `and` / `or`
short-circuit: the right side's failures count only on the rows where it is evaluated, so
`exists(x) and x > 3` does not need x.

Values: numbers are exact fractions (rational.Frac), booleans bool arrays, text int codes of
the run's string table, dates days since 1970-01-01, records a `RecView`, lists tuples.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from evaluator.standard.expr import Binary, Call, ListLit, Literal, Name, Type, Unary

from .rational import Frac, f_add, f_cmp, f_div, f_mul
from .setup import days

OK, MISSING, ERROR = 0, 1, 2


@dataclass
class Val:
    k: str                      # num bool text date rec list
    v: Any                      # Frac | bool array | int codes | days | RecView | tuple
    st: np.ndarray | None = None


@dataclass
class RecView:
    """A records field for the rows of an environment: which pivot arrays and which rows."""
    field: int
    self_values: bool


def seq(*states):
    """The first failure in evaluation order, per row."""
    out = None
    for s in states:
        if s is None:
            continue
        out = s if out is None else np.where(out != OK, out, s)
    return out


def _fail_where(st, mask, code):
    mask = np.asarray(mask)
    if not mask.any():
        return st
    new = np.where(mask, code, OK).astype(np.int8)
    return new if st is None else np.where(st != OK, st, new)


def literal(node: Literal, strings) -> Val:
    v = node.value
    if node.type is Type.NUMBER:
        return Val("num", Frac.of_decimal(Decimal(v)))
    if node.type is Type.TEXT:
        return Val("text", strings.code(v))
    if node.type is Type.BOOL:
        return Val("bool", bool(v))
    if node.type is Type.DATE:
        return Val("date", days(v))
    raise NotImplementedError(f"literal of type {node.type}")


_CMP = {"==": lambda s: s == 0, "!=": lambda s: s != 0, "<": lambda s: s < 0, "<=": lambda s: s <= 0,
        ">": lambda s: s > 0, ">=": lambda s: s >= 0}
_PY = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
       ">=": np.greater_equal}


def evaluate(tree, env) -> Val:
    """Evaluate an AST over env's rows."""
    return _ev(tree, env)


def _ev(node, env) -> Val:
    if isinstance(node, Literal):
        return literal(node, env.strings)
    if isinstance(node, ListLit):
        return Val("list", tuple(literal(i, env.strings) for i in node.items))
    if isinstance(node, Name):
        return env.name(node.name)
    if isinstance(node, Unary):
        v = _ev(node.operand, env)
        if node.op == "not":
            return Val("bool", np.logical_not(v.v), v.st)
        return Val("num", Frac(-v.v.num, v.v.den), v.st)
    if isinstance(node, Binary):
        return _binary(node, env)
    if isinstance(node, Call):
        return _call(node, env)
    raise NotImplementedError(type(node).__name__)


def _binary(node: Binary, env) -> Val:
    op = node.op
    left = _ev(node.left, env)
    right = _ev(node.right, env)
    if op in ("and", "or"):
        lv = np.asarray(left.v, dtype=bool)
        rs = right.st
        if rs is not None:
            rs = np.where(lv if op == "and" else ~lv, rs, OK).astype(np.int8)
        value = np.logical_and(lv, right.v) if op == "and" else np.logical_or(lv, right.v)
        return Val("bool", value, seq(left.st, rs))
    st = seq(left.st, right.st)
    if op in ("+", "-", "*", "/"):
        a, b = left.v, right.v
        if op == "+":
            return Val("num", f_add(a, b), st)
        if op == "-":
            return Val("num", f_add(a, b, -1), st)
        if op == "*":
            return Val("num", f_mul(a, b), st)
        q, zero = f_div(a, b)
        return Val("num", q, _fail_where(st, zero, ERROR))
    if op in ("in", "not in"):
        if right.k != "list":
            raise NotImplementedError("'in' needs a list literal on the right")
        hit = np.zeros(1, bool) if not right.v else None
        for item in right.v:
            eq = _equal(left, item)
            hit = eq if hit is None else hit | eq
        return Val("bool", hit if op == "in" else ~hit, st)
    if left.k == "num":
        return Val("bool", _CMP[op](f_cmp(left.v, right.v)), st)
    return Val("bool", _PY[op](left.v, right.v), st)


def _equal(left: Val, item: Val):
    if left.k == "num":
        return f_cmp(left.v, item.v) == 0 if item.k == "num" else np.zeros(1, bool)
    if left.k != item.k:
        return np.zeros(1, bool)
    return np.equal(left.v, item.v)


def _call(node: Call, env) -> Val:
    f = node.func
    if f == "exists":
        return Val("bool", env.present(node.args[0].name))
    if f in ("points", "outcome", "section_points"):
        arg = node.args[0]
        if not isinstance(arg, Literal):
            raise NotImplementedError(f"{f}() of a computed id")
        return env.result_function(f, arg.value)
    if f == "count":
        unit = node.args[1]
        if not isinstance(unit, Literal):
            raise NotImplementedError("count() with a computed unit")
        rec = _ev(node.args[0], env)
        return Val("num", Frac(env.count(rec.v, unit.value), 1), rec.st)
    args = [_ev(a, env) for a in node.args]
    st = seq(*(a.st for a in args))
    if f == "len":
        a = args[0]
        n = env.length(a.v) if a.k == "rec" else len(a.v)
        return Val("num", Frac(n, 1), st)
    if f == "days_since":
        return Val("num", Frac(env.end - np.asarray(args[0].v, dtype=np.int64), 1), st)
    if f == "abs":
        a = args[0].v
        return Val("num", Frac(np.abs(a.num) if isinstance(a.num, np.ndarray) else abs(a.num), a.den), st)
    if f in ("min", "max"):
        a, b = args[0].v, args[1].v
        s = f_cmp(b, a)                 # Python's min(a, b) keeps a unless b < a
        take_b = s < 0 if f == "min" else s > 0
        return Val("num", _select(take_b, b, a), st)
    raise NotImplementedError(f"function {f}()")


def _select(mask, x: Frac, y: Frac) -> Frac:
    """where(mask, x, y) for fractions."""
    from .rational import common
    nx, ny, d = common(x, y)
    return Frac(np.where(mask, nx, ny), d).reduced()


def as_bool(v: Val, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(values, state) broadcast to n rows."""
    vals = np.broadcast_to(np.asarray(v.v, dtype=bool), (n,))
    st = np.zeros(n, np.int8) if v.st is None else np.broadcast_to(v.st, (n,))
    return vals, st


def state(v: Val, n: int) -> np.ndarray:
    return np.zeros(n, np.int8) if v.st is None else np.broadcast_to(v.st, (n,))


def frac_rows(f: Frac, n: int) -> Frac:
    """A fraction broadcast to n rows (numerator array, denominator scalar or array)."""
    num = f.num if isinstance(f.num, np.ndarray) and f.num.shape == (n,) else np.broadcast_to(np.asarray(f.num), (n,)).copy()
    den = f.den
    if isinstance(den, np.ndarray) and den.shape != (n,):
        den = np.broadcast_to(den, (n,)).copy()
    return Frac(num, den)


# ------------------------------------------------------------------ record summaries

def record_unit_keys(day: np.ndarray, unit: str) -> np.ndarray:
    """The calendar unit a day falls in (agrade's _unit_key), as one int per day."""
    if unit == "week":
        return day - (day + 3) % 7                # the Monday of its ISO week
    y, m = civil(day)
    if unit == "month":
        return y * 12 + (m - 1)
    if unit == "quarter":
        return y * 4 + (m - 1) // 3
    if unit == "half_year":
        return y * 2 + (m - 1) // 6
    if unit == "year":
        return y
    raise NotImplementedError(unit)


def civil(day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(year, month) of days since 1970-01-01 (Hinnant's civil_from_days)."""
    z = day.astype(np.int64) + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = yoe + era * 400 + (m <= 2)
    return y, m


def to_date(d: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(d))
