"""From one organization's outcomes to its scores and (pre-quota) tier.

Arithmetic is exact `Decimal` until the single rounding step: the total is rounded once to
0.01 (ROUND_HALF_UP) and only the rounded total is compared with tier bands, gates,
quotas and other organizations. (Ratios inside a criterion are quantized to 0.0001 before
their own comparison; see methods.RATIO_STEP.)

Scores:
- base score: points earned on base criteria / the base points that count × grading.base.
  Not-applicable criteria never count, nor do criteria not yet due in a bulletin (未到期); a not-reviewed one counts as zero (na_policy zero),
  is left out (exclude: the rest are renormalized to the base), or stops the organization
  from being graded (forbid).
- components: the base score from verified-wins evidence (`criteria`), from self-reported
  evidence alone (`self_assessment`), or an evidence field scaled to the base (`field`),
  weighted; bonus (capped by grading.bonus_cap) is added after weighting.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from .criteria import org_env
from .engine import ConcludingRules
from ..terms import UNCOUNTED, num, pct, spaced
from ..model import ZERO, Evidence, Grading, Organization, Outcome, Standard

CENT = Decimal("0.01")
SHARE_STEP = Decimal("0.0001")      # the reviewed share's rounding


def round_total(d: Decimal) -> Decimal:
    """The one documented rounding step (0.01, half up)."""
    return d.quantize(CENT, ROUND_HALF_UP)


@dataclass
class BaseScore:
    score: Decimal            # exact, scaled to grading.base
    earned: Decimal
    counted_max: Decimal
    applicable_max: Decimal
    reviewed_max: Decimal
    problems: list[str] = field(default_factory=list)   # reasons the org cannot be graded


def base_score(standard: Standard, outcomes: list[Outcome]) -> BaseScore:
    return tally(standard, outcomes).base


@dataclass
class Tally:
    """What grading reads from one organization's outcomes, gathered in one pass over them
    (one pass for each of these was a third of grading an organization). Sums add the
    outcomes' points in document order, as Decimal arithmetic must for the same digits."""
    base: BaseScore
    problems: list[str]                 # bonus, veto and info criteria that stop grading
    bonus: Decimal                      # before grading.bonus_cap
    sections: dict[str, Decimal]        # base points per section
    vetoes: list[dict]                  # the veto hits, as results.json lists them
    not_due: bool                       # some base criterion is not yet due (a bulletin)
    lost: int                           # criteria that count and fell short of their maximum
    by_criterion: Mapping[str, Outcome]  # the outcomes by criterion id, as gates read them


# the outcomes of a base criterion that count in full: reviewed, their points earned
_REVIEWED = frozenset(("pass", "partial", "fail", "waived"))


def tally(standard: Standard, outcomes: list[Outcome]) -> Tally:
    positions, sections_of, info = _of_standard(standard)[:3]
    earned = bonus = full = ZERO
    # applicable, reviewed and counted add the same maxima until the first outcome that is
    # not a reviewed base one: one sum (`full`) until then, the same additions in the same
    # order, so the same digits; the three go their own ways from there
    applicable = reviewed = counted = None
    problems, others, vetoes = [], [], []
    sections = dict.fromkeys(sections_of, ZERO)
    not_due = False
    lost = 0
    for o in outcomes:
        base, section, c = info[o.criterion]
        state, points, most = o.outcome, o.points, o.max_points
        if o.veto_hit:
            vetoes.append(_veto(c, o))
        if base and state in _REVIEWED:
            # most outcomes: what the general steps below come to for them, in fewer steps
            sections[section] += points
            earned += points
            if applicable is None:
                full += most
            else:
                applicable += most
                reviewed += most
                counted += most
            if points < most:
                lost += 1
            continue
        if applicable is None:
            applicable = reviewed = counted = full
        if state not in UNCOUNTED and points < most:
            lost += 1
        if not base:
            if c.kind == "bonus":
                bonus += points
            if state == "error":
                others.append(_cannot_compute(c, o))
            elif state == "not_reviewed" and c.na_policy == "forbid":
                others.append(_must_provide(c))
            continue
        # Section points are base points only: bonus is reported (and capped) on its own.
        sections[section] += points
        if state in UNCOUNTED:           # not applicable, not due yet (a bulletin)
            not_due = not_due or state == "not_due"
            continue
        applicable += most
        if state == "error":
            problems.append(_cannot_compute(c, o))
        if state == "not_reviewed":
            if c.na_policy == "exclude":
                continue
            if c.na_policy == "forbid":
                problems.append(_must_provide(c))
        else:
            reviewed += most
            earned += points
        counted += most
    if applicable is None:
        applicable = reviewed = counted = full
    g = standard.grading.base
    score = earned / counted * g if counted > 0 else ZERO
    return Tally(BaseScore(score, earned, counted, applicable, reviewed, problems), others, bonus, sections,
                 vetoes, not_due, lost, _ByCriterion(positions, outcomes))


