"""What `agrade round status` tells: where a round is and what it holds."""
from __future__ import annotations


from sqlalchemy import and_, func, select

from ..terms import date_text, stamp_text
from .rounds import LIFECYCLE, LIFECYCLE_ZH, get_round
from .scoring import EVALUATION_KIND_ZH, latest_evaluation, placements_now
from .tables import appeals, bulletins, heads, members, published_lists, rounds, submissions


def rounds_list(conn) -> list[tuple]:
    out = []
    for r in conn.execute(select(rounds).order_by(rounds.c.period_from, rounds.c.id)).mappings():
        n = conn.execute(select(func.count()).select_from(members).where(members.c.round == r["id"])).scalar_one()
        ev = latest_evaluation(conn, r["id"])
        last = "未评估" if ev is None else f"第 {ev['id']} 次，{stamp_text(ev['at'])}" + ("（材料已变）" if ev["stale"] else "")
        out.append((r["id"], r["title"], LIFECYCLE_ZH[r["state"]], n, last))
    return out


def round_status(conn, round_id: str) -> list[str]:
    r = get_round(conn, round_id)
    n = conn.execute(select(func.count()).select_from(members).where(members.c.round == round_id)).scalar_one()
    lines = [f"{r['title']}（{round_id}）", f"考评期：{date_text(r['period_from'])}至{date_text(r['period_to'])}",
             "阶段：" + " → ".join(f"【{LIFECYCLE_ZH[s]}】" if s == r["state"] else LIFECYCLE_ZH[s] for s in LIFECYCLE),
             f"组织：{n} 个"]
    counts = dict(conn.execute(select(heads.c.source, func.count()).where(heads.c.round == round_id)
                               .group_by(heads.c.source)).all())
    versions = conn.execute(select(func.count()).select_from(submissions).where(submissions.c.round == round_id)).scalar_one()
    lines.append(f"材料：自评 {counts.get('self', 0)} 项，核查 {counts.get('verified', 0)} 项（历史版本共 {versions} 条）")
    ev = latest_evaluation(conn, round_id)
    if ev is None:
        lines.append("评估：尚未评估")
    else:
        lines.append(f"评估：第 {ev['number']} 次（{EVALUATION_KIND_ZH.get(ev['kind'], ev['kind'])}），{stamp_text(ev['at'])}，{ev['actor']}"
                     + ("；此后材料有变化，需重新评估" if ev["stale"] else "；与当前材料一致"))
        from .scoring import tier_name, titles_of
        names = titles_of(conn, round_id)
        tiers: dict[str, int] = {}
        for p in placements_now(conn, round_id).values():
            name = tier_name(names, p["tier"])
            tiers[name] = tiers.get(name, 0) + 1
        order = [v for k, v in names.items() if k.startswith("tier:")] + ["不予定档"]    # each standard's own order
        lines.append("档次：" + "，".join(f"{t} {c} 个" for t, c in sorted(
            tiers.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))))
    open_appeals = conn.execute(select(func.count()).select_from(appeals).where(
        and_(appeals.c.round == round_id, appeals.c.state == "filed"))).scalar_one()
    decided = conn.execute(select(func.count()).select_from(appeals).where(
        and_(appeals.c.round == round_id, appeals.c.state != "filed"))).scalar_one()
    lines.append(f"申诉：待复核 {open_appeals} 件，已复核 {decided} 件")
    nb = conn.execute(select(func.count()).select_from(bulletins).where(bulletins.c.round == round_id)).scalar_one()
    pl = conn.execute(select(published_lists.c.id, published_lists.c.issued_on, published_lists.c.supersedes)
                      .where(published_lists.c.round == round_id).order_by(published_lists.c.id)).all()
    lines.append(f"通报：{nb} 期；公布名单：" + ("，".join(f"第 {p.id} 号（{date_text(p.issued_on)}"
                                                     + (f"，更正第 {p.supersedes} 号" if p.supersedes else "") + "）"
                                                     for p in pl) or "未公布"))
    return lines
