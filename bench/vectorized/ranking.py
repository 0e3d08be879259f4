"""Quotas and ranks over the whole round (evaluator/scoring/ranking.py), vectorized.

Organizations are ordered by tier (best first), then the round's tie-break keys, then id.
Quotas are taken best tier first: in each scope, those in the tier beyond
floor(share x graded members of the scope) move one tier down and are placed again (veto caps,
gates). Ranks are competition ranks ("1224") within the round, the district, the street (within
its district) and the type.
"""
from __future__ import annotations

import numpy as np

from .grading import RoundResult, StdScores, _lcm, place
from .intake import ExactRangeError, Pivot
from .methods import dec
from .rational import LIMIT, maxabs
from .setup import Setup


def scope_groups(piv: Pivot, scope: str) -> np.ndarray:
    if scope == "round":
        return np.zeros(piv.n, np.int64)
    if scope == "district":
        return piv.district.astype(np.int64)
    if scope == "street":               # a street within its district
        return piv.district.astype(np.int64) * (int(piv.street.max()) + 1) + piv.street
    if scope == "type":
        return piv.type_code.astype(np.int64)
    raise ValueError(scope)


def _runs(*cols) -> np.ndarray:
    """True where a row of a sorted table differs from the previous row in any column."""
    n = len(cols[0])
    new = np.zeros(n, bool)
    if n:
        new[0] = True
        for c in cols:
            new[1:] |= c[1:] != c[:-1]
    return new


def _first_of_run(new: np.ndarray) -> np.ndarray:
    return np.maximum.accumulate(np.where(new, np.arange(len(new)), 0))


def rank_round(setup: Setup, piv: Pivot, stds: list[StdScores]) -> RoundResult:
    n = piv.n
    tmax = max(len(setup.standards[s.si].grading.tiers) for s in stds)
    graded = np.zeros(n, bool)
    tier = np.full(n, -1, np.int64)
    cap = np.full(n, -1, np.int64)
    ntiers = np.zeros(n, np.int64)
    tier_ok = np.ones((n, tmax), bool)
    total = np.zeros(n, np.int64)
    base = np.zeros(n, np.int64)
    share = np.zeros(n, np.int64)
    vetoes = np.zeros(n, np.int64)
    Lg = _lcm(s.L for s in stds)
    bonus = np.zeros(n, np.int64)
    sections: dict[str, np.ndarray] = {}
    tid = np.full((len(setup.standards), tmax), -1, np.int64)
    for si, std in enumerate(setup.standards):
        for t, tr in enumerate(std.grading.tiers):
            tid[si, t] = setup.strings.code(tr.id)
    for s in stds:
        r = s.rows
        nt = len(setup.standards[s.si].grading.tiers)
        graded[r] = s.graded
        tier[r] = np.where(s.graded, s.tier, -1)
        cap[r] = s.cap
        ntiers[r] = nt
        tier_ok[np.ix_(r, np.arange(nt))] = s.tier_ok
        tier_ok[r, nt - 1:] = True           # the last tier's gates never bind
        total[r], base[r], share[r] = s.total, s.base, s.share
        vetoes[r] = s.hit.sum(0)
        f = Lg // s.L
        if maxabs(s.bonus) * f >= LIMIT:
            raise ExactRangeError("bonus does not fit int64 over the round's common denominator")
        bonus[r] = s.bonus * f
        for sid, v in s.sections.items():
            sections.setdefault(sid, np.zeros(n, np.int64))[r] = v * f
    keys = []
    for key, desc in setup.tie_breaks:
        col = {"total": total, "base": base, "bonus": bonus, "veto_count": vetoes, "reviewed_share": share}.get(key)
        if col is None:
            col = sections.get(key[len("section:"):], np.zeros(n, np.int64))
        keys.append(-col if desc else col)
    tier_before = tier.copy()
    _quotas(setup, piv, stds, graded, tier, cap, ntiers, tier_ok, tid, keys)
    ranks = {}
    for scope in ("round", "district", "street", "type"):
        grp = scope_groups(piv, scope)
        g = np.flatnonzero(graded)
        order = np.lexsort((piv.id_order[g], *reversed([k[g] for k in keys]), tier[g], grp[g]))
        r = g[order]
        cols = [grp[r], tier[r]] + [k[r] for k in keys]
        group_start = _first_of_run(_runs(grp[r]))
        first = _first_of_run(_runs(*cols))
        out = np.zeros(n, np.int64)
        out[r] = first - group_start + 1
        ranks[scope] = out
    return RoundResult(stds=stds, graded=graded, tier=tier, tier_before=tier_before, total=total, rank=ranks,
                       Lg=Lg, bonus=bonus, base=base, veto_count=vetoes)


def _quotas(setup, piv, stds, graded, tier, cap, ntiers, tier_ok, tid, keys) -> None:
    specs: dict = {}
    for s in stds:
        std = setup.standards[s.si]
        g = s.rows[s.graded]
        if not len(g):
            continue
        for qpos, q in enumerate(std.grading.quotas):
            key = (q.tier, q.max_share, q.scope)
            spec = specs.setdefault(key, {"stds": set(), "first": (int(g[0]), qpos), "lead": s.si})
            spec["stds"].add(s.si)
            if (int(g[0]), qpos) < spec["first"]:
                spec["first"], spec["lead"] = (int(g[0]), qpos), s.si
    # best tier first (in the first member's tier list), then in the order agrade met them
    ordered = sorted(specs.items(), key=lambda kv: (
        [t.id for t in setup.standards[kv[1]["lead"]].grading.tiers].index(kv[0][0]), kv[1]["first"]))
    for (tier_id, max_share, scope), spec in ordered:
        members = np.flatnonzero(graded & np.isin(piv.std, list(spec["stds"])))
        grp_all = scope_groups(piv, scope)
        _, ginv, sizes = np.unique(grp_all[members], return_inverse=True, return_counts=True)
        gof = np.full(piv.n, -1, np.int64)
        gof[members] = ginv
        sh = dec(max_share)
        allowed = (sh.num * sizes) // sh.den
        code = setup.strings.code(tier_id)
        in_t = members[tid[piv.std[members], tier[members]] == code]
        order = np.lexsort((piv.id_order[in_t], *reversed([k[in_t] for k in keys]), gof[in_t]))
        r = in_t[order]
        pos = np.arange(len(r)) - _first_of_run(_runs(gof[r]))
        out = r[pos >= allowed[gof[r]]]
        out = out[tier[out] < ntiers[out] - 1]
        tier[out] = place(tier[out] + 1, cap[out], tier_ok[out])
