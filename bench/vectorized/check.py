"""Compare the vectorized results with agrade's results.json, organization by organization.

Numbers are compared as agrade writes them (an integral Decimal as an int, any other as the
float nearest to it), after forming the same Decimal from the exact fraction: a fraction's
Decimal is correctly rounded to 28 digits, as is each of agrade's (one division at most).
"""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from .grading import CENTS, SHARE_STEPS, RoundResult
from .intake import Pivot
from .methods import OUTCOMES
from .setup import Setup


def _num(num, den):
    d = Decimal(int(num)) / Decimal(int(den))
    return int(d) if d == d.to_integral_value() else float(d)


def expected(setup: Setup, piv: Pivot, res: RoundResult) -> dict:
    """Per organization id: what results.json should say (the compared keys only)."""
    out = {}
    for s in res.stds:
        std = setup.standards[s.si]
        tiers = [t.id for t in std.grading.tiers]
        veto_caps = {c.id: c.params[1] for c in std.criteria.values() if c.kind == "veto"}
        for j, i in enumerate(s.rows.tolist()):
            graded = bool(res.graded[i])
            crit = []
            for k, cid in enumerate(s.cids):
                item = {"id": cid, "outcome": OUTCOMES[s.code[k, j]], "points": _num(s.num[k, j], s.L)}
                if s.self_code is not None:
                    item["self_outcome"] = OUTCOMES[s.self_code[k, j]]
                    item["self_points"] = _num(s.self_num[k, j], s.L)
                crit.append(item)
            out[piv.ids[i]] = {
                "status": "graded" if graded else "not_graded",
                "total": _num(res.total[i], CENTS) if graded else None,
                "base": _num(s.base[j], CENTS), "bonus": _num(s.bonus[j], s.L),
                "components": {k: _num(v[j], CENTS) for k, v in s.comps.items()},
                "reviewed_share": _num(s.share[j], SHARE_STEPS),
                "tier": tiers[res.tier[i]] if graded else None,
                "tier_before_quota": tiers[res.tier_before[i]] if graded else None,
                "rank": {k: (int(v[i]) or None) for k, v in res.rank.items()},
                "sections": {sid: _num(v[j], s.L) for sid, v in s.sections.items()},
                "vetoes": [(cid, veto_caps[cid]) for k, cid in enumerate(s.cids) if s.hit[k, j]],
                "criteria": crit,
            }
    return out


def _actual(o: dict) -> dict:
    crit = []
    for c in o["criteria"]:
        item = {"id": c["id"], "outcome": c["outcome"], "points": c["points"]}
        if "self_outcome" in c:
            item["self_outcome"] = c["self_outcome"]
            item["self_points"] = c["self_points"]
        crit.append(item)
    return {"status": o["status"], "total": o["total"], "base": o["base"], "bonus": o["bonus"],
            "components": o["components"], "reviewed_share": o["reviewed_share"], "tier": o["tier"],
            "tier_before_quota": o["tier_before_quota"], "rank": o["rank"],
            "sections": {x["id"]: x["points"] for x in o["sections"]},
            "vetoes": [(v["criterion"], v["cap_tier"]) for v in o["vetoes"]], "criteria": crit}


def _diff(path: str, want, got, out: list, limit: int) -> None:
    if len(out) >= limit:
        return
    if isinstance(want, dict) and isinstance(got, dict):
        for k in sorted(set(want) | set(got)):
            _diff(f"{path}.{k}", want.get(k, "<absent>"), got.get(k, "<absent>"), out, limit)
    elif isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for i, (a, b) in enumerate(zip(want, got)):
            _diff(f"{path}[{i}]", a, b, out, limit)
    elif want != got or isinstance(want, bool) != isinstance(got, bool):
        out.append(f"{path}: vectorized {want!r}, agrade {got!r}")


def compare(setup: Setup, piv: Pivot, res: RoundResult, results_json: Path, limit: int = 20):
    """(problems, organizations checked, criterion outcomes checked)."""
    with open(results_json, encoding="utf-8-sig") as fh:
        data = json.load(fh)
    want = expected(setup, piv, res)
    problems: list[str] = []
    orgs = data["organizations"]
    if len(orgs) != len(want):
        problems.append(f"organizations: vectorized {len(want)}, agrade {len(orgs)}")
    outcomes = 0
    for o in orgs:
        w = want.get(o["id"])
        if w is None:
            problems.append(f"{o['id']}: not in the vectorized results")
            continue
        outcomes += len(o["criteria"])
        got = _actual(o)
        w = {**w, "rank": {k: v for k, v in w["rank"].items() if k in got["rank"]}}   # older results: no street rank
        _diff(o["id"], w, got, problems, limit)
    rank = res.rank["round"]
    mine = sorted(range(piv.n), key=lambda i: (rank[i] == 0, rank[i], piv.ids[i]))
    order_want = [piv.ids[i] for i in mine]
    order_got = [o["id"] for o in orgs]
    if order_want != order_got:
        k = next(i for i, (a, b) in enumerate(zip(order_want, order_got)) if a != b) if len(order_want) == len(order_got) else 0
        problems.append(f"result order differs from position {k}: vectorized {order_want[k:k + 3]}, agrade {order_got[k:k + 3]}")
    for lid, idx in res.lists.items():
        entries = data["lists"].get(lid, {}).get("entries", [])
        got = [(e["organization"], e["rank"], e["tier"], e["total"]) for e in entries]
        mine_entries = [(piv.ids[i], int(rank[i]) or None, want[piv.ids[i]]["tier"], want[piv.ids[i]]["total"])
                        for i in idx.tolist()]
        if got != mine_entries:
            k = next((i for i, (a, b) in enumerate(zip(mine_entries, got)) if a != b), min(len(got), len(mine_entries)))
            problems.append(f"list {lid}: {len(mine_entries)} entries vectorized, {len(got)} agrade; first difference at "
                            f"{k}: vectorized {mine_entries[k:k + 2]}, agrade {got[k:k + 2]}")
    if set(data["lists"]) != set(res.lists):
        problems.append(f"lists: vectorized {sorted(res.lists)}, agrade {sorted(data['lists'])}")
    return problems[:limit] if len(problems) > limit else problems, len(orgs), outcomes
