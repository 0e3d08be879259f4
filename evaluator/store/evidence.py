"""Evidence submissions: append-only versions per (organization, field, source).

A submission is one field's value from one source (self: the organization's self-report;
verified: the inspector's), exactly as typed (codec), with who sent it, when, and from
where (file, line, column, JSON path; the rows of a bulk records file). `heads` points at
each field's current version. Saving checks the version the writer started from against
the head in the same statement (optimistic concurrency): the second of two writers gets a
Conflict naming the version now current, never a silent overwrite.

Evaluation rebuilds each organization's raw evidence (intake.evidence.RawEvidence) from the
heads, in the order the fields were first given, and normalizes it with the same code as a
round folder: a stored round and its folder score identically.
"""
from __future__ import annotations

import hashlib
import json

import orjson
from dataclasses import dataclass
from typing import Any, Iterator

from sqlalchemy import and_, func, insert, select, update

from ..intake.evidence import SOURCES, RawEntry, RawEvidence
from . import codec
from .base import Conflict, Tx
from .db import now
from .tables import attachments, heads, members, round_evidence, submission_attachments, submissions

# ------------------------------------------------------------------ the evidence's digest
#
# A round's evidence digest is the sum, modulo 2**256, of one SHA-256 per current field
# (organization, field, source, content). A sum does not depend on order and is kept up to
# date in O(1) per saved version (take the old field's term out, put the new one in), so
# "has the evidence changed since the last evaluation?" costs one row, not a scan of every
# submission. It detects change; tampering is the audit log's business.

_MOD = 1 << 256


