"""Score every criterion, grade, place tiers, apply quotas and rank (evaluator/scoring/grading.py
and ranking.py), over whole columns.

Arithmetic is exact: points are integers over one denominator per standard, scores and totals
are fractions (int64, widened to Python ints only if a product could overflow), and the total,
the base score and the components are rounded once, half-up to 0.01. Where an exact total lies
exactly on a half cent, agrade's `Decimal` (28 digits) could have landed a hair below it after a
non-terminating quotient (x/9 points, a renormalized base over 97 points); for those few
organizations the scores are recomputed with `Decimal` exactly as agrade orders the operations
(`RoundResult.decimal_rows` counts them).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from .envs import CriteriaEnv, GateEnv, RecordCache
from .expr import OK, Val, as_bool, evaluate
from .intake import ExactRangeError, Pivot
from .methods import ERR, NA, NR, OUTCOMES, dec, score
from .rational import LIMIT, Frac, _gcd_obj, f_add, f_mul, maxabs, round_half_up
from .setup import Setup

CENTS = 100
SHARE_STEPS = 10 ** 4


def _lcm(values) -> int:
    out = 1
    for v in values:
        out = out * int(v) // math.gcd(out, int(v))
    return out


@dataclass
class StdScores:
    """One standard's organizations: outcomes, scores and the pre-quota tier."""
    si: int
    rows: np.ndarray
    cids: list
    code: np.ndarray             # (C, n) int8 outcome codes
    num: np.ndarray              # (C, n) int64 points over L
    L: int
    hit: np.ndarray              # (C, n) veto hits
    self_code: np.ndarray | None
    self_num: np.ndarray | None
    graded: np.ndarray = None
    total: np.ndarray = None     # cents
    base: np.ndarray = None      # cents
    bonus: np.ndarray = None     # over L
    comps: dict = field(default_factory=dict)     # component id -> cents
    share: np.ndarray = None     # reviewed share in 0.0001 steps
    sections: dict = field(default_factory=dict)  # section id -> base points over L
    tier: np.ndarray = None      # tier index after placement, before quotas
    cap: np.ndarray = None
    tier_ok: np.ndarray = None   # (n, tiers) all gates of the tier hold


@dataclass
class RoundResult:
    stds: list
    graded: np.ndarray           # (N,) per organization
    tier: np.ndarray             # final tier index (-1 not graded)
    tier_before: np.ndarray
    total: np.ndarray            # cents (only where graded)
    rank: dict                   # scope -> (N,) int64, 0 = none
    lists: dict = field(default_factory=dict)     # list id -> [(org index, ...)] in entry order
    decimal_rows: int = 0
    Lg: int = 1
    bonus: np.ndarray = None     # over Lg
    base: np.ndarray = None      # cents
    veto_count: np.ndarray = None


# ------------------------------------------------------------------ scoring and grading one standard

