"""Organizations, streets and districts over time, and standards by digest.

A unit (organization, street or district) is kept in versions: when an import finds an
organization renamed, moved to another street or re-typed, the current version is closed
(valid_to, exclusive) and a new one starts the same day. A round's members point at the
version they were imported with, so an old round still shows the names it was rated under.
Streets are coded 'district/street' (two districts may each have a 文昌街道).
"""
from __future__ import annotations

import datetime
import json
from pathlib import Path

from sqlalchemy import and_, insert, select, update

from ..model import Organization, Standard
from .base import Tx
from .db import now
from .tables import standards, units

ORG_ATTRS = ("name", "type", "district", "street", "parent", "responsible")


def street_code(district: str, street: str) -> str:
    return f"{district}/{street}"


def current_units(tx: Tx, kind: str) -> dict[str, dict]:
    q = select(units).where(and_(units.c.kind == kind, units.c.valid_to.is_(None)))
    return {r["code"]: dict(r) for r in tx.conn.execute(q).mappings()}


def sync_units(tx: Tx, orgs: list[Organization], today: datetime.date) -> tuple[dict[str, int], dict[str, int]]:
    """Units for these organizations (and their streets and districts), versioned where they
    changed. Returns ({organization id: unit row id}, counts)."""
    counts = {"added": 0, "changed": 0}
    for kind, wanted in (("district", {o.district: {"name": o.district} for o in orgs if o.district}),
                         ("street", {street_code(o.district, o.street): {"name": o.street, "district": o.district,
                                                                         "parent": o.district}
                                     for o in orgs if o.street})):
        have = current_units(tx, kind)
        new = [{"kind": kind, "code": code, "valid_from": today, **attrs} for code, attrs in wanted.items()
               if code not in have]
        if new:
            tx.conn.execute(insert(units), new)
            for u in new:
                tx.log.append("unit.add", kind, u["code"], None, {k: u[k] for k in u if k not in ("valid_from",)})
    have = current_units(tx, "organization")
    ids: dict[str, int] = {}
    new, closed, entries = [], [], []
    for o in orgs:
        attrs = {k: getattr(o, k) for k in ORG_ATTRS}
        cur = have.get(o.id)
        if cur is not None and all(cur[k] == v for k, v in attrs.items()):
            ids[o.id] = cur["id"]
            continue
        if cur is not None:
            # a version closed the day it opens is kept, valid for no day: history is not rewritten
            closed.append(cur["id"])
            counts["changed"] += 1
        else:
            counts["added"] += 1
        new.append({"kind": "organization", "code": o.id, "valid_from": today, **attrs})
        entries.append(("unit.change" if cur else "unit.add", "organization", o.id,
                        {k: cur[k] for k in ORG_ATTRS} if cur else None, attrs, {}))
    if closed:
        tx.conn.execute(update(units).where(units.c.id.in_(closed)).values(valid_to=today))
    for i in range(0, len(new), 5000):
        res = tx.conn.execute(insert(units).returning(units.c.id, sort_by_parameter_order=True), new[i:i + 5000])
        for u, (uid,) in zip(new[i:i + 5000], res):
            ids[u["code"]] = uid
    tx.log.extend(entries)
    return ids, counts


def organization_of(row) -> Organization:
    return Organization(row["code"], row["name"], row["type"], row["district"], row["street"], row["parent"],
                        row["responsible"])


def store_standard(tx: Tx, std: Standard) -> None:
    """The standard's files (its lineage, root first), once per digest."""
    if tx.conn.execute(select(standards.c.digest).where(standards.c.digest == std.digest)).first():
        return
    files = [[Path(f).name, Path(f).read_bytes().decode("utf-8")] for f in std.files]   # exact bytes: the digest
    tx.conn.execute(insert(standards).values(digest=std.digest, standard=std.id, version=std.version, title=std.title,
                                             files=json.dumps(files, ensure_ascii=False), stored_at=now()))
    tx.log.append("standard.store", "standard", std.id, None, {"digest": std.digest}, version=std.version)


def standard_files(conn, digest: str) -> list[tuple[str, str]]:
    row = conn.execute(select(standards.c.files).where(standards.c.digest == digest)).first()
    return [tuple(x) for x in json.loads(row.files)]
