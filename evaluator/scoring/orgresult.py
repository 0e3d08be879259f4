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


def _in_field_order(std: Standard, findings: list) -> list:
    """Findings in the standard's field order: the same evidence gives the same results however
    it was split into files and in whatever order they were read (a round folder, the store,
    an export of it)."""
    if len(findings) < 2:
        return findings
    order = {fid: i for i, fid in enumerate(std.fields)}
    return sorted(findings, key=lambda f: order.get(f.field, len(order)))


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
    # an item already made is looked up here (most are: outcomes shared through the
    # OutcomeCache), by the outcome's identity (see Pieces); a call per criterion to look it
    # up was a tenth of scoring an organization
    if own:
        # by the pair of outcomes: most organizations' self-assessments repeat others' too
        kept, item = pieces._pairs.get, pieces.item_with_self
        items = [kept((id(o), id(m))) or item(std, o, m) for o, m in zip(outcomes, own)]
        between, closed = b",", b"],"
    else:
        kept, item = pieces._items.get, pieces.item
        items = [kept(id(o)) or item(std, o) for o in outcomes]
        # each item closed as it is joined (the last one below): not a copy of every item
        # with its brace added
        between, closed = b"},", (b"}]," if outcomes else b"],")
    # the tail as orjson would write the one object {"sections", "criteria", "vetoes",
    # "findings", "provenance"}: compact, keys in this order; the criteria items are spliced in
    rest = dumps({"vetoes": g.vetoes,
                  "findings": [{"kind": f.kind, "field": f.field, "self": f.self_value, "verified": f.verified_value,
                                "message": f.message} for f in _in_field_order(std, ev.findings)],
                  "provenance": pieces.provenance(std, ev.provenance)})
    # one join of the items, what goes before them added to the first and what goes after to
    # the last: joined apart first, the organization's 20 KB of items were copied twice
    before, after = pieces.sections(std, g.sections), b"".join((closed, memoryview(rest)[1:]))
    if not items:
        return dumps(head), before + after
    items[0] = before + items[0]
    items[-1] += after
    return dumps(head), between.join(items)


class _ByIdentity(dict):
    """Bytes made of an object, by the object's identity (`id`), the object held with them: an
    identity cannot be another live object's, so while held it names this object alone and a
    lookup (`get`, a dict's) needs no further check. Emptied, its objects let go, at `limit`."""
    __slots__ = ("held", "limit")

    def __init__(self, limit: int):
        super().__init__()
        self.held: list = []
        self.limit = limit

    def keep(self, obj, data: bytes) -> bool:
        """`data` kept for `obj`; True when everything kept before was let go first (what
        names those objects elsewhere must go too: a freed identity may be reused)."""
        emptied = len(self) >= self.limit
        if emptied:
            self.clear()
            self.held.clear()
        self[id(obj)] = data
        self.held.append(obj)
        return emptied


# A verdict's words kept (Pieces.item): as many as a frequency plan keeps verdicts. What is
# kept long, scattered among a partition's short-lived objects, keeps the allocator's memory
# from going back: section entries kept by their points as well (most values new: a
# proportional ratio's) raised the 20,000-organization round's peak RSS from 365 MB to 407 MB
# (4,096 kept per standard) and 439 MB (100,000, these words too); so they are not kept.
_WORDS_KEPT = 4096


class _Frame:
    """What a criterion's item says whatever the outcome, serialized once (Pieces._frames)."""
    __slots__ = ("opening", "closing", "keep")

    def __init__(self, std: Standard, c):
        # the keys before the outcome's (`{"id":…,"kind":…,`) and after them (`,"rectification":…`)
        self.opening = dumps({"id": c.id, "section": c.section, "title": c.title, "method": c.method,
                              "kind": c.kind})[:-1] + b","
        self.closing = b"," + dumps({"rectification": c.rectification})[1:-1]
        # whether its items are kept. An item quoting dated records is an organization's own
        # (no two organizations' records are alike, criteria.OutcomeCache): kept, such items
        # filled the store with bytes never used again and made every lookup slower.
        self.keep = not any(std.fields[n].type == "records" for n in c.reads if n in std.fields)


