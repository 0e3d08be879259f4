"""Red and black lists (evaluator/scoring/lists.py) over the round's results, vectorized.

1. `include` (all must hold) / `include_any` (any one) select organizations; an expression that
   needs a value an organization does not have (the tier of an ungraded one) does not select it;
   a list with neither selects every graded organization, or none when it only has `bottom`;
2. `top: {n, scope}` keeps, of the selected, those whose competition position by round rank in
   their scope is at most n (ties at the boundary all stay; ungraded ones drop out);
3. `bottom: {share, scope}` adds floor(share x graded in the scope) lowest-ranked organizations
   of each scope, ties at the boundary included.
Entries are listed by round rank (ungraded last), then id.
"""
from __future__ import annotations

import numpy as np

from evaluator.standard.listrules import compile_rule_expr, share

from .expr import MISSING, OK, Val, as_bool, evaluate
from .grading import CENTS, RoundResult
from .intake import Pivot
from .methods import dec
from .rational import Frac
from .ranking import _first_of_run, _runs, scope_groups
from .setup import Setup


class ListEnv:
    """What list expressions see of every organization (lists._env)."""

    def __init__(self, setup: Setup, piv: Pivot, res: RoundResult):
        self.setup, self.piv, self.res = setup, piv, res
        self.strings = setup.strings
        self.end = setup.end
        n = piv.n
        g = res.graded
        miss = np.where(g, OK, MISSING).astype(np.int8)
        tier_codes = np.full(n, -1, np.int64)
        top = np.zeros(n, bool)
        bottom = np.zeros(n, bool)
        for si, std in enumerate(setup.standards):
            ids = np.array([setup.strings.code(t.id) for t in std.grading.tiers], np.int64)
            m = (piv.std == si) & g
            tier_codes[m] = ids[res.tier[m]]
            top[m] = res.tier[m] == 0
            bottom[m] = res.tier[m] == len(ids) - 1
        status = np.where(g, setup.strings.code("graded"), setup.strings.code("not_graded"))

        def rank(scope):
            r = res.rank[scope]
            return Val("num", Frac(r, 1), np.where(r > 0, OK, MISSING).astype(np.int8))
        self.names = {
            "tier": Val("text", tier_codes, miss), "top_tier": Val("bool", top, miss),
            "bottom_tier": Val("bool", bottom, miss), "total": Val("num", Frac(res.total, CENTS), miss),
            "base": Val("num", Frac(res.base, CENTS)), "bonus": Val("num", Frac(res.bonus, res.Lg)),
            "veto_count": Val("num", Frac(res.veto_count, 1)), "rank": rank("round"),
            "rank_district": rank("district"), "rank_type": rank("type"),
            "org.type": Val("text", piv.type_code), "org.district": Val("text", piv.district),
            "org.street": Val("text", piv.street), "status": Val("text", status),
        }

    def name(self, name: str) -> Val:
        return self.names[name]

    def present(self, name: str) -> np.ndarray:
        v = self.names[name]
        return np.ones(self.piv.n, bool) if v.st is None else v.st == OK

    def result_function(self, func, arg):
        raise NotImplementedError(func)


def _matches(source: str, env: ListEnv, n: int) -> np.ndarray:
    v, st = as_bool(evaluate(compile_rule_expr(source).tree, env), n)
    return v & (st == OK)


def derive_lists(setup: Setup, piv: Pivot, res: RoundResult) -> dict:
    """list id -> organization indices in entry order."""
    n = piv.n
    env = ListEnv(setup, piv, res)
    rank = res.rank["round"]
    ranked = rank > 0
    out = {}
    for lid, rule in setup.lists.items():
        if "include" in rule or "include_any" in rule:
            sel = np.ones(n, bool)
            if "include" in rule:
                sel &= _matches(rule["include"], env, n)
            if "include_any" in rule:
                anyhit = np.zeros(n, bool)
                for src in rule["include_any"]:
                    anyhit |= _matches(src, env, n)
                sel &= anyhit
        else:
            sel = np.zeros(n, bool) if "bottom" in rule else res.graded.copy()
        if "top" in rule:
            grp = scope_groups(piv, rule["top"]["scope"])
            c = np.flatnonzero(sel & ranked)
            r = c[np.lexsort((piv.id_order[c], rank[c], grp[c]))]
            pos = _first_of_run(_runs(grp[r], rank[r])) - _first_of_run(_runs(grp[r])) + 1
            sel = np.zeros(n, bool)
            sel[r[pos <= rule["top"]["n"]]] = True
        if "bottom" in rule:
            grp = scope_groups(piv, rule["bottom"]["scope"])
            frac = dec(share(rule["bottom"]["share"]))
            c = np.flatnonzero(ranked)
            r = c[np.lexsort((piv.id_order[c], rank[c], grp[c]))]
            g = grp[r]
            start = np.flatnonzero(_runs(g))
            size = np.diff(np.append(start, len(r)))
            places = (frac.num * size) // frac.den
            has = places > 0
            cutoff = np.zeros(len(start), np.int64)
            cutoff[has] = rank[r[(start + size - places)[has]]]
            run = np.cumsum(_runs(g)) - 1
            add = has[run] & (rank[r] >= cutoff[run])
            sel[r[add]] = True
        idx = np.flatnonzero(sel)
        key_rank = np.where(rank[idx] > 0, rank[idx], 0)
        order = np.lexsort((piv.id_order[idx], key_rank, rank[idx] == 0))
        out[lid] = idx[order]
    return out
