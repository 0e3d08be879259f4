"""A declared distribution of tier shares (`grading.distribution`, docs/FORMATS.md §1 Grading):
"about 10% / 30% / 40% / 20% for five to two stars", each share a cap, a floor or a target
with a tolerance. Checked when the standard loads; `evaluator.scoring.placement` allocates it
by rank. Each share becomes a count range over the graded organizations of a scope group:

- `max: 10%`  (cap)    at most floor(10% × N);
- `min: 20%`  (floor)  at least ceil(20% × N);
- `target: 30%, tolerance: 5%`  between ceil(25% × N) and floor(35% × N); when that range is
  empty (a small group, or no tolerance) exactly 30% × N rounded half up.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Callable, Mapping, Sequence

from ..terms import SCOPES, pct
from .quantity import NormalizeError, read_share

ZERO = Decimal(0)
KINDS = ("max", "min", "target")


@dataclass(frozen=True)
class Share:
    tier: str
    kind: str                      # max (cap) | min (floor) | target
    share: Decimal
    tolerance: Decimal = ZERO

    def bounds(self, n: int) -> tuple[int, int]:
        """The allowed count range (low, high) of this tier among n graded organizations."""
        if self.kind == "max":
            return 0, _whole(self.share * n, ROUND_FLOOR)
        if self.kind == "min":
            return min(n, _whole(self.share * n, ROUND_CEILING)), n
        lo = max(0, _whole((self.share - self.tolerance) * n, ROUND_CEILING))
        hi = min(n, _whole((self.share + self.tolerance) * n, ROUND_FLOOR))
        if lo > hi:
            lo = hi = min(n, _whole(self.share * n, ROUND_HALF_UP))
        return lo, hi

    def text(self, tier_name: str) -> str:
        """'五星级 不超过 10%', '三星级 不少于 40%', '四星级 约 30%（±5%）' (for reasons and documents)."""
        if self.kind == "max":
            return f"{tier_name} 不超过 {pct(self.share, 2)}"
        if self.kind == "min":
            return f"{tier_name} 不少于 {pct(self.share, 2)}"
        tol = f"（±{pct(self.tolerance, 2)}）" if self.tolerance else ""
        return f"{tier_name} 约 {pct(self.share, 2)}{tol}"


@dataclass(frozen=True)
class Distribution:
    scope: str
    shares: tuple[Share, ...]      # in the standard's tier order, best first


def _whole(d: Decimal, rounding) -> int:
    return int(d.to_integral_value(rounding))


def _share(value: Any) -> Decimal:
    """A share as standards write one (quantity.read_share: '10%', '１０％', 0.1)."""
    try:
        d = read_share(value)
    except NormalizeError:
        raise InvalidOperation from None
    if not ZERO <= d <= 1:           # '120%' reads as a share, but no tier can hold more than all
        raise InvalidOperation
    return d


def compile_distribution(raw: Any, tier_ids: Sequence[str], fail: Callable[[tuple, str], None]) -> Distribution | None:
    """`grading.distribution` as written ({scope, tiers: [{tier, max|min|target, tolerance}]})
    checked against the standard's tiers. `fail(sub_path, message)` reports at the key and
    raises. None when there is none."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("tiers"), list) or not raw["tiers"]:
        fail((), "expected {scope: round|district|street|type, tiers: [{tier: A, max: 10%}, ...]}")
    scope = raw.get("scope", "round")
    if scope not in SCOPES:
        fail(("scope",), f"unknown scope {scope!r} (one of {', '.join(SCOPES)})")
    shares: dict[str, Share] = {}
    for i, item in enumerate(raw["tiers"]):
        kinds = [k for k in KINDS if isinstance(item, dict) and k in item]
        if not isinstance(item, dict) or len(kinds) != 1:
            fail(("tiers", i), "each tier takes exactly one of max (a cap), min (a floor) or target (with an optional tolerance)")
        tid = item.get("tier")
        if tid not in tier_ids:
            fail(("tiers", i, "tier"), f"unknown tier {tid!r} (tiers: {', '.join(tier_ids)})")
        if tid in shares:
            fail(("tiers", i, "tier"), f"tier {tid!r} is given twice")
        kind = kinds[0]
        if "tolerance" in item and kind != "target":
            fail(("tiers", i, "tolerance"), "a tolerance belongs to a target share")
        values = {}
        for key in (kind, "tolerance"):
            if key in item:
                try:
                    values[key] = _share(item[key])
                except (InvalidOperation, ValueError):
                    fail(("tiers", i, key), f"expected a share such as '10%' (0% to 100%), got {item[key]!r}")
        shares[tid] = Share(tid, kind, values[kind], values.get("tolerance", ZERO))
    floors = sum((s.share for s in shares.values() if s.kind == "min"), ZERO)
    if floors > 1:
        fail(("tiers",), f"the floors (min) add up to {pct(floors, 2)}, more than every organization")
    return Distribution(scope, tuple(shares[t] for t in tier_ids if t in shares))


def range_text(kind: str, lo: int, hi: int) -> str:
    """A share's count range as its reasons and the 通报 state it: '最多 2 个', '至少 3 个',
    '应有 3 至 5 个'."""
    if kind == "max":
        return f"最多 {hi} 个"
    if kind == "min":
        return f"至少 {lo} 个"
    return f"应有 {lo} 个" if lo == hi else f"应有 {lo} 至 {hi} 个"


# How a declared distribution is allocated, as the published rules (agrade doc) state it once.
ALLOCATION_RULE = ("按排名分配：某档超过比例时，该档排序最后的组织调至下一档；低于下限或目标时，由以下各档中排序靠前、"
                   "且不受一票否决和档次条件限制的组织调入；最低档次只统计不调整；名额限制在其后执行并优先")


def report_line(row: Mapping[str, Any], tier_name: str, where: str) -> str:
    """One entry of results.json's `distribution` as the terminal summary prints it:
    '档次比例 A档 不超过 20%（区县“东区”）：2/10 达标'."""
    share = Share(str(row["tier"]), row["rule"], Decimal(str(row["share"])), Decimal(str(row.get("tolerance") or 0)))
    return (f"档次比例 {share.text(tier_name)}（{where}）：{row['count']}/{row['graded']} "
            f"{'达标' if row['met'] else '未达标'}")
