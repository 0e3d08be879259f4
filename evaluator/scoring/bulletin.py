"""The monthly bulletin (每月通报排队): a round scored as of a date inside its period, and its
movement against the earlier bulletins of the same round.

A bulletin is an ordinary evaluation whose period is cut at the as-of date
(evaluator.standard.periods.cut): frequency criteria count the calendar periods completed by
then (three monthly meetings by 31 March), records dated after it are not counted (each
reason reading them says so), `count()` and `days_since()` count to it, and a criterion
declared `due: period_end` or `due: <date>` is 未到期 (not_due) before that day. Not-due
criteria are left out of the points that count, as not-applicable ones are, so an
organization is ranked on what has fallen due. On the period's last day a bulletin is the
round's own evaluation.

The results folder is a normal one (agrade report renders it); results.json says
`round.as_of` and, under `bulletin`, the earlier bulletins it was compared with, the
升档/降档/保持 counts against the latest of them and each organization's trend (tier and total
per bulletin, oldest first). Earlier bulletins may also be last year's (the results of a round
that ended before this one began), scored with another version of the standard: each is read
with the tiers its own results.json pins. Verifications dated after the as-of date are set
aside and gates see the cut records (evaluator.scoring.asof). The store issues the same
bulletin from its stored evidence (evaluator.store.publish.issue_bulletin, through
`scored_as_of`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from ..errors import InputError, Issue
from ..intake.rounds import Round
from ..standard.periods import cut
from ..terms import ungraded_move
from .source import open_results

MOVES = ("升档", "保持", "降档", "首次定档", ungraded_move("bulletin"))


@dataclass
class Earlier:
    """One earlier bulletin of the round (or the results of a round that ended before it
    began: last year's): its as-of date, its round, the versions of the standards it was
    scored with, and each organization's (tier, tier name, position of the tier in its own
    standard's list, total)."""
    as_of: dt.date
    path: str
    orgs: dict[str, tuple[str | None, str | None, int | None, Decimal | None]]
    round: str = ""
    standards: dict[str, dict] | None = None      # id -> {version, digest}, as its results.json pins them


class _Collect:
    def __init__(self):
        self.orgs: dict[str, tuple] = {}

    def add(self, o: dict) -> None:
        tier = o.get("tier") if o.get("status", "graded") == "graded" and isinstance(o.get("tier"), str) else None
        total = o.get("total")
        std = o.get("standard")
        self.orgs[o["id"]] = (tier, o.get("tier_name") if isinstance(o.get("tier_name"), str) else None,
                              Decimal(total) if isinstance(total, (int, Decimal)) and not isinstance(total, bool) else None,
                              str(std.get("id")) if isinstance(std, dict) else None)


def load_earlier(path: Path, rnd: Round, as_of: dt.date) -> Earlier:
    """An earlier bulletin's results folder, refused unless it is a bulletin of this round
    dated before `as_of`, or the results (final or a bulletin) of a round that ended before
    this one began (the year before). Tier positions come from the standards block of its
    own results.json (the version it was scored with; another version of a standard may have
    other criteria and tiers), so movement compares places, not ids, and no old standard
    file is needed."""
    with open_results(Path(path), _Collect, check=False) as src:
        header = src.header
        orgs = src.collected.orgs
    where = str(path)
    r = header.get("round") if isinstance(header.get("round"), dict) else {}
    try:
        before = dt.date.fromisoformat(str(r.get("as_of") or r["period"]["to"]))
        ended = dt.date.fromisoformat(str(r["period"]["to"]))
    except (KeyError, TypeError, ValueError):
        raise InputError(Issue(where, 0, 0, "--previous", "no as-of date or period in its results.json")) from None
    if r.get("id") != rnd.id and ended >= rnd.period[0]:
        raise InputError(Issue(where, 0, 0, "--previous", f"results of round '{r.get('id')}' (to {ended}), not of '{rnd.id}' "
                                                         f"nor of a round that ended before it began ({rnd.period[0]}): a bulletin "
                                                         "is compared with earlier bulletins of its round or with an earlier round"))
    if before >= as_of:
        raise InputError(Issue(where, 0, 0, "--previous", f"a bulletin as of {before}, not before this one ({as_of})"))
    order = {sid: [t.get("id") for t in s.get("tiers") or [] if isinstance(t, dict)]
             for sid, s in (header.get("standards") or {}).items() if isinstance(s, dict)}
    out = {}
    for oid, (tier, name, total, sid) in orgs.items():
        tiers = order.get(sid) or []
        out[oid] = (tier, name or tier, tiers.index(tier) if tier in tiers else None, total)
    pinned = {sid: {"version": s.get("version"), "digest": s.get("digest")}
              for sid, s in sorted((header.get("standards") or {}).items()) if isinstance(s, dict)}
    return Earlier(before, where, out, str(r.get("id")), pinned)


def movement(before: tuple | None, tier_index: int | None) -> str:
    """升档 / 降档 / 保持 against the earlier place; 首次定档 when it had none; 本期不予定档 when
    it has none now (a bulletin speaks of 本期, terms.ungraded_move)."""
    if tier_index is None:
        return MOVES[-1]
    if before is None or before[2] is None:
        return "首次定档"
    return "升档" if tier_index < before[2] else "降档" if tier_index > before[2] else "保持"


def score_bulletin(rnd: Round, as_of: dt.date, previous: list[Path] = (), **kw):
    """The round scored as of `as_of` (a ScoredRound, written like any other), compared with
    the earlier bulletins in `previous` (results folders, any order)."""
    from .run import score_round
    check_as_of(rnd, as_of)
    return scored_as_of(rnd, as_of, [load_earlier(p, rnd, as_of) for p in previous], lambda: score_round(rnd, **kw))


def check_as_of(rnd: Round, as_of: dt.date) -> None:
    start, end = rnd.period
    if not start <= as_of <= end:
        raise InputError(Issue(str(rnd.path), 0, 0, "--as-of",
                               f"{as_of} is not inside the round's period ({start} to {end})"))


def scored_as_of(rnd: Round, as_of: dt.date, earlier: list[Earlier], score: Callable[[], Any]):
    """What `score()` scores (a ScoredRound) with the round's period cut at `as_of`, its header
    made a bulletin's, compared with `earlier` (any order). `score` is the folder's evaluation
    (score_round) or the store's (store.scoring.score_current): the as-of date works through
    the period alone, so both give the same bulletin."""
    check_as_of(rnd, as_of)
    earlier = sorted(earlier, key=lambda e: e.as_of)
    for a, b in zip(earlier, earlier[1:]):
        if a.as_of == b.as_of:
            raise InputError(Issue(b.path, 0, 0, "--previous", f"two earlier bulletins as of {a.as_of} ({a.path})"))
    start, end = real = rnd.period
    rnd.period = cut(real, as_of)
    try:
        scored = score()
    finally:
        rnd.period = real
    info = scored.header["round"]
    info["period"] = {"from": start.isoformat(), "to": end.isoformat()}
    info["as_of"] = as_of.isoformat()
    info["issued_on"] = as_of.isoformat()          # a bulletin is dated its as-of day
    scored.header["bulletin"] = bulletin_block(scored, as_of, earlier)
    return scored


def bulletin_block(scored, as_of: dt.date, earlier: list[Earlier]) -> dict[str, Any]:
    """What results.json says of the bulletin: the earlier ones, moves against the latest, the
    trend of every organization (registry order; oldest bulletin first, this one last)."""
    last = earlier[-1] if earlier else None
    moves = dict.fromkeys(MOVES, 0)
    trend: dict[str, list] = {}
    for r in scored.rows:
        # tier_name beside the id: an earlier version of the standard may name (or id) its tiers otherwise
        points = [{"as_of": e.as_of.isoformat(), "tier": got[0], "tier_name": got[1], "total": got[3]}
                  for e in earlier for got in [e.orgs.get(r.id) or (None,) * 4]]
        tier = scored.gradings[r.standard].tiers[r.tier_index] if r.tier_index is not None else None
        points.append({"as_of": as_of.isoformat(), "tier": tier and tier.id, "tier_name": tier and tier.name,
                       "total": r.total if r.graded else None})
        trend[r.id] = points
        if last is not None:
            moves[movement(last.orgs.get(r.id), r.tier_index)] += 1
    return {"as_of": as_of.isoformat(),
            "previous": [{"as_of": e.as_of.isoformat(), "round": e.round, "standards": e.standards or {}}
                         for e in earlier],
            "moves": moves if last is not None else {},
            "trend": trend}
