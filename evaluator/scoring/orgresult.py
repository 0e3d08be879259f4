"""One organization's result, serialized once, as it is scored.

The result of results.json's `organizations[]` is written in three parts: `head` (who it is
and its scores), the round part (tier after quotas, tier reasons, ranks — known only when the
whole round is ranked) and `tail` (sections, criteria, vetoes, findings, provenance). Head and
tail are serialized (orjson) when the organization is scored and spilled to disk; the writer
splices in the round part. Numbers follow results.json's rule: a whole Decimal is an integer,
any other a JSON number with the shortest digits that round-trip it.
"""
from __future__ import annotations

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
        return obj.as_json()
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    raise TypeError(f"cannot serialize {type(obj).__name__}")


def _number(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


_POINTS: dict[Decimal, int | float] = {}


def _points(d: Decimal) -> int | float:
    """`_number` of an outcome's points: nearly always one of a few Decimal objects (0, the
    criteria's points and bands) whose hash Python keeps, so looked up, not converted. (An
    evidence value is a new object each time: hashing it costs what converting does.) The
    result depends on the value alone, so equal Decimals share an entry."""
    got = _POINTS.get(d)
    if got is None:
        if len(_POINTS) >= 4096:
            _POINTS.clear()
        got = _POINTS[d] = _number(d)
    return got


def _plain(v: Any) -> Any:
    """An evidence value as `_default` would give it to orjson, made here for the common kinds
    (a number, a list of records): a callback from orjson per value cost more than the value.
    A record goes as `Record.as_json` says, with its date left to orjson, which writes a date
    as `isoformat()` does (YYYY-MM-DD): a method call and a string per record were a quarter
    of serializing an organization's frequency criteria."""
    t = type(v)
    if t is Decimal:
        return _number(v)
    if t is tuple:
        return [(r.date if not r.title else {"date": r.date, "title": r.title}) if type(r) is Record else _plain(r)
                for r in v]
    return v


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_default, option=_OPTS)


def parts(org: Organization, std: Standard, ev: Evidence, outcomes: list[Outcome],
          own: list[Outcome] | None, g: Grade, pieces: "Pieces | None" = None) -> tuple[bytes, bytes]:
    """(head, tail) of the organization's result, as JSON objects. `pieces` keeps what is
    serialized once and used again (criteria items of shared outcomes, section maxima)."""
    pieces = pieces or Pieces()
    head = {"id": org.id, "name": org.name, "type": org.type, "type_name": ORG_TYPES.get(org.type, org.type),
            "district": org.district, "street": org.street, "parent": org.parent}
    if org.responsible:
        head["responsible"] = org.responsible
    head.update({"standard": {"id": std.id, "version": std.version}, "status": g.status, "total": g.total,
                 "base": g.base, "bonus": g.bonus, "components": g.components, "reviewed_share": g.reviewed_share})
    items = pieces.items(std, outcomes)
    if own:
        criteria = b",".join(map(bytes.__add__, items, pieces.self_parts(own)))
        closed = b"],"
    else:
        # each item closed as it is joined (the last one below): not a copy of every item
        # with its brace added
        criteria = b"},".join(items)
        closed = b"}]," if outcomes else b"],"
    maxima = pieces.section_max(std)
    sections = [{"id": s.id, "title": s.title, "points": _number(g.sections[s.id]), "max_points": maxima[s.id]}
                for s in std.sections]
    # the tail as orjson would write the one object {"sections", "criteria", "vetoes",
    # "findings", "provenance"}: compact, keys in this order; the criteria items are spliced in
    rest = dumps({"vetoes": g.vetoes,
                  "findings": [{"kind": f.kind, "field": f.field, "self": f.self_value, "verified": f.verified_value,
                                "message": f.message} for f in pieces.in_field_order(std, ev.findings)],
                  "provenance": pieces.provenance(std, ev.provenance)})
    # joined once: adding the pieces one by one copied the organization's 20 KB four times
    tail = b"".join((b'{"sections":', dumps(sections), b',"criteria":[', criteria, closed, memoryview(rest)[1:]))
    return dumps(head), tail


