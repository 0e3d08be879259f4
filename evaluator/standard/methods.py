"""Scoring methods: the one registry from YAML `method:` names to implementations.

Each method declares the JSON Schema of its own keys (which `schemas/standard.schema.json`
is generated from, so the schema's enum cannot drift from the code), a `compile` step
that checks and compiles its keys when the standard loads, and a `score` step that turns
one organization's evidence into points and a Chinese reason.

`score` may raise `expr.MissingValue` (the engine records not_reviewed) or
`expr.EvalError` (the engine records error); anything else is a bug and fails the run.
"""
from __future__ import annotations

import datetime as dt
import functools
import operator
from dataclasses import dataclass, field as dc_field
from types import MappingProxyType
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Mapping

from .expr import EvalError, MissingValue, Type
from ..model import ZERO
from ..terms import PERIOD_ZH, date_text, num, pct, points_text, spaced, value_text
from .periods import as_of as period_as_of, label as period_label, periods, whole_periods
from .plain import Vocabulary

RATIO_STEP = Decimal("0.0001")   # ratios are quantized to 0.01% before any comparison

_EXPR = {"type": "string", "minLength": 1}
_NUM = {"$ref": "#/$defs/number"}
_NUM_OR_PCT = {"$ref": "#/$defs/number_or_percent"}
# a threshold compared with one field: a number, or text read as evidence is ("60%", "500平方米",
# "50人"), so a unit that does not fit the field gets evidence's message (standard.quantity)
_QUANTITY = {"anyOf": [{"type": "number"}, {"type": "string", "minLength": 1}]}


class NotDue(Exception):
    """Raised by a method scoring a bulletin (a period cut at its as-of date) when nothing it
    checks has fallen due yet: the criterion is 未到期 (outcome not_due), the message its reason."""


DUE_KEYS = ("always", "prorated", "period_end")
# `due:` on any criterion: when it falls due in a bulletin (agrade bulletin --as-of).
# always: checked on the evidence as it stands on the as-of date (default, frequency aside);
# prorated: frequency criteria only (their default), the calendar periods completed by then;
# period_end: only at the round's last day (a yearly item); a date: from that day on.
DUE_SCHEMA = {"oneOf": [{"enum": list(DUE_KEYS)}, {"type": "string", "format": "date"}]}


@dataclass(frozen=True, init=False)
class Scored:
    outcome: str                      # pass | partial | fail
    points: Decimal
    reason: str
    used: Mapping[str, Any]
    veto_hit: bool = False

    def __init__(self, outcome: str, points: Decimal, reason: str, used: Mapping[str, Any], veto_hit: bool = False):
        # set at once, as model.Outcome: one per criterion scored afresh, per organization
        self.__dict__.update(outcome=outcome, points=points, reason=reason, used=used, veto_hit=veto_hit)


@dataclass(frozen=True)
class Method:
    name: str
    kind: str                         # base | bonus | veto | info
    title: str                        # zh, for documentation and explanations
    schema: dict                      # properties of its own keys
    required: tuple[str, ...]
    compile: Callable[[dict, "Any"], Any]
    score: Callable[[Any, Decimal, Mapping[str, Any]], Scored]
    doc: str = ""                     # how the points come out, for docs/FORMATS.md (methodsdoc)
    keys: Mapping[str, str] = dc_field(default_factory=dict)   # what each of its keys means

    @property
    def label(self) -> str:
        """Its name where a table column has room for a few characters (a scorecard's 计分方式):
        the title without what its parentheses add, so the scorecard and the published rules
        name a method in the same words ('按期记录' for '按期记录（缺一次扣分，扣完为止）')."""
        return self.title.split("（", 1)[0]


REGISTRY: dict[str, Method] = {}


def method(name, kind, title, schema, required=(), *, doc: str, keys: Mapping[str, str]):
    """Register a scoring method. `doc` and `keys` (one description per key of `schema`) are
    what docs/FORMATS.md says about it (python -m evaluator.standard.methodsdoc writes that
    section), so a method cannot be added without saying what it does."""
    undocumented = sorted(set(schema) - set(keys))
    if undocumented or set(keys) - set(schema):
        raise TypeError(f"method '{name}': keys to describe are exactly {sorted(schema)}; "
                        f"missing {undocumented}, unknown {sorted(set(keys) - set(schema))}")

    def register(cls):
        REGISTRY[name] = Method(name, kind, title, schema, tuple(required), cls.compile, cls.score,
                                doc, MappingProxyType(dict(keys)))
        return cls
    return register


