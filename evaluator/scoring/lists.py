"""Red and black lists (红黑榜) from a ranked round and the list rules (docs/FORMATS.md §4).

A list is built in three steps, each printed on the published document:

1. `include` (every condition must hold) and `include_any` (any one is enough) select
   organizations by expressions over their result. The rules engine (durable-rules) matches
   these conditions over one fact per organization (evaluator.scoring.engine lowers them). A
   list with neither starts from every graded organization, or from none when it only has
   `bottom`.
2. `top: {n, scope}` keeps, of those, the best `n` by rank in each scope (district, street,
   type or the whole round). Organizations sharing a rank at the boundary are all kept
   (并列), so a scope may list more than `n`; ungraded organizations have no rank and drop out.
3. `bottom: {share, scope}` adds the lowest `share` of each scope's graded organizations by
   rank: floor(share × graded in the scope) places, ties at the boundary included.

An expression that needs a value an organization does not have (the tier of an organization
that was not graded) or that cannot be computed for it does not select it. Core module: no
report renderer imports here.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Iterable, Mapping

from ..standard.listrules import compile_rule_expr, describe_expr, describe_rules, normalize_rules, share
from ..terms import scope_key, scope_label
from .engine import Exact, Lowering, Ruleset
from .rows import Row

__all__ = ["derive_lists", "lists_for_rows", "ListRules"]

# What the engine compares itself in list conditions (everything else is computed per fact).
_EXACT = {"tier": Exact("text"), "top_tier": Exact("bool"), "bottom_tier": Exact("bool"),
          "total": Exact("number", 2), "base": Exact("number", 2), "veto_count": Exact("number", 0),
          "rank": Exact("number", 0), "rank_district": Exact("number", 0), "rank_type": Exact("number", 0),
          "org.type": Exact("text"), "org.district": Exact("text"), "org.street": Exact("text"),
          "status": Exact("text")}


def _env(r: Row, order: list[str] | None) -> dict:
    tier = r.tier
    return {
        "tier": tier, "top_tier": None if tier is None or not order else tier == order[0],
        "bottom_tier": None if tier is None or not order else tier == order[-1],
        "total": r.total, "base": r.base, "bonus": r.bonus, "veto_count": Decimal(r.veto_count),
        "rank": _dec(r.rank_round), "rank_district": _dec(r.rank_district), "rank_type": _dec(r.rank_type),
        "org.type": r.type, "org.district": r.district or "", "org.street": r.street or "", "status": r.status,
    }


def _dec(v):
    return None if v is None else Decimal(v)


class ListRules(Ruleset):
    """Every list's selection conditions as durable-rules rules, matched over one fact per
    organization: `<list>:include` and `<list>:any:<i>` fire for the conditions that hold."""

    def __init__(self, norm: Mapping[str, Mapping]):
        super().__init__("lists", Lowering(_EXACT))
        for lid, rule in norm.items():
            if "include" in rule:
                self.add(f"{lid}:include", self.lowering.lower(compile_rule_expr(rule["include"])).T, 0)
            for i, src in enumerate(rule.get("include_any", [])):
                self.add(f"{lid}:any:{i}", self.lowering.lower(compile_rule_expr(src)).T, i)


_RANK_NAMES = frozenset({"rank", "rank_district", "rank_type"})


class ListState:
    """A round's lists, kept so that one organization can change: which rules each
    organization's fact fires is remembered, and fired again only for organizations whose
    result (or, when a rule reads ranks, rank) changed."""

    def __init__(self, rules: Mapping | None, tiers: Mapping[str, list[str]], rows: list[Row]):
        self.norm = normalize_rules(rules)
        self.tiers = tiers
        self.rows = rows
        exprs = [s for r in self.norm.values() for s in ([r["include"]] if "include" in r else []) + r.get("include_any", [])]
        self.reads_ranks = any(_RANK_NAMES & compile_rule_expr(s).names for s in exprs)
        self.engine = ListRules(self.norm) if exprs else None
        self.fired: dict[str, set[str]] = {}
        for r in rows:
            self.fire(r)

    def fire(self, r: Row) -> None:
        if self.engine is None:
            return
        hit = self.engine.run(_env(r, self.tiers.get(r.standard)), f"organization {r.id}").rules
        if hit:
            self.fired[r.id] = set(hit)
        else:
            self.fired.pop(r.id, None)

    def derive(self, ranked: list[Row]) -> dict:
        """The `lists` object of results.json: {id: {title, rules, description, entries: [...]}}
        (`ranked`: the graded rows in rank order, ranks assigned)."""
        out: dict = {}
        for lid, rule in self.norm.items():
            reasons = _select(lid, rule, self.rows, self.fired)
            if "top" in rule:
                reasons = _keep_top(reasons, ranked, rule["top"]["n"], rule["top"]["scope"])
            if "bottom" in rule:
                _add_bottom(reasons, ranked, rule["bottom"]["share"], rule["bottom"]["scope"])
            entries = [_entry(r, reasons[r.id]) for r in self.rows if r.id in reasons]
            entries.sort(key=lambda e: (e["rank"] is None, e["rank"] or 0, e["organization"]))
            out[lid] = {"title": rule["title"], "rules": rule, "description": describe_rules(rule), "entries": entries}
        return out

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()


def lists_for_rows(rows: Iterable[Row], ranked: list[Row], tiers: Mapping[str, list[str]],
                   rules: Mapping | None) -> dict:
    """The `lists` object of results.json, in one go. `rows` every organization (registry
    order), `ranked` the graded ones in rank order, `tiers` standard id -> its tier ids best
    first, `rules` the round's `lists:` (None: the defaults)."""
    state = ListState(rules, tiers, list(rows))
    try:
        return state.derive(ranked)
    finally:
        state.close()