# A verdict's words kept (Pieces.item): as many as a frequency plan keeps verdicts. What is
# kept long, scattered among a partition's short-lived objects, keeps the allocator's memory
# from going back: section entries kept by their points as well (most values new: a
# proportional ratio's) raised the 20,000-organization round's peak RSS from 365 MB to 407 MB
# (4,096 kept per standard) and 439 MB (100,000, these words too); so they are not kept.
_WORDS_KEPT = 4096


class Pieces:
    """Serialized pieces of results, made once and used again while one scorer lives.

    An outcome shared by many organizations (scoring.criteria.OutcomeCache) is serialized
    once: its criteria item, without the closing brace the self-assessment part goes
    before; its self-assessment part likewise. Both are kept by the outcome's identity
    (`_Kept`)."""

    def __init__(self, limit: int = 100_000):
        self.limit = limit
        self._items = _Kept(limit)
        self._mine = _Kept(limit)
        self._said: dict[tuple, bytes] = {}
        self._maxima: dict[str, tuple[Standard, dict]] = {}
        self._frames_of: dict[str, tuple[Standard, dict]] = {}
        self._sorted_fields: dict[str, tuple[Standard, list]] = {}
        self._field_order: dict[str, tuple[Standard, dict]] = {}

    def items(self, std: Standard, outcomes: list[Outcome]) -> list[bytes]:
        """The criteria items of an organization's outcomes, without their closing braces. Most
        are made already (outcomes shared through the OutcomeCache) and looked up here by the
        outcome's identity, all in one C-level pass (a call per criterion to look each up was
        a tenth of scoring an organization); the rest are made one by one."""
        got = list(map(self._items.hot.get, map(id, outcomes)))
        if None in got:
            frames, again = self._frames(std), self._items.again
            _fill_in(got, outcomes, lambda o: again(o) or self._make(frames[o.criterion], o))
        return got

    def item(self, std: Standard, o: Outcome) -> bytes:
        return self._items.hot.get(id(o)) or self._items.again(o) or self._make(self._frames(std)[o.criterion], o)

    def _make(self, frame: tuple[bytes, bytes, bool], o: Outcome) -> bytes:
        """A new item: its criterion's frame around the outcome's keys, in one copy (adding
        the pieces one by one copied the item three times)."""
        opening, closing, keep = frame
        if not keep:
            # an organization's own item (it quotes dated records): what it says besides the
            # records repeats across organizations (a frequency criterion's verdicts), so that
            # part is serialized once, the records each time
            said = (o.outcome, o.points, o.max_points, o.reason)
            head = self._said.get(said)
            if head is None:
                if len(self._said) >= _WORDS_KEPT:
                    self._said.clear()
                head = self._said[said] = dumps({"outcome": o.outcome, "points": _points(o.points),
                                                 "max_points": _points(o.max_points), "reason": o.reason})[1:-1]
            return b"".join((opening, head, b',"evidence":', dumps({k: _plain(v) for k, v in o.evidence}), closing))
        data = b"".join((opening, memoryview(dumps({
            "outcome": o.outcome, "points": _points(o.points), "max_points": _points(o.max_points),
            "reason": o.reason, "evidence": {k: _plain(v) for k, v in o.evidence}}))[1:-1], closing))
        self._items.add(o, data)
        return data

    def _frames(self, std: Standard) -> dict[str, tuple[bytes, bytes, bool]]:
        """Per criterion, what its item says whatever the outcome, serialized once: the keys
        before the outcome's (`{"id":…,"kind":…,`) and after them (`,"rectification":…`); and
        whether its items are kept. An item quoting dated records is an organization's own
        (no two organizations' records are alike, criteria.OutcomeCache): kept, such items
        filled the store with bytes never used again and made every lookup slower."""
        got = self._frames_of.get(std.id)
        if got is None or got[0] is not std:
            frames = {c.id: (dumps({"id": c.id, "section": c.section, "title": c.title, "method": c.method,
                                    "kind": c.kind})[:-1] + b",",
                             b"," + dumps({"rectification": c.rectification})[1:-1],
                             not any(std.fields[n].type == "records" for n in c.reads if n in std.fields))
                      for c in std.criteria.values()}
            got = self._frames_of[std.id] = (std, frames)
        return got[1]

    def self_parts(self, own: list[Outcome]) -> list[bytes]:
        """`self_part` of each self-assessment outcome, those made already looked up in one
        C-level pass (as `items`)."""
        got = list(map(self._mine.hot.get, map(id, own)))
        if None in got:
            _fill_in(got, own, self.self_part)
        return got

    def self_part(self, mine: Outcome) -> bytes:
        """`,"self_outcome":…,"self_points":…}`: the end of an item with a self-assessment."""
        got = self._mine.hot.get(id(mine)) or self._mine.again(mine)
        if got is None:
            got = b"," + dumps({"self_outcome": mine.outcome, "self_points": mine.points})[1:]
            self._mine.add(mine, got)
        return got

    def provenance(self, std: Standard, provenance: dict) -> dict:
        """`provenance` in its keys' order. Its keys are the standard's field ids: taken in the
        order of the field ids sorted once per standard, not sorted per organization (which
        cost more than serializing them); sorted after all when a key is something else."""
        got = self._sorted_fields.get(std.id)
        if got is None or got[0] is not std:
            got = self._sorted_fields[std.id] = (std, sorted(std.fields))
        keys = list(filter(provenance.__contains__, got[1]))       # in C: no Python step per field
        if len(keys) != len(provenance):
            return dict(sorted(provenance.items()))
        return dict(zip(keys, map(provenance.__getitem__, keys)))

    def in_field_order(self, std: Standard, findings: list) -> list:
        """Findings in the standard's field order: the same evidence gives the same results
        however it was split into files and in whatever order they were read (a round folder,
        the store, an export of it). The order is made once per standard."""
        if len(findings) < 2:
            return findings
        got = self._field_order.get(std.id)
        if got is None or got[0] is not std:
            got = self._field_order[std.id] = (std, {fid: i for i, fid in enumerate(std.fields)})
        order = got[1]
        return sorted(findings, key=lambda f: order.get(f.field, len(order)))

    def section_max(self, std: Standard) -> dict:
        got = self._maxima.get(std.id)
        if got is None or got[0] is not std:
            got = self._maxima[std.id] = (std, {s.id: _number(_section_max(std, s)) for s in std.sections})
        return got[1]


