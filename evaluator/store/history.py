"""An organization's history across rounds, evaluations and bulletins (`agrade history ORG`)."""
from __future__ import annotations

import json

from sqlalchemy import and_, select

from .scoring import BULLETIN, titles_of
from .tables import (appeals, bulletins, evaluations, members, placements, published_lists, round_standards, rounds,
                     standards, units)


def history(conn, org: str) -> list[dict]:
    """One entry per round the organization was in, oldest first: each evaluation that placed
    it (tier, total, rank, lists), bulletins issued, appeals, and its name then."""
    out = []
    q = (select(rounds, units.c.name.label("org_name"), units.c.type.label("org_type"))
         .join(members, members.c.round == rounds.c.id).join(units, units.c.id == members.c.unit)
         .where(members.c.organization == org).order_by(rounds.c.period_from, rounds.c.id))
    for r in conn.execute(q).mappings():
        evs = {e.id: e for e in conn.execute(select(evaluations).where(evaluations.c.round == r["id"]))}
        standing = sorted(i for i, e in evs.items() if e.kind != BULLETIN)
        number = {i: n for n, i in enumerate(standing, 1)}        # 第 N 次评估 of the round
        steps, last = [], None
        for p in conn.execute(select(placements).where(and_(placements.c.round == r["id"], placements.c.organization == org))
                              .order_by(placements.c.evaluation)).mappings():
            e = evs[p["evaluation"]]
            if e.kind == BULLETIN:       # a bulletin's as-of placement is the bulletin's, not a step
                continue
            now_ = (p["tier"], p["total"], p["rank"], p["lists"])
            if now_ != last:
                steps.append({"evaluation": e.id, "number": number[e.id], "kind": e.kind, "at": e.at, "tier": p["tier"], "total": p["total"],
                              "rank": p["rank"], "lists": json.loads(p["lists"])})
                last = now_
        bl = [{"id": b.id, "as_of": b.as_of, "evaluation": b.evaluation}
              for b in conn.execute(select(bulletins).where(bulletins.c.round == r["id"]).order_by(bulletins.c.as_of))]
        for b in bl:             # where the organization stood in that bulletin
            e = evs[b["evaluation"]]
            if e.kind == BULLETIN:   # scored as of its date: its own placements
                p = json.loads(e.summary).get("placements", {}).get(org) or {}
                b["tier"], b["rank"] = p.get("tier"), p.get("rank")
                continue
            at = [s for s in steps if s["evaluation"] <= b["evaluation"]]     # issued before bulletins kept their own
            b["tier"] = at[-1]["tier"] if at else None
            b["rank"] = at[-1]["rank"] if at else None
        ap = [dict(a) for a in conn.execute(select(appeals).where(and_(appeals.c.round == r["id"], appeals.c.organization == org))
                                             .order_by(appeals.c.id)).mappings()]
        pub = [dict(p) for p in conn.execute(select(published_lists.c.id, published_lists.c.issued_on, published_lists.c.supersedes,
                                                    published_lists.c.lists).where(published_lists.c.round == r["id"])
                                             .order_by(published_lists.c.id)).mappings()]

        std = conn.execute(select(standards.c.standard, standards.c.title, standards.c.version)
                           .join(round_standards, round_standards.c.digest == standards.c.digest)
                           .where(and_(round_standards.c.round == r["id"], round_standards.c.org_type == r["org_type"]))).first()
        out.append({"round": r["id"], "title": r["title"], "state": r["state"], "name": r["org_name"],
                    "titles": titles_of(conn, r["id"]),
                    "standard": {"id": std.standard, "title": std.title, "version": std.version} if std else None,
                    "period": (r["period_from"], r["period_to"]), "steps": steps, "bulletins": bl, "appeals": ap,
                    "published": pub})
    return out