def _must_provide(c) -> str:
    return f"指标 {c.id}（{c.title}）必须提供材料"


class _ByCriterion(Mapping):
    """{criterion id: outcome} as gates read an organization's outcomes (a veto's hit,
    points('G1.1')), found at the criterion's place in the standard's order, where scoring
    puts it, rather than made into a dict: a dict of all 40-odd outcomes per organization
    cost more than the gates that read two of them. Outcomes in another order (or a partial
    list) are looked up in such a dict after all, made on first need. (Scoring gives each
    criterion exactly one outcome, design invariant 1.)"""

    __slots__ = ("_position", "_outcomes", "_all")

    def __init__(self, position: dict[str, int], outcomes: list[Outcome]):
        self._position = position if len(position) == len(outcomes) else {}
        self._outcomes = outcomes
        self._all: dict[str, Outcome] | None = None

    def __getitem__(self, cid: str) -> Outcome:
        i = self._position.get(cid)
        if i is not None:
            o = self._outcomes[i]
            if o.criterion == cid:
                return o
        return self._as_dict()[cid]

    def _as_dict(self) -> dict[str, Outcome]:
        if self._all is None:
            self._all = {o.criterion: o for o in self._outcomes}
        return self._all

    def __bool__(self) -> bool:
        return bool(self._outcomes)

    def __len__(self) -> int:
        return len(self._as_dict())

    def __iter__(self):
        return iter(self._as_dict())


_BY_STANDARD: dict[str, tuple] = {}


def _of_standard(standard: Standard) -> tuple:
    """What grading reads of a standard, made once: (criterion id -> position in document
    order, section ids, criterion id -> (is base, section, criterion), the sections' names as
    tie-breaks read them)."""
    got = _BY_STANDARD.get(standard.id)
    if got is None or got[0] is not standard:
        sections = tuple(s.id for s in standard.sections)
        got = _BY_STANDARD[standard.id] = (
            standard, {cid: i for i, cid in enumerate(standard.criteria)}, sections,
            {c.id: (c.kind == "base", c.section, c) for c in standard.criteria.values()},
            tuple(f"section:{sid}" for sid in sections))
    return got[1:]


def tie_values(standard: Standard, g: "Grade") -> dict[str, Decimal]:
    """What tie-breaks (placement.sort_key) read of a graded organization: total, base, bonus,
    veto_count, reviewed_share and section:<id>. The sections' names are made once per
    standard: g.sections is in the standard's section order (tally), as they are."""
    return dict(zip(_of_standard(standard)[3], g.sections.values()), total=g.total, base=g.base, bonus=g.bonus,
                veto_count=Decimal(len(g.vetoes)), reviewed_share=g.reviewed_share)


@dataclass
class Grade:
    status: str                              # graded | not_graded
    base: Decimal                            # rounded, for display and tie-breaks
    bonus: Decimal
    total: Decimal | None                    # rounded once
    components: dict[str, Decimal]
    reviewed_share: Decimal
    tier: str | None
    tier_reasons: list[str]
    vetoes: list[dict]
    sections: dict[str, Decimal]
    # what the rules engine concluded, kept so a quota move places the organization again
    caps: list[tuple[str, int]] = field(default_factory=list)
    gate_failures: dict[int, str] = field(default_factory=dict)
    lost: int = 0                            # criteria that count and lost points (the CSV's 失分指标数)


def grade(standard: Standard, org: Organization, evidence: Evidence,
          outcomes: list[Outcome], self_outcomes: list[Outcome] | None, period, rules: ConcludingRules) -> Grade:
    g = standard.grading
    t = tally(standard, outcomes)
    main = t.base
    problems = main.problems + t.problems    # bonus, veto and info criteria can also block grading
    share = (main.reviewed_max / main.applicable_max) if main.applicable_max else ZERO
    share = share.quantize(SHARE_STEP, ROUND_HALF_UP)
    if main.applicable_max == 0:
        problems.append("没有适用的计分指标")
    elif share < g.min_reviewed_share:
        problems.append(f"已核查指标分值占比 {pct(share, 2)}，低于最低要求 {pct(g.min_reviewed_share, 2)}")

    comps: dict[str, Decimal] = {}
    weighted = ZERO
    for comp in g.components:
        if comp.source == "criteria":
            value = main.score
        elif comp.source == "self_assessment":
            value = base_score(standard, self_outcomes or []).score
        else:
            raw = evidence.values.get(comp.field)
            if raw is None:
                f = standard.fields.get(comp.field)
                problems.append(f"缺少{comp.label}" + (f"（{f.label}）" if f and f.label != comp.label else ""))
                raw = ZERO
            value = Decimal(raw) * g.base / (comp.scale or g.base)
        comps[comp.id] = value
        weighted += comp.weight * value
    bonus = min(t.bonus, g.bonus_cap)
    sections, vetoes = t.sections, t.vetoes
    total = round_total(weighted + bonus)
    rounded = {k: round_total(v) for k, v in comps.items()}
    if problems:
        return Grade("not_graded", round_total(main.score), bonus, None, rounded, share, None,
                     ["不予定档：" + p for p in problems], vetoes, sections, lost=t.lost)

    idx = band_index(g, total)
    reasons = [_band_reason(total, g.tiers[idx])]
    gate_env = org_env(org, evidence.values, period, standard.fields)
    gate_env.update({"total": total, "base": round_total(main.score), "bonus": bonus, "veto_count": Decimal(len(vetoes)),
                     "$outcomes": t.by_criterion,
                     "$sections": _due_sections(standard.criteria, outcomes, sections) if t.not_due else sections})
    found = rules.conclude(gate_env, f"organization {org.id}")
    idx = place(g, idx, found.caps, found.gate_failures, reasons)
    # a flag-only veto moves nothing (the organization keeps its tier and its place in rank
    # order); its mark is stated with the tier reasons so the scorecard says why it is marked
    reasons += [f"触发一票否决（{v['criterion']}），认定为{v['mark']}，不限定档次" for v in vetoes if v["cap_tier"] is None]
    return Grade("graded", round_total(main.score), bonus, total, rounded, share, g.tiers[idx].id,
                 reasons, vetoes, sections, found.caps, found.gate_failures, t.lost)