def _select(lid: str, rule: Mapping, rows: list[Row], fired: Mapping[str, set[str]]) -> dict[str, list[str]]:
    """Step 1: organization id -> the reasons it was selected, in registry order."""
    has_include, anys = "include" in rule, rule.get("include_any", [])
    if not has_include and not anys:
        return {} if "bottom" in rule else {r.id: [] for r in rows if r.graded}
    reasons: dict[str, list[str]] = {}
    for r in rows:
        hit = fired.get(r.id)
        if not hit:
            continue
        why = []
        if has_include:
            if f"{lid}:include" not in hit:
                continue
            why.append("符合条件：" + describe_expr(rule["include"]))
        if anys:
            matched = [s for i, s in enumerate(anys) if f"{lid}:any:{i}" in hit]
            if not matched:
                continue
            why += ["符合条件：" + describe_expr(s) for s in matched]
        reasons[r.id] = why
    return reasons


def _groups(rows: Iterable[Row], scope: str) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        groups[scope_key(scope, r.district or "", r.street or "", r.type or "")].append(r)
    return groups


def _positions(rows: list[Row]) -> list[int]:
    """Competition positions ("1224") of organizations already in rank order."""
    out, prev, prev_pos = [], None, 0
    for i, r in enumerate(rows, start=1):
        if r.rank_round != prev:
            prev, prev_pos = r.rank_round, i
        out.append(prev_pos)
    return out


def _keep_top(reasons: dict[str, list[str]], ranked: list[Row], n: int, scope: str) -> dict[str, list[str]]:
    """Step 2: of the selected, the best n by rank per scope; ties at the boundary all stay."""
    kept: dict[str, list[str]] = {}
    for key, group in _groups([r for r in ranked if r.id in reasons], scope).items():
        shared = Counter(r.rank_round for r in group)
        for r, pos in zip(group, _positions(group)):
            if pos <= n:
                tie = "（并列）" if shared[r.rank_round] > 1 else ""
                kept[r.id] = reasons[r.id] + [f"{scope_label(scope, key)}入选组织中第 {pos} 名{tie}"]
    return kept


def _add_bottom(reasons: dict[str, list[str]], ranked: list[Row], share_text: str, scope: str) -> None:
    """Step 3: add floor(share x graded) lowest-ranked per scope, ties at the boundary included."""
    fraction = share(share_text)
    for key, group in _groups(ranked, scope).items():      # ranked organizations are the graded ones
        places = int((fraction * len(group)).to_integral_value(ROUND_FLOOR))
        if places == 0:
            continue
        cutoff = group[len(group) - places].rank_round
        for r, pos in zip(group, _positions(group)):
            if r.rank_round >= cutoff:
                reasons.setdefault(r.id, []).append(
                    f"{scope_label(scope, key)}排名后 {share_text}（第 {pos} 名 / 共 {len(group)} 个，后 {places} 名列入）")


def _entry(r: Row, reasons: list[str]) -> dict:
    return {"organization": r.id, "name": r.name, "district": r.district, "street": r.street, "type": r.type,
            "tier": r.tier, "tier_name": r.tier_name, "total": r.total, "rank": r.rank_round, "reasons": reasons}


# ------------------------------------------------------------------ from a results payload

def derive_lists(results: Mapping, rules: Mapping | None) -> dict:
    """The lists of a results payload (results.json as read back, organizations in rank order):
    what reports use to draw lists for results written without them."""
    tiers = {sid: [t["id"] for t in s.get("tiers") or []] for sid, s in (results.get("standards") or {}).items()}
    rows = [_row_of(o) for o in results.get("organizations") or []]
    ranked = sorted((r for r in rows if r.rank_round is not None), key=lambda r: (r.rank_round, r.id))
    return lists_for_rows(rows, ranked, tiers, rules)


def _row_of(o: Mapping[str, Any]) -> Row:
    rank = o.get("rank") or {}
    num = lambda v: None if v is None or isinstance(v, bool) else Decimal(v)    # noqa: E731
    row = Row(id=str(o.get("id")), name=o.get("name"), type=o.get("type"), district=o.get("district"),
              street=o.get("street"), standard=str((o.get("standard") or {}).get("id")),
              graded=o.get("status") == "graded", total=num(o.get("total")), base=num(o.get("base")),
              bonus=num(o.get("bonus")), veto_count=len(o.get("vetoes") or []), vetoes="", findings=0, lost=0,
              sort_key=(), tier_index=None, tier=o.get("tier"), tier_name=o.get("tier_name"))
    for scope in ("round", "district", "street", "type"):
        v = rank.get(scope)
        setattr(row, "rank_" + scope, None if v is None else int(v))
    return row