def term(organization: str, field: str, source: str, content: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{organization}\0{field}\0{source}\0{content}".encode()).digest(), "big")


def digest_text(total: int) -> str:
    return f"sha256-sum:{total:064x}"


def _bump(tx: Tx, round_id: str, plus: int, minus: int) -> None:
    row = tx.conn.execute(select(round_evidence.c.digest).where(round_evidence.c.round == round_id)).first()
    old = int(row.digest.split(":", 1)[1], 16) if row else 0
    new = digest_text((old + plus - minus) % _MOD)
    if row is None:
        tx.conn.execute(insert(round_evidence).values(round=round_id, digest=new))
    else:
        tx.conn.execute(update(round_evidence).where(round_evidence.c.round == round_id).values(digest=new))


def current_digest(conn, round_id: str) -> str:
    row = conn.execute(select(round_evidence.c.digest).where(round_evidence.c.round == round_id)).first()
    return row.digest if row else digest_text(0)


def digest_from_scratch(conn, round_id: str) -> str:
    """The same digest computed from every current field (what the kept one must equal)."""
    q = (select(heads.c.organization, heads.c.field, heads.c.source, submissions.c.content)
         .join(submissions, submissions.c.id == heads.c.submission).where(heads.c.round == round_id))
    return digest_text(sum(term(*r) for r in conn.execute(q)) % _MOD)


@dataclass
class Submission:
    """One field's value from one source, as typed, with its provenance."""
    field: str
    source: str
    value: Any
    where: dict                     # codec.where_json, plus "rows" for a bulk records field
    inspector: str | None = None
    ons: list | None = None         # [(verified_on as typed, where json), ...]
    withdrawn: bool = False
    note: str | None = None
    attachments: tuple[str, ...] = ()   # SHA-256 of its supporting files (kept in `attachments`)
    id: int | None = None               # once stored

    def content(self) -> str:
        """What was submitted (not where from): equal content is not a new version. Computed
        once: a submission is not changed after it is made (an import asks several times)."""
        got = self.__dict__.get("_content")
        if got is None:
            body = {"value": codec.encode(self.value), "inspector": self.inspector, "withdrawn": self.withdrawn,
                    "ons": [codec.encode(v) for v, _ in (self.ons or [])]}
            if self.attachments:                # new supporting files make a new version
                body["attachments"] = sorted(self.attachments)
            if self.where.get("street"):        # given by the street, not the organization
                body["street"] = self.where["street"]
            got = self.__dict__["_content"] = "sha256:" + hashlib.sha256(
                orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
        return got


def from_raw(raw: RawEvidence) -> list[Submission]:
    """A file-read organization's evidence as submissions, in the order intake read it. The
    verification's details (inspector, dates) go with the verified value when there is one."""
    out = []
    for fid, e in raw.fields.items():
        carrier = "verified" if "verified" in e.values else next(iter(e.values))
        for s in SOURCES:
            if s not in e.values:
                continue
            where = codec.where_json(e.where[s])
            if s in e.bulk:
                where["rows"] = [codec.where_json(w) for w in e.rows[s]]
            ons = [(v, codec.where_json(w) if w else None) for v, w in e.ons] if s == carrier else None
            if e.street:                        # the street's own evidence, given to its organizations
                where["street"] = e.street
            out.append(Submission(fid, s, e.values[s], where, e.inspector if s == carrier else None, ons or None))
    return out


def to_raw(org_id: str, subs: list[Submission]) -> RawEvidence:
    """The raw evidence intake would have read (the inverse of from_raw)."""
    raw = RawEvidence(org_id)
    for sub in subs:
        if sub.withdrawn:
            continue
        e = raw.fields.get(sub.field)
        if e is None:
            e = raw.fields[sub.field] = RawEntry()
        w = codec.where_of(sub.where)
        raw.files.add(w.file)
        e.values[sub.source] = sub.value
        e.where[sub.source] = w
        if sub.where.get("street"):
            e.street = sub.where["street"]
        if "rows" in sub.where:
            e.bulk.add(sub.source)
            e.rows[sub.source] = [codec.where_of(r) for r in sub.where["rows"]]
        if sub.inspector:
            e.inspector = sub.inspector
        for v, wj in sub.ons or ():
            on = (v, codec.where_of(wj) if wj else None)
            if not e.ons or e.ons[-1] != on:
                e.ons.append(on)
            e.verified_on, e.verified_on_where = on
    if raw.fields and raw.where is None:
        first = next(iter(raw.fields.values()))
        raw.where = next(iter(first.where.values()))
    return raw


def _row(sub: Submission) -> dict:
    return {"field": sub.field, "source": sub.source, "value": None if sub.withdrawn else codec.dumps(sub.value),
            "withdrawn": sub.withdrawn, "inspector": sub.inspector,
            "ons": None if sub.ons is None else json.dumps([[codec.encode(v), w] for v, w in sub.ons], ensure_ascii=False),
            "location": orjson.dumps(sub.where).decode(), "content": sub.content(), "note": sub.note}


def _sub(row) -> Submission:
    sub = Submission(row["field"], row["source"], codec.loads(row["value"]), json.loads(row["location"]),
                     row["inspector"], [(codec.decode(v), w) for v, w in json.loads(row["ons"])] if row["ons"] else None,
                     bool(row["withdrawn"]), row["note"], id=row["id"])
    sub.__dict__["_content"] = row["content"]       # as stored (it covers its attachments too)
    return sub


def current(conn, round_id: str, organization: str | None = None,
            registry_order: bool = False) -> Iterator[tuple[str, int, Submission]]:
    """(organization, version, submission) of every current field, by organization (by id, or
    in the registry's order: the round's members only) and the order its fields were first
    given. Streamed: a round's evidence is never all in memory."""
    q = (select(heads.c.organization, heads.c.version, submissions)
         .join(submissions, submissions.c.id == heads.c.submission)
         .where(heads.c.round == round_id))
    if organization is not None:
        q = q.where(heads.c.organization == organization)
    if registry_order:
        q = (q.join(members, and_(members.c.round == heads.c.round, members.c.organization == heads.c.organization))
             .order_by(members.c.seq, heads.c.seq, heads.c.source))
    else:
        q = q.order_by(heads.c.organization, heads.c.seq, heads.c.source)
    # per statement: Connection.execution_options would change the connection for what follows
    for row in conn.execute(q.execution_options(stream_results=True, yield_per=2000)).mappings():
        yield row["organization"], row["version"], _sub(row)


def by_organization(conn, round_id: str, registry_order: bool = False) -> Iterator[tuple[str, list[Submission]]]:
    org, subs = None, []
    for oid, _, sub in current(conn, round_id, registry_order=registry_order):
        if oid != org:
            if subs:
                yield org, subs
            org, subs = oid, []
        subs.append(sub)
    if subs:
        yield org, subs


def current_of(conn, round_id: str, organizations: list[str]) -> dict[str, dict[tuple[str, str], Submission]]:
    """The current submissions of some organizations: {org: {(field, source): submission}}."""
    out: dict[str, dict] = {}
    q = (select(heads.c.organization, heads.c.version, submissions)
         .join(submissions, submissions.c.id == heads.c.submission)
         .where(and_(heads.c.round == round_id, heads.c.organization.in_(organizations))))
    for row in conn.execute(q).mappings():
        out.setdefault(row["organization"], {})[(row["field"], row["source"])] = _sub(row)
    return out


def save_many(tx: Tx, round_id: str, items: list[tuple[str, Submission, int]], by: str,
              organizations: list[str] | None = None) -> list[int | None]:
    """Bulk form of `save` without an expected version (an import, under the writers' lock):
    (organization, submission, field order) each saved as the next version where its content
    differs from the current one; the new versions, None where unchanged."""
    have = {}
    q = (select(heads.c.organization, heads.c.field, heads.c.source, heads.c.version, submissions.c.content)
         .join(submissions, submissions.c.id == heads.c.submission).where(heads.c.round == round_id))
    if organizations is not None:                   # the items' organizations (an import's partition)
        q = q.where(heads.c.organization.in_(organizations))
    for row in tx.conn.execute(q):
        have[(row.organization, row.field, row.source)] = (row.version, row.content)
    out, rows, keys = [], [], []
    at = now()
    plus = minus = 0
    for org, sub, seq in items:
        key = (org, sub.field, sub.source)
        cur = have.get(key)
        content = sub.content()
        if (cur is not None and cur[1] == content) or (cur is None and sub.withdrawn):
            out.append(None)
            continue
        if cur is not None:
            minus += term(*key, cur[1])
        plus += term(*key, content)
        version = (cur[0] if cur else 0) + 1
        have[key] = (version, content)
        rows.append({"round": round_id, "organization": org, "version": version, "submitted_by": by,
                     "submitted_at": at, **_row(sub)})
        keys.append((key, seq, cur is None, version))
        out.append(version)
    if not rows:
        return out
    _bump(tx, round_id, plus, minus)
    # Writers are serialized (the audit head is held), so the rows inserted now are exactly
    # those numbered above the largest id before: one plain executemany and one query, instead
    # of RETURNING row by row.
    before = tx.conn.execute(select(func.max(submissions.c.id))).scalar_one() or 0
    tx.conn.execute(insert(submissions), rows)
    got = {(r.organization, r.field, r.source): r.id for r in tx.conn.execute(
        select(submissions.c.id, submissions.c.organization, submissions.c.field, submissions.c.source)
        .where(and_(submissions.c.round == round_id, submissions.c.id > before)))}
    if len(got) != len(rows):
        raise RuntimeError(f"{len(rows)} submissions saved, {len(got)} found: another writer without the lock?")
    ids = [got[k] for k, *_ in keys]
    new = [{"round": round_id, "organization": k[0], "field": k[1], "source": k[2], "seq": seq, "version": v,
            "submission": sid} for (k, seq, fresh, v), sid in zip(keys, ids) if fresh]
    moved = [{"o": k[0], "f": k[1], "s": k[2], "v": v, "sid": sid}
             for (k, seq, fresh, v), sid in zip(keys, ids) if not fresh]
    if new:
        tx.conn.execute(insert(heads), new)
    if moved:
        from sqlalchemy import bindparam
        tx.conn.execute(update(heads).where(and_(heads.c.round == round_id, heads.c.organization == bindparam("o"),
                                                 heads.c.field == bindparam("f"), heads.c.source == bindparam("s")))
                        .values(version=bindparam("v"), submission=bindparam("sid")), moved)
    return out


def store_attachment(tx: Tx, path) -> str:
    """A supporting file kept once by its content's SHA-256 (the same scan attached twice is
    stored once); its hash."""
    from pathlib import Path
    data = Path(path).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if tx.conn.execute(select(attachments.c.sha256).where(attachments.c.sha256 == sha)).first() is None:
        tx.conn.execute(insert(attachments).values(sha256=sha, name=Path(path).name, size=len(data), content=data,
                                                   stored_at=now()))
    return sha


def attachments_of(conn, submission_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if submission_ids:
        q = (select(submission_attachments.c.submission, attachments.c.name)
             .join(attachments, attachments.c.sha256 == submission_attachments.c.sha256)
             .where(submission_attachments.c.submission.in_(submission_ids)))
        for sid, name in conn.execute(q):
            out.setdefault(sid, []).append(name)
    return out


def save(tx: Tx, round_id: str, organization: str, sub: Submission, expected: int | None, by: str,
         seq: int | None = None) -> int | None:
    """Save one submission as the field's next version. `expected`: the version the writer
    started from (0: the field had none), or None to take whatever is current (bulk import,
    which compares content instead). Returns the new version, None when the content equals
    the current one. Raises Conflict when `expected` is no longer current."""
    key = and_(heads.c.round == round_id, heads.c.organization == organization, heads.c.field == sub.field,
               heads.c.source == sub.source)
    head = tx.conn.execute(select(heads.c.version, heads.c.seq, submissions.c.content)
                           .join(submissions, submissions.c.id == heads.c.submission).where(key)).first()
    have = head.version if head else 0
    if expected is not None and expected != have:
        raise Conflict(f"{organization}.{sub.field}.{sub.source}",
                       f"{organization} 的 {sub.field}（{'自评' if sub.source == 'self' else '核查'}）已被他人更新为第 {have} 版，"
                       f"您的修改基于第 {expected} 版：请查看最新值后再提交", have)
    content = sub.content()
    if head is not None and head.content == content:
        return None
    if head is None and sub.withdrawn:
        return None
    version = have + 1
    _bump(tx, round_id, term(organization, sub.field, sub.source, content),
          term(organization, sub.field, sub.source, head.content) if head is not None else 0)
    sid = tx.conn.execute(insert(submissions).values(round=round_id, organization=organization, version=version,
                                                     submitted_by=by, submitted_at=now(), **_row(sub))
                          ).inserted_primary_key[0]
    if sub.attachments:                         # its supporting files (store_attachment), linked to this version
        tx.conn.execute(insert(submission_attachments), [{"submission": sid, "sha256": h}
                                                         for h in dict.fromkeys(sub.attachments)])
    if head is None:
        if seq is None:
            seq = tx.conn.execute(select(heads.c.seq).where(and_(heads.c.round == round_id,
                                                                 heads.c.organization == organization))
                                  .order_by(heads.c.seq.desc()).limit(1)).scalar_one_or_none()
            seq = 0 if seq is None else seq + 1
        tx.conn.execute(insert(heads).values(round=round_id, organization=organization, field=sub.field,
                                             source=sub.source, seq=seq, version=version, submission=sid))
    else:
        # the version in the WHERE clause is the check: a writer that got here second finds none
        done = tx.conn.execute(update(heads).where(and_(key, heads.c.version == have))
                               .values(version=version, submission=sid)).rowcount
        if done != 1:
            raise Conflict(f"{organization}.{sub.field}.{sub.source}",
                           f"{organization} 的 {sub.field} 刚被他人更新：请查看最新值后再提交", have + 1)
    return version
