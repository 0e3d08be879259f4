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
   rank: floor(share × graded in the scope) places; `bottom: {n, scope}` the last n places
   ("last place in its street": n 1). Ties at the boundary are all included, and each
   entry's reason says with how many others it is tied.

Organizations marked by a flag-only veto (a veto's `mark`, e.g. 软弱涣散党组织) keep their tier
and their place in rank order; `marked` and `veto_count` select them, and every entry of a
marked organization names its mark.

An expression that needs a value an organization does not have (the tier of an organization
that was not graded) or that cannot be computed for it does not select it. Core module: no
report renderer imports here.
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Iterable, Mapping

from ..standard.listrules import (PREVIOUS_NAMES, compile_rule_expr, describe_expr, describe_rules, normalize_rules,
                                   rule_expressions, share)
from ..standard.plain import tier_names
from ..terms import SCOPES, scope_key, scope_label
from .engine import Exact, Lowering, Ruleset
from .placement import scope_value
from .rows import Row

__all__ = ["derive_lists", "lists_for_rows", "ListRules"]

# What the engine compares itself in list conditions (everything else is computed per fact).
_EXACT = {"tier": Exact("text"), "top_tier": Exact("bool"), "bottom_tier": Exact("bool"),
          "total": Exact("number", 2), "base": Exact("number", 2), "veto_count": Exact("number", 0),
          "rank": Exact("number", 0), "rank_district": Exact("number", 0), "rank_type": Exact("number", 0),
          "org.type": Exact("text"), "org.district": Exact("text"), "org.street": Exact("text"),
          "status": Exact("text"), "marked": Exact("bool"), "previous.tier": Exact("text"), "previous.total": Exact("number", 2),
          "previous.top_tier": Exact("bool"), "previous.bottom_tier": Exact("bool")}
_NO_PREVIOUS = dict.fromkeys(PREVIOUS_NAMES)     # an organization the previous round did not grade


def veto_marks(standards: Iterable) -> dict[str, dict[str, str]]:
    """standard id -> {veto criterion: its mark}, for the vetoes that mark (see module doc)."""
    return {s.id: {c.id: c.params[2] for c in s.criteria.values() if c.kind == "veto" and c.params[2]}
            for s in standards}


def row_marks(r: Row, marks: Mapping[str, Mapping[str, str]] | None) -> list[str]:
    """The marks of the vetoes row r hit (Row.vetoes: their criteria, "G9.2；G9.3")."""
    own = (marks or {}).get(r.standard)
    if not own or not r.vetoes:
        return []
    return list(dict.fromkeys(own[c] for c in r.vetoes.split("；") if c in own))


def _env(r: Row, order: list[str] | None, previous: Mapping | None = None, marked: bool = False) -> dict:
    tier = r.tier
    env = {"marked": marked,
        "tier": tier, "top_tier": None if tier is None or not order else tier == order[0],
        "bottom_tier": None if tier is None or not order else tier == order[-1],
        "total": r.total, "base": r.base, "bonus": r.bonus, "veto_count": Decimal(r.veto_count),
        "rank": _dec(r.rank_round), "rank_district": _dec(r.rank_district), "rank_type": _dec(r.rank_type),
        "org.type": r.type, "org.district": r.district or "", "org.street": r.street or "", "status": r.status,
    }
    before = previous.get(r.id) if previous else None
    if before is None:
        env.update(_NO_PREVIOUS)           # missing: a condition on it does not hold
    else:
        env.update({name: getattr(before, name[len("previous."):]) for name in PREVIOUS_NAMES})
    return env


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
    """A round's lists, kept so that one organization can change.

    Which rules each organization's fact fires is remembered (fired again only for
    organizations whose result, or, when a rule reads ranks, rank changed); the selection
    (step 1), the best n of each top-scope group (step 2) and the last share of each
    bottom-scope group (step 3) are kept per group, so a change recomputes only the groups it
    touches. `groups[scope][value]` are the graded organizations of each scope group in rank
    order, as sorted keys whose last item is the id and whose other items are equal exactly
    for organizations sharing a rank (evaluator.scoring.placement.Ranks keeps them so)."""

    def __init__(self, rules: Mapping | None, tiers: Mapping[str, list[str]], rows: list[Row],
                 groups: Mapping[str, Mapping[str, list[tuple]]], keys: Mapping[str, tuple] | None = None,
                 previous: Mapping | None = None, kind: str = "lists", marks: Mapping | None = None,
                 ranking: str | None = None):
        self.norm = normalize_rules(rules, kind=kind)
        self.ranking = ranking     # the round's ranking order as a sentence (placement.ranking_info)
        self.marks = marks         # standard -> {veto criterion: mark} (veto_marks)
        self.previous = previous
        self.tiers = tiers
        self.by_id = {r.id: r for r in rows}
        # tier ids -> names, for the printed rules and reasons: the round's standards', and
        # what its organizations were given
        self.names = tier_names(tiers)
        for r in rows:
            if r.tier is not None and r.tier_name and r.tier not in self.names:
                self.names[r.tier] = r.tier_name
        self.groups = groups
        # each graded organization's sorted key (shared with, and kept by, the rank structure)
        self.keys = keys if keys is not None else {k[-1]: k for k in groups["round"].get("", [])}
        exprs = [s for r in self.norm.values() for s in ([r["include"]] if "include" in r else []) + r.get("include_any", [])]
        self.reads_ranks = any(_RANK_NAMES & compile_rule_expr(s).names for s in exprs)
        self.engine = ListRules(self.norm) if exprs else None
        self.fired: dict[str, set[str]] = {}
        self.selected: dict[str, dict[str, list[str]]] = {lid: {} for lid in self.norm}
        self.kept: dict[str, dict[str, dict[str, list[str]]]] = {lid: {} for lid in self.norm}
        self.bottom: dict[str, dict[str, tuple]] = {lid: {} for lid in self.norm}     # group -> boundary
        for r in rows:
            self.fire(r)
            self._select(r)
        for lid, rule in self.norm.items():
            for part in ("top", "bottom"):
                if part in rule:
                    for value in list(groups[rule[part]["scope"]]):
                        self._group(lid, part, value)

    # -- step 1, per organization

    def fire(self, r: Row) -> None:
        if self.engine is None:
            return
        env = _env(r, self.tiers.get(r.standard), self.previous, bool(row_marks(r, self.marks)))
        hit = self.engine.run(env, f"organization {r.id}").rules
        if hit:
            self.fired[r.id] = set(hit)
        else:
            self.fired.pop(r.id, None)

    def _select(self, r: Row) -> None:
        for lid, rule in self.norm.items():
            why = _reasons(lid, rule, r, self.fired.get(r.id), self.names)
            if why is None:
                self.selected[lid].pop(r.id, None)
            else:
                self.selected[lid][r.id] = why

    # -- steps 2 and 3, per group

    def _group(self, lid: str, part: str, value: str) -> set[str]:
        """Steps 2 or 3 again for one group; the ids that entered or left it."""
        rule = self.norm[lid]
        scope = rule[part]["scope"]
        keys = self.groups[scope].get(value, [])
        if part == "top":
            target = self.kept[lid]
            was = target.get(value, {})
            now = _top(keys, self.selected[lid], rule["top"]["n"], scope, value)
            if now:
                target[value] = now
            else:
                target.pop(value, None)
            return set(was) ^ set(now)
        # bottom: kept as the group's boundary — a member is at or after it — so that a change
        # costs the rows between the old and the new boundary, not the whole last share
        target = self.bottom[lid]
        was_b = target.get(value)
        now_b = _bottom_boundary(keys, rule["bottom"])
        if now_b is None:
            target.pop(value, None)
        else:
            target[value] = now_b
        if was_b == now_b:
            return set()
        lo = min((b for b in (was_b, now_b) if b is not None))
        hi = max(was_b or lo, now_b or lo)
        # with no boundary on one side, everyone from the other boundary on entered or left
        end = len(keys) if was_b is None or now_b is None else bisect.bisect_left(keys, hi)
        return {k[-1] for k in keys[bisect.bisect_left(keys, lo):end]}

    def refresh(self, refire: set[str], moved_groups: dict[str, set[str]]) -> dict[str, set]:
        """After organizations' results or ranks changed: fire the rules again for `refire` (whose
        result changed, or rank when a rule reads ranks) and select them again, recompute the
        top/bottom groups in `moved_groups` (scope -> values). Returns who entered or left a
        recomputed group: id -> {(list, "top"|"bottom")}, so that `memberships(id, flipped)`
        tells what they were on before."""
        for rid in refire:
            r = self.by_id[rid]
            self.fire(r)
            self._select(r)
        flips: dict[str, set] = {}
        for lid, rule in self.norm.items():
            for part in ("top", "bottom"):
                if part in rule:
                    for value in moved_groups.get(rule[part]["scope"], ()):
                        for rid in self._group(lid, part, value):
                            flips.setdefault(rid, set()).add((lid, part))
        return flips

    def member(self, lid: str, rid: str, flipped: frozenset | set = frozenset()) -> bool:
        """Whether organization rid is on list lid (what `derive` would list), in O(1) (an
        organization is in one group of each scope); with the (list, part) pairs in `flipped`
        taken as the other way round (what it was before a refresh)."""
        rule, r = self.norm[lid], self.by_id[rid]
        if "top" in rule:
            inside = rid in self.kept[lid].get(scope_value(r, rule["top"]["scope"]), ())
            inside ^= (lid, "top") in flipped
        else:
            inside = rid in self.selected[lid]
        if "bottom" in rule:
            boundary, k = self.bottom[lid].get(scope_value(r, rule["bottom"]["scope"])), self.keys.get(rid)
            low = boundary is not None and k is not None and k >= boundary
            inside = inside or (low ^ ((lid, "bottom") in flipped))
        return inside

    def memberships(self, rid: str, flipped: frozenset | set = frozenset()) -> list[str]:
        """The lists organization rid is on (was on, with `flipped`, see `member`)."""
        return [lid for lid in self.norm if self.member(lid, rid, flipped)]

    def derive(self) -> dict:
        """The `lists` object of results.json: {id: {title, rules, description, entries: [...]}}."""
        out: dict = {}
        for lid, rule in self.norm.items():
            if "top" in rule:
                reasons = {rid: why for grp in self.kept[lid].values() for rid, why in grp.items()}
            else:
                reasons = dict(self.selected[lid])
            if "bottom" in rule:
                scope = rule["bottom"]["scope"]
                for value, boundary in self.bottom[lid].items():
                    for rid, line in _bottom_lines(self.groups[scope][value], boundary, rule["bottom"], scope, value):
                        reasons[rid] = reasons.get(rid, []) + [line]
            entries = [_entry(self.by_id[rid], why, row_marks(self.by_id[rid], self.marks), rule["title"])
                       for rid, why in reasons.items()]
            entries.sort(key=lambda e: (e["rank"] is None, e["rank"] or 0, e["organization"]))
            description = describe_rules(rule, self.names) + ranking_lines(rule, self.ranking)
            out[lid] = {"title": rule["title"], "rules": rule, "description": description, "entries": entries}
            if "rectification_deadline" in rule:
                out[lid]["rectification_deadline"] = rule["rectification_deadline"]
        return out

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()


def ranking_lines(rule: Mapping, ranking: str | None) -> list[str]:
    """The round's ranking sentence (placement.ranking_info) for a normalized rule whose
    places depend on rank (top, bottom, or a rank name); otherwise nothing."""
    if ranking and ("top" in rule or "bottom" in rule
                    or any(_RANK_NAMES & compile_rule_expr(e).names for e in rule_expressions(rule))):
        return [ranking]
    return []


def lists_for_rows(rows: Iterable[Row], groups: Mapping[str, Mapping[str, list[tuple]]], tiers: Mapping[str, list[str]],
                   rules: Mapping | None, previous: Mapping | None = None, kind: str = "lists",
                   marks: Mapping | None = None, ranking: str | None = None) -> dict:
    """The `lists` (or `designations`) object of results.json, in one go. `rows` every
    organization, `groups` its graded ones per scope group in rank order (see ListState),
    `tiers` standard id -> its tier ids best first, `rules` the round's `lists:` (None: the
    defaults), `previous` id -> the previous round's result (evaluator.scoring.previous)."""
    state = ListState(rules, tiers, list(rows), groups, previous=previous, kind=kind, marks=marks, ranking=ranking)
    try:
        return state.derive()
    finally:
        state.close()


def _reasons(lid: str, rule: Mapping, r: Row, hit: set[str] | None, names: Mapping[str, str]) -> list[str] | None:
    """Step 1: why organization r is selected (None: it is not)."""
    has_include, anys = "include" in rule, rule.get("include_any", [])
    if not has_include and not anys:
        return None if "bottom" in rule or not r.graded else []
    if not hit:
        return None
    why = []
    if has_include:
        if f"{lid}:include" not in hit:
            return None
        why.append("符合条件：" + describe_expr(rule["include"], names))
    if anys:
        matched = [s for i, s in enumerate(anys) if f"{lid}:any:{i}" in hit]
        if not matched:
            return None
        why += ["符合条件：" + describe_expr(s, names) for s in matched]
    return why


def _top(keys: list[tuple], selected: Mapping[str, list[str]], n: int, scope: str, value: str) -> dict[str, list[str]]:
    """Step 2 for one group: of the selected, the best n by rank; ties at the boundary all stay."""
    out: dict[str, list[str]] = {}
    pos, prev, start, run = 0, None, 0, []
    for k in keys:
        if k[-1] not in selected:
            continue
        pos += 1
        if k[:-1] != prev:                  # a new rank: the run of equals before it is complete
            _close_run(out, run, selected, scope, value)
            prev, start, run = k[:-1], pos, []
            if start > n:
                break
        run.append((k[-1], start))
    _close_run(out, run, selected, scope, value)
    return out


def _close_run(out, run, selected, scope, value) -> None:
    tie = "（并列）" if len(run) > 1 else ""
    for rid, pos in run:
        out[rid] = selected[rid] + [f"{scope_label(scope, value)}入选组织中第 {pos} 名{tie}"]


def _bottom_places(keys: list[tuple], bottom: Mapping) -> int:
    """How many of a group's last places step 3 lists: floor(share x graded), or n (at most
    the group's size)."""
    if "n" in bottom:
        return min(bottom["n"], len(keys))
    return int((share(bottom["share"]) * len(keys)).to_integral_value(ROUND_FLOOR))


def _bottom_boundary(keys: list[tuple], bottom: Mapping) -> tuple | None:
    """Step 3 for one group: the rank (key without the id) from which its organizations are in
    the lowest places (_bottom_places), ties at the boundary included; None: no places."""
    places = _bottom_places(keys, bottom)
    return keys[len(keys) - places][:-1] if places else None


def _bottom_lines(keys: list[tuple], boundary: tuple, bottom: Mapping, scope: str, value: str):
    """(id, reason) of each organization of a group from its bottom boundary on; organizations
    sharing a rank share its place, and their reasons say they are tied."""
    places = _bottom_places(keys, bottom)
    what = f"排名最后 {bottom['n']} 名" if "n" in bottom else f"排名后 {bottom['share']}"
    j = bisect.bisect_left(keys, boundary)
    while j < len(keys):
        end = j + 1
        while end < len(keys) and keys[end][:-1] == keys[j][:-1]:
            end += 1
        tie = f"；与其他 {end - j - 1} 个组织排名并列，同时列入" if end - j > 1 else ""
        for k in keys[j:end]:
            yield k[-1], (f"{scope_label(scope, value)}{what}（第 {j + 1} 名 / 共 {len(keys)} 个，"
                          f"后 {places} 名列入{tie}）")
        j = end


def _entry(r: Row, reasons: list[str], marks: list[str] = (), title: str = "") -> dict:
    entry = {"organization": r.id, "name": r.name, "district": r.district, "street": r.street, "type": r.type,
             "tier": r.tier, "tier_name": r.tier_name, "total": r.total, "rank": r.rank_round, "reasons": reasons}
    if marks:       # a flag-only veto's designation travels with the organization onto every list
        entry["marks"] = list(marks)
        # (a designation named as the mark needs no second line saying so)
        entry["reasons"] = reasons + [f"触发一票否决，认定为{m}" for m in marks if m != title]
    return entry


# ------------------------------------------------------------------ from a results payload

def derive_lists(results: Mapping, rules: Mapping | None) -> dict:
    """The lists of a results payload (results.json as read back, organizations in rank order):
    what reports use to draw lists for results written without them."""
    tiers = {sid: [t["id"] for t in s.get("tiers") or []] for sid, s in (results.get("standards") or {}).items()}
    rows = [_row_of(o) for o in results.get("organizations") or []]
    groups: dict[str, dict[str, list[tuple]]] = {s: defaultdict(list) for s in SCOPES}
    for r in sorted((r for r in rows if r.rank_round is not None), key=lambda r: (r.rank_round, r.id)):
        for s in SCOPES:          # the round's rank orders every group; equal ranks are ties
            groups[s][scope_key(s, r.district or "", r.street or "", r.type or "")].append((r.rank_round, r.id))
    # the marks of flag-only vetoes, as the organizations' vetoes record them
    marks: dict[str, dict[str, str]] = {}
    for o in results.get("organizations") or []:
        for v in o.get("vetoes") or []:
            if isinstance(v, Mapping) and v.get("mark"):
                marks.setdefault(str((o.get("standard") or {}).get("id")), {})[v.get("criterion")] = v["mark"]
    ranking = (results.get("ranking") or {}).get("description")
    return lists_for_rows(rows, groups, tiers, rules, marks=marks, ranking=ranking)


def _row_of(o: Mapping[str, Any]) -> Row:
    rank = o.get("rank") or {}
    num = lambda v: None if v is None or isinstance(v, bool) else Decimal(v)    # noqa: E731
    row = Row(id=str(o.get("id")), name=o.get("name"), type=o.get("type"), district=o.get("district"),
              street=o.get("street"), standard=str((o.get("standard") or {}).get("id")),
              graded=o.get("status") == "graded", total=num(o.get("total")), base=num(o.get("base")),
              bonus=num(o.get("bonus")), veto_count=len(o.get("vetoes") or []),
              vetoes="；".join(str(v.get("criterion")) for v in o.get("vetoes") or [] if isinstance(v, Mapping)), findings=0, lost=0,
              sort_key=(), tier_index=None, tier=o.get("tier"), tier_name=o.get("tier_name"))
    for scope in ("round", "district", "street", "type"):
        v = rank.get(scope)
        setattr(row, "rank_" + scope, None if v is None else int(v))
    return row
