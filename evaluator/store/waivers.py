"""Waivers granted in the store: a justification, an approver and an expiry with its time zone.

A waiver in force when a round is evaluated counts its criterion as waived (full points, the
reason on the scorecard), exactly as a waiver in round.yaml does. An expired one is not
applied — the criterion is evaluated normally — and it is flagged: the evaluation lists it
and `agrade waiver list` marks it 已过期.
"""
from __future__ import annotations

import datetime

from sqlalchemy import insert, select

from ..errors import InputError, Issue
from ..terms import stamp_text
from .base import Store
from .db import now
from .rounds import OPEN, require_open
from .submit import standard_of
from .tables import waivers


def parse_expiry(text: str) -> datetime.datetime:
    """An expiry with an explicit time zone: 2026-12-31T23:59:59+08:00 (a bare date or a time
    without zone is refused: 23:59 where?)."""
    try:
        t = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(Issue("--expires", 0, 0, "$", f"not a date and time: {text!r} "
                                                      "(expected e.g. 2026-12-31T23:59:59+08:00)")) from None
    if t.tzinfo is None:
        raise InputError(Issue("--expires", 0, 0, "$", f"{text!r} has no time zone; write it with one, "
                                                      "e.g. 2026-12-31T23:59:59+08:00 (Beijing time)"))
    return t


def add_waiver(store: Store, round_id: str, org: str, criterion: str, justification: str, approver: str,
               expires: datetime.datetime, by: str) -> int:
    where = f"{round_id}/{org}/{criterion}"
    if not justification.strip():
        raise InputError(Issue(where, 0, 0, "--justification", "a waiver needs its justification (免考核理由)"))
    if not approver.strip():
        raise InputError(Issue(where, 0, 0, "--approver", "a waiver needs the one who approved it (批准人)"))
    if expires.tzinfo is None:
        raise InputError(Issue(where, 0, 0, "--expires", "an expiry needs its time zone"))
    with store.read() as conn:
        std = standard_of(conn, round_id, org)
    c = std.criteria.get(criterion)
    if c is None or c.kind != "base":
        import difflib
        hint = difflib.get_close_matches(criterion, list(std.criteria), 1)
        raise InputError(Issue(where, 0, 0, "$", f"criterion '{criterion}' is not in standard '{std.id}'"
                               + (f"; did you mean '{hint[0]}'?" if hint else "") if c is None else
                               f"criterion '{criterion}' is a {c.kind} criterion; only base criteria can be waived"))
    with store.change(by) as tx:
        require_open(tx, round_id, "新增免考核", OPEN)
        row = {"round": round_id, "organization": org, "criterion": criterion, "justification": justification.strip(),
               "approver": approver.strip(), "expires_at": expires, "created_by": by, "created_at": now()}
        wid = tx.conn.execute(insert(waivers).values(**row)).inserted_primary_key[0]
        tx.log.append("waiver.add", "waiver", f"{round_id}/{wid}", None, {k: str(v) for k, v in row.items()})
    return wid


def waivers_of(conn, round_id: str) -> list[dict]:
    return [dict(r) for r in conn.execute(select(waivers).where(waivers.c.round == round_id).order_by(waivers.c.id)).mappings()]


def in_force(conn, round_id: str, at: datetime.datetime | None = None) -> tuple[dict, list[dict]]:
    """({(organization, criterion): reason} of the waivers in force at `at` (now), [expired])."""
    at = at or now()
    active, expired = {}, []
    for w in waivers_of(conn, round_id):
        if w["expires_at"] > at:
            active[(w["organization"], w["criterion"])] = (f"{w['justification']}（批准人：{w['approver']}，"
                                                          f"有效期至{stamp_text(w['expires_at'])}）")
        else:
            expired.append(w)
    return active, expired
