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
from itertools import chain, islice, repeat

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

# The fields a row copies from its registry Organization (Row.of). Rows scored in another process
# travel without them and take the registry's own objects back on arrival (Packed): an id and a
# name unpickled per row were two more strings per organization (~170 bytes) next to the
# registry's equal ones.
ORG_FIELDS = ("id", "name", "type", "district", "street")


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


_SPILL = Row.__dict__["spill"]          # the slot itself: the packed int (Packed sends it so)
Row.spill = _packed_spill(_SPILL)


class Shared:
    """One object per distinct value across a round's rows. Rows come back from worker
    processes unpickled, each with its own Decimal and text objects (a Decimal is 104 bytes);
    totals, tie-break values, tier reasons and failed gates repeat across thousands of
    organizations, so sharing them leaves a row little more than itself (264 bytes) and its
    packed spill position in a round of a million. Decimals are keyed by their text:
    Decimal("1") and Decimal("1.00") are equal but print differently."""

    def __init__(self):
        self._decimals: dict[str, Decimal | None] = {"None": None}    # (see decimals)
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

    def tuples(self, tuples: list[tuple]) -> list[tuple]:
        """`tuple` of each of `tuples` of values this Shared gave (text, decimals), without a
        call of it per tuple. Those values are the one object of their text, so a tuple whose
        equal holds other objects has a Decimal of other digits in it, and keeps its own."""
        got = list(map(self._tuples.setdefault, tuples, tuples))
        same = list(map(all, map(map, repeat(operator.is_), got, tuples)))
        return got if all(same) else [g if ok else t for g, ok, t in zip(got, same, tuples)]

    def texts_of(self, texts: list[str]) -> list[str]:
        """text of each (without a call of it per text)."""
        return list(map(self._texts.setdefault, texts, texts))

    def sort_key(self, v: tuple) -> tuple:
        return self.tuple(tuple(self.decimal(x) if isinstance(x, Decimal) else x for x in v))

    def texts(self, v: tuple) -> tuple:
        v = tuple(map(self._texts.setdefault, v, v))      # (text, for each)
        return self._tuples.setdefault(v, v)              # (equal texts are alike)

    def gates(self, v: dict | None) -> dict | None:
        if not v:
            return v
        # the gates failed say why in a few sentences of the standard's: most rows that
        # fail one fail it alike (~200 bytes each unshared; half the rows of the demo)
        gates = {k: self.text(x) for k, x in v.items()}
        return self._dicts.setdefault(tuple(gates.items()), gates)

    def row(self, r: Row) -> None:
        d, t = self.decimal, self.text
        r.total, r.base, r.bonus = d(r.total), d(r.base), d(r.bonus)
        r.sort_key = self.sort_key(r.sort_key)
        r.type, r.district, r.street, r.standard = t(r.type), t(r.district), t(r.street), t(r.standard)
        r.vetoes = t(r.vetoes)
        r.reasons = self.texts(r.reasons)
        r.caps = self.tuple(r.caps)
        r.gate_failures = self.gates(r.gate_failures)

    def decimals(self, texts: list) -> list:
        """The Decimals printed as `texts` (str(v), or "None" for None), one object per value,
        made only for a text not seen before."""
        try:
            return list(map(self._decimals.__getitem__, texts))
        except KeyError:
            for new in set(texts) - self._decimals.keys():
                self._decimals[new] = Decimal(new)
            return list(map(self._decimals.__getitem__, texts))


# Every field of Row but those it copies of its organization, in __init__'s order (they follow them)
_PACKED = tuple(f.name for f in fields(Row) if f.name not in ORG_FIELDS)
assert tuple(f.name for f in fields(Row))[:len(ORG_FIELDS)] == ORG_FIELDS
_packed_values = operator.attrgetter(*(f for f in _PACKED if f != "spill"))
_AT_SPILL = _PACKED.index("spill")
_org_columns = [operator.attrgetter(f) for f in ORG_FIELDS]
_id = operator.attrgetter("id")
_NONE = type(None)
_SAME, _DECIMALS, _TEXTS, _TUPLES, _AS_IS = range(5)      # how a column of values is packed (_pack)


