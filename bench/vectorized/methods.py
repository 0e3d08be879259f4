"""Scoring methods (evaluator/standard/methods.py) over all organizations of a standard at once.

`score(criterion, env, n, waived)` gives, per row, the outcome code, the points as a fraction
(numerator array over one denominator) and whether a veto was hit; the same rules as
`engine.score_criterion`: a waiver gives full points; `applies_if` false is not applicable; a
missing value is not reviewed, an error (division by zero, a negative count) cannot be
computed; otherwise the method's own outcome. Ratios are quantized to 0.0001 half-up before
they are compared or used; deductions floor at 0; bonus items are capped per criterion.
"""
from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

from .expr import ERROR, MISSING, OK, Val, _fail_where, _select, as_bool, evaluate, frac_rows, seq, state
from .rational import Frac, f_add, f_cmp, f_div, f_mul, round_half_up

PASS, PARTIAL, FAIL, NA, NR, ERR, WAIVED = range(7)
OUTCOMES = ("pass", "partial", "fail", "not_applicable", "not_reviewed", "error", "waived")
RATIO_STEPS = 10 ** 4


def dec(d) -> Frac:
    return Frac.of_decimal(Decimal(d))


def _outcome(got: Frac, points: Frac, n: int) -> np.ndarray:
    s_full = f_cmp(got, points)
    s_pos = f_cmp(got, Frac(0, 1))
    return np.where(s_full >= 0, PASS, np.where(s_pos > 0, PARTIAL, FAIL)).astype(np.int8) * np.ones(n, np.int8)


