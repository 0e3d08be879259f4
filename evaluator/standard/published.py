"""A compiled standard as the department publishes it (考评细则): plain data in plain Chinese.

    published(load_standard("community"), ranking="先比档次（高档在前）…") -> Published
    (evaluator.reports.standard_doc.publish(std[, round]) supplies the ranking sentence)

Every criterion's scoring rule, every veto, gate, tier, quota and target is read out from the
compiled standard (what is scored is what is printed: nothing is typed twice) with the fields'
labels and units, tier names and the expressions' plain wording (`evaluator.standard.plain`,
or the author's `requirement:`/`reason:`). A standard that extends another is its merged,
resolved form. Two consumers read this model: the document renderer
(`evaluator.reports.standard_doc`, `agrade doc`) and the comparison of two versions
(`evaluator.standard.diff`, `agrade diff`), so a change is described in the words the
published document uses.

Each rule is also broken into `Point`s (the requirement, each band, each deduction item, the
cap tier, ...) with a stable key, so a diff can say which part changed ("第 1 档：达到 500 平方米
得 6 分 → 达到 400 平方米得 6 分") instead of quoting two whole sentences.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

from ..model import Criterion, Standard
from ..terms import NA_POLICY_ZH, ORG_TYPES, PERIOD_ZH, SCOPE_ZH, num, pct, date_text, points_text, spaced, unit_name, value_text
from .distribution import ALLOCATION_RULE
from .listrules import describe_rules, normalize_rules
from .loader import load_standard
from .methods import REGISTRY

__all__ = ["Point", "PublishedCriterion", "PublishedSection", "Published", "published", "date_text"]

# words of the scoring rules (threshold ops on counts and on shares, as the scorecards use them)
_OP_NUMBER = {">=": "不少于", ">": "超过", "<=": "不超过", "<": "少于"}
_OP_SHARE = {">=": "不低于", ">": "高于", "<=": "不高于", "<": "低于"}
_KIND_ZH = {"base": "基础指标", "bonus": "加分项", "veto": "一票否决项", "info": "信息项（不计分）"}
_SOURCE_ZH = {"criteria": "按考评指标计分（核查值优先）", "self_assessment": "按自评值计分",
              "field": "按填报分值折算"}
_DUE_ZH = {"always": "月度通报时按截止日的材料考核", "prorated": "月度通报时按已满的考核周期折算",
           "period_end": "年末考核（月度通报中为未到期）"}


@dataclass(frozen=True)
class Point:
    """One part of a rule: `key` is stable between versions (diff matches on it), `label` names
    the part in Chinese, `text` states it."""
    key: str
    label: str
    text: str


@dataclass(frozen=True)
class PublishedCriterion:
    id: str
    section: str
    title: str
    kind: str                      # base | bonus | veto | info
    kind_name: str                 # 基础指标 …
    method: str                    # how it is scored, in Chinese (分档计分 …)
    points: Decimal
    rule: str                      # the scoring rule as one sentence
    points_of_rule: tuple[Point, ...]
    conditions: tuple[str, ...]    # when it applies, missing evidence, bulletins
    guidance: str
    rectification: str


@dataclass(frozen=True)
class PublishedSection:
    id: str
    title: str
    points: Decimal                # base points of its criteria
    bonus: Decimal                 # bonus caps of its criteria
    criteria: tuple[PublishedCriterion, ...]


@dataclass(frozen=True)
class Published:
    title: str
    issuer: str
    version: str
    effective_from: str                # ISO dates ('' when the standard gives none)
    effective_to: str
    applies_to: tuple[str, ...]        # type names
    based_on: tuple[str, ...]          # the standards it extends, root first: "《title》（version版）"
    digest: str
    sections: tuple[PublishedSection, ...]
    tiers: tuple[Point, ...]           # key tier id, label tier name, text the score range
    gates: tuple[Point, ...]           # key gate:<tier>:<n>
    vetoes: tuple[Point, ...]          # key veto:<criterion id>
    quotas: tuple[Point, ...]
    target: tuple[Point, ...]
    scoring: tuple[Point, ...]         # base, bonus cap, min reviewed share, components, ties
    lists: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())   # (title, rules): lists, then designations
    lists_of: str = ""                 # the round whose lists these are ('' = the defaults)

    @property
    def criteria(self) -> dict[str, PublishedCriterion]:
        return {c.id: c for s in self.sections for c in s.criteria}

    def as_json(self) -> dict:
        return _jsonable(asdict(self))


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


# ------------------------------------------------------------------ the standard

def published(std: Standard, ranking: str, lists: Mapping | None = None, designations: Mapping | None = None,
              list_tiers: Mapping[str, str] | None = None, lists_of: str = "") -> Published:
    """The standard as published: its content merged through `extends`, and the standards it
    was built on named by title and version (read from the files of its lineage).

    `ranking`: how organizations are ranked, as the results state it (the sentence comes from
    the scoring stage, `scoring.placement.ranking_info`, which this stage may not import).
    `lists`, `designations`: a round's rules (None: the default lists, no designations), with
    `list_tiers` the tier names of the round's standards their expressions may name and
    `lists_of` the round's title."""
    parents = tuple(load_standard(Path(f)) for f in std.files[:-1])
    tiers = {t.id: t.name for t in std.grading.tiers}
    sections = []
    for sec in std.sections:
        crits = tuple(_criterion(std.criteria[cid], std, tiers) for cid in sec.criteria)
        sections.append(PublishedSection(
            sec.id, sec.title, sum((c.points for c in crits if c.kind == "base"), Decimal(0)),
            sum((c.points for c in crits if c.kind == "bonus"), Decimal(0)), crits))
    g = std.grading
    return Published(
        title=std.title, issuer=std.issuer, version=std.version,
        effective_from=_iso(std.effective[0]), effective_to=_iso(std.effective[1]),
        applies_to=tuple(ORG_TYPES.get(t, t) for t in std.applies_to),
        based_on=tuple(f"《{p.title}》（{p.version}版）" for p in parents),
        digest=std.digest, sections=tuple(sections),
        tiers=_tiers(g.tiers), gates=_gates(g.gates, tiers), vetoes=_vetoes(std, tiers),
        quotas=_distribution(g.distribution, tiers) + tuple(
            Point(f"quota:{q.tier}:{q.scope}", f"{tiers[q.tier]}比例上限",
                  f"{tiers[q.tier]}不超过{_where(q.scope)}已定档组织的 {pct(q.max_share, 2)}"
                  f"（名额向下取整，按排名确定；超出名额的依次降档）") for q in g.quotas),
        target=(Point("target", f"{tiers[g.target.tier]}占比目标", f"不低于 {pct(g.target.min_share, 2)}"
                                       f"（{_where(g.target.scope)}分别统计，用于通报，不影响定档）"),) if g.target else (),
        scoring=_scoring(std, ranking),
        lists=_lists(lists, designations, list_tiers or tiers), lists_of=lists_of)