_BANDS: dict[tuple, str] = {}


def _band_reason(total: Decimal, tier) -> str:
    """"总分 92.5，达到 A档（≥ 90）": the same words for every organization with this total in
    this tier, made once (num's formatting was a tenth of grading an organization). Keyed by
    the values the words show, so equal totals share them; bounded."""
    key = (total, tier.name, tier.min)
    got = _BANDS.get(key)
    if got is None:
        if len(_BANDS) >= 4096:
            _BANDS.clear()
        got = _BANDS[key] = spaced(f"总分 {num(total)}，达到", f"{tier.name}（≥ {num(tier.min)}）")
    return got


def _cannot_compute(c, o: Outcome) -> str:
    """Why an error outcome stops grading. The criterion's own reason already opens with
    无法计算 (scoring.criteria says so on the scorecard row): not said twice."""
    reason = o.reason if o.reason.startswith("无法计算") else f"无法计算：{o.reason}"
    return f"指标 {c.id}（{c.title}）{reason}"


def _veto(c, o: Outcome) -> dict:
    """A veto hit as results.json lists it: cap_tier None for a flag-only veto; `mark` (what
    it designates the organization, e.g. 软弱涣散党组织) when the veto has one."""
    _, cap, mark = c.params
    return {"criterion": o.criterion, "cap_tier": cap, **({"mark": mark} if mark else {}), "reason": o.reason}


def band_index(g: Grading, total: Decimal) -> int:
    """The tier a total reaches by the tiers' score lines alone (before vetoes, gates and
    quotas). The last tier starts at 0; a negative total (a negative field component) lands
    there too."""
    return next((i for i, t in enumerate(g.tiers) if total >= t.min), len(g.tiers) - 1)


def _due_sections(criteria, outcomes: list[Outcome], sections: dict[str, Decimal]) -> dict[str, Decimal]:
    """Section points as gates read them. In a bulletin, criteria not yet due (未到期) are left
    out of a section as they are of the total: its points are scaled up to the section's full
    points over what has fallen due (earned × full / due), so a gate such as 组织生活得分不低于17分
    asks the same share of the section in March as at the year's end. Otherwise the points."""
    full, not_due = {}, {}
    for o in outcomes:
        c = criteria[o.criterion]
        if c.kind == "base":
            full[c.section] = full.get(c.section, ZERO) + o.max_points
            if o.outcome == "not_due":
                not_due[c.section] = not_due.get(c.section, ZERO) + o.max_points
    if not not_due:
        return sections
    out = dict(sections)
    for sid, gone in not_due.items():
        due = full[sid] - gone
        out[sid] = sections[sid] * full[sid] / due if due > 0 else full[sid]
    return out


def place(g: Grading, idx: int, caps: list[tuple[str, int]], gate_failures: dict[int, str], reasons: list[str]) -> int:
    """Tier placement, the one function scoring and quota moves share: from tier `idx` (what the
    total reached, or where a quota moved the organization), apply the veto caps and the tiers'
    failing gates — both concluded by the rules engine — until nothing changes. A veto that caps
    at C leaves the organization in C only if C's gates hold too. Both rules only move down, so
    this ends; each move is stated in `reasons`."""
    last = len(g.tiers) - 1
    while True:
        before = idx
        for cid, cap in caps:
            if idx < cap:
                reasons.append(spaced(f"触发一票否决（{cid}），档次最高为", g.tiers[cap].name))
                idx = cap
        while idx < last and idx in gate_failures:
            # tier names read as Chinese words: 未满足 A档条件 / 未满足五星级党组织条件 (terms.spaced)
            reasons.append(spaced("未满足", g.tiers[idx].name, f"条件（{gate_failures[idx]}），降为", g.tiers[idx + 1].name))
            idx += 1
        if idx == before:
            return idx
