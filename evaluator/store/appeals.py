"""Appeals: an organization contests criterion outcomes; a reviewer decides.

Filing names the criteria, the reason and any attachments (kept by content hash). The
reviewer may be neither the one who filed nor an inspector who verified the evidence those
criteria read. Upholding records the decision. Amending saves the corrected evidence as
verified by the reviewer, re-scores the organization from the stored outcomes, lets quotas,
ranks and lists settle, and records — in the same transaction — the decision, the evidence,
the outcomes and every other organization whose tier, rank or list membership moved. On a
published round the lists are corrected by a new dated version superseding the last.
"""
from __future__ import annotations

import datetime
import difflib
import json
from pathlib import Path

from sqlalchemy import and_, insert, select, update

from ..errors import InputError, Issue
from ..intake.normalize import NormalizeError, normalize
from ..terms import date_text
from .base import Refused, Store
from .db import now
from .evidence import Submission, current, save, store_attachment
from .rounds import get_round
from .submit import standard_of
from .tables import appeals

DECISIONS = {"uphold": "维持原结果", "amend": "予以更正"}


def file_appeal(store: Store, round_id: str, org: str, criteria: list[str], reason: str, by: str,
                files: list[Path] = ()) -> int:
    if not reason.strip():
        raise InputError(Issue(f"{round_id}/{org}", 0, 0, "--reason", "an appeal states its reason (申诉理由)"))
    with store.read() as conn:
        get_round(conn, round_id)
        std = standard_of(conn, round_id, org)
    bad = [c for c in criteria if c not in std.criteria]
    if not criteria or bad:
        hint = difflib.get_close_matches(bad[0], list(std.criteria), 1) if bad else []
        raise InputError(Issue(f"{round_id}/{org}", 0, 0, "--criteria",
                               "name the criteria appealed (e.g. G4.1,G6.2)" if not criteria else
                               f"criterion '{bad[0]}' is not in standard '{std.id}'" + (f"; did you mean '{hint[0]}'?" if hint else "")))
    for f in files:
        if not Path(f).is_file():
            raise InputError(Issue(str(f), 0, 0, "--attach", "attachment does not exist"))
    with store.change(by) as tx:
        get_round(tx.conn, round_id)
        shas = [store_attachment(tx, f) for f in files]
        aid = tx.conn.execute(insert(appeals).values(
            round=round_id, organization=org, criteria=json.dumps(criteria), reason=reason.strip(),
            attachments=json.dumps(shas), filed_by=by, filed_at=now(), state="filed")).inserted_primary_key[0]
        tx.log.append("appeal.file", "appeal", f"{round_id}/{aid}", None,
                      {"organization": org, "criteria": criteria, "reason": reason.strip(), "attachments": shas})
    return aid


def get_appeal(conn, appeal_id: int) -> dict:
    row = conn.execute(select(appeals).where(appeals.c.id == appeal_id)).mappings().first()
    if row is None:
        raise Refused(f"appeal {appeal_id}", f"没有第 {appeal_id} 号申诉")
    return dict(row)


def _inspectors(conn, round_id: str, org: str, fields: set[str]) -> set[str]:
    return {s.inspector for _, _, s in current(conn, round_id, org)
            if s.source == "verified" and s.field in fields and s.inspector}