class Pieces:
    """Serialized pieces of results, made once and used again while one scorer lives.

    An outcome shared by many organizations (scoring.criteria.OutcomeCache) is serialized
    once: its criteria item, without the closing brace the self-assessment part goes
    before (`_items`); the self-assessment's part (`_mine`); and the two joined, per pair of
    outcomes (`_pairs`, whose outcomes the other two hold). Bounded like the outcome cache."""

    def __init__(self, limit: int = 100_000):
        self.limit = limit
        self._items = _ByIdentity(limit)
        self._mine = _ByIdentity(limit)
        self._pairs: dict[tuple[int, int], bytes] = {}   # (id(outcome), id(self-assessed)) -> item, closed
        self._said: dict[tuple, bytes] = {}
        self._maxima: dict[str, tuple[Standard, dict]] = {}
        self._frames_of: dict[str, tuple[Standard, dict]] = {}
        self._sections_of: dict[str, tuple[Standard, list, bytes]] = {}
        self._sorted_fields: dict[str, tuple[Standard, list]] = {}
        self._last: tuple = (None, None)                 # (standard, its frames) asked last

    def item(self, std: Standard, o: Outcome) -> bytes:
        got = self._items.get(id(o))
        if got is not None:
            return got
        frame = self._frames(std)[o.criterion]
        if not frame.keep:
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
            return b"".join((frame.opening, head, b',"evidence":', dumps({k: _plain(v) for k, v in o.evidence}),
                             frame.closing))
        data = b"".join((frame.opening,
                         memoryview(dumps({"outcome": o.outcome, "points": _points(o.points),
                                           "max_points": _points(o.max_points), "reason": o.reason,
                                           "evidence": {k: _plain(v) for k, v in o.evidence}}))[1:-1],
                         frame.closing))
        if self._items.keep(o, data):
            self._pairs.clear()                  # (they named outcomes held there)
        return data

    def item_with_self(self, std: Standard, o: Outcome, mine: Outcome) -> bytes:
        """`item` closed by the self-assessment's part (self_part); kept per pair of outcomes
        when `o`'s item is kept."""
        data = self.item(std, o) + self.self_part(mine)
        if id(o) in self._items:                 # (held, and so is `mine`, by self_part)
            if len(self._pairs) >= self.limit:
                self._pairs.clear()
            self._pairs[(id(o), id(mine))] = data
        return data

    def _frames(self, std: Standard) -> dict[str, _Frame]:
        """Per criterion of `std`, its _Frame (made once per standard)."""
        if self._last[0] is std:
            return self._last[1]
        got = self._frames_of.get(std.id)
        if got is None or got[0] is not std:
            got = self._frames_of[std.id] = (std, {c.id: _Frame(std, c) for c in std.criteria.values()})
        self._last = got
        return got[1]

    def self_part(self, mine: Outcome) -> bytes:
        """`,"self_outcome":…,"self_points":…}`: the end of an item with a self-assessment."""
        got = self._mine.get(id(mine))
        if got is not None:
            return got
        data = b"," + dumps({"self_outcome": mine.outcome, "self_points": mine.points})[1:]
        if self._mine.keep(mine, data):
            self._pairs.clear()
        return data

    def sections(self, std: Standard, points: dict) -> bytes:
        """`{"sections":[…],"criteria":[`, the start of a tail: per standard the bytes around
        its sections' points made once, a template the points are put into (what a section
        says besides its points, serialized per organization, was a twentieth of a tail)."""
        got = self._sections_of.get(std.id)
        if got is None or got[0] is not std:
            maxima = self.section_max(std)
            # a section's entry as orjson writes it, split around its points; a "%" it says
            # doubled, so that only the points' places are taken by bytes formatting
            cut = [dumps({"id": s.id, "title": s.title, "points": 0, "max_points": maxima[s.id]}).replace(b"%", b"%%")
                   .split(b',"points":0,') for s in std.sections]
            text = b'{"sections":[' + b",".join(a + b',"points":%b,' + b for a, b in cut) + b'],"criteria":['
            got = self._sections_of[std.id] = (std, [s.id for s in std.sections], text)
        _, ids, text = got
        if not ids:
            return text % ()
        # the points as orjson writes a list of numbers, cut at its commas (a number has none)
        return text % tuple(dumps([_number(points[sid]) for sid in ids])[1:-1].split(b","))

    def provenance(self, std: Standard, provenance: dict) -> dict:
        """`provenance` in its keys' order. Its keys are the standard's field ids: taken in the
        order of the field ids sorted once per standard, not sorted per organization (which
        cost more than serializing them); sorted after all when a key is something else."""
        got = self._sorted_fields.get(std.id)
        if got is None or got[0] is not std:
            got = self._sorted_fields[std.id] = (std, sorted(std.fields))
        out = {k: provenance[k] for k in got[1] if k in provenance}
        return out if len(out) == len(provenance) else dict(sorted(provenance.items()))

    def section_max(self, std: Standard) -> dict:
        got = self._maxima.get(std.id)
        if got is None or got[0] is not std:
            got = self._maxima[std.id] = (std, {s.id: _number(_section_max(std, s)) for s in std.sections})
        return got[1]


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
