"""The previous round: for cross-round rules (`previous:` in round.yaml) and for the reports'
tier movement (`agrade report --previous`).

List and designation rules may read how an organization came out in the previous round
(`previous.tier`, `previous.total`, `previous.top_tier`, `previous.bottom_tier`), e.g.
"连续两年处于最低档次": `bottom_tier and previous.bottom_tier`. The previous round is its
results folder as `agrade evaluate` wrote it, checked against its run.json like every
results folder agrade reads, and read one organization at a time (evaluator.scoring.source):
only what these uses need is kept, about 200 bytes per organization.
An organization the previous round did not grade (or did not have) has no tier there: a
list condition on its previous values does not hold for it.

The previous round is read against the standards it was scored with, as its own results.json
pins them (id, version, digest, tiers): last year's standard may have been revised since
(criteria renamed or removed, thresholds and tiers changed) and nothing here reloads it, so a
department keeps one rules folder with the current versions and no per-year copies. Top and
bottom tier are the ends of that version's tier list, and its tier names are the ones printed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .rows import Shared
from .source import open_results


@dataclass(frozen=True, slots=True)
class Previous:
    tier: str | None            # None: not graded in the previous round
    total: Decimal | None
    top_tier: bool
    bottom_tier: bool
    tier_name: str | None = None
    rank: int | None = None     # its rank in that round
    place: int | None = None    # its tier's place in the tier list of the standard version it was scored
                                # with (0 the top): what movement compares across versions


@dataclass
class PreviousRound:
    round: dict                          # results.json's `round` of the previous round
    organizations: dict[str, Previous]   # id -> its result there
    standards: dict = field(default_factory=dict)   # id -> {version, digest, tiers}: what it was scored with

    def graded(self) -> dict[str, Previous]:
        """Those the previous round placed in a tier (what list rules read)."""
        return {k: v for k, v in self.organizations.items() if v.tier is not None}

    def header(self) -> dict:
        """What results.json says of the previous round (`previous`): its `round`, and the
        version, digest and tiers (id, name) of each standard it was scored with, so its tiers
        can be named on documents whatever the current version calls them."""
        return {**self.round, "standards": {
            sid: {"version": s.get("version"), "digest": s.get("digest"),
                  "tiers": [{"id": t.get("id"), "name": t.get("name")} for t in s.get("tiers") or [] if isinstance(t, dict)]}
            for sid, s in self.standards.items()}}

    def tier_names(self) -> dict[str, str]:
        """Tier id -> name in the versions it was scored with (`previous.tier == 'A'` is printed
        with the name A had then, even when the current version has no tier A)."""
        out: dict[str, str] = {}
        for s in self.standards.values():
            for t in s.get("tiers") or []:
                if isinstance(t, dict) and isinstance(t.get("id"), str):
                    out.setdefault(t["id"], str(t.get("name") or t["id"]))
        return out


class _Collect:
    def __init__(self):
        self.shared = Shared()
        self.orgs: dict[str, dict] = {}

    def add(self, o: dict) -> None:
        # check=False: nothing but the id is guaranteed, so every value is taken only if it
        # has the type agrade writes (an older or hand-made file may lack some)
        text, shared = self.shared.text, self.shared
        tier, name, total, rank, std = (o.get(k) for k in ("tier", "tier_name", "total", "rank", "standard"))
        graded = o.get("status", "graded") == "graded" and isinstance(tier, str)
        number = isinstance(total, (int, Decimal)) and not isinstance(total, bool)
        self.orgs[o["id"]] = (text(tier) if graded else None,
                              text(name) if isinstance(name, str) else None,
                              shared.decimal(Decimal(total)) if number else None,
                              rank.get("round") if isinstance(rank, dict) else rank if isinstance(rank, int) else None,
                              str(std.get("id")) if isinstance(std, dict) else None)


def load_previous(results: Path | None) -> PreviousRound | None:
    """The previous round whose results are in `results` (its folder or results.json); None
    for a round that names none."""
    if results is None:
        return None
    with open_results(Path(results), _Collect, check=False) as src:
        header = src.header
        orgs = src.collected.orgs
    order = {sid: [t.get("id") for t in s.get("tiers") or []]
             for sid, s in (header.get("standards") or {}).items() if isinstance(s, dict)}
    out = {}
    for oid, (tier, tier_name, total, rank, standard) in orgs.items():
        tiers = order.get(standard) or []
        out[oid] = Previous(tier, total, tier is not None and bool(tiers) and tier == tiers[0],
                            tier is not None and bool(tiers) and tier == tiers[-1], tier_name, rank,
                            tiers.index(tier) if tier in tiers else None)
    rnd = header.get("round")
    pinned = {sid: s for sid, s in sorted((header.get("standards") or {}).items()) if isinstance(s, dict)}
    return PreviousRound(rnd if isinstance(rnd, dict) else {}, out, pinned)