def decide(store: Store, appeal_id: int, decision: str, reason: str, reviewer: str,
           amendments: list[tuple[str, str]] = ()) -> dict:
    """Uphold or amend (amendments: (field, value as typed) saved as verified by the reviewer).
    Returns the decision with, for an amendment, the organization's before/after and the
    others it moved."""
    from .scoring import rescore
    if decision not in DECISIONS:
        raise InputError(Issue(f"appeal {appeal_id}", 0, 0, "$", f"decision must be uphold or amend, not {decision!r}"))
    if not reason.strip():
        raise InputError(Issue(f"appeal {appeal_id}", 0, 0, "--reason", "a decision states its reason (复核意见)"))
    if decision == "amend" and not amendments:
        raise InputError(Issue(f"appeal {appeal_id}", 0, 0, "--set", "an amendment names the corrected evidence (--set FIELD=VALUE)"))
    if decision == "uphold" and amendments:
        raise InputError(Issue(f"appeal {appeal_id}", 0, 0, "--set", "upholding the result changes no evidence; leave out --set"))
    with store.read() as conn:
        a = get_appeal(conn, appeal_id)
        where = f"{a['round']}/{a['organization']}"
        if a["state"] != "filed":
            raise Refused(f"appeal {appeal_id}", f"第 {appeal_id} 号申诉已于{date_text(a['decided_at'])}复核（{DECISIONS['uphold' if a['state'] == 'upheld' else 'amend']}），不能再次决定")
        std = standard_of(conn, a["round"], a["organization"])
        reads = {f for c in json.loads(a["criteria"]) for f in std.criteria[c].reads}
        involved = _inspectors(conn, a["round"], a["organization"], reads)
    if reviewer in involved or reviewer == a["filed_by"]:
        raise Refused(f"appeal {appeal_id}", f"复核人 {reviewer} 是" + ("原核查人" if reviewer in involved else "申诉提出人")
                                             + "，须由其他人员复核")
    subs = []
    for fid, value in amendments:
        f = std.fields.get(fid)
        if f is None:
            hint = difflib.get_close_matches(fid, list(std.fields), 1)
            raise InputError(Issue(where, 0, 0, "--set", f"unknown field '{fid}' for standard '{std.id}'"
                                   + (f"; did you mean '{hint[0]}'?" if hint else "")))
        try:
            normalize(value, f)
        except NormalizeError as e:
            raise InputError(Issue(where, 0, 0, f"--set {fid}", f"{f.label}（{f.id}）: {e.message}")) from None
        subs.append(Submission(fid, "verified", value, {"file": f"(appeal {appeal_id})", "line": 0, "col": 0,
                                                        "path": f"$.values.{fid}.verified"},
                               reviewer, [(datetime.date.today(), None)], note=f"申诉第 {appeal_id} 号复核更正"))
    decided_at = now()
    record = {"state": "upheld" if decision == "uphold" else "amended", "reviewer": reviewer, "decided_at": decided_at,
              "decision": reason.strip(), "amendments": json.dumps([[f, v] for f, v in amendments], ensure_ascii=False)}

    def mark(tx, eid=None):
        # the appeal is still open (two reviewers deciding at once: the second is refused)
        done = tx.conn.execute(update(appeals).where(and_(appeals.c.id == appeal_id, appeals.c.state == "filed"))
                               .values(**record, evaluation=eid)).rowcount
        if done != 1:
            raise Refused(f"appeal {appeal_id}", f"第 {appeal_id} 号申诉刚被他人复核")
        tx.log.append("appeal.decide", "appeal", f"{a['round']}/{appeal_id}", {"state": "filed"},
                      {k: str(v) for k, v in record.items()}, evaluation=eid)

    if decision == "uphold":
        with store.change(reviewer) as tx:
            mark(tx)
        return {"appeal": appeal_id, "state": "upheld", "organization": a["organization"]}

    def within(tx, eid, changed, state):
        for sub in subs:
            save(tx, a["round"], a["organization"], sub, None, reviewer)
        mark(tx, eid)
        r = get_round(tx.conn, a["round"])
        if r["state"] == "published":
            from .publish import correct_lists
            lists = {kind: st.derive() for kind, st in state.states.items()}
            correct_lists(tx, a["round"], eid, lists, reviewer, f"申诉第 {appeal_id} 号复核更正")
    ev = rescore(store, a["round"], [a["organization"]], reviewer, kind="appeal", allow_closed=True, tx_extra=within,
                 amendments={a["organization"]: subs})
    return {"appeal": appeal_id, "state": "amended", "organization": a["organization"], "evaluation": ev.id, "number": ev.number,
            "changed": ev.changed, "decided_at": decided_at, "reason": reason.strip(), "titles": ev.titles}