def _used(env, names) -> dict:
    return {n: env.get(n) for n in sorted(names) if not n.startswith("$")}


def _show_used(env, used) -> str:
    """"：正式党员人数 12 人，…" — the evidence behind a condition, with labels (env["$fields"])."""
    fields = env.get("$fields") or {}
    parts = []
    for n, v in used.items():
        if n.startswith("org.") or n not in fields:
            continue
        if isinstance(v, bool):
            parts.append(f"{fields[n].label}为“{value_text(v)}”")
        else:
            parts.append(f"{fields[n].label} {value_text(v, fields[n])}")
    return ("：" + "，".join(parts)) if parts else ""


def plain(expr, env) -> str:
    """The expression in plain Chinese: as the standard's author wrote it (`requirement:`) or
    as the loader generated it; generated here for an expression compiled without labels."""
    if expr.plain:
        return expr.plain
    vocab = Vocabulary(env.get("$fields") or {})
    return vocab.condition(expr) if expr.type is Type.BOOL else vocab.quantity(expr)


def _tier_name(env, tier: str) -> str:
    return (env.get("$tiers") or {}).get(tier, tier)


# what a criterion requires, written by the standard's author instead of the generated text
_REQUIREMENT = {"type": "string", "minLength": 1}


def _authored(expr, raw):
    if raw.get("requirement"):
        expr.plain = str(raw["requirement"]).strip()
    return expr


def _outcome(points: Decimal, max_points: Decimal) -> str:
    if points >= max_points:
        return "pass"
    return "partial" if points > ZERO else "fail"


def _require(env, name):
    value = env.get(name)
    if value is None:
        raise MissingValue(name)
    return value


# ---------------------------------------------------------------- methods

_REQUIREMENT_DOC = "the rule in the department's words, printed instead of the generated sentence"


@method("check", "base", "达标即得分", {"condition": _EXPR, "requirement": _REQUIREMENT}, ["condition"],
        doc="all or nothing: the criterion's points when the condition holds, else 0",
        keys={"condition": "a yes/no expression", "requirement": _REQUIREMENT_DOC})
class Check:
    @staticmethod
    def compile(raw, ctx):
        return _authored(ctx.expr("condition", Type.BOOL), raw)

    @staticmethod
    def score(cond, points, env):
        ok = cond.evaluate(env)
        used = _used(env, cond.names)
        values = _show_used(env, used)
        rule = plain(cond, env)
        if ok:
            return Scored("pass", points, f"符合要求（{rule}）{values}，得 {points_text(points)}", used)
        return Scored("fail", ZERO, f"未达到要求（{rule}）{values}，不得分", used)


