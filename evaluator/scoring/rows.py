"""What a round keeps of each scored organization: one compact row (about 300 bytes of its
own; its texts, Decimals and tuples shared with the registry and other rows, see Shared).

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
    gate_failures: dict | None = None   # tier index -> why its gate fails (read only: rows share it, Shared)
    extra_reasons: list | None = None   # tier reasons added by quota moves

    @property
    def tier_reasons(self) -> list[str]:
        return list(self.reasons) + (self.extra_reasons or [])
    rank_round: int | None = None
    rank_district: int | None = None
    rank_street: int | None = None
    rank_type: int | None = None
    spill: tuple = ()                   # where its serialized result is: (offset, head bytes, tail bytes)
                                        # (kept packed in one int, see _packed_spill)
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

# The fields a row copies from its registry Organization (Row.of). Rows scored on a Dask cluster
# travel without them and take the registry's own objects back on arrival (cluster.py): an id
# and a name unpickled per row were two more strings per organization (~170 bytes) next to the
# registry's equal ones.
ORG_FIELDS = ("id", "name", "type", "district", "street")
_org_values = operator.attrgetter(*ORG_FIELDS)


def without_org(rows: list, orgs: list[Organization]) -> bool:
    """For the trip back from a worker: the rows of `orgs` (one each, in their order) without
    the values they copy from them (True); rows of anything else are left as they are (False)."""
    if len(rows) != len(orgs) or not all(type(r) is Row and r.id == o.id for r, o in zip(rows, orgs)):
        return False
    for r in rows:
        r.id = r.name = r.type = r.district = r.street = None
    return True


def with_org(rows: list[Row], orgs: list[Organization]) -> None:
    """The rows `without_org` sent, given back the values of their organizations: the
    registry's own objects, equal to those Row.of gave them on the worker."""
    for r, o in zip(rows, orgs):
        r.id, r.name, r.type, r.district, r.street = _org_values(o)


def _packed_spill(slot):
    """Row.spill as a property over its slot: a spill position of the usual kind (offset, head
    bytes, tail bytes) is kept as one int (~40 bytes) instead of a tuple of three (~150 bytes:
    the tuple and three ints of its own per row); any other kind of position (a store's or a
    results file's, rescore) as given. Read, it is the tuple it was set to."""
    def get(row):
        v = slot.__get__(row)
        return (v >> 64, (v >> 32) & 0xFFFFFFFF, v & 0xFFFFFFFF) if type(v) is int else v

    def put(row, v):
        if (type(v) is tuple and len(v) == 3 and all(type(x) is int for x in v)
                and v[0] >= 0 and 0 <= v[1] <= 0xFFFFFFFF and 0 <= v[2] <= 0xFFFFFFFF):
            v = v[0] << 64 | v[1] << 32 | v[2]
        slot.__set__(row, v)
    return property(get, put)


Row.spill = _packed_spill(Row.__dict__["spill"])


class Shared:
    """One object per distinct value across a round's rows. Rows come back from worker
    processes unpickled, each with its own Decimal and text objects (a Decimal is 104 bytes);
    totals, tie-break values, tier reasons and failed gates repeat across thousands of
    organizations, so sharing them leaves a row little more than itself (264 bytes) and its
    packed spill position in a round of a million. Decimals are keyed by their text:
    Decimal("1") and Decimal("1.00") are equal but print differently."""

    def __init__(self):
        self._decimals: dict[str, Decimal] = {}
        self._texts: dict[str, str] = {}
        self._tuples: dict[tuple, tuple] = {}
        self._dicts: dict[tuple, dict] = {}

    def decimal(self, v: Decimal | None) -> Decimal | None:
        return None if v is None else self._decimals.setdefault(str(v), v)

    def text(self, v: str) -> str:
        return self._texts.setdefault(v, v)

    def tuple(self, v: tuple) -> tuple:
        """One tuple per distinct value. Tie-break values and tier reasons repeat: a round's
        totals lie on a grid of a few hundred points, and a tier reason names the total and
        the band. Tuples compare Decimals by value, so a tuple whose equal has a Decimal of
        other digits in it (1 against 1.00: they print differently) keeps its own."""
        got = self._tuples.setdefault(v, v)
        if got is not v and any(type(a) is Decimal and a is not b for a, b in zip(got, v)):
            return v
        return got

    def row(self, r: Row) -> None:
        d, t = self.decimal, self.text
        r.total, r.base, r.bonus = d(r.total), d(r.base), d(r.bonus)
        r.sort_key = self.tuple(tuple(d(v) if isinstance(v, Decimal) else v for v in r.sort_key))
        r.type, r.district, r.street, r.standard = t(r.type), t(r.district), t(r.street), t(r.standard)
        r.vetoes = t(r.vetoes)
        r.reasons = self.tuple(tuple(t(x) for x in r.reasons))
        r.caps = self.tuple(r.caps)
        if r.gate_failures:
            # the gates failed say why in a few sentences of the standard's: most rows that
            # fail one fail it alike (~200 bytes each unshared; half the rows of the demo)
            gates = {k: t(v) for k, v in r.gate_failures.items()}
            r.gate_failures = self._dicts.setdefault(tuple(gates.items()), gates)
