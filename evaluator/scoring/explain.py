"""A plain-text explanation of one organization's result, for the branch secretary.

The total is shown as the arithmetic the standard does: each weighted component × its weight,
plus the bonus (capped), e.g. `总分 91 = 考核组评分 100 × 70% + 自评得分 70 × 30% + 加分 0`.
Numbers are shown as the standard rounds them (terms.num, terms.pct: half up).
"""
from __future__ import annotations

from ..terms import FINDING_ZH, OUTCOME_ZH, STATUS_ZH, num, pct, to_decimal


def total_text(payload: dict, org: dict) -> str:
    """`总分 95 = 基础得分 92 + 加分 3`, or the weighted sum when the standard has components."""
    std = (payload.get("standards") or {}).get((org.get("standard") or {}).get("id")) or {}
    comps = [c for c in std.get("components") or [] if isinstance(c, dict)]
    values = org.get("components") or {}
    if len(comps) > 1 or (comps and to_decimal(comps[0].get("weight")) != 1):
        parts = [f"{c.get('label') or c['id']} {num(values.get(c['id']))} × {pct(c.get('weight'), 2)}" for c in comps]
    elif comps and comps[0].get("source") != "criteria":
        parts = [f"{comps[0].get('label') or comps[0]['id']} {num(values.get(comps[0]['id'], org.get('base')))}"]
    else:
        parts = [f"基础得分 {num(org.get('base'))}"]
    parts.append(f"加分 {num(org.get('bonus'))}")
    return f"总分 {num(org.get('total'))} = " + " + ".join(parts)


def bonus_cap_text(payload: dict, org: dict) -> str | None:
    """'加分项合计 5 分，超过加分上限 3 分，按 3 分计入' when the bonus criteria earned more than
    the cap allows; None otherwise."""
    std = (payload.get("standards") or {}).get((org.get("standard") or {}).get("id")) or {}
    earned = sum((to_decimal(c.get("points")) or 0 for c in org.get("criteria") or [] if c.get("kind") == "bonus"), 0)
    bonus = to_decimal(org.get("bonus"))
    if bonus is None or earned <= bonus:
        return None
    cap = std.get("bonus_cap", org.get("bonus"))
    return f"加分项合计 {num(earned)} 分，超过加分上限 {num(cap)} 分，按 {num(bonus)} 分计入"


def designations_of(payload: dict, org_id: str) -> list[tuple[str, list[str]]]:
    """(title, reasons) of each designation (认定, such as 软弱涣散党组织) the organization
    received in this round."""
    return [(d["title"] + (f"（整改期限 {d['rectification_deadline']}）" if d.get("rectification_deadline") else ""),
             list(e.get("reasons") or [])) for d in (payload.get("designations") or {}).values()
            for e in d.get("entries") or [] if e.get("organization") == org_id]


def explain_text(payload: dict, org: dict) -> str:
    lines = []
    rnd = payload["round"]
    std = org["standard"]
    lines.append(f"{org['name']}（{org['id']}）  {org['type_name']}  {org['district']} {org['street']}")
    title = ((payload.get("standards") or {}).get(std["id"]) or {}).get("title") or std["id"]
    lines.append(f"{rnd['title']}；标准：{title}（{std['version']}版）")
    if org["status"] == "graded":
        r = org["rank"]
        lines.append(f"{total_text(payload, org)}  "
                     f"档次 {org['tier_name']}  排名：全域第 {r['round']}，区县内第 {r['district']}，领域内第 {r['type']}")
        capped = bonus_cap_text(payload, org)
        if capped:
            lines.append(f"（{capped}）")
    else:
        lines.append(STATUS_ZH["not_graded"])
    lines.append("定档依据：")
    lines += [f"  - {r}" for r in org["tier_reasons"]]
    marked = designations_of(payload, org["id"])
    if marked:
        lines.append("认定：")
        lines += [f"  - {title}（{'；'.join(why)}）" if why else f"  - {title}" for title, why in marked]
    section_titles = {s["id"]: s for s in org.get("sections", [])}
    current = None
    for c in org["criteria"]:
        if c["section"] != current:
            current = c["section"]
            s = section_titles.get(current)
            lines.append("")
            lines.append(f"【{current} {s['title'] if s else ''}】" + (f" {num(s['points'])}/{num(s['max_points'])} 分" if s else ""))
        mark = {"pass": "✓", "partial": "△", "fail": "✗", "waived": "○"}.get(c["outcome"], "·")
        lines.append(f" {mark} {c['id']} {c['title']}  {num(c['points'])}/{num(c['max_points'])}  "
                     f"（{OUTCOME_ZH.get(c['outcome'], c['outcome'])}）")
        lines.append(f"     {c['reason']}")
        if c["outcome"] in ("partial", "fail", "not_reviewed") and c["max_points"] and c.get("rectification"):
            lines.append(f"     整改：{c['rectification']}")
    if org["vetoes"]:
        lines.append("")
        lines.append("一票否决：")
        lines += [f"  - {v['criterion']}：{v['reason']}" for v in org["vetoes"]]
    if org["findings"]:
        lines.append("")
        lines.append("核查发现：")
        lines += [f"  - 【{FINDING_ZH.get(f['kind'], f['kind'])}】{f['message']}" for f in org["findings"]]
    return "\n".join(lines)