def _criteria(setup: Setup, piv: Pivot, cache: RecordCache, si: int, rows: np.ndarray, id_index: dict) -> StdScores:
    std = setup.standards[si]
    n = len(rows)
    pos = np.full(piv.n, -1, np.int64)
    pos[rows] = np.arange(n)
    waived = {}
    for (oid, cid), _ in setup.waivers.items():
        i = id_index.get(oid)
        if i is not None and pos[i] >= 0 and cid in std.criteria:
            waived.setdefault(cid, np.zeros(n, bool))[pos[i]] = True
    out = []
    for self_values in ((False, True) if std.needs_self_assessment else (False,)):
        env = CriteriaEnv(setup, piv, cache, rows, self_values)
        out.append([score(c, env, n, waived.get(c.id)) for c in std.criteria.values()])
    L = _lcm(r[2] for res in out for r in res)

    def stack(res):
        code = np.stack([r[0] for r in res]) if res else np.zeros((0, n), np.int8)
        num = np.stack([r[1] * (L // r[2]) for r in res]) if res else np.zeros((0, n), np.int64)
        if maxabs(num) * max(len(res), 1) >= LIMIT:
            raise ExactRangeError(f"points of standard {std.id} do not fit int64 over a common denominator {L}")
        return code, num, (np.stack([r[3] for r in res]) if res else np.zeros((0, n), bool))
    code, num, hit = stack(out[0])
    self_code, self_num = (stack(out[1])[:2] if len(out) > 1 else (None, None))
    return StdScores(si, rows, list(std.criteria), code, num, L, hit, self_code, self_num)


def _base_score(std, code, num, L, info):
    """(score fraction, reviewed, applicable, problems) as grading.base_score."""
    is_base, maxL, excl, forbid = info
    applicable_m = is_base & (code != NA)
    nr = code == NR
    counted_m = applicable_m & ~(nr & excl)
    reviewed_m = applicable_m & ~nr
    applicable = (maxL * applicable_m).sum(0)
    counted = (maxL * counted_m).sum(0)
    reviewed = (maxL * reviewed_m).sum(0)
    earned = (num * reviewed_m).sum(0)
    problems = (is_base & (code == ERR)).any(0) | (is_base & nr & forbid).any(0)
    g = dec(std.grading.base)
    zero = counted == 0
    score = Frac(np.where(zero, 0, earned * g.num), np.where(zero, 1, counted * g.den)).reduced()
    return score, reviewed, applicable, problems, (earned, np.where(zero, 1, counted))


def _terminates(num, den) -> np.ndarray:
    """Whether num/den is a terminating decimal (its reduced denominator is 2^a·5^b)."""
    num, den = np.asarray(num), np.broadcast_to(np.asarray(den), np.shape(num))
    if num.dtype == object or den.dtype == object:
        num, den = num.astype(object), den.astype(object)
        d = den // _gcd_obj(num, den)
    else:
        d = den // np.gcd(num, den)
    for p in (2, 5):
        while True:
            m = d % p == 0
            if not m.any():
                break
            d = np.where(m, d // p, d)
    return np.asarray(d == 1, bool)


def _half_cent(f: Frac, n: int) -> np.ndarray:
    """Rows whose exact value lies exactly on a half cent: 200·num ≡ den (mod 2·den)."""
    num = np.broadcast_to(np.asarray(f.num), (n,))
    den = np.broadcast_to(np.asarray(f.den), (n,))
    if num.dtype == object or den.dtype == object or maxabs(num) * 200 >= LIMIT or maxabs(den) * 2 >= LIMIT:
        num, den = num.astype(object), den.astype(object)
    return np.asarray((num * 200) % (den * 2) == den, bool)


def _grade(setup: Setup, piv: Pivot, cache: RecordCache, s: StdScores) -> int:
    """Fill the scores and the pre-quota tier of one standard; returns the rows recomputed
    with Decimal."""
    std = setup.standards[s.si]
    g = std.grading
    crits = list(std.criteria.values())
    n = len(s.rows)
    col = lambda a: np.array(a)[:, None]
    is_base = col([c.kind == "base" for c in crits]).astype(bool).reshape(-1, 1)
    is_bonus = col([c.kind == "bonus" for c in crits]).astype(bool).reshape(-1, 1)
    maxL = col([int(dec(c.points).num * (s.L // dec(c.points).den)) if c.kind in ("base", "bonus") else 0
                for c in crits]).astype(np.int64).reshape(-1, 1)
    excl = col([c.na_policy == "exclude" for c in crits]).astype(bool).reshape(-1, 1)
    forbid = col([c.na_policy == "forbid" for c in crits]).astype(bool).reshape(-1, 1)
    info = (is_base, maxL, excl, forbid)
    main, reviewed, applicable, problems, quotients = _base_score(std, s.code, s.num, s.L, info)
    quotients = [quotients]                  # earned / counted, which agrade divides in Decimal
    problems = problems | (~is_base & (s.code == ERR)).any(0) | (~is_base & (s.code == NR) & forbid).any(0)
    app0 = applicable == 0
    s.share = np.asarray(round_half_up(Frac(np.where(app0, 0, reviewed), np.where(app0, 1, applicable)), SHARE_STEPS))
    mrs = dec(g.min_reviewed_share)
    problems |= app0 | (~app0 & (s.share * mrs.den < mrs.num * SHARE_STEPS))
    comps = {}
    weighted = Frac(np.zeros(n, np.int64), 1)
    for comp in g.components:
        if comp.source == "criteria":
            value = main
        elif comp.source == "self_assessment":
            value, *_, q = _base_score(std, s.self_code, s.self_num, s.L, info)
            quotients.append(q)
        else:
            c = setup.field[comp.field].code
            has = piv.has[c, s.rows]
            problems |= ~has
            gb = dec(g.base)
            sc = dec(comp.scale if comp.scale is not None else g.base)
            value = f_mul(Frac(np.where(has, piv.val[c, s.rows], 0), 10 ** 6), Frac(gb.num * sc.den, gb.den * sc.num))
        comps[comp.id] = value
        weighted = f_add(weighted, f_mul(dec(comp.weight), value))
    bonus_raw = (s.num * is_bonus).sum(0)
    cap = dec(g.bonus_cap)
    capL = cap.num * s.L // cap.den if (s.L * cap.num) % cap.den == 0 else None
    if capL is None:
        raise ExactRangeError(f"bonus cap {g.bonus_cap} is not a multiple of 1/{s.L}")
    s.bonus = np.minimum(bonus_raw, capL)
    total = f_add(weighted, Frac(s.bonus, s.L))
    s.total = np.asarray(round_half_up(total, CENTS), np.int64)
    s.base = np.asarray(round_half_up(main, CENTS), np.int64)
    s.comps = {k: np.asarray(round_half_up(v, CENTS), np.int64) for k, v in comps.items()}
    s.sections = {sec.id: (s.num * col([c.section == sec.id and c.kind == "base" for c in crits]).reshape(-1, 1)).sum(0)
                  for sec in std.sections}
    s.graded = ~problems
    # The one rounding, checked. A value exactly on a half cent rounds up, in agrade too, as long
    # as every Decimal step on the way was exact (all terminating decimals). Where one was not
    # (a point of x/9, a score renormalized over 97 points), agrade's 28-digit Decimal may sit a
    # hair off the half cent: those organizations are recomputed as agrade computes them.
    edge = _half_cent(total, n) | _half_cent(main, n)
    for v in comps.values():
        edge |= _half_cent(v, n)
    e = np.flatnonzero(edge)
    inexact = ~_terminates(s.num[:, e], s.L).all(0) | ~_terminates(s.bonus[e], s.L)
    for v in comps.values():
        inexact |= ~_terminates(np.broadcast_to(v.num, (n,))[e], np.broadcast_to(v.den, (n,))[e])
    if s.self_num is not None:
        inexact |= ~_terminates(s.self_num[:, e], s.L).all(0)
    for earned, counted in quotients:
        inexact |= ~_terminates(earned[e], counted[e])
    recomputed = e[inexact]
    for i in recomputed:
        _decimal_row(setup, piv, std, s, int(i), crits)
    # tier from the total, then veto caps and gates (placement)
    tiers = g.tiers
    tmin = np.array([int((t.min * CENTS).to_integral_value(rounding="ROUND_CEILING")) for t in tiers], np.int64)
    idx = np.minimum((s.total[:, None] < tmin[None, :]).sum(1), len(tiers) - 1)
    capidx = col([g.tier_index(c.params[1]) if c.kind == "veto" else -1 for c in crits]).astype(np.int64).reshape(-1, 1)
    s.cap = np.where(s.hit, capidx, -1).max(0) if len(crits) else np.full(n, -1)
    s.tier_ok = _gates(setup, piv, cache, s, std)
    s.tier = place(idx, s.cap, s.tier_ok)
    return len(recomputed)


def place(idx: np.ndarray, cap: np.ndarray, tier_ok: np.ndarray) -> np.ndarray:
    """grading.place: veto caps, then down until the tier's gates hold (the last tier always
    does); both only move down, so one pass reaches the fixpoint."""
    j = np.maximum(idx, cap)
    for t in range(tier_ok.shape[1] - 1):
        m = (j == t) & ~tier_ok[:, t]
        j = np.where(m, t + 1, j)
    return j


def _gates(setup: Setup, piv: Pivot, cache: RecordCache, s: StdScores, std) -> np.ndarray:
    g = std.grading
    n = len(s.rows)
    ok = np.ones((n, len(g.tiers)), bool)
    if not g.gates:
        return ok
    base_env = CriteriaEnv(setup, piv, cache, s.rows, False)
    extra = {"total": Val("num", Frac(s.total, CENTS)), "base": Val("num", Frac(s.base, CENTS)),
             "bonus": Val("num", Frac(s.bonus, s.L)), "veto_count": Val("num", Frac(s.hit.sum(0).astype(np.int64), 1))}
    cix = {cid: i for i, cid in enumerate(s.cids)}
    outcome_codes = np.array([setup.strings.code(o) for o in OUTCOMES], np.int64)

    def results(func, arg):
        if func == "points":
            return Val("num", Frac(s.num[cix[arg]], s.L))
        if func == "outcome":
            return Val("text", outcome_codes[s.code[cix[arg]]])
        return Val("num", Frac(s.sections[arg], s.L))
    env = GateEnv(base_env, extra, results)
    for gate in g.gates:
        v, st = as_bool(evaluate(gate.condition.tree, env), n)
        ok[:, g.tier_index(gate.tier)] &= v & (st == OK)     # a gate that cannot be checked is not met
    return ok


def _decimal_row(setup: Setup, piv: Pivot, std, s: StdScores, i: int, crits) -> None:
    """Scores of one organization with Decimal, in agrade's order of operations."""
    g = std.grading
    D = Decimal

    def pts(num_col, k):
        return D(int(num_col[k, i])) / D(s.L)

    def base_score(code, num):
        earned = counted = D(0)
        for k, c in enumerate(crits):
            if c.kind != "base" or code[k, i] == NA:
                continue
            if code[k, i] == NR:
                if c.na_policy == "exclude":
                    continue
            else:
                earned += pts(num, k)
            counted += c.points
        return earned / counted * g.base if counted > 0 else D(0)
    main = base_score(s.code, s.num)
    weighted = D(0)
    for comp in g.components:
        if comp.source == "criteria":
            value = main
        elif comp.source == "self_assessment":
            value = base_score(s.self_code, s.self_num)
        else:
            c = setup.field[comp.field].code
            o = s.rows[i]
            raw = D(int(piv.val[c, o])) / D(10 ** 6) if piv.has[c, o] else D(0)
            value = raw * g.base / (comp.scale or g.base)
        s.comps[comp.id][i] = _cents(value)
        weighted += comp.weight * value
    bonus_raw = sum((pts(s.num, k) for k, c in enumerate(crits) if c.kind == "bonus"), D(0))
    bonus = min(bonus_raw, g.bonus_cap)
    s.total[i] = _cents(weighted + bonus)
    s.base[i] = _cents(main)


def _cents(d: Decimal) -> int:
    return int((d * CENTS).quantize(Decimal(1), ROUND_HALF_UP))


# ------------------------------------------------------------------ the round

def score_round(setup: Setup, piv: Pivot) -> RoundResult:
    cache = RecordCache(setup, piv)
    id_index = {oid: piv.index_of(oid) for oid, _ in setup.waivers}
    stds, recomputed = [], 0
    for si in range(len(setup.standards)):
        rows = np.flatnonzero(piv.std == si)
        if not len(rows):
            continue
        s = _criteria(setup, piv, cache, si, rows, id_index)
        recomputed += _grade(setup, piv, cache, s)
        stds.append(s)
    from .ranking import rank_round
    res = rank_round(setup, piv, stds)
    res.decimal_rows = recomputed
    from .lists import derive_lists
    res.lists = derive_lists(setup, piv, res)
    return res
