"""What changed between two versions of a standard, in the words the published rules use.

    changes = compare(published(old_std), published(new_std))
    text(changes, old, new) / markdown(...) / as_json(...)

Both versions are first read out as published (`evaluator.standard.published`: merged 1+N,
plain Chinese), then compared part by part: the standard's facts (title, version, dates,
scope), each section, each criterion matched by id (added, removed, renamed, moved, its points,
and each part of its rule: a threshold, a band, a deduction item, a veto's cap...), and the
grading (tiers, gates, quotas, target, scoring and ranking). A criterion removed and another
added under a new id with the same title in the same section is one renumbered criterion.
Changes are grouped by section, in the new version's order, then the grading.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Iterable

from ..terms import num
from .published import Point, Published, PublishedCriterion, PublishedSection, date_text

__all__ = ["Change", "compare", "text", "markdown", "as_json", "INFO_GROUP", "GRADING_GROUP"]

INFO_GROUP = "基本信息"
GRADING_GROUP = "定档办法"
KIND_ZH = {"added": "新增", "removed": "删除", "changed": "修改", "renamed": "更名", "moved": "调整"}


@dataclass(frozen=True)
class Change:
    group: str                 # 基本信息 | "G4 阵地与保障" | 定档办法
    kind: str                  # added | removed | changed | renamed | moved
    subject: str               # what changed: "G4.1 党群服务中心面积达标", "A档", "版本"
    text: str                  # the change as one sentence
    old: str | None = None
    new: str | None = None


# ------------------------------------------------------------------ comparing

def compare(old: Published, new: Published) -> list[Change]:
    out = list(_info(old, new))
    out += _sections(old, new)
    out += _grading(old, new)
    return out


def _info(old: Published, new: Published) -> Iterable[Change]:
    facts = [("标准名称", old.title, new.title), ("发布单位", old.issuer, new.issuer), ("版本", old.version, new.version),
             ("施行期间", _period(old), _period(new)), ("适用范围", "、".join(old.applies_to), "、".join(new.applies_to)),
             ("制定依据", "、".join(old.based_on) or "无", "、".join(new.based_on) or "无")]
    for what, a, b in facts:
        if a != b:
            yield Change(INFO_GROUP, "changed", what, f"{what}：{a or '—'} → {b or '—'}", a, b)


def _period(p: Published) -> str:
    return f"{date_text(p.effective_from)}至{date_text(p.effective_to)}"


def _section_label(s: PublishedSection) -> str:
    return f"{s.id} {s.title}"


def _crit_label(c: PublishedCriterion) -> str:
    return f"{c.id} {c.title}"


def _worth(c: PublishedCriterion) -> str:
    return {"base": f"{num(c.points)} 分", "bonus": f"最多加 {num(c.points)} 分"}.get(c.kind, c.kind_name)


def _sections(old: Published, new: Published) -> list[Change]:
    old_secs = {s.id: s for s in old.sections}
    new_secs = {s.id: s for s in new.sections}
    old_crits, new_crits = old.criteria, new.criteria
    renumbered = _renumbered(old_crits, new_crits)
    groups: dict[str, list[Change]] = {}
    order = [s.id for s in new.sections] + [s.id for s in old.sections if s.id not in new_secs]
    for sid in order:
        a, b = old_secs.get(sid), new_secs.get(sid)
        group = _section_label(b or a)
        items = groups.setdefault(group, [])
        if a is None:
            items.append(Change(group, "added", group, f"新增部分“{b.title}”" + _sec_points(b)))
        elif b is None:
            items.append(Change(group, "removed", group, f"删除部分“{a.title}”" + _sec_points(a)))
        else:
            if a.title != b.title:
                items.append(Change(group, "renamed", group, f"部分名称：“{a.title}” → “{b.title}”", a.title, b.title))
            if a.points != b.points:
                items.append(Change(group, "changed", group, f"基础分值合计：{num(a.points)} 分 → {num(b.points)} 分",
                                    num(a.points), num(b.points)))
    for cid, c in new_crits.items():
        group = _section_label(new_secs[c.section])
        before = old_crits.get(cid)
        if before is None and cid in renumbered.values():
            was = next(o for o, n in renumbered.items() if n == cid)
            before = old_crits[was]
            groups[group].append(Change(group, "renamed", _crit_label(c), f"{c.title}：编号 {was} → {cid}", was, cid))
        if before is None:
            groups[group].append(Change(group, "added", _crit_label(c), f"新增指标 {_crit_label(c)}（{_worth(c)}）：{c.rule}",
                                        None, c.rule))
            continue
        groups[group] += _criterion(group, before, c, old_secs, new_secs)
    for cid, c in old_crits.items():
        if cid not in new_crits and cid not in renumbered:
            group = _section_label(new_secs.get(c.section) or old_secs[c.section])
            groups[group].append(Change(group, "removed", _crit_label(c), f"删除指标 {_crit_label(c)}（{_worth(c)}）",
                                        c.rule, None))
    return [ch for g in groups.values() for ch in g]


def _sec_points(s: PublishedSection) -> str:
    return f"（{num(s.points)} 分）" if s.points else ""


def _renumbered(old: dict, new: dict) -> dict[str, str]:
    """Old id -> new id for a criterion that only changed its number: removed under one id and
    added under another with the same title in the same section (one such pair per title)."""
    gone = [c for cid, c in old.items() if cid not in new]
    came = [c for cid, c in new.items() if cid not in old]
    out = {}
    for c in gone:
        same = [n for n in came if n.title == c.title and n.section == c.section and n.id not in out.values()]
        if len(same) == 1:
            out[c.id] = same[0].id
    return out


def _criterion(group: str, a: PublishedCriterion, b: PublishedCriterion, old_secs, new_secs) -> list[Change]:
    subject = _crit_label(b)
    out = []
    if a.title != b.title:
        out.append(Change(group, "renamed", subject, f"{b.id} 指标名称：“{a.title}” → “{b.title}”", a.title, b.title))
    if a.section != b.section:
        was = old_secs[a.section].title
        out.append(Change(group, "moved", subject, f"{subject}：由“{was}”调入本部分", was, new_secs[b.section].title))
    if a.method != b.method or a.kind != b.kind:
        out.append(Change(group, "changed", subject, f"{subject} 计分方式：{a.method} → {b.method}；评分标准改为：{b.rule}",
                          a.rule, b.rule))
        out += _point_changes(group, [p for p in a.points_of_rule if p.key == "points"],
                              [p for p in b.points_of_rule if p.key == "points"], subject=subject)
    else:
        out += _point_changes(group, a.points_of_rule, b.points_of_rule, subject=subject)
    for line in a.conditions:
        if line not in b.conditions:
            out.append(Change(group, "removed", subject, f"{subject} 取消：{line}", line, None))
    for line in b.conditions:
        if line not in a.conditions:
            out.append(Change(group, "added", subject, f"{subject} 增加：{line}", None, line))
    if a.guidance != b.guidance:
        out.append(Change(group, "changed", subject, f"{subject} 说明修改为：{b.guidance or '（无）'}", a.guidance, b.guidance))
    if a.rectification != b.rectification:
        out.append(Change(group, "changed", subject, f"{subject} 整改要求修改为：{b.rectification or '（无）'}",
                          a.rectification, b.rectification))
    return out


def _point_changes(group: str, old: Iterable[Point], new: Iterable[Point], subject: str | None = None,
                   what: str | None = None) -> list[Change]:
    """Parts matched by key, in the new order: added, changed, then removed. Either the parts of
    one criterion's rule (`subject`: "P2.1 党群服务中心面积"), whose labels only say which part
    it is (分值, 第 1 档): a new label is worded inside the one change of that part; or the
    grading's parts of one kind (`what`: 档次, 比例控制), whose labels are the things' own names
    (A档): a new name is a change of its own (renamed), and the change names the part."""
    a = {p.key: p for p in old}
    b = {p.key: p for p in new}
    out = []

    def change(kind: str, part: Point, text: str, before: str | None, after: str | None) -> None:
        out.append(Change(group, kind, subject or part.label, text, before, after))

    for key, p in b.items():
        q = a.get(key)
        if q is None:
            change("added", p, f"{subject} 新增{p.label}：{p.text}" if subject else f"新增{what}：{p.label}，{p.text}",
                   None, p.text)
        elif subject:
            if q.text != p.text or q.label != p.label:
                label = p.label if q.label == p.label else f"{q.label}（现为{p.label}）"
                change("changed", p, f"{subject} {label}：{q.text} → {p.text}", q.text, p.text)
        else:
            if q.label != p.label:
                change("renamed", p, f"{what}名称：{q.label} → {p.label}", q.label, p.label)
            if q.text != p.text:
                change("changed", p, f"{p.label}：{q.text} → {p.text}", q.text, p.text)
    for key, q in a.items():
        if key not in b:
            change("removed", q, f"{subject} 取消{q.label}：{q.text}" if subject else f"取消{what}：{q.label}，{q.text}",
                   q.text, None)
    return out


def _grading(old: Published, new: Published) -> list[Change]:
    out = []
    for what, a, b in (("档次", old.tiers, new.tiers), ("定档条件", old.gates, new.gates),
                       ("比例控制", old.quotas, new.quotas), ("目标", old.target, new.target),
                       ("计分与排名", old.scoring, new.scoring)):
        out += _point_changes(GRADING_GROUP, a, b, what=what)
    return out


# ------------------------------------------------------------------ printing

def _heading(old: Published, new: Published, changes: list[Change]) -> str:
    names = f"《{new.title}》" if old.title == new.title else f"《{old.title}》→《{new.title}》"
    count = f"共 {len(changes)} 处变化" if changes else "两个版本的考评内容相同"
    return f"{names} {old.version}版 → {new.version}版：{count}"


def _grouped(changes: list[Change]) -> dict[str, list[Change]]:
    groups: dict[str, list[Change]] = {}
    for ch in changes:
        groups.setdefault(ch.group, []).append(ch)
    return groups


def text(changes: list[Change], old: Published, new: Published) -> str:
    lines = [_heading(old, new, changes)]
    for group, items in _grouped(changes).items():
        lines.append(f"【{group}】")
        lines += [f"  · {ch.text}" for ch in items]
    return "\n".join(lines) + "\n"


def markdown(changes: list[Change], old: Published, new: Published) -> str:
    lines = [f"# {_heading(old, new, changes)}", ""]
    for group, items in _grouped(changes).items():
        lines += [f"## {group}", ""] + [f"- {ch.text}" for ch in items] + [""]
    return "\n".join(lines)


def as_json(changes: list[Change], old: Published, new: Published) -> str:
    def head(p: Published) -> dict:
        return {"title": p.title, "version": p.version, "digest": p.digest}
    return json.dumps({"old": head(old), "new": head(new), "count": len(changes),
                       "changes": [asdict(ch) for ch in changes]}, ensure_ascii=False, indent=1) + "\n"
