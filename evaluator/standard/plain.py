"""The standard's expressions in plain Chinese, as every official document prints them.

A condition such as ``centre_area >= 500`` is program text: a secretary, an inspector or the
public reading a scorecard, a 通报 or a red/black list must read ``党群服务中心面积不少于 500
平方米`` instead. This module turns a compiled expression (its checked tree, evaluator.standard.
expr) into such a sentence with the fields' labels and units, plain comparison words, tier
names instead of tier ids, percentages as percentages and day counts that are whole years as
years (``days_since(last_election) > 2192`` -> ``距上次换届超过 6 年（2192 天）``).

    Vocabulary(fields=standard.fields, tiers={"A": "A档"}).condition(expr) -> "..."

An author may write the sentence instead (a criterion's ``requirement:``, a gate's ``reason:``);
the generated text is what is printed where the standard gives none. Nothing here evaluates
anything: the wording only follows the tree, so what is printed is what is checked.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field as dc_field
from decimal import Decimal
from typing import Any, Iterable, Mapping

from ..terms import ORG_TYPES, OUTCOME_ZH, STATUS_ZH, date_text, num, pct, spaced, unit_name
from .expr import Binary, Call, ListLit, Literal, Name, Unary

__all__ = ["Term", "Vocabulary", "ORG_TERMS", "GATE_TERMS", "field_term", "register_tiers", "tier_names",
           "DAYS_PER_YEAR"]


@dataclass(frozen=True)
class Term:
    """How one name of an expression reads: its label, what kind of quantity it is (which
    decides the comparison words and how a number beside it is written), its unit, and how
    its coded values read (tier ids -> tier names, type codes -> 社区)."""
    label: str
    kind: str = "number"       # number | score | share | days | date | rank | bool | text | records
    unit: str = ""
    values: Mapping[str, str] = dc_field(default_factory=dict)
    quote: bool = True         # quote text values “…” (not for tier names and other codes)
    negative: str = ""         # a yes/no name read as "no" (default: '<label>为“否”')


ORG_TERMS: dict[str, Term] = {
    "org.type": Term("组织类型", "text", values=ORG_TYPES, quote=False),    # with declared types' names
    "org.district": Term("所在区县", "text"),
    "org.street": Term("所在街道", "text"),
    "org.id": Term("组织编号", "text"),
    "org.name": Term("组织名称", "text"),
}
# names a tier gate may read besides the evidence (docs/FORMATS.md, "Grading")
GATE_TERMS: dict[str, Term] = {
    "total": Term("总分", "score", "分"),
    "base": Term("基础得分", "score", "分"),
    "bonus": Term("加分", "score", "分"),
    "veto_count": Term("触发一票否决项数", "number", "项"),
}

# comparison words by kind of quantity
_WORDS = {
    "number": {">": "超过", ">=": "不少于", "<": "少于", "<=": "不超过", "==": "为", "!=": "不为"},
    "score": {">": "高于", ">=": "不低于", "<": "低于", "<=": "不高于", "==": "为", "!=": "不为"},
    "date": {">": "晚于", ">=": "不早于", "<": "早于", "<=": "不晚于", "==": "为", "!=": "不为"},
    "days": {">": "超过", ">=": "已满", "<": "不足", "<=": "不超过", "==": "为", "!=": "不为"},
}
_WORDS["share"] = _WORDS["score"]
_WORDS["duration"] = _WORDS["days"]      # whole months or years: 超过 3 个月, 已满 2 年
_INVERSE = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "==": "!=", "!=": "==", "in": "not in", "not in": "in"}
_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}
_PERIOD_COUNT = {"week": ("周数", "周"), "month": ("月份数", "个月"), "quarter": ("季度数", "个季度"),
                 "half_year": ("半年数", "个半年"), "year": ("年数", "年")}
DAYS_PER_YEAR = Decimal("365.25")

# Tier names by standard id, recorded as standards compile: the red/black list rules of a
# round name tier ids (`tier in ['D', 'S1']`) and are printed with the names (D档、一星级).
_TIER_NAMES: dict[str, dict[str, str]] = {}


def register_tiers(standard_id: str, tiers: Iterable[tuple[str, str]]) -> None:
    _TIER_NAMES[standard_id] = {tid: name for tid, name in tiers}


def tier_names(standard_ids: Iterable[str] = ()) -> dict[str, str]:
    """Tier id -> name over the given standards (all standards compiled so far when none are
    given); an id two standards name differently reads as both names."""
    ids = list(standard_ids) or list(_TIER_NAMES)
    out: dict[str, list[str]] = {}
    for sid in ids:
        for tid, name in (_TIER_NAMES.get(sid) or {}).items():
            if name not in out.setdefault(tid, []):
                out[tid].append(name)
    return {tid: "／".join(names) for tid, names in out.items()}


def field_term(f) -> Term:
    """A standard's evidence field (model.Field) as a Term."""
    t = f.type
    if t == "percentage":
        return Term(f.label, "share")
    if t in ("number", "integer"):
        return Term(f.label, "number", unit_name(f.unit))
    if t == "boolean":
        return Term(f.label, "bool")
    if t == "date":
        return Term(f.label, "date")
    if t == "records":
        return Term(f.label, "records")
    return Term(f.label, "text")