def _scalar_den(f: Frac, n: int) -> tuple[np.ndarray, int]:
    """Numerators over one denominator (the least common one when rows differ)."""
    f = frac_rows(f, n)
    if isinstance(f.den, np.ndarray):
        d = np.unique(f.den)
        if len(d) > 1:
            lcm = 1
            for x in d.tolist():
                lcm = lcm * int(x) // math.gcd(lcm, int(x))
            return np.asarray(f.num * (lcm // f.den)), lcm
        return np.asarray(f.num), int(d[0]) if len(d) else 1
    return np.asarray(f.num), int(f.den)


def _min(a: Frac, b: Frac) -> Frac:
    return _select(f_cmp(b, a) < 0, b, a)


# ------------------------------------------------------------------ methods: (code, points, state, veto)

def _check(c, env, n, P):
    ok, st = as_bool(evaluate(c.params.tree, env), n)
    return np.where(ok, PASS, FAIL).astype(np.int8), Frac(np.where(ok, P.num, 0), P.den), st, None


def _threshold(c, env, n, P):
    f, op, value = c.params
    v = env.name(f.id)
    s = f_cmp(v.v, dec(value))
    ok = {">=": s >= 0, ">": s > 0, "<=": s <= 0, "<": s < 0}[op]
    ok = np.broadcast_to(ok, (n,))
    return np.where(ok, PASS, FAIL).astype(np.int8), Frac(np.where(ok, P.num, 0), P.den), state(v, n), None


def _bands(c, env, n, P):
    p = c.params
    if p[0] == "enum":
        _, f, table = p
        v = env.name(f.id)
        tests = [(np.asarray(v.v) == env.strings.code(eq), dec(got)) for eq, got in table]
    else:
        _, expr, table, f = p
        v = evaluate(expr.tree, env)
        tests = [(f_cmp(v.v, dec(mn)) >= 0, dec(got)) for mn, got in table]
    den = 1
    for _, got in tests:
        den = den * got.den // math.gcd(den, got.den)
    num = np.zeros(n, np.int64)
    taken = np.zeros(n, bool)
    for hit, got in tests:
        m = np.broadcast_to(hit, (n,)) & ~taken
        num[m] = got.num * (den // got.den)
        taken |= m
    pts = Frac(num, den)
    code = np.where(taken, _outcome(pts, P, n), FAIL).astype(np.int8)
    return code, pts, state(v, n), None


def _ratio(c, env, n, P):
    top, bottom, target, scoring = c.params
    t = evaluate(top.tree, env)
    if bottom is None:
        st = _fail_where(t.st, np.broadcast_to(f_cmp(t.v, Frac(0, 1)) < 0, (n,)), ERROR)
        ratio = t.v
    else:
        b = evaluate(bottom.tree, env)
        st = seq(t.st, b.st)
        zero = np.broadcast_to(f_cmp(b.v, Frac(0, 1)) == 0, (n,))
        st = _fail_where(st, zero, ERROR)
        neg = (f_cmp(t.v, Frac(0, 1)) < 0) | (f_cmp(b.v, Frac(0, 1)) < 0)
        st = _fail_where(st, np.broadcast_to(neg, (n,)), ERROR)
        ratio, _ = f_div(t.v, b.v)
    ok = state(Val("num", None, st), n) == OK
    q = np.where(ok, np.broadcast_to(np.asarray(round_half_up(ratio, RATIO_STEPS)), (n,)), 0)
    tg = dec(target)
    reached = f_cmp(Frac(q, RATIO_STEPS), tg) >= 0
    full = Frac(np.full(n, P.num), P.den)
    if scoring == "proportional":
        # points x ratio / target, kept exact (agrade rounds only the total)
        got = f_mul(Frac(q, 1), Frac(P.num * tg.den, P.den * RATIO_STEPS * tg.num))
        code = np.where(reached, PASS, _outcome(got, P, n)).astype(np.int8)
        return code, _select(reached, full, got), st_rows(st, n), None
    return np.where(reached, PASS, FAIL).astype(np.int8), Frac(np.where(reached, P.num, 0), P.den), st_rows(st, n), None


def st_rows(st, n):
    return np.zeros(n, np.int8) if st is None else np.broadcast_to(st, (n,))


def _frequency(c, env, n, P):
    f, every, at_least, deduct = c.params
    v = env.name(f.id)
    counts = env.period_counts(v.v, every)            # (n, periods)
    missing = np.maximum(at_least - counts, 0).sum(axis=1)
    d = dec(deduct)
    den = P.den * d.den // math.gcd(P.den, d.den)
    p_num, d_num = P.num * (den // P.den), d.num * (den // d.den)
    lost = np.minimum(p_num, d_num * missing)
    got = Frac(p_num - lost, den)
    code = np.where(missing == 0, PASS, _outcome(got, P, n)).astype(np.int8)
    return code, got, state(v, n), None


def _items(c, env, n):
    """(total, any line, state) of deduction / bonus items, evaluated in order."""
    total = Frac(np.zeros(n, np.int64), 1)
    lines = np.zeros(n, bool)
    st = None
    for _id, _label, key, expr, amount in c.params:
        v = evaluate(expr.tree, env)
        st = seq(st, v.st)
        if key == "when":
            hit, _ = as_bool(v, n)
            times = Frac(hit.astype(np.int64), 1)
        else:
            times = frac_rows(v.v, n)
            st = _fail_where(st, np.broadcast_to(f_cmp(times, Frac(0, 1)) < 0, (n,)), ERROR)
        nz = np.broadcast_to(f_cmp(times, Frac(0, 1)) != 0, (n,))
        lines |= nz
        total = f_add(total, f_mul(dec(amount), times))
    return frac_rows(total, n), lines, (np.zeros(n, np.int8) if st is None else np.broadcast_to(st, (n,)))


def _deduction(c, env, n, P):
    total, lines, st = _items(c, env, n)
    full = Frac(np.full(n, P.num), P.den)
    got = f_add(full, _min(full, total), -1)
    code = np.where(lines, _outcome(got, P, n), PASS).astype(np.int8)
    return code, _select(lines, got, full), st, None


def _bonus(c, env, n, P):
    total, lines, st = _items(c, env, n)
    got = _min(Frac(np.full(n, P.num), P.den), total)
    num, den = _scalar_den(got, n)
    code = np.where(lines, _outcome(Frac(num, den), P, n), FAIL).astype(np.int8)
    return code, Frac(np.where(lines, num, 0), den), st, None


def _veto(c, env, n, P):
    hit, st = as_bool(evaluate(c.params[0].tree, env), n)
    return np.where(hit, FAIL, PASS).astype(np.int8), Frac(np.zeros(n, np.int64), 1), st, hit


def _info(c, env, n, P):
    v = evaluate(c.params[0].tree, env)
    return np.full(n, PASS, np.int8), Frac(np.zeros(n, np.int64), 1), state(v, n), None


METHODS = {"check": _check, "threshold": _threshold, "bands": _bands, "ratio": _ratio, "frequency": _frequency,
           "deduction": _deduction, "bonus": _bonus, "veto": _veto, "info": _info}


def score(c, env, n: int, waived: np.ndarray | None):
    """(code int8, points numerator int64, points denominator, veto hit) for one criterion."""
    max_points = c.points if c.kind in ("base", "bonus") else Decimal(0)
    P = dec(max_points)
    code, pts, mst, veto = METHODS[c.method](c, env, n, P)
    num, den = _scalar_den(pts, n)
    if P.den != 1 and den % P.den:
        lcm = den * P.den // math.gcd(den, P.den)
        num, den = num * (lcm // den), lcm
    code = np.array(code, np.int8)
    code[mst == MISSING] = NR
    code[mst == ERROR] = ERR
    if c.applies_if is not None:
        app, ast = as_bool(evaluate(c.applies_if.tree, env), n)
        code[~app] = NA
        code[ast == MISSING] = NR
        code[ast == ERROR] = ERR
    num = np.where((code == NR) | (code == ERR) | (code == NA), 0, num)
    if waived is not None and waived.any():
        code[waived] = WAIVED
        num = np.where(waived, P.num * (den // P.den), num)
    hit = np.zeros(n, bool) if veto is None else (np.asarray(veto) & (code == FAIL))
    if ((num < 0) | (num * P.den > P.num * den)).any():
        raise AssertionError(f"criterion {c.id} ({c.method}) gave points outside 0..{max_points}")
    return code, np.asarray(num, np.int64), den, hit