def _fill_in(got: list, objs: list, make) -> None:
    """got[i] = make(objs[i]) where got[i] is None: the few not found, reached by list.index
    (in C) rather than by a Python step per entry."""
    i = got.index(None)
    while True:
        got[i] = make(objs[i])
        try:
            i = got.index(None, i + 1)
        except ValueError:
            return


class _Kept:
    """Bytes made for an object (an outcome's item), found again by the object's identity,
    the object held with them: an identity cannot be another live object's, so while kept it
    names this object alone and a lookup needs no further check.

    Two generations: bytes are made for many outcomes used by one organization only (two
    thirds of the items of a 3,000-organization round, an outcome with values no other
    organization has), so new bytes wait in `_young` and move to `hot` when their object is
    asked for again. The organizations' lookups go to `hot`, which holds only what is used
    again: with every item in one table of 100,000, a lookup mostly missed the CPU caches.
    Each generation is bounded (cleared when full, like the outcome cache)."""

    __slots__ = ("hot", "_held", "_young", "_limit")

    def __init__(self, limit: int):
        self.hot: dict[int, bytes] = {}
        self._held: list = []
        self._young: dict[int, tuple[Any, bytes]] = {}
        self._limit = limit

    def again(self, obj: Any) -> bytes | None:
        """The bytes made for `obj` once before (now kept in `hot`), or None."""
        got = self._young.pop(id(obj), None)
        if got is None:
            return None
        if len(self.hot) >= self._limit:
            self.hot.clear()
            self._held.clear()
        self.hot[id(obj)] = got[1]
        self._held.append(obj)
        return got[1]

    def add(self, obj: Any, data: bytes) -> None:
        if len(self._young) >= self._limit:
            self._young.clear()
        self._young[id(obj)] = (obj, data)


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
