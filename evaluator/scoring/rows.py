"""What a round keeps of each scored organization: one compact row (about 1 KB).

Everything an organization's result says lives in its serialized result (spilled to disk as
it is scored); the row holds only what ranking, quotas, the lists, the summary and the CSV
need, so a round's memory grows by one row per organization whatever its criteria
(design: flat memory, a province in one process).
"""
from __future__ import annotations

import operator
import sys
from dataclasses import dataclass, fields
from decimal import Decimal

from ..model import Organization
from ..terms import SCOPES

_intern = sys.intern


@dataclass(slots=True)
class Row:
    id: str
    name: str
    type: str
    district: str
    street: str
    standard: str                       # the standard's id
    graded: bool
    total: Decimal | None
    base: Decimal
    bonus: Decimal
    veto_count: int
    vetoes: str                         # veto criteria hit, for the CSV ("G9.2；G9.3")
    findings: int
    lost: int                           # criteria that lost points
    sort_key: tuple                     # the tie-break values, signed so ascending is best first
    tier_index: int | None              # after placement (quotas move it)
    tier: str | None = None             # the tier's id and name once the round is placed (name_tiers)
    tier_name: str | None = None
    tier_before_quota: int | None = None
    reasons: tuple = ()                 # tier reasons from scoring (band, vetoes, gates)
    caps: tuple = ()                    # the rules engine's veto caps: ((criterion, tier index), ...)
    gate_failures: dict | None = None   # tier index -> why its gate fails
    extra_reasons: list | None = None   # tier reasons added by quota moves

    @property
    def tier_reasons(self) -> list[str]:
        return list(self.reasons) + (self.extra_reasons or [])
    rank_round: int | None = None
    rank_district: int | None = None
    rank_street: int | None = None
    rank_type: int | None = None
    spill: tuple = ()                   # where its serialized result is: (offset, head bytes, tail bytes)
    at: int = -1                        # its place in results.json as written (ScoredRound.where)

    @staticmethod
    def of(org: Organization, standard: str, **kw) -> "Row":
        return Row(id=org.id, name=org.name, type=_intern(org.type), district=_intern(org.district),
                   street=_intern(org.street), standard=_intern(standard), **kw)

    @property
    def status(self) -> str:
        return "graded" if self.graded else "not_graded"

    def rank(self, scope: str) -> int | None:
        return getattr(self, _RANK_ATTR[scope])

    def ranks(self) -> dict[str, int | None]:
        """Its rank in every scope (a rescore's change report gives one per organization whose
        rank moved: thousands when a tier move shifts the round's order)."""
        return {"round": self.rank_round, "district": self.rank_district, "street": self.rank_street,
                "type": self.rank_type}

    def __reduce__(self):
        # Rows come back from worker processes pickled, 500 a partition. The dataclass's own
        # pickling (a state list made through dataclasses.fields() and set back attribute by
        # attribute) took 4.1 ms to dump and 2.4 ms to load a partition's rows (the 20,000-
        # organization demo round); the class and its values in field order, rebuilt by
        # __init__, 3.5 ms and 1.7 ms, 17% fewer bytes. Most of what is left is the Decimals.
        return Row, _values(self)


_RANK_ATTR = {s: "rank_" + s for s in SCOPES}
_values = operator.attrgetter(*(f.name for f in fields(Row)))    # every field, in __init__'s order


class Shared:
    """One object per distinct value across a round's rows. Rows come back from worker
    processes unpickled, each with its own Decimal and text objects (a Decimal is 104 bytes);
    totals, tie-break values and tier reasons repeat across thousands of organizations, so
    sharing them keeps a row near 1 KB in a round of a million. Decimals are keyed by their
    text: Decimal("1") and Decimal("1.00") are equal but print differently."""

    def __init__(self):
        self._decimals: dict[str, Decimal] = {}
        self._texts: dict[str, str] = {}

    def decimal(self, v: Decimal | None) -> Decimal | None:
        return None if v is None else self._decimals.setdefault(str(v), v)

    def text(self, v: str) -> str:
        return self._texts.setdefault(v, v)

    def row(self, r: Row) -> None:
        d, t = self.decimal, self.text
        r.total, r.base, r.bonus = d(r.total), d(r.base), d(r.bonus)
        r.sort_key = tuple(d(v) if isinstance(v, Decimal) else v for v in r.sort_key)
        r.type, r.district, r.street, r.standard = t(r.type), t(r.district), t(r.street), t(r.standard)
        r.vetoes = t(r.vetoes)
        r.reasons = tuple(t(x) for x in r.reasons)