@dataclass(frozen=True)
class _Q:
    """A quantity: its words, kind and unit (for the number compared with it)."""
    text: str
    kind: str = "number"
    unit: str = ""
    term: Term | None = None
    integer: bool = False


class Vocabulary:
    """What the names of one kind of expression mean: a standard's fields (criteria), plus
    total/base/… and the standard's criteria and sections (gates), or a list's result names."""

    def __init__(self, fields: Mapping[str, Any] | None = None, terms: Mapping[str, Term] | None = None,
                 tiers: Mapping[str, str] | None = None, criteria: Mapping[str, str] | None = None,
                 sections: Mapping[str, str] | None = None):
        self.terms: dict[str, Term] = dict(ORG_TERMS)
        self.integers: set[str] = set()
        for fid, f in (fields or {}).items():
            self.terms[fid] = field_term(f)
            if f.type == "integer":
                self.integers.add(fid)
        self.terms.update(terms or {})
        self.tiers = dict(tiers or {})
        self.criteria = dict(criteria or {})
        self.sections = dict(sections or {})

    # ------------------------------------------------------------ entry points

    def condition(self, expr) -> str:
        """A yes/no expression as the requirement it states."""
        return self._cond(_tree(expr))

    def negation(self, expr) -> str:
        """The same expression, read as "this does not hold" (for what was found lacking)."""
        return self._neg(_tree(expr))

    def quantity(self, expr) -> str:
        """A number (or other value) expression as a noun: 正式党员人数与预备党员人数之和."""
        return self._q(_tree(expr)).text

    def term(self, name: str) -> Term:
        t = self.terms.get(name)
        if t is None:
            return Term(name)
        if name in ("tier", "previous.tier") and self.tiers:
            return Term(t.label, "text", values=self.tiers, quote=False)
        return t

    # ------------------------------------------------------------ conditions

    def _cond(self, node, inside: str | None = None) -> str:
        if isinstance(node, Binary) and node.op in ("and", "or"):
            parts = [_grouped(n, self._cond(n, node.op)) for n in _chain(node, node.op)]
            text = _join(parts, "且" if node.op == "and" else "或")
            return f"（{text}）" if inside is not None and inside != node.op else text
        if isinstance(node, Unary) and node.op == "not":
            return self._neg(node.operand, inside)
        if isinstance(node, Binary):
            return self._compare(node.op, node.left, node.right)
        if isinstance(node, Name):
            return self._yes(node.name)
        if isinstance(node, Call) and node.func == "exists" and node.args and isinstance(node.args[0], Name):
            return f"已填报{self.term(node.args[0].name).label}"
        if isinstance(node, Literal) and isinstance(node.value, bool):
            return "一律成立" if node.value else "一律不成立"
        return f"{self._q(node).text}为“是”"

    def _neg(self, node, inside: str | None = None) -> str:
        if isinstance(node, Binary) and node.op in ("and", "or"):
            # not (a and b) = not a or not b; not (a or b) = not a and not b
            flipped = "or" if node.op == "and" else "and"
            parts = [_grouped(n, self._neg(n, flipped)) for n in _chain(node, node.op)]
            text = _join(parts, "且" if flipped == "and" else "或")
            return f"（{text}）" if inside is not None and inside != flipped else text
        if isinstance(node, Unary) and node.op == "not":
            return self._cond(node.operand, inside)
        if isinstance(node, Binary) and node.op in _INVERSE:
            return self._compare(_INVERSE[node.op], node.left, node.right)
        if isinstance(node, Name):
            return self._no(node.name)
        if isinstance(node, Call) and node.func == "exists" and node.args and isinstance(node.args[0], Name):
            return f"未填报{self.term(node.args[0].name).label}"
        if isinstance(node, Literal) and isinstance(node.value, bool):
            return "一律不成立" if node.value else "一律成立"
        return f"{self._q(node).text}为“否”"

    def _yes(self, name: str) -> str:
        label = self.term(name).label
        return label[2:] if label.startswith("是否") and len(label) > 2 else label

    def _no(self, name: str) -> str:
        t = self.term(name)
        if t.negative:
            return t.negative
        label = t.label
        for head, neg in (("上一轮处于", "上一轮不处于"), ("处于", "不处于"), ("已", "未")):
            if label.startswith(head):
                return neg + label[len(head):]
        return f"{self._yes(name)}为“否”"

    def _compare(self, op: str, left, right) -> str:
        if op in ("in", "not in"):
            return self._member(op, left, right)
        # a literal on the left reads better on the right: 3 <= x is x 不少于 3
        if isinstance(left, Literal) and not isinstance(right, Literal):
            left, right, op = right, left, _FLIP[op]
        if isinstance(left, Name) and left.name == "veto_count" and isinstance(right, Literal) \
                and isinstance(right.value, Decimal):
            hit = {"==": right.value == 0, "<=": right.value == 0, "<": right.value == 1,
                   ">": right.value == 0, ">=": right.value == 1, "!=": right.value == 0}
            if hit.get(op):
                return "未触发一票否决" if op in ("==", "<=", "<") else "触发一票否决"
        q = self._q(left)
        if q.kind == "bool" and isinstance(right, Literal) and isinstance(right.value, bool):
            yes = right.value == (op == "==")
            return self._cond(left) if yes else self._neg(left)
        if q.kind == "text" or (isinstance(right, Literal) and isinstance(right.value, str)):
            value = self._value(right, q)
            return spaced(f"{q.text}{'为' if op == '==' else '不为'}", value)
        if q.kind == "rank" and isinstance(right, Literal):
            return self._rank(q, op, right.value)
        if q.integer and isinstance(right, Literal) and right.value == 0 and op in (">", "<="):
            # 多于 0 个 = 至少 1 个; 不超过 0 个 = 为 0 个
            op, right = (">=", Literal(Decimal(1), right.type, right.col)) if op == ">" else ("==", right)
        words = _WORDS.get(q.kind, _WORDS["number"])
        other = self._value(right, q) if isinstance(right, Literal) else self._q(right).text
        return spaced(f"{q.text}{words.get(op, op)}", other)

    def _member(self, op: str, left, right) -> str:
        q = self._q(left)
        items = right.items if isinstance(right, ListLit) else ()
        values = [self._value(i, q) for i in items]
        if not values:
            return f"{q.text}{'属于' if op == 'in' else '不属于'}{self._q(right).text}"
        if op == "in":
            return _join([f"{q.text}为", _join(values, "或")], "")
        if len(values) == 1:
            return spaced(f"{q.text}不为", values[0])
        return _join([f"{q.text}不属于", "、".join(values)], "")

    def _rank(self, q: _Q, op: str, value: Decimal) -> str:
        n = int(value)
        if op == "<=":
            return f"{q.text}在前 {n} 名"
        if op == "<":
            return f"{q.text}在前 {n - 1} 名"
        if op == ">":
            return f"{q.text}在第 {n} 名之后"
        if op == ">=":
            return f"{q.text}在第 {n} 名及以后"
        return f"{q.text}{'为' if op == '==' else '不为'}第 {n} 名"

    # ------------------------------------------------------------ quantities and values

    def _value(self, node, q: _Q) -> str:
        """A literal as it reads beside the quantity `q` (its unit, its kind)."""
        if not isinstance(node, Literal):
            return self._q(node).text
        v = node.value
        if isinstance(v, bool):
            return "是" if v else "否"
        if isinstance(v, str):
            t = q.term
            if t is not None and v in t.values:
                return t.values[v]
            return f"“{v}”" if t is None or t.quote else v
        if isinstance(v, _dt.date):
            return date_text(v)
        if q.kind == "share":
            return pct(v, 2)
        if q.kind == "days":
            return days_text(v)
        if q.kind == "rank":
            return f"第 {num(v)} 名"
        return num(v) + (f" {q.unit}" if q.unit else "")

    def _q(self, node) -> _Q:
        if isinstance(node, Name):
            t = self.term(node.name)
            return _Q(t.label, t.kind, t.unit, t, node.name in self.integers)
        if isinstance(node, Literal):
            return _Q(self._value(node, _Q("")), "number")
        if isinstance(node, ListLit):
            return _Q("、".join(self._value(i, _Q("")) for i in node.items), "text")
        if isinstance(node, Unary):
            inner = self._q(node.operand)
            if node.op == "not":
                return _Q(self._neg(node.operand), "bool")
            return _Q(f"负的{inner.text}", inner.kind, inner.unit)
        if isinstance(node, Call):
            return self._call(node)
        if isinstance(node, Binary):
            if node.op in ("+", "-", "*", "/"):
                return self._arith(node)
            return _Q(self._cond(node), "bool")
        return _Q("该项数值")

    def _arith(self, node: Binary) -> _Q:
        op = node.op
        if op == "+":
            parts = [self._q(n) for n in _chain(node, "+")]
            first = next((p for p in parts if p.unit), parts[0])
            names = [p.text for p in parts]
            text = ("、".join(names[:-1]) + "与" + names[-1]) + "之和"
            return _Q(text, first.kind, first.unit, integer=all(p.integer for p in parts))
        left, right = self._q(node.left), self._q(node.right)
        if op == "-":
            return _Q(f"{left.text}与{right.text}之差", left.kind, left.unit or right.unit)
        if op == "*":
            for lit, other in ((node.right, left), (node.left, right)):
                if isinstance(lit, Literal) and isinstance(lit.value, Decimal):
                    return _Q(f"{other.text}的 {num(lit.value)} 倍", other.kind, other.unit)
            return _Q(f"{left.text}与{right.text}之积")
        if isinstance(node.right, Literal) and isinstance(node.right.value, Decimal):
            k = node.right.value
            if k == 10000 and left.unit == "元":
                return _Q(f"{left.text}（万元）", left.kind, "万元")
            return _Q(f"{left.text}除以 {num(k)}", left.kind)
        return _Q(f"{left.text}占{right.text}的比例", "share")

    def _call(self, node: Call) -> _Q:
        f, args = node.func, node.args
        first = args[0] if args else None
        if f == "days_since" and first is not None:
            return _Q(self._since(first), "days", "天")
        if f in ("months_since", "years_since") and first is not None:
            return _Q(self._since(first), "duration", "个月" if f == "months_since" else "年", integer=True)
        if f in ("months_between", "years_between") and len(args) == 2:
            a, b = (self._moment(x) for x in args)
            return _Q(f"{a}至{b}相隔", "duration", "个月" if f == "months_between" else "年", integer=True)
        if f == "len" and isinstance(first, Name):
            return _Q(f"{self.term(first.name).label}条数", "number", "条", integer=True)
        if f == "count" and isinstance(first, Name) and len(args) == 2 and isinstance(args[1], Literal):
            noun, unit = _PERIOD_COUNT.get(args[1].value, ("期数", "期"))
            return _Q(f"有{self.term(first.name).label}的{noun}", "number", unit, integer=True)
        if f in ("min", "max") and len(args) == 2:
            a, b = self._q(args[0]), self._q(args[1])
            return _Q(f"{a.text}与{b.text}中{'较小' if f == 'min' else '较大'}者", a.kind, a.unit or b.unit)
        if f == "abs" and first is not None:
            a = self._q(first)
            return _Q(f"{a.text}的绝对值", a.kind, a.unit)
        if f in ("points", "outcome") and isinstance(first, Literal):
            title = self.criteria.get(first.value)
            what = f"指标“{title}”" if title else f"指标 {first.value}"
            if f == "points":
                return _Q(f"{what}得分", "score", "分")
            return _Q(f"{what}的评定结果", "text", term=Term("", "text", values=dict(OUTCOME_ZH), quote=True))
        if f == "section_points" and isinstance(first, Literal):
            title = self.sections.get(first.value)
            return _Q(f"{title}得分" if title else f"第 {first.value} 部分得分", "score", "分")
        if f == "exists":
            return _Q(self._cond(node), "bool")
        return _Q(f"{f}的计算结果")


    def _moment(self, node) -> str:
        """A date read as the moment it marks: 上次换届日期 -> 上次换届, 书记空缺起始日期 -> 书记空缺起始."""
        if not isinstance(node, Name):
            return self._q(node).text
        label = self.term(node.name).label
        for tail in ("日期", "时间", "日"):
            if label.endswith(tail) and len(label) > len(tail):
                return label[: -len(tail)]
        return label

    def _since(self, node) -> str:
        """The time since a date as the subject of a comparison: since an event it is 距上次换届
        (超过 6 年); since a state began (a label ending in 起始日期/开始日期) it is how long the
        state has lasted: 书记空缺起始日期 -> 书记空缺 (超过 3 个月)."""
        moment = self._moment(node)
        for start in ("起始", "开始"):
            if isinstance(node, Name) and moment.endswith(start) and len(moment) > len(start):
                return moment[: -len(start)]
        return f"距{moment}"


