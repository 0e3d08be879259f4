"""The audit log: append-only and hash-chained.

Each entry's hash covers its own content and the previous entry's hash, and `audit_head`
holds the last entry's number and hash. `verify` recomputes the chain: an edited entry breaks
its own hash, an inserted or deleted one breaks the numbering or the link to its neighbour,
a cut tail disagrees with the head. Someone able to rewrite the whole database can rewrite
the whole chain too: `agrade audit verify` prints the head's hash so a department can record
it outside the database (in a signed bulletin, say) and compare later.

`Log.append` is called inside the transaction that makes the change, after `lock()` took the
head: the change and its entry commit together or not at all, and writers queue on the head.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from .db import now
from .tables import audit, audit_head

GENESIS = "0" * 64


def digest_of(value) -> str:
    """The digest an entry records for an entity's state (canonical JSON)."""
    return "sha256:" + hashlib.sha256(canonical(value).encode()).hexdigest()


def canonical(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _hash(prev: str, entry: dict) -> str:
    return hashlib.sha256((prev + "\n" + canonical(entry)).encode()).hexdigest()


def _content(row) -> dict:
    return {"seq": row["seq"], "at": row["at"].isoformat(timespec="microseconds"), "actor": row["actor"],
            "action": row["action"], "entity": row["entity"], "key": row["key"], "before": row["before"],
            "after": row["after"], "detail": row["detail"]}


def ensure_head(conn: Connection) -> None:
    """The head row of an empty log, made once when the store is opened the first time."""
    if conn.execute(select(audit_head.c.id)).first() is None and \
            conn.execute(select(audit.c.seq).limit(1)).first() is None:
        conn.execute(insert(audit_head).values(id=1, seq=0, hash=GENESIS))


class Log:
    def __init__(self, conn: Connection, actor: str):
        self.conn = conn
        self.actor = actor
        self._head: tuple[int, str] | None = None

    def lock(self) -> None:
        """Take the head for this transaction (the first statement of every write)."""
        q = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
        if self.conn.engine.dialect.name == "postgresql":
            q = q.with_for_update()
        row = self.conn.execute(q).first()
        if row is None:                   # made with the tables (Store.open): someone removed it
            raise RuntimeError("the audit log has no head row; run `agrade audit verify`")
        self._head = (row.seq, row.hash)

    def append(self, action: str, entity: str, key: str, before=None, after=None, **detail) -> int:
        """One entry: who (the log's actor) did `action` to `entity` `key`; `before`/`after`
        are the entity's states (recorded as digests), `detail` what a reader needs."""
        return self.extend([(action, entity, key, before, after, detail)])

    def extend(self, entries: list[tuple]) -> int:
        """Several entries (action, entity, key, before, after, detail) in one statement (a bulk
        import audits every organization it changed); the last entry's number."""
        if self._head is None:
            raise RuntimeError("audit.Log.append before lock(): the change is not serialized")
        seq, prev = self._head
        rows = []
        at = now()
        for action, entity, key, before, after, detail in entries:
            seq += 1
            row = {"seq": seq, "at": at, "actor": self.actor, "action": action, "entity": entity, "key": key,
                   "before": None if before is None else digest_of(before),
                   "after": None if after is None else digest_of(after), "detail": canonical(detail)}
            row["prev"], row["hash"] = prev, _hash(prev, _content(row))
            prev = row["hash"]
            rows.append(row)
        if rows:
            self.conn.execute(insert(audit), rows)
            self.conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=prev))
            self._head = (seq, prev)
        return seq


@dataclass
class Verdict:
    entries: int
    head: str
    problems: list[str]


def verify(conn: Connection) -> Verdict:
    """Recompute the chain; every problem found, by entry number."""
    problems: list[str] = []
    prev, expect, last = GENESIS, 1, 0
    for row in conn.execute(select(audit).order_by(audit.c.seq)).mappings():
        seq = row["seq"]
        if seq != expect:
            problems.append(f"第 {expect} 条至第 {seq - 1} 条缺失（被删除）" if seq > expect else f"第 {seq} 条编号重复")
        if row["prev"] != prev:
            problems.append(f"第 {seq} 条与前一条不相接（前一条被改动、删除或在其前插入）")
        if _hash(row["prev"], _content(row)) != row["hash"]:
            problems.append(f"第 {seq} 条内容与其哈希不符（被改动）")
        prev, expect, last = row["hash"], seq + 1, seq
    head = conn.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).first()
    if head is None:
        if last:
            problems.append("审计链头记录缺失")
    elif (head.seq, head.hash) != (last, prev):
        problems.append(f"审计链头记录为第 {head.seq} 条，实际最后一条为第 {last} 条（末尾被删除或改动）")
    return Verdict(last, prev, problems)