def _lists(lists, designations, tiers) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each list's and designation's title and its rules in Chinese (describe_rules: what the
    published lists print)."""
    out = []
    for kind, rules in (("lists", lists), ("designations", designations)):
        for rule in normalize_rules(rules, kind=kind).values():
            lines = describe_rules(rule, tiers)
            if rule.get("rectification_deadline"):
                lines.append(f"整改期限：{date_text(rule['rectification_deadline'])}")
            out.append((rule["title"] if kind == "lists" else f"认定{rule['title']}", tuple(lines)))
    return tuple(out)


def _iso(d: Any) -> str:
    return d.isoformat() if isinstance(d, _dt.date) else str(d or "")


def _distribution(d, tiers) -> tuple[Point, ...]:
    """A declared distribution (standard.distribution): each tier's share of the graded
    organizations of a scope, a cap, a floor or a target, allocated by rank before the quotas."""
    if d is None:
        return ()
    return tuple(Point(f"share:{s.tier}", f"{tiers[s.tier]}比例", f"{_where(d.scope)}已定档组织中{s.text(tiers[s.tier])}")
                 for s in d.shares) + (Point("share:rule", "比例分配办法", ALLOCATION_RULE),)


def _where(scope: str) -> str:
    return "全域" if scope == "round" else f"各{SCOPE_ZH.get(scope, scope)}"


def _tiers(tiers) -> tuple[Point, ...]:
    out = []
    for i, t in enumerate(tiers):
        upper = tiers[i - 1].min if i else None
        if upper is None:
            text = f"总分 {num(t.min)} 分及以上"
        elif t.min == 0:
            text = f"总分不足 {num(upper)} 分"
        else:
            text = f"总分 {num(t.min)} 分及以上、不足 {num(upper)} 分"
        out.append(Point(f"tier:{t.id}", t.name, text))
    return tuple(out)


def _gates(gates, tiers) -> tuple[Point, ...]:
    out, seen = [], {}
    for g in gates:
        n = seen[g.tier] = seen.get(g.tier, 0) + 1
        out.append(Point(f"gate:{g.tier}:{n}", f"评为{tiers[g.tier]}的条件", g.reason))
    return tuple(out)


def _vetoes(std: Standard, tiers) -> tuple[Point, ...]:
    out = []
    for c in std.criteria.values():
        if c.kind == "veto":
            when, cap, mark = _veto_parts(c, tiers)
            out.append(Point(f"veto:{c.id}", c.title, f"{when}，{_veto_then(cap, mark)}"))
    return tuple(out)


def _veto_parts(c: Criterion, tiers) -> tuple[str, str, str]:
    """(what triggers it, the name of the tier it caps at or '', what it designates or '')."""
    when, cap, mark = (tuple(c.params) + (None, None))[:3]
    return when.plain or c.title, tiers.get(cap, "") if cap else "", mark or ""


def _veto_then(cap: str, mark: str) -> str:
    """What a hit does, as the scorecards say it: 认定为…, 档次最高定为 C档 (or 不限定档次: a flag)."""
    return "，".join(([f"认定为{mark}"] if mark else [])
                    + [spaced("档次最高定为", cap) if cap else "不限定档次"])


def _scoring(std: Standard, ranking: str) -> tuple[Point, ...]:
    g = std.grading
    out = [Point("base", "基础分", f"基础指标满分 {num(g.base)} 分"),
           Point("bonus_cap", "加分上限", f"加分合计最多计 {num(g.bonus_cap)} 分")]
    if g.min_reviewed_share:
        out.append(Point("min_reviewed", "不予定档", f"已核查指标的分值不足适用指标分值的 {pct(g.min_reviewed_share, 2)} 的，不予定档"))
    if len(g.components) > 1 or any(c.source != "criteria" for c in g.components):
        parts = [f"{c.label}（{_SOURCE_ZH.get(c.source, c.source)}）占 {pct(c.weight, 2)}" for c in g.components]
        out.append(Point("components", "总分构成", "；".join(parts) + "；加分在加权后计入"))
    out.append(Point("ranking", "排名方式", ranking))
    return tuple(out)


# ------------------------------------------------------------------ one criterion

def _criterion(c: Criterion, std: Standard, tiers: dict[str, str]) -> PublishedCriterion:
    rule, points = _RULES.get(c.method, _unknown)(c, std, tiers)
    conditions = []
    if c.applies_if is not None:
        conditions.append(f"适用条件：{c.applies_if.plain}（不符合的不考核此项）")
    if c.kind == "base" and c.na_policy != "zero":
        conditions.append(f"缺少材料时：{NA_POLICY_ZH.get(c.na_policy, c.na_policy)}")
    if c.due is not None:
        due = _DUE_ZH.get(c.due) if isinstance(c.due, str) else None
        conditions.append(due or f"月度通报中自{date_text(c.due)}起考核")
    method = REGISTRY[c.method].title if c.method in REGISTRY else c.method
    points = (Point("points", "分值", points_text(c.points)),) + points if c.kind in ("base", "bonus") else points
    return PublishedCriterion(c.id, c.section, c.title, c.kind, _KIND_ZH.get(c.kind, c.kind), method, c.points,
                              rule, points, tuple(conditions), c.guidance, c.rectification)


def _check(c, std, tiers):
    cond = c.params.plain
    return (f"符合要求（{cond}）的得 {points_text(c.points)}，否则不得分",
            (Point("requirement", "要求", cond),))


def _threshold(c, std, tiers):
    f, op, value = c.params
    want = f"{f.label}{(_OP_SHARE if f.type == 'percentage' else _OP_NUMBER)[op]} {value_text(value, f)}"
    return f"{want}的得 {points_text(c.points)}，否则不得分", (Point("requirement", "达标要求", want),)


def _bands(c, std, tiers):
    if c.params[0] == "enum":
        _, f, table = c.params
        parts = [f"“{equals}”得 {points_text(got)}" for equals, got in table]
        rest = [v for v in f.values if v not in {e for e, _ in table}]
        rule = f"{f.label}为" + "，".join(parts) + ("；其余不得分" if rest else "")
        points = [Point(f"band:{equals}", f"{f.label}为“{equals}”", points_text(got)) for equals, got in table]
        return rule, tuple(points)
    _, expr, table, f = c.params
    what = f.label if f else expr.plain

    def shown(v):
        return value_text(v, f) if f else num(v)
    parts = [f"达到{_spaced(shown(minimum))}得 {points_text(got)}" for minimum, got in table]
    rule = f"{what}" + "，".join(parts) + f"；低于{_spaced(shown(table[-1][0]))}不得分"
    points = [Point("measure", "计分依据", what)]
    points += [Point(f"band:{i + 1}", f"第 {i + 1} 档", parts[i]) for i in range(len(table))]
    return rule, tuple(points)


def _spaced(value: str) -> str:
    """' 500 平方米' before 得 reads as is; a bare number or percentage keeps a space each side."""
    return f" {value} " if value[-1:].isdigit() or value.endswith("%") else f" {value}"


def _ratio(c, std, tiers):
    top, bottom, target, scoring = c.params
    what = top.plain if bottom is None else f"{top.plain}占{bottom.plain}的比例"
    want = pct(target, 2)
    if scoring == "proportional":
        rule = (f"{what}达到 {want} 的得 {points_text(c.points)}；未达到的按比例得分"
                f"（{num(c.points)} 分 × 实际比例 ÷ {want}）")
        how = "未达到目标的按比例得分"
    else:
        rule = f"{what}达到 {want} 的得 {points_text(c.points)}，否则不得分"
        how = "达到目标得满分，未达到不得分"
    return rule, (Point("measure", "计算口径", what), Point("target", "目标", want), Point("scoring", "计分", how))


def _frequency(c, std, tiers):
    f, every, at_least, deduct = c.params
    often = f"每{PERIOD_ZH[every]}至少 {at_least} 次"
    rule = f"{f.label}应{often}（按考评期内的日期核查），每缺 1 次扣 {points_text(deduct)}，扣完为止"
    return rule, (Point("records", "核查记录", f.label), Point("every", "频次", often),
                  Point("deduct", "扣分", f"每缺 1 次扣 {points_text(deduct)}"))


def _items(c, std, word: str):
    """Deduction and bonus items: '未制定计划的，扣 1 分', '通报批评，每次扣 2 分'."""
    out = []
    for iid, label, key, expr, amount in c.params:
        if key == "when":
            text = f"{label}的，{word} {points_text(amount)}"
        else:
            f = std.fields.get(expr.source.strip())
            per = unit_name(f.unit) if f is not None and f.unit and f.unit != "m2" else "项"
            text = f"{label}，每{per}{word} {points_text(amount)}"
        out.append(Point(f"item:{iid}", f"{'扣分' if word == '扣' else '加分'}情形“{label}”", text))
    return out


def _deduction(c, std, tiers):
    items = _items(c, std, "扣")
    return "；".join(p.text for p in items) + "；扣完为止", tuple(items)


def _bonus(c, std, tiers):
    items = _items(c, std, "加")
    return "；".join(p.text for p in items) + f"；本项最多加 {points_text(c.points)}", tuple(items)


def _veto(c, std, tiers):
    when, cap, mark = _veto_parts(c, tiers)
    points = [Point("when", "否决情形", when), Point("cap", "档次上限", cap or "不限定档次")]
    if mark:
        points.append(Point("mark", "认定", mark))
    return f"{when}的，一票否决，{_veto_then(cap, mark)}", tuple(points)


def _info(c, std, tiers):
    expr, f = c.params
    what = f.label if f else expr.plain
    return f"填报{what}，仅作统计，不计分", (Point("measure", "统计内容", what),)


def _unknown(c, std, tiers):
    """A method this module does not word yet: its registered Chinese title, never its keys."""
    title = REGISTRY[c.method].title if c.method in REGISTRY else "按标准规定"
    return f"{title}，满分 {points_text(c.points)}", ()


_RULES = {"check": _check, "threshold": _threshold, "bands": _bands, "ratio": _ratio, "frequency": _frequency,
          "deduction": _deduction, "bonus": _bonus, "veto": _veto, "info": _info}
