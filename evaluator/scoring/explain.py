"""A plain-text explanation of one organization's result, for the branch secretary."""
from __future__ import annotations

from ..terms import OUTCOME_ZH, num as _n


def explain_text(payload: dict, org: dict) -> str:
    lines = []
    rnd = payload["round"]
    std = org["standard"]
    lines.append(f"{org['name']}（{org['id']}）  {org['type_name']}  {org['district']} {org['street']}")
    lines.append(f"{rnd['title']}；标准 {std['id']} {std['version']}")
    if org["status"] == "graded":
        r = org["rank"]
        lines.append(f"总分 {_n(org['total'])}（基础得分 {_n(org['base'])} + 加分 {_n(org['bonus'])}）  "
                     f"档次 {org['tier_name']}  排名：全域第 {r['round']}，区县内第 {r['district']}，领域内第 {r['type']}")
    else:
        lines.append("不予定档")
    if len(org.get("components") or {}) > 1:
        lines.append("构成：" + "，".join(f"{k} {_n(v)}" for k, v in org["components"].items()))
    lines.append("定档依据：")
    lines += [f"  - {r}" for r in org["tier_reasons"]]
    section_titles = {s["id"]: s for s in org.get("sections", [])}
    current = None
    for c in org["criteria"]:
        if c["section"] != current:
            current = c["section"]
            s = section_titles.get(current)
            lines.append("")
            lines.append(f"【{current} {s['title'] if s else ''}】" + (f" {_n(s['points'])}/{_n(s['max_points'])} 分" if s else ""))
        mark = {"pass": "✓", "partial": "△", "fail": "✗", "waived": "○"}.get(c["outcome"], "·")
        lines.append(f" {mark} {c['id']} {c['title']}  {_n(c['points'])}/{_n(c['max_points'])}  [{OUTCOME_ZH[c['outcome']]}]")
        lines.append(f"     {c['reason']}")
        if c["outcome"] in ("partial", "fail", "not_reviewed") and c["max_points"] and c.get("rectification"):
            lines.append(f"     整改：{c['rectification']}")
    if org["vetoes"]:
        lines.append("")
        lines.append("一票否决：")
        lines += [f"  - {v['criterion']}：{v['reason']}" for v in org["vetoes"]]
    if org["findings"]:
        lines.append("")
        lines.append("核查发现（自评与核查不一致）：")
        lines += [f"  - {f['message']}" for f in org["findings"]]
    return "\n".join(lines)
