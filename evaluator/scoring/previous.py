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
"""
from __future__ import annotations

from dataclasses import dataclass
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


@dataclass
class PreviousRound:
    round: dict                          # results.json's `round` of the previous round
    organizations: dict[str, Previous]   # id -> its result there

    def graded(self) -> dict[str, Previous]:
        """Those the previous round placed in a tier (what list rules read)."""
        return {k: v for k, v in self.organizations.items() if v.tier is not None}


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
                            tier is not None and bool(tiers) and tier == tiers[-1], tier_name, rank)
    rnd = header.get("round")
    return PreviousRound(rnd if isinstance(rnd, dict) else {}, out)
