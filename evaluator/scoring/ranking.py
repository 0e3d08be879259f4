"""Ranks, tier quotas and the tier-A target over a whole round.

Order: organizations are compared by tier (best first), then by the standard's tie-break
keys (e.g. total desc, base desc, bonus desc, veto_count asc). Organizations equal on all
of them share a rank ("1224" competition ranking) and are listed by id.

Quotas ("at most 30% of a district in tier A") are resolved best tier first: within each
scope, the organizations placed in the tier are taken in tie-break order and those beyond
floor(share × graded organizations in the scope) move one tier down, where the next
tier's quota applies to them too. At the quota boundary, equal organizations are taken by
id, which is deterministic though arbitrary; the tier reasons say so.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Callable

from ..terms import pct, scope_key, scope_label
from ..model import Grading, Target, ZERO



@dataclass
class Entry:
    """What ranking needs of one organization (mutable: quotas move tiers)."""
    id: str
    district: str
    street: str
    type: str
    graded: bool
    tier_index: int | None
    keys: dict[str, Decimal]           # total, base, bonus, veto_count, reviewed_share, section:<id>
    grading: Grading
    tier_before_quota: int | None = None
    reasons: list[str] | None = None
    # After a quota moves it down, placement runs again (gates of the new tier, vetoes):
    # place(idx, reasons) -> idx (grading.place)
    place: Callable[[int, list], int] | None = None


def scope_value(e: Entry, scope: str) -> str:
    return scope_key(scope, e.district, e.street, e.type)


def _sort_key(tie_breaks):
    def key(e: Entry):
        return tuple((-e.keys.get(k, ZERO) if desc else e.keys.get(k, ZERO)) for k, desc in tie_breaks)
    return key


def apply_quotas(entries: list[Entry], tie_breaks) -> None:
    by_key = _sort_key(tie_breaks)
    specs: dict[tuple, list[Entry]] = defaultdict(list)
    for e in entries:
        if e.graded:
            for q in e.grading.quotas:
                specs[(q.tier, q.max_share, q.scope)].append(e)
    for e in entries:
        e.tier_before_quota = e.tier_index
    # Tier order is the grading's tier list; all standards in a round share the tier ids they quota.
    for (tier, share, scope), members in sorted(specs.items(), key=lambda kv: _tier_pos(kv[1], kv[0][0])):
        groups: dict[str, list[Entry]] = defaultdict(list)
        for e in members:
            groups[scope_value(e, scope)].append(e)
        for value, group in sorted(groups.items()):
            allowed = int((share * len(group)).to_integral_value(ROUND_FLOOR))
            in_tier = sorted((e for e in group if e.tier_index is not None and e.grading.tiers[e.tier_index].id == tier),
                             key=lambda e: (by_key(e), e.id))
            where = scope_label(scope, value)
            # Organizations equal on every tie-break key at the boundary are told apart by id:
            # deterministic but arbitrary, so both sides of the cut are told so.
            boundary = by_key(in_tier[allowed]) if allowed < len(in_tier) else None
            tied = {e.id for e in in_tier if by_key(e) == boundary} if boundary is not None else set()
            tie_note = (f"；与其他 {len(tied) - 1} 个组织在排序各项上完全并列，按组织编号先后确定名额"
                        if len(tied) > 1 and allowed > 0 and by_key(in_tier[allowed - 1]) == boundary else "")
            for e in in_tier[:allowed]:
                if tie_note and e.id in tied:
                    e.reasons.append(f"{where}{e.grading.tiers[e.tier_index].name}名额为 {pct(share, 2)}"
                                     f"（{len(group)} 个中最多 {allowed} 个），本组织保留在该档{tie_note}")
            for pos, e in enumerate(in_tier[allowed:], start=allowed + 1):
                tiers = e.grading.tiers
                if e.tier_index < len(tiers) - 1:
                    e.tier_index += 1
                    e.reasons.append(f"{where}{tiers[e.tier_index - 1].name}名额为 {pct(share, 2)}"
                                     f"（{len(group)} 个中最多 {allowed} 个），本组织在该档排第 {pos}，调整为 {tiers[e.tier_index].name}"
                                     + (tie_note if e.id in tied else ""))
                    if e.place is not None:
                        e.tier_index = e.place(e.tier_index, e.reasons)


def _tier_pos(members, tier_id):
    # quota tiers are checked against every standard when the standard and the round load
    return [t.id for t in members[0].grading.tiers].index(tier_id)


def rank(entries: list[Entry], tie_breaks, scope: str) -> dict[str, int]:
    """Competition ranks within each scope value; not-graded organizations get no rank."""
    by_key = _sort_key(tie_breaks)
    out: dict[str, int] = {}
    groups: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        if e.graded:
            groups[scope_value(e, scope)].append(e)
    for group in groups.values():
        ordered = sorted(group, key=lambda e: ((e.tier_index, by_key(e)), e.id))
        prev, prev_rank = None, 0
        for pos, e in enumerate(ordered, start=1):
            k = (e.tier_index, by_key(e))
            if k != prev:
                prev, prev_rank = k, pos
            out[e.id] = prev_rank
    return out


def target_report(entries: list[Entry], target: Target | None) -> list[dict[str, Any]]:
    """Share of the target tier per scope value, against the target share."""
    if target is None:
        return []
    groups: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        if e.graded:
            groups[scope_value(e, target.scope)].append(e)
    rows = []
    for value, group in sorted(groups.items()):
        hit = sum(1 for e in group if e.grading.tiers[e.tier_index].id == target.tier)
        share = (Decimal(hit) / len(group)).quantize(Decimal("0.0001"))
        rows.append({"scope": target.scope, "value": value, "tier": target.tier, "count": hit,
                     "graded": len(group), "share": share, "target": target.min_share,
                     "met": share >= target.min_share})
    return rows
