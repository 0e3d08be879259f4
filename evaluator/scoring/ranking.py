"""Ranks, tier quotas and the tier-A target over a whole round, on compact rows.

Order: organizations are compared by tier (best first), then by the standard's tie-break
keys (e.g. total desc, base desc, bonus desc, veto_count asc). Organizations equal on all
of them share a rank ("1224" competition ranking) and are listed by id.

Quotas ("at most 30% of a district in tier A") are resolved best tier first: within each
scope, the organizations placed in the tier are taken in tie-break order and those beyond
floor(share × graded organizations in the scope) move one tier down, where placement runs
again (grading.place: that tier's gates, the vetoes) and the next tier's quota applies to
them too. At the quota boundary, equal organizations are taken by id, which is
deterministic though arbitrary; the tier reasons say so.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Iterable, Mapping

from ..model import Grading, Target, ZERO
from ..terms import SCOPES, pct, scope_key, scope_label
from .grading import place
from .rows import Row


def sort_key(values: Mapping[str, Decimal], tie_breaks) -> tuple:
    """The tie-break values of one organization, signed so that ascending order is best first."""
    return tuple((-values.get(k, ZERO) if desc else values.get(k, ZERO)) for k, desc in tie_breaks)


def scope_value(r: Row, scope: str) -> str:
    return scope_key(scope, r.district, r.street, r.type)


def apply_quotas(rows: Iterable[Row], gradings: Mapping[str, Grading]) -> None:
    specs: dict[tuple, list[Row]] = defaultdict(list)
    for r in rows:
        r.tier_before_quota = r.tier_index
        if r.graded:
            for q in gradings[r.standard].quotas:
                specs[(q.tier, q.max_share, q.scope)].append(r)
    # Tier order is the grading's tier list; all standards in a round share the tier ids they quota.
    order = lambda kv: [t.id for t in gradings[kv[1][0].standard].tiers].index(kv[0][0])   # noqa: E731
    for (tier, share, scope), members in sorted(specs.items(), key=order):
        groups: dict[str, list[Row]] = defaultdict(list)
        for r in members:
            groups[scope_value(r, scope)].append(r)
        for value, group in sorted(groups.items()):
            _one_quota(group, gradings, tier, share, scope, value)


def _one_quota(group: list[Row], gradings, tier: str, share: Decimal, scope: str, value: str) -> None:
    allowed = int((share * len(group)).to_integral_value(ROUND_FLOOR))
    in_tier = sorted((r for r in group if r.tier_index is not None
                      and gradings[r.standard].tiers[r.tier_index].id == tier), key=lambda r: (r.sort_key, r.id))
    where = scope_label(scope, value)
    # Organizations equal on every tie-break key at the boundary are told apart by id:
    # deterministic but arbitrary, so both sides of the cut are told so.
    boundary = in_tier[allowed].sort_key if allowed < len(in_tier) else None
    tied = {r.id for r in in_tier if r.sort_key == boundary} if boundary is not None else set()
    tie_note = (f"；与其他 {len(tied) - 1} 个组织在排序各项上完全并列，按组织编号先后确定名额"
                if len(tied) > 1 and allowed > 0 and in_tier[allowed - 1].sort_key == boundary else "")
    for r in in_tier[:allowed]:
        if tie_note and r.id in tied:
            _reasons(r).append(f"{where}{gradings[r.standard].tiers[r.tier_index].name}名额为 {pct(share, 2)}"
                               f"（{len(group)} 个中最多 {allowed} 个），本组织保留在该档{tie_note}")
    for pos, r in enumerate(in_tier[allowed:], start=allowed + 1):
        g = gradings[r.standard]
        if r.tier_index < len(g.tiers) - 1:
            r.tier_index += 1
            reasons = _reasons(r)
            reasons.append(f"{where}{g.tiers[r.tier_index - 1].name}名额为 {pct(share, 2)}"
                           f"（{len(group)} 个中最多 {allowed} 个），本组织在该档排第 {pos}，调整为 {g.tiers[r.tier_index].name}"
                           + (tie_note if r.id in tied else ""))
            r.tier_index = place(g, r.tier_index, list(r.caps), r.gate_failures or {}, reasons)


def _reasons(r: Row) -> list[str]:
    if r.extra_reasons is None:
        r.extra_reasons = []
    return r.extra_reasons


def assign_ranks(rows: Iterable[Row]) -> list[Row]:
    """Competition ranks in every scope, set on the rows; returns the graded rows in rank order
    (ungraded organizations get no rank)."""
    ranked = sorted((r for r in rows if r.graded), key=lambda r: (r.tier_index, r.sort_key, r.id))
    for scope in SCOPES:
        attr = "rank_" + scope
        prev: dict[str, tuple] = {}          # scope value -> (key, rank, seen)
        for r in ranked:
            value = scope_value(r, scope)
            k = (r.tier_index, r.sort_key)
            last = prev.get(value)
            seen = last[2] + 1 if last else 1
            rank = last[1] if last and last[0] == k else seen
            prev[value] = (k, rank, seen)
            setattr(r, attr, rank)
    return ranked


def target_report(rows: Iterable[Row], target: Target | None, gradings: Mapping[str, Grading]) -> list[dict[str, Any]]:
    """Share of the target tier per scope value, against the target share."""
    if target is None:
        return []
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        if r.graded:
            groups[scope_value(r, target.scope)].append(r)
    out = []
    for value, group in sorted(groups.items()):
        hit = sum(1 for r in group if gradings[r.standard].tiers[r.tier_index].id == target.tier)
        share = (Decimal(hit) / len(group)).quantize(Decimal("0.0001"))
        out.append({"scope": target.scope, "value": value, "tier": target.tier, "count": hit,
                    "graded": len(group), "share": share, "target": target.min_share,
                    "met": share >= target.min_share})
    return out
