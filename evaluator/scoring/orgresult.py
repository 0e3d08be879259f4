"""One organization's result, serialized once, as it is scored.

The result of results.json's `organizations[]` is written in three parts: `head` (who it is
and its scores), the round part (tier after quotas, tier reasons, ranks — known only when the
whole round is ranked) and `tail` (sections, criteria, vetoes, findings, provenance). Head and
tail are serialized (orjson) when the organization is scored and spilled to disk; the writer
splices in the round part. Numbers follow results.json's rule: a whole Decimal is an integer,
any other a JSON number with the shortest digits that round-trip it.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import orjson

from ..model import Evidence, Organization, Outcome, Record, Standard
from ..terms import ORG_TYPES
from .grading import Grade
from .rows import Row

_OPTS = orjson.OPT_PASSTHROUGH_DATACLASS


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    if isinstance(obj, Record):
        return obj.date.isoformat() if not obj.title else {"date": obj.date.isoformat(), "title": obj.title}
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    raise TypeError(f"cannot serialize {type(obj).__name__}")


def _number(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_default, option=_OPTS)


def parts(org: Organization, std: Standard, ev: Evidence, outcomes: list[Outcome],
          own: list[Outcome] | None, g: Grade) -> tuple[bytes, bytes]:
    """(head, tail) of the organization's result, as JSON objects."""
    head = {"id": org.id, "name": org.name, "type": org.type, "type_name": ORG_TYPES.get(org.type, org.type),
            "district": org.district, "street": org.street, "parent": org.parent}
    if org.responsible:
        head["responsible"] = org.responsible
    head.update({"standard": {"id": std.id, "version": std.version}, "status": g.status, "total": g.total,
                 "base": g.base, "bonus": g.bonus, "components": g.components, "reviewed_share": g.reviewed_share})
    own_by_id = {o.criterion: o for o in own} if own else {}
    criteria = []
    for o in outcomes:
        c = std.criteria[o.criterion]
        item = {"id": c.id, "section": c.section, "title": c.title, "method": c.method, "kind": c.kind,
                "outcome": o.outcome, "points": _number(o.points), "max_points": _number(o.max_points),
                "reason": o.reason, "evidence": dict(o.evidence), "rectification": c.rectification}
        mine = own_by_id.get(c.id)
        if mine is not None:
            item["self_outcome"] = mine.outcome
            item["self_points"] = mine.points
        criteria.append(item)
    tail = {"sections": [{"id": s.id, "title": s.title, "points": g.sections[s.id], "max_points": _section_max(std, s)}
                         for s in std.sections],
            "criteria": criteria, "vetoes": g.vetoes,
            "findings": [{"kind": f.kind, "field": f.field, "self": f.self_value, "verified": f.verified_value,
                          "message": f.message} for f in ev.findings],
            "provenance": dict(sorted(ev.provenance.items()))}
    return dumps(head), dumps(tail)


def _section_max(std: Standard, section) -> Decimal:
    return sum((std.criteria[c].points for c in section.criteria if std.criteria[c].kind == "base"), Decimal(0))


def round_part(row: Row, std: Standard) -> dict:
    tiers = std.grading.tiers
    tier = tiers[row.tier_index].id if row.tier_index is not None else None
    return {"tier": tier, "tier_name": std.grading.tier_name(tier),
            "tier_before_quota": tiers[row.tier_before_quota].id if row.tier_before_quota is not None else None,
            "tier_reasons": row.tier_reasons,
            "rank": {"round": row.rank_round, "district": row.rank_district, "street": row.rank_street,
                     "type": row.rank_type}}


def splice(head: bytes, middle: dict, tail: bytes) -> bytes:
    """head + the round part + tail as one JSON object."""
    return head[:-1] + b"," + dumps(middle)[1:-1] + b"," + tail[1:]
