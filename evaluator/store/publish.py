"""Publishing: a finalized round's lists become a dated published version; a bulletin is the
round evaluated as of a date, kept with that evaluation. Published lists are never edited: a
correction (an appeal that moved someone on or off a list) is a new dated version naming the
one it supersedes."""
from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Sequence

from sqlalchemy import and_, func, insert, select, update

from ..terms import date_text
from .base import Refused, Store, Tx
from .db import now
from .rounds import get_round, open_round, require_open
from .scoring import (BULLETIN, _insert_evaluation, _placement, latest_evaluation, load_state, round_state,
                      score_current)
from .tables import bulletins, evaluations, placements, published_lists, rounds


def current_lists(conn, round_id: str) -> dict:
    """The round's lists and designations as results.json states them, from the stored outcomes."""
    with open_round(conn, round_id) as mat:
        state = load_state(conn, round_id, mat)
    try:
        return {kind: st.derive() for kind, st in state.states.items()}
    finally:
        for st in state.states.values():
            st.close()
        state.scored.close()


def latest_published(conn, round_id: str):
    return conn.execute(select(published_lists).where(published_lists.c.round == round_id)
                        .order_by(published_lists.c.id.desc()).limit(1)).mappings().first()


def publish(store: Store, round_id: str, by: str, on: datetime.date | None = None) -> int:
    on = on or datetime.date.today()
    with store.read() as conn:
        lists = current_lists(conn, round_id)
    with store.change(by) as tx:
        r = require_open(tx, round_id, "发布", ("finalized",))
        ev = latest_evaluation(tx.conn, round_id)
        tx.conn.execute(update(rounds).where(rounds.c.id == round_id).values(state="published"))
        pid = _insert_lists(tx, round_id, ev["id"], on, by, lists, None, "")
        tx.log.append("round.state", "round", round_id, {"state": r["state"]}, {"state": "published"}, lists=pid,
                      issued_on=on.isoformat())
    return pid


def _insert_lists(tx: Tx, round_id: str, evaluation: int, on, by, lists, supersedes, reason) -> int:
    pid = tx.conn.execute(insert(published_lists).values(
        round=round_id, issued_on=on, issued_at=now(), issued_by=by, evaluation=evaluation, supersedes=supersedes,
        reason=reason, lists=json.dumps(lists, ensure_ascii=False, sort_keys=True, default=str))).inserted_primary_key[0]
    tx.log.append("lists.publish", "published_lists", f"{round_id}/{pid}", None, lists, supersedes=supersedes,
                  reason=reason)
    return pid


def correct_lists(tx: Tx, round_id: str, evaluation: int, lists: dict, by: str, reason: str) -> int | None:
    """After an appeal on a published round: a new dated version of the lists superseding the
    last one, when they differ from it (None when they do not)."""
    last = latest_published(tx.conn, round_id)
    if last is None:
        return None
    if json.loads(last["lists"]) == json.loads(json.dumps(lists, ensure_ascii=False, sort_keys=True, default=str)):
        return None
    return _insert_lists(tx, round_id, evaluation, datetime.date.today(), by, lists, last["id"], reason)


@dataclass
class Bulletin:
    id: int
    evaluation: int                  # its as-of evaluation (kind bulletin)
    header: dict                     # results.json's header: round (with as_of), summary, lists, bulletin
    number: int = 0                  # 第 N 期 of its round: its as-of date's place among the round's bulletins' dates


def bulletin(store: Store, round_id: str, as_of: datetime.date, by: str) -> int:
    """A bulletin of the stored round as of `as_of` (issue_bulletin); its number within the round (第 N 期)."""
    return issue_bulletin(store, round_id, as_of, by).number