class Packed:
    """A partition's rows for the trip back from a local worker process or a Dask worker:
    column by column, Decimals as their text, and nothing of what the rows copy of their
    organizations (ORG_FIELDS), which the parent has.

    Pickled as rows, a partition's ~4,000 Decimals went through pickle's reduce protocol one
    by one (~2 us each, against 0.15 us for their text), and the parent unpickled them and
    shared their values row by row (Shared.row): at 20,000 organizations 0.23 CPU-s of the
    workers and 0.18-0.20 of the parent, whose share was taken from a core the workers
    wanted; packed, 0.13 and 0.12 (in one process, alternately). Texts of Decimals are looked up in the round's Shared without making a
    Decimal of each, texts and tuples of them are shared a column at a time, and a column
    every row of which holds one object (None, a standard's id) goes once."""
    __slots__ = ("count", "columns")

    def __init__(self, rows: list[Row]):
        self.count = len(rows)
        columns = list(zip(*map(_packed_values, rows)))
        columns.insert(_AT_SPILL, list(map(_SPILL.__get__, rows)))     # as kept: one int a row, not a tuple
        self.columns = [_pack(c) for c in columns]

    @staticmethod
    def of(rows: list, orgs: list[Organization]) -> "Packed | None":
        """`rows` packed if they are the rows of `orgs` (one each, in their order); else None
        (they go as they are)."""
        if not rows or len(rows) != len(orgs) or any(type(r) is not Row for r in rows) \
                or list(map(_id, rows)) != list(map(_id, orgs)):
            return None
        return Packed(rows)

    def rows(self, orgs: list[Organization], shared: Shared | None = None) -> list[Row]:
        """The rows again, with the registry's objects of `orgs`, and every value as
        `shared.row` gives it (shared only among these rows without `shared`)."""
        shared = shared or Shared()
        t, d = shared.text, shared.decimal
        # as Shared.row shares them (what is only texts and Decimals is shared as it is unpacked)
        share = {"standard": t, "total": d, "base": d, "bonus": d, "sort_key": shared.sort_key, "vetoes": t,
                 "reasons": shared.texts, "caps": shared.tuple, "gate_failures": shared.gates}
        cols = []
        for name, packed in zip(_PACKED, self.columns):
            fn = share.get(name)
            if packed[0] == _SAME:
                cols.append(repeat(fn(packed[1]) if fn else packed[1], self.count))
            else:
                values, done = _unpack(packed, shared)
                cols.append(map(fn, values) if fn and not done else values)
        return list(map(Row, *(map(get, orgs) for get in _org_columns), *cols))


def _pack(col) -> tuple:
    """A column of values (a tuple or list), as Packed sends it."""
    if len(set(map(id, col))) == 1:
        return _SAME, col[0]
    kinds = set(map(type, col))
    if Decimal in kinds and kinds <= {Decimal, _NONE}:
        return _DECIMALS, list(map(str, col))
    if kinds == {str}:
        return _TEXTS, col
    if kinds == {tuple}:                              # flattened: each tuple's length, its values in a row
        return _TUPLES, list(map(len, col)), _pack(list(chain.from_iterable(col))) if any(col) else None
    return _AS_IS, col


def _unpack(packed: tuple, shared: Shared) -> tuple[list, bool]:
    """A column as _pack packed it (not _SAME): (its values, whether they are shared already)."""
    how = packed[0]
    if how == _DECIMALS:
        return shared.decimals(packed[1]), True
    if how == _TEXTS:
        return shared.texts_of(packed[1]), True
    if how == _TUPLES:
        lengths, inner = packed[1], packed[2]
        if inner is None:                             # every one empty
            return [()] * len(lengths), True
        flat = iter(_unpack(inner, shared)[0] if inner[0] != _SAME else repeat(inner[1]))
        tuples = list(map(tuple, map(islice, repeat(flat), lengths)))
        if inner[0] in (_DECIMALS, _TEXTS):
            # of shared Decimals or texts only (tie-break values, reasons): a column at a time
            # (Shared.tuple, a call per row checking each Decimal's digits, was a third of unpacking)
            return shared.tuples(tuples), True
        return tuples, False
    return list(packed[1]), False