def days_text(days: Any) -> str:
    """2192 -> '6 年（2192 天）' (a whole number of years within a day and a half), else '45 天'."""
    d = Decimal(days)
    years = (d / DAYS_PER_YEAR).to_integral_value()
    if years >= 1 and abs(d - years * DAYS_PER_YEAR) <= Decimal("1.5"):
        return f"{num(years)} 年（{num(d)} 天）"
    return f"{num(d)} 天"


def _join(parts: list[str], word: str) -> str:
    """Parts joined by a word (且, 或) as Chinese text: spaced only where Chinese meets a Latin
    letter or digit (档次为 A档或 B档, 未触发一票否决且档次为 A档)."""
    pieces = [parts[0]] if parts else []
    for p in parts[1:]:
        pieces += [word, p]
    return spaced(*pieces)


def _grouped(node, text: str) -> str:
    """A choice among listed values (档次为 A档 或 五星级) in brackets when it stands beside
    other conditions, so its 或 is not read as joining them."""
    if isinstance(node, Binary) and node.op in ("in", "not in") and isinstance(node.right, ListLit) \
            and len(node.right.items) > 1:
        return f"（{text}）"
    return text


def _chain(node, op: str) -> list:
    """The operands of a left-leaning chain of the same operator: a and b and c -> [a, b, c]."""
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Binary) and n.op == op:
            stack += [n.right, n.left]
        else:
            out.append(n)
    return out


def _tree(expr):
    return expr.tree if hasattr(expr, "tree") else expr


STATUS_TERM = Term("状态", "text", values=dict(STATUS_ZH), quote=False)