_OPS = {">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, "<": lambda a, b: a < b}
_OP_ZH = {">=": "不少于", ">": "超过", "<=": "不超过", "<": "少于"}
_OP_SHARE = {">=": "不低于", ">": "高于", "<=": "不高于", "<": "低于"}


@method("threshold", "base", "达到门槛即得分",
        {"field": {"type": "string"}, "op": {"enum": list(_OPS)}, "value": _QUANTITY},
        ["field", "value"],
        doc="all or nothing: the points when the field's value compared with `value` by `op` holds, else 0",
        keys={"field": "a number, integer or percentage field",
              "op": "how the field's value is compared with `value` (default `>=`)",
              "value": "a number (`500`), text read as evidence is (`500平方米`, `50人`: a unit must be the "
                       "field's), or for a percentage field `60%` or a share such as 0.6 (a bare 60 is refused)"})
class Threshold:
    @staticmethod
    def compile(raw, ctx):
        f = ctx.field("field", ("number", "integer", "percentage"))
        pct = f.type == "percentage"
        return (f, raw.get("op", ">="), ctx.number("value", percent_ok=pct, fraction=pct, field=f))

    @staticmethod
    def score(params, points, env):
        f, op, value = params
        actual = Decimal(_require(env, f.id))
        used = {f.id: actual}
        want = f"{f.label}{(_OP_SHARE if f.type == 'percentage' else _OP_ZH)[op]} {value_text(value, f)}"
        if _OPS[op](actual, value):
            return Scored("pass", points, f"{f.label} {value_text(actual, f)}，达到要求（{want}），得 {points_text(points)}", used)
        return Scored("fail", ZERO, f"{f.label} {value_text(actual, f)}，未达到要求（{want}），不得分", used)


@method("bands", "base", "分档计分",
        {"value": _EXPR, "field": {"type": "string"},
         "bands": {"type": "array", "minItems": 1, "items": {
             "type": "object", "additionalProperties": False, "required": ["points"],
             "properties": {"min": _QUANTITY, "equals": {"type": "string"}, "points": _NUM}}}},
        ["bands"],
        doc="the points of the first band met, highest `min` first (band points may not exceed the "
            "criterion's); no band met: 0",
        keys={"value": "a number expression (with `bands` of `min`)",
              "field": "an enum field (with `bands` of `equals`), instead of `value`",
              "bands": "`[{min: 500, points: 6}, {min: 300, points: 4}]` (a `min` as `threshold`'s `value`), "
                       "or `[{equals: 好, points: 5}, ...]` for `field`"})
class Bands:
    @staticmethod
    def compile(raw, ctx):
        bands = raw["bands"]
        if "field" in raw:
            f = ctx.field("field", ("enum",))
            table = []
            for i, b in enumerate(bands):
                if "equals" not in b:
                    ctx.fail(("bands", i), "bands of an enum field need 'equals'")
                if b["equals"] not in f.values:
                    ctx.fail(("bands", i, "equals"), f"'{b['equals']}' is not one of {', '.join(f.values)}")
                table.append((b["equals"], ctx.band_points(("bands", i, "points"), b["points"])))
            return ("enum", f, tuple(table))
        if "value" not in raw:
            ctx.fail((), "bands need 'value' (a number expression) or 'field' (an enum field)")
        expr = ctx.expr("value", Type.NUMBER)
        f = ctx.value_field(expr)
        pct = f is not None and f.type == "percentage"
        table = []
        for i, b in enumerate(bands):
            if "min" not in b:
                ctx.fail(("bands", i), "numeric bands need 'min'")
            table.append((ctx.number(("bands", i, "min"), percent_ok=True, fraction=pct, field=f),
                          ctx.band_points(("bands", i, "points"), b["points"])))
        table.sort(key=lambda t: t[0], reverse=True)
        return ("number", expr, tuple(table), f)

    @staticmethod
    def score(params, points, env):
        if params[0] == "enum":
            _, f, table = params
            actual = _require(env, f.id)
            used = {f.id: actual}
            for equals, got in table:
                if actual == equals:
                    return Scored(_outcome(got, points), got, f"{f.label}为“{actual}”，得 {points_text(got)}（满分 {points_text(points)}）", used)
            return Scored("fail", ZERO, f"{f.label}为“{actual}”，不在计分档次内，不得分", used)
        _, expr, table, f = params
        actual = Decimal(expr.evaluate(env))
        used = _used(env, expr.names)
        shown = value_text(actual, f) if f else num(actual)
        what = f.label if f else plain(expr, env)
        for minimum, got in table:
            if actual >= minimum:
                return Scored(_outcome(got, points), got,
                              f"{what} {shown}，达到“≥ {value_text(minimum, f) if f else num(minimum)}”档，得 {points_text(got)}（满分 {points_text(points)}）", used)
        lowest = table[-1][0]
        return Scored("fail", ZERO, f"{what} {shown}，低于最低档（≥ {value_text(lowest, f) if f else num(lowest)}），不得分", used)


@method("ratio", "base", "比例达标",
        {"numerator": _EXPR, "denominator": _EXPR, "value": _EXPR, "target": _NUM_OR_PCT,
         "scoring": {"enum": ["all_or_nothing", "proportional"]}},
        ["target"],
        doc="all_or_nothing: the points when the ratio (quantized to 0.01%) reaches `target`, else 0; "
            "proportional: points × min(1, ratio ÷ target); a zero denominator or a negative part is an error",
        keys={"numerator": "a number expression (with `denominator`)",
              "denominator": "a number expression",
              "value": "a percentage expression, instead of `numerator` and `denominator`",
              "target": "the share to reach, `60%` or 0.6 (above 0, at most 100%)",
              "scoring": "how the points follow the ratio (default `all_or_nothing`)"})
class Ratio:
    @staticmethod
    def compile(raw, ctx):
        if "value" in raw:
            if "numerator" in raw or "denominator" in raw:
                ctx.fail((), "give either 'value' or 'numerator' and 'denominator', not both")
            parts = (ctx.expr("value", Type.NUMBER), None)
        elif "numerator" in raw and "denominator" in raw:
            parts = (ctx.expr("numerator", Type.NUMBER), ctx.expr("denominator", Type.NUMBER))
        else:
            ctx.fail((), "a ratio needs 'value', or 'numerator' and 'denominator'")
        target = ctx.number("target", percent_ok=True)
        if not ZERO < target <= 1:
            ctx.fail(("target",), f"target {pct(target, 2)} must be a share above 0% and at most 100%")
        return parts + (target, raw.get("scoring", "all_or_nothing"))

    @staticmethod
    def score(params, points, env):
        top, bottom, target, scoring = params
        used = _used(env, top.names | (bottom.names if bottom else frozenset()))
        what = plain(top, env) if bottom is None else f"{plain(top, env)}占{plain(bottom, env)}的比例"
        numerator = Decimal(top.evaluate(env))
        if bottom is None:
            if numerator < ZERO:
                raise EvalError(f"比例为负数（{num(numerator)}），无法计分")
            ratio = numerator
        else:
            d = Decimal(bottom.evaluate(env))
            if d == ZERO:
                raise EvalError(f"比例的分母（{plain(bottom, env)}）为 0，无法计算")
            if numerator < ZERO or d < ZERO:
                # a negative count is a data error, never a negative score
                raise EvalError(f"分子或分母为负数（{num(numerator)} / {num(d)}），无法计算比例")
            ratio = numerator / d
        ratio = ratio.quantize(RATIO_STEP, ROUND_HALF_UP)
        shown = pct(ratio, 2)
        want = pct(target, 2)
        if ratio >= target:
            return Scored("pass", points, f"{what} {shown}，达到目标 {want}，得 {points_text(points)}", used)
        if scoring == "proportional":
            # Kept exact: the only rounding of points is the total's (grading.round_total).
            got = points * ratio / target
            shown_got = num(got)
            approx = "" if got == got.quantize(Decimal("0.01")) else "约"     # 按比例约得 2.48 分
            return Scored(_outcome(got, points), got,
                          f"{what} {shown}，未达目标 {want}，按比例{approx}得 {shown_got} 分（{num(points)} × {shown} ÷ {want}，满分 {points_text(points)}）", used)
        return Scored("fail", ZERO, f"{what} {shown}，未达目标 {want}，不得分", used)


@method("frequency", "base", "按期记录（缺一次扣分，扣完为止）",
        {"records": {"type": "string"}, "every": {"enum": list(PERIOD_ZH)},
         "at_least": {"type": "integer", "minimum": 1}, "deduct": _NUM},
        ["records", "every", "deduct"],
        doc="points − `deduct` × records missing over the round's calendar periods, floor 0 (扣完为止); "
            "records outside the round's period count for nothing and are listed",
        keys={"records": "a records field", "every": "the calendar period records are counted in",
              "at_least": "records needed per period (default 1)",
              "deduct": "points lost per missing record"})
class Frequency:
    @staticmethod
    def compile(raw, ctx):
        f = ctx.field("records", ("records",))
        return (f, raw["every"], int(raw.get("at_least", 1)), ctx.points("deduct", raw["deduct"]))

    @staticmethod
    def plan(params, points, period) -> "_FrequencyPlan":
        """The criterion's plan in `period`: what `score` counts and judges records with. A
        caller scoring many organizations in one period keeps it (scoring.criteria.OutcomeCache):
        made once instead of looked up by its ten values for each organization."""
        f, every, at_least, deduct = params
        cut = period_as_of(period)
        return _frequency_plan(f.label, every, at_least, points, deduct, period[0], period[1], cut,
                               period.round_end if cut is not None else None, (str(points), str(deduct)))

    @staticmethod
    def score(params, points, env):
        f = params[0]
        plan = Frequency.plan(params, points, env["$period"])
        if plan.not_due:
            raise NotDue(plan.not_due)
        records = _require(env, f.id)
        outcome, got, reason = plan.judge(records)
        return Scored(outcome, got, reason, {f.id: records})


_DATE = operator.attrgetter("date")
_COUNT_WORD = {"week": "周", "month": "个月", "quarter": "个季度", "half_year": "个半年", "year": "年"}


class _FrequencyPlan:
    """A frequency criterion in one period, made once, not per organization (the periods, their
    labels and the reason's fixed words were most of a frequency criterion's time): which
    period each day falls in, and the verdict for each pattern of counts seen. Organizations
    keep their meetings in much the same months, so a few patterns serve a round: the words of
    a verdict depend on the counts alone."""

    def __init__(self, label: str, every: str, at_least: int, points: Decimal, deduct: Decimal, start, end, cut,
                 round_end):
        unit = PERIOD_ZH[every]
        self.not_due = None           # a bulletin before the first period ends: why nothing is due yet
        if cut is None:
            spans, so_far, self.window = periods(every, start, end), "", (start, end)
        else:
            # a bulletin: only the periods completed by the as-of date are due (pro-rated)
            spans, so_far, self.window = whole_periods(every, start, cut), f"截至{date_text(cut)}，", (start, round_end)
            if not spans:
                first = whole_periods(every, start, round_end) or ((start, round_end),)
                self.not_due = (f"{label}应每{unit}至少 {at_least} 次，截至{date_text(cut)}尚无已满的考核周期"
                                f"（首个周期{period_label(every, first[0])}于{date_text(first[0][1])}结束），本期不计分")
        self.spans, self.labels = spans, tuple(period_label(every, p) for p in spans)
        # the periods are calendar periods, apart from each other: each day is in one at most
        self.period_of = {first + dt.timedelta(days=k): i for i, (first, last) in enumerate(spans)
                          for k in range((last - first).days + 1)}
        self.at_least, self.points, self.deduct = at_least, points, deduct
        self.rule = f"{label}应每{unit}至少 {at_least} 次（{so_far}共 {len(spans)} {_COUNT_WORD[every]}）"
        self.passed = ("pass", points, f"{self.rule}，均已按期开展，得 {points_text(points)}")
        self.deduct_text = points_text(deduct)
        self._verdicts: dict[tuple, tuple] = {}
        self._patterns: dict[tuple, tuple] = {}     # records' periods in order -> verdict

    def judge(self, records) -> tuple[str, Decimal, str]:
        """(outcome, points, reason) for one organization's records."""
        # the period of each record, in the order given, decides the verdict when every record
        # is in a period: found in C (map) and kept, it spares most organizations the counting
        # loop (0.7 µs a field instead of 1.0 on the demo round); a record in no period (maybe
        # outside the round, which its reason names) is counted below
        pattern = tuple(map(self.period_of.get, map(_DATE, records)))
        got = self._patterns.get(pattern)
        if got is not None:
            return got
        counts, outside = self.count(records)
        if None not in pattern:
            if len(self._patterns) >= 4096:
                self._patterns.clear()
            got = self._patterns[pattern] = self.verdict(counts)
            return got
        outcome, got, reason = self.verdict(counts)
        return outcome, got, reason + (_outside_period(records, *self.window) if outside else "")

    def judge_all(self, column) -> list[tuple[str, Decimal, str]]:
        """judge() of each organization's records in `column` (tuples of records): the verdicts
        of patterns seen already found in one pass, the rest judged one by one."""
        where, seen = self.period_of.get, self._patterns.get
        got = [seen(tuple(map(where, map(_DATE, records)))) for records in column]
        if None in got:
            judge = self.judge
            got = [g if g is not None else judge(records) for g, records in zip(got, column)]
        return got

    def count(self, records) -> tuple[tuple[int, ...], bool]:
        """Records per period, and whether any is dated outside the round's period (`window`)."""
        # (a loop: an organization has a few records per field, 6.5 on the demo round, and
        # counting them with list.count in C, one pass per period, took 2.1 µs a field to this
        # loop's 1.2)
        counts = [0] * len(self.spans)
        where = self.period_of.get
        lo, hi = self.window
        outside = False
        for r in records:
            i = where(r.date)
            if i is not None:
                counts[i] += 1
            elif not lo <= r.date <= hi:      # in no period, yet maybe in the round (a partial period)
                outside = True
        return tuple(counts), outside

    def verdict(self, counts: tuple[int, ...]) -> tuple[str, Decimal, str]:
        """(outcome, points, reason before any note on records outside the period) for `counts`."""
        got = self._verdicts.get(counts)
        if got is None:
            if len(self._verdicts) >= 4096:
                self._verdicts.clear()
            got = self._verdicts[counts] = self._judge(counts)
        return got

    def _judge(self, counts: tuple[int, ...]) -> tuple[str, Decimal, str]:
        at_least, points, deduct = self.at_least, self.points, self.deduct
        short = [(i, at_least - n) for i, n in enumerate(counts) if n < at_least]
        if not short:
            return self.passed
        missing = sum(n for _, n in short)
        gaps = [self.labels[i] for i, _ in short]
        lost = min(points, deduct * missing)
        got = points - lost
        shown_gaps = "、".join(gaps[:6]) + ("等" if len(gaps) > 6 else "")
        return (_outcome(got, points), got,
                f"{self.rule}，缺 {missing} 次（{shown_gaps}），每缺 1 次扣 {self.deduct_text}，扣 {points_text(lost)}" +
                ("（扣完为止）" if lost < deduct * missing else ""))


@functools.lru_cache(maxsize=1024)
def _frequency_plan(label, every, at_least, points, deduct, start, end, cut, round_end, digits) -> _FrequencyPlan:
    """The plan, kept by what it is made of (the field's label, not the field: a field's hash is
    a dataclass's, slow); `end` is the as-of date in a bulletin (`cut`), whose round ends on
    `round_end`. `digits`, the points and deduction as written, only tells apart Decimals equal
    in value but not in digits (3 and 3.0), one key otherwise: the points a plan gives back
    keep their own digits (sums of them are written as text, state.jsonl's sort keys)."""
    return _FrequencyPlan(label, every, at_least, points, deduct, start, end, cut, round_end)


def _outside_period(records, start, end) -> str:
    """Records dated outside the round's period count for nothing; say which, never drop them silently."""
    out = [r for r in records if not start <= r.date <= end]
    if not out:
        return ""
    shown = "、".join(date_text(r.date) + (f"《{r.title}》" if r.title else "") for r in out[:5])
    return (f"；另有 {len(out)} 条记录在考评期（{date_text(start)}至{date_text(end)}）外，不计入："
            f"{shown}{'等' if len(out) > 5 else ''}")


_ITEMS = {"type": "array", "minItems": 1, "items": {
    "type": "object", "additionalProperties": False, "required": ["id", "label"],
    "properties": {"id": {"type": "string"}, "label": {"type": "string"}, "when": _EXPR,
                   "count": _EXPR, "deduct": _NUM, "add": _NUM}}}


def _compile_items(raw, ctx, amount_key):
    items = []
    for i, item in enumerate(raw["items"]):
        if ("when" in item) == ("count" in item):
            ctx.fail(("items", i), "each item needs exactly one of 'when' or 'count'")
        if amount_key not in item:
            ctx.fail(("items", i), f"each item needs '{amount_key}'")
        key = "when" if "when" in item else "count"
        expr = ctx.expr(("items", i, key), Type.BOOL if key == "when" else Type.NUMBER)
        items.append((item["id"], item["label"], key, expr, ctx.points(("items", i, amount_key), item[amount_key])))
    return tuple(items)


def _apply_items(items, env):
    total, lines, used = ZERO, [], {}
    for _id, lbl, key, expr, amount in items:
        used.update(_used(env, expr.names))
        value = expr.evaluate(env)
        times = (Decimal(1) if value else ZERO) if key == "when" else Decimal(value)
        if times < ZERO:
            raise EvalError(f"{lbl}：次数 {num(times)} 不能为负")
        if times:
            total += amount * times
            lines.append(lbl if key == "when" else f"{lbl} {num(times)} 项")
    return total, lines, used


def _items_doc(amount: str) -> str:
    return (f"`[{{id, label, when: <yes/no expression>, {amount}: 2}}, {{id, label, count: <number expression>, "
            f"{amount}: 0.5}}]`: each item once when `when` holds, or `count` times")


@method("deduction", "base", "扣分项（扣完为止）", {"items": _ITEMS}, ["items"],
        doc="points − Σ deductions, floor 0 (扣完为止)", keys={"items": _items_doc("deduct")})
class Deduction:
    @staticmethod
    def compile(raw, ctx):
        return _compile_items(raw, ctx, "deduct")

    @staticmethod
    def score(items, points, env):
        total, lines, used = _apply_items(items, env)
        if not lines:
            return Scored("pass", points, f"无扣分情形，得 {points_text(points)}", used)
        lost = min(points, total)
        return Scored(_outcome(points - lost, points), points - lost,
                      f"存在扣分情形：{'；'.join(lines)}，扣 {points_text(lost)}" + ("（扣完为止）" if lost < total else ""), used)


@method("bonus", "bonus", "加分项（封顶）", {"items": _ITEMS}, ["items"],
        doc="Σ additions, capped at the criterion's points; outside the base (grading.bonus_cap caps the "
            "total bonus)", keys={"items": _items_doc("add")})
class Bonus:
    @staticmethod
    def compile(raw, ctx):
        return _compile_items(raw, ctx, "add")

    @staticmethod
    def score(items, points, env):
        total, lines, used = _apply_items(items, env)
        if not lines:
            return Scored("fail", ZERO, "无加分情形", used)
        got = min(points, total)
        return Scored(_outcome(got, points), got,
                      f"加分：{'；'.join(lines)}，加 {points_text(got)}" + (f"（本项最多 {points_text(points)}）" if got < total else ""), used)


@method("veto", "veto", "一票否决", {"when": _EXPR, "cap_tier": {"type": "string"}, "mark": {"type": "string", "minLength": 1},
                                    "requirement": _REQUIREMENT}, ["when"],
        doc="no points (0/0); a hit caps the tier at `cap_tier` whatever the score, marks the organization "
            "with `mark` (keeping its tier and place in rank order), or both; one of them is required",
        keys={"when": "a yes/no expression: true is a hit", "cap_tier": "the highest tier a hit allows",
              "mark": "what a hit designates the organization, e.g. 软弱涣散党组织", "requirement": _REQUIREMENT_DOC})
class Veto:
    """A hit caps the tier (`cap_tier`), marks the organization (`mark`, e.g. 软弱涣散党组织:
    a flag-only veto keeps its tier and so its place in rank order), or both."""
    @staticmethod
    def compile(raw, ctx):
        cap = ctx.tier("cap_tier") if raw.get("cap_tier") is not None else None
        mark = str(raw["mark"]).strip() if raw.get("mark") is not None else None
        if cap is None and not mark:
            ctx.fail("when", "a veto needs cap_tier (the highest tier it allows), mark (what it designates the "
                             "organization, e.g. 软弱涣散党组织), or both")
        return (_authored(ctx.expr("when", Type.BOOL), raw), cap, mark)

    @staticmethod
    def score(params, points, env):
        when, cap, mark = params
        used = _used(env, when.names)
        if when.evaluate(env):
            then = "，".join(([f"认定为{mark}"] if mark else [])
                            + [spaced("档次最高定为", _tier_name(env, cap)) if cap else "不限定档次"])
            return Scored("fail", ZERO, f"触发一票否决（{plain(when, env)}）{_show_used(env, used)}，{then}",
                          used, veto_hit=True)
        return Scored("pass", ZERO, "未触发一票否决情形", used)


@method("info", "info", "信息项（不计分）", {"value": _EXPR}, ["value"],
        doc="unscored (0/0): the value is shown", keys={"value": "any expression"})
class Info:
    @staticmethod
    def compile(raw, ctx):
        expr = ctx.expr("value", None)
        return (expr, ctx.value_field(expr))

    @staticmethod
    def score(params, points, env):
        expr, f = params
        value = expr.evaluate(env)
        what = f.label if f else plain(expr, env)
        return Scored("pass", ZERO, f"{what}：{value_text(value, f)}（不计分）", _used(env, expr.names))