def issue_bulletin(store: Store, round_id: str, as_of: datetime.date, by: str, previous: Sequence[Path] = (),
                   out: Path | None = None) -> Bulletin:
    """A bulletin (每月通报排队) of the stored round: the round evaluated as of `as_of` (a date
    inside its period) from its current evidence, the same as-of evaluation `agrade bulletin`
    makes of a folder (scoring.bulletin.scored_as_of: frequencies pro-rated, 未到期, records
    and verifications dated later left out), compared with the round's earlier stored
    bulletins and the results folders in `previous` (last year's). It is kept as an evaluation
    of kind bulletin holding every organization's placement then and the movement (never the
    round's current standing), and written as a results folder to `out` when given."""
    from ..scoring.bulletin import load_earlier, scored_as_of
    with store.read() as conn:
        r = get_round(conn, round_id)
        if not (r["period_from"] <= as_of <= r["period_to"]):
            raise Refused(round_id, f"通报日期{date_text(as_of)}不在轮次考评期内（{date_text(r['period_from'])}至{date_text(r['period_to'])}）")
        mat = open_round(conn, round_id)
    try:
        rnd = mat.round
        earlier = [load_earlier(p, rnd, as_of) for p in previous]
        with store.read() as conn:
            earlier += stored_bulletins(conn, round_id, rnd, as_of)
            scored = scored_as_of(rnd, as_of, earlier, lambda: score_current(conn, round_id, rnd))
        try:
            state = round_state(scored, rnd)
        except BaseException:
            scored.close()
            raise
        try:
            b = scored.header["bulletin"]
            digest = scored.header["evidence_digest"]
            placed = {row.id: _placement(state, row.id) for row in scored.rows}
            kept = {"as_of": as_of.isoformat(), "bulletin": {k: b[k] for k in ("previous", "moves")}, "placements": placed}
            with store.change(by) as tx:
                get_round(tx.conn, round_id)
                eid = _insert_evaluation(tx, round_id, BULLETIN, by, digest, len(scored.rows), {}, state, kept)
                bid = tx.conn.execute(insert(bulletins).values(round=round_id, as_of=as_of, issued_at=now(), issued_by=by,
                                                               evaluation=eid)).inserted_primary_key[0]
                tx.log.append("bulletin.issue", "bulletin", f"{round_id}/{bid}", None,
                              {"as_of": as_of.isoformat(), "evaluation": eid, "evidence_digest": digest, "moves": b["moves"]})
                if out is not None:      # inside the transaction: no bulletin is kept whose folder failed
                    _write(out, scored, round_id, as_of)
                # bulletin ids run across rounds, and one issued again for the same date is the same 期
                number = tx.conn.execute(select(func.count(func.distinct(bulletins.c.as_of)))
                                         .where(and_(bulletins.c.round == round_id, bulletins.c.as_of <= as_of))).scalar_one()
            return Bulletin(bid, eid, scored.header, number)
        finally:
            for st in state.states.values():
                st.close()
            state.scorer.close()
            scored.close()
    finally:
        mat.close()


def _write(out: Path, scored, round_id: str, as_of: datetime.date) -> None:
    from .. import __version__
    from ..scoring.results import write_result_set
    meta = {"agrade_version": __version__, "round": f"store:{round_id}", "as_of": as_of.isoformat(),
            "organizations": len(scored.rows)}
    write_result_set(out, scored.write_json, scored.write_csv, meta, state=scored.write_state)


def stored_bulletins(conn, round_id: str, rnd, as_of: datetime.date) -> list:
    """The round's bulletins stored before `as_of` (the last issued for each date) as earlier
    bulletins (scoring.bulletin.Earlier): each organization's tier, its place in the round's
    pinned standard and its total then. A bulletin issued before bulletins kept their own
    as-of evaluation is read as the snapshot it was: the placements of its evaluation."""
    from ..scoring.bulletin import Earlier
    q = (select(bulletins.c.id, bulletins.c.as_of, bulletins.c.evaluation, evaluations.c.kind, evaluations.c.summary)
         .join(evaluations, evaluations.c.id == bulletins.c.evaluation)
         .where(and_(bulletins.c.round == round_id, bulletins.c.as_of < as_of)).order_by(bulletins.c.as_of, bulletins.c.id))
    last = {b.as_of: b for b in conn.execute(q)}
    by_type = {o.id: rnd.standards[o.type] for o in rnd.organizations}
    pinned = {s.id: {"version": s.version, "digest": s.digest} for s in sorted(rnd.standards.values(), key=lambda s: s.id)}
    out = []
    for day, b in sorted(last.items()):
        placed = json.loads(b.summary).get("placements") if b.kind == BULLETIN else _placements_at(conn, round_id, b.evaluation)
        orgs = {}
        for oid, p in placed.items():
            std = by_type.get(oid)
            tiers = {t.id: (i, t.name) for i, t in enumerate(std.grading.tiers)} if std else {}
            place, name = tiers.get(p["tier"], (None, p["tier"]))
            orgs[oid] = (p["tier"], name, place, None if p["total"] is None else Decimal(p["total"]))
        out.append(Earlier(day, f"store:{round_id}/bulletin {b.id}", orgs, round_id, pinned))
    return out


def _placements_at(conn, round_id: str, evaluation: int) -> dict[str, dict]:
    """Each organization's placement as the evaluations up to `evaluation` left it."""
    out = {}
    q = (select(placements).where(and_(placements.c.round == round_id, placements.c.evaluation <= evaluation))
         .order_by(placements.c.evaluation))
    for p in conn.execute(q).mappings():
        out[p["organization"]] = {"tier": p["tier"], "total": p["total"]}
    return out
