"""One field's evidence submitted through the store (the web app's and `agrade evidence
submit`'s path), checked the way a file's cell is checked, before it is saved."""
from __future__ import annotations

import datetime
import difflib
import re

from sqlalchemy import and_, select

from ..errors import InputError, Issue
from ..intake.normalize import NormalizeError, normalize
from ..terms import date_text, value_text
from .base import Refused, Store
from .evidence import Submission, attachments_of, current, save, store_attachment
from .rounds import ACCEPTS_EVIDENCE, get_round, require_open
from .tables import members, units


def _field(conn, round_id: str, org: str, field_id: str):
    """The organization's standard's field (the round loaded as stored)."""
    std = standard_of(conn, round_id, org)
    f = std.fields.get(field_id)
    if f is None:
        hint = difflib.get_close_matches(field_id, list(std.fields), 1)
        raise Refused(f"{round_id}/{org}", f"unknown field '{field_id}' for standard '{std.id}'"
                                           + (f"; did you mean '{hint[0]}'?" if hint else ""))
    return f


def submit(store: Store, round_id: str, org: str, field_id: str, value, source: str, by: str,
           expect: int | None, inspector: str | None = None, verified_on: str | None = None, note: str | None = None,
           files=()) -> int | None:
    """Save `value` (as typed) as the field's next version; `expect` the version the writer saw
    (None: whatever is current); `files` its supporting files (photos, scans), kept by content
    hash. A verified value needs its inspector, who must be free of
    conflicts of interest for that organization (store.inspection, when the round declares
    inspectors). Returns the new version (None: same as the current one)."""
    where = f"{round_id}/{org}/{field_id}"
    if source not in ("self", "verified"):
        raise InputError(Issue(where, 0, 0, "--source", f"source must be self or verified, not {source!r}"))
    if source == "verified" and not (inspector or "").strip():
        raise InputError(Issue(where, 0, 0, "--inspector", "a verified value needs the inspector who verified it"))
    with store.read() as conn:
        get_round(conn, round_id)
        f = _field(conn, round_id, org, field_id)
    try:
        normalize(value, f)
        if verified_on:
            day = datetime.date.fromisoformat(verified_on)
    except NormalizeError as e:
        raise InputError(Issue(where, 0, 0, "$", f"{f.label}（{f.id}）: {e.message}")) from None
    except ValueError:
        raise InputError(Issue(where, 0, 0, "--verified-on", f"not a date: {verified_on!r} (expected YYYY-MM-DD)")) from None
    loc = {"file": f"(agrade evidence submit by {by})", "line": 0, "col": 0, "path": f"$.values.{field_id}.{source}"}
    ons = [(verified_on, None)] if verified_on else None
    from pathlib import Path
    for f in files:
        if not Path(f).is_file():
            raise InputError(Issue(str(f), 0, 0, "--attach", "attachment does not exist"))
    with store.change(by) as tx:
        sub = Submission(field_id, source, value, loc, inspector if source == "verified" else None, ons, note=note,
                         attachments=tuple(store_attachment(tx, f) for f in files))
        require_open(tx, round_id, "提交材料", ACCEPTS_EVIDENCE)
        if source == "verified":
            _check_verifier(tx.conn, round_id, org, inspector, day if verified_on else datetime.date.today())
        before = {s.source: s.content() for o, _, s in current(tx.conn, round_id, org) if s.field == field_id}
        v = save(tx, round_id, org, sub, expect, by)
        if v is not None:
            tx.log.append("evidence.submit", "evidence", f"{round_id}/{org}/{field_id}/{source}",
                          before.get(source), sub.content(), version=v, value=value_text(value) if value is not None else None)
    return v


def _check_verifier(conn, round_id: str, org: str, inspector: str, on: datetime.date) -> None:
    try:
        from .inspection import check_verifier
    except ImportError:                    # no inspection workflow installed: nothing declared to check
        return
    check_verifier(conn, round_id, org, inspector, on)


def require_member(conn, round_id: str, org: str) -> str:
    """The organization's type; Refused (with a did-you-mean) when it is not in the round."""
    row = conn.execute(select(units.c.type).join(members, members.c.unit == units.c.id)
                       .where(and_(members.c.round == round_id, members.c.organization == org))).first()
    if row is None:
        ids = [m.organization for m in conn.execute(select(members.c.organization).where(members.c.round == round_id))]
        hint = difflib.get_close_matches(org, ids, 1)
        raise Refused(f"{round_id}/{org}", f"轮次 {round_id} 中没有组织 {org}" + (f"；您是否要找 {hint[0]}？" if hint else ""))
    return row.type


def standard_of(conn, round_id: str, org: str):
    """The standard (as the round pins it) the organization is rated against."""
    from .rounds import open_round
    org_type = require_member(conn, round_id, org)
    with open_round(conn, round_id) as mat:
        return mat.round.standards[org_type]


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _shown(value) -> str:
    """A stored value as a person reads it; a date (stored as its ISO text) as documents print it."""
    return date_text(value) if isinstance(value, str) and _ISO_DATE.fullmatch(value) else value_text(value)


def show(conn, round_id: str, org: str) -> list[str]:
    get_round(conn, round_id)
    require_member(conn, round_id, org)
    lines = []
    cur = list(current(conn, round_id, org))
    files = attachments_of(conn, [s.id for _, _, s in cur])
    for _, version, s in cur:
        src = "核查" if s.source == "verified" else "自评"
        val = "（已撤回）" if s.withdrawn else (_shown(s.value) if not isinstance(s.value, list)
                                              else f"{len(s.value)} 条记录")
        who = f"，核查人 {s.inspector}" if s.inspector else ""
        att = f"，附件 {'、'.join(files[s.id])}" if s.id in files else ""
        lines.append(f"{s.field}（{src}）第 {version} 版：{val}{who}{att}")
    return lines or [f"{org} 尚无材料"]
