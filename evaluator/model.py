"""The data the evaluator works with: a compiled standard and the outcomes it produces.

All of it is immutable; a `Standard` is built once per run by `evaluator.standard.loader`
and shared by every organization evaluated against it.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

from .terms import OUTCOMES

ZERO = Decimal(0)


@dataclass(frozen=True, order=True)
class Record:
    """One dated entry of a records field (a meeting, a theme Party day, ...)."""
    date: datetime.date
    title: str = ""

    def as_json(self):
        """As results write it: the date alone, or {date, title} when it has a title."""
        return self.date.isoformat() if not self.title else {"date": self.date.isoformat(), "title": self.title}


@dataclass(frozen=True)
class Field:
    id: str
    type: str
    label: str
    unit: str | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    values: tuple[str, ...] = ()
    # Allowed gap between self-reported and verified values before it is a finding.
    # relative=True means a share of the verified value (from "5%").
    tolerance: Decimal = ZERO
    tolerance_relative: bool = False
    # What a blank cell means: "missing" (no evidence: the criterion is not reviewed) or
    # "zero" (counted as 0, and every reason that uses the value says so). See terms.BLANK_POLICIES.
    blank: str = "missing"


@dataclass(frozen=True)
class Criterion:
    id: str
    section: str
    title: str
    method: str
    kind: str                    # base | bonus | veto | info (from the method registry)
    points: Decimal
    guidance: str
    rectification: str
    na_policy: str
    applies_if: Any | None       # compiled Expr or None
    params: Any                  # method-specific compiled parameters
    reads: tuple[str, ...]       # evidence fields the criterion reads, for explanations
    line: int = 0                # where it was defined, for messages
    source: str = ""
    due: Any = None              # when it falls due in a bulletin: always | prorated | period_end | a date; None = the method's default


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    criteria: tuple[str, ...]


@dataclass(frozen=True)
class Tier:
    id: str
    name: str
    min: Decimal


@dataclass(frozen=True)
class Component:
    id: str
    label: str
    source: str                  # criteria | self_assessment | field
    weight: Decimal
    field: str | None = None
    scale: Decimal | None = None


@dataclass(frozen=True)
class Gate:
    tier: str
    condition: Any               # compiled Expr over result names
    reason: str


@dataclass(frozen=True)
class Quota:
    tier: str
    max_share: Decimal
    scope: str


@dataclass(frozen=True)
class Target:
    tier: str
    min_share: Decimal
    scope: str


@dataclass(frozen=True)
class Grading:
    base: Decimal
    bonus_cap: Decimal
    min_reviewed_share: Decimal
    components: tuple[Component, ...]
    tiers: tuple[Tier, ...]
    gates: tuple[Gate, ...]
    quotas: tuple[Quota, ...]
    target: Target | None
    tie_breaks: tuple[tuple[str, bool], ...]   # (key, descending)
    ranking: str = "tier_first"                 # or score_first: chosen by the round (scoring.placement)
    distribution: Any = None                    # standard.distribution.Distribution: tier shares allocated by rank

    def tier_index(self, tier_id: str) -> int:
        return [t.id for t in self.tiers].index(tier_id)

    def tier_name(self, tier_id: str | None) -> str | None:
        for t in self.tiers:
            if t.id == tier_id:
                return t.name
        return None


@dataclass(frozen=True)
class Standard:
    id: str
    version: str
    title: str
    issuer: str
    effective: tuple[Any, Any]
    applies_to: tuple[str, ...]
    lineage: tuple[str, ...]      # ids from the root ("general") to this one
    fields: Mapping[str, Field]
    sections: tuple[Section, ...]
    criteria: Mapping[str, Criterion]   # in document order
    grading: Grading
    digest: str                   # sha256 of the resolved definition (all files in the lineage)
    files: tuple[str, ...]

    @property
    def needs_self_assessment(self) -> bool:
        return any(c.source == "self_assessment" for c in self.grading.components)


@dataclass(frozen=True, init=False)
class Outcome:
    """One criterion's result for one organization (a finding as data)."""
    criterion: str
    outcome: str
    points: Decimal
    max_points: Decimal
    reason: str
    evidence: tuple[tuple[str, Any], ...] = ()
    veto_hit: bool = False

    def __init__(self, criterion: str, outcome: str, points: Decimal, max_points: Decimal, reason: str,
                 evidence: tuple[tuple[str, Any], ...] = (), veto_hit: bool = False):
        # the fields above, set at once: a frozen dataclass's own __init__ sets each through
        # object.__setattr__ (0.8 µs an outcome against 0.4; some 20 new ones per organization)
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        self.__dict__.update(criterion=criterion, outcome=outcome, points=points, max_points=max_points,
                             reason=reason, evidence=evidence, veto_hit=veto_hit)


# slots: a registry holds one per organization, a million in a national round (88 bytes each
# with slots, about 150 with an attribute dict)
@dataclass(frozen=True, slots=True)
class Organization:
    id: str
    name: str
    type: str
    district: str = ""
    street: str = ""
    parent: str = ""
    responsible: str = ""        # who answers for rectification (usually the secretary); optional


@dataclass
class Finding:
    kind: str                    # a key of terms.FINDING_ZH
    field: str
    message: str
    self_value: Any = None
    verified_value: Any = None


@dataclass
class Evidence:
    """One organization's normalized evidence: the resolved values (verified wins),
    the self-reported values alone, and provenance per field."""
    organization: str
    values: dict[str, Any] = field(default_factory=dict)
    self_values: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, dict] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    # field id -> a note every criterion reading that field adds to its reason
    # ("市级表彰次数空白，按 0 计", "核查值为空，未采用自报值")
    notes: dict[str, str] = field(default_factory=dict)
