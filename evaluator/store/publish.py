"""Publishing: a finalized round's lists become a dated published version; bulletins are
dated snapshots of a round's standing. Published lists are never edited: a correction (an
appeal that moved someone on or off a list) is a new dated version naming the one it
supersedes."""
from __future__ import annotations

import datetime
import json

from sqlalchemy import insert, select, update

from .base import Refused, Store, Tx
from .db import now
from .rounds import get_round, require_open
from .scoring import current_evaluation, latest_evaluation, load_state
from .tables import bulletins, published_lists, rounds


def current_lists(conn, round_id: str) -> dict:
    """The round's lists and designations as results.json states them, from the stored outcomes."""
    from .rounds import open_round
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


def bulletin(store: Store, round_id: str, as_of: datetime.date, by: str) -> int:
    """A dated snapshot: the round's standing as its latest evaluation placed it, as of `as_of`
    (a date inside the round's period; the evaluation must be current)."""
    with store.change(by) as tx:
        r = get_round(tx.conn, round_id)
        if not (r["period_from"] <= as_of <= r["period_to"]):
            raise Refused(round_id, f"通报日期 {as_of} 不在轮次考评期内（{r['period_from']} 至 {r['period_to']}）")
        ev = current_evaluation(tx.conn, round_id)
        bid = tx.conn.execute(insert(bulletins).values(round=round_id, as_of=as_of, issued_at=now(), issued_by=by,
                                                       evaluation=ev["id"])).inserted_primary_key[0]
        tx.log.append("bulletin.issue", "bulletin", f"{round_id}/{bid}", None, {"as_of": as_of.isoformat(),
                                                                              "evaluation": ev["id"]})
    return bid
