"""Red and black lists (红黑榜) from a round's results and the list rules (docs/FORMATS.md §4).

A list is built in three steps, each printed on the published document:

1. `include` (every condition must hold) and `include_any` (any one is enough) select
   organizations by expressions over their result. A list with neither starts from every
   graded organization, or from none when it only has `bottom`.
2. `top: {n, scope}` keeps, of those, the best `n` by rank in each scope (district, street,
   type or the whole round). Organizations sharing a rank at the boundary are all kept
   (并列), so a scope may list more than `n`; ungraded organizations have no rank and drop out.
3. `bottom: {share, scope}` adds the lowest `share` of each scope's graded organizations by
   rank: floor(share × graded in the scope) places, ties at the boundary included.

An expression that needs a value an organization does not have (the tier of an organization
that was not graded) does not select it. Core module: no report renderer imports here.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Mapping

from ..standard.expr import EvalError, MissingValue
from ..standard.listrules import compile_rule_expr, describe_expr, describe_rules, normalize_rules, share
from ..terms import scope_key, scope_label

__all__ = ["derive_lists"]

# ------------------------------------------------------------------ deriving

def _num(v: Any) -> Decimal | None:
    """Result numbers arrive as Decimal or int (results.json is read with parse_float=Decimal)."""
    return None if v is None or isinstance(v, bool) else Decimal(v)


def _rank(org: Mapping, scope: str = "round") -> int | None:
    r = (org.get("rank") or {}).get(scope)
    return None if r is None else int(r)


def _env(org: Mapping, tiers: Mapping[str, list[str]]) -> dict:
    """What list expressions see of one organization. `tiers` maps a standard id to its tier
    ids, best first, for top_tier / bottom_tier."""
    order = tiers.get(str((org.get("standard") or {}).get("id")), [])
    tier = org.get("tier")
    return {
        "tier": tier, "top_tier": None if tier is None or not order else tier == order[0],
        "bottom_tier": None if tier is None or not order else tier == order[-1],
        "total": _num(org.get("total")), "base": _num(org.get("base")),
        "bonus": _num(org.get("bonus")), "veto_count": Decimal(len(org.get("vetoes") or [])),
        "rank": _num(_rank(org)), "rank_district": _num(_rank(org, "district")),
        "rank_type": _num(_rank(org, "type")), "org.type": org.get("type"),
        "org.district": org.get("district") or "", "org.street": org.get("street") or "",
        "status": org.get("status"),
    }


def _matches(expr, env: dict) -> bool:
    """Documented: a rule that needs a value the organization does not have (the tier of an
    ungraded one) or cannot be computed for it (a division by zero) does not select it; the
    round was checked when it loaded, so nothing is refused this late."""
    try:
        return bool(expr.evaluate(env))
    except (MissingValue, EvalError):
        return False


def _scope_key(org: Mapping, scope: str) -> str:
    return scope_key(scope, str(org.get("district") or ""), str(org.get("street") or ""), str(org.get("type") or ""))


def _positions(orgs: list[Mapping]) -> list[int]:
    """Competition positions ("1224") of organizations already in rank order."""
    out, prev, prev_pos = [], None, 0
    for i, o in enumerate(orgs, start=1):
        r = _rank(o)
        if r != prev:
            prev, prev_pos = r, i
        out.append(prev_pos)
    return out


def derive_lists(results: Mapping, rules: Mapping | None) -> dict:
    """The `lists` object of results.json: {id: {title, rules, description, entries: [...]}}.

    `results` is the results payload (organizations in rank order, numbers as Decimal or
    int); `rules` the round's `lists:` mapping, None for DEFAULT_LISTS.
    """
    norm = normalize_rules(rules)
    tiers = {sid: [t["id"] for t in s.get("tiers") or []] for sid, s in (results.get("standards") or {}).items()}
    orgs = list(results.get("organizations") or [])
    ranked = sorted((o for o in orgs if _rank(o) is not None), key=lambda o: (_rank(o), str(o.get("id"))))
    out: dict = {}
    for lid, rule in norm.items():
        reasons = _select(rule, orgs, tiers)
        if "top" in rule:
            reasons = _keep_top(reasons, ranked, rule["top"]["n"], rule["top"]["scope"])
        if "bottom" in rule:
            _add_bottom(reasons, ranked, rule["bottom"]["share"], rule["bottom"]["scope"])
        entries = [_entry(o, reasons[str(o.get("id"))]) for o in orgs if str(o.get("id")) in reasons]
        entries.sort(key=lambda e: (e["rank"] is None, e["rank"] or 0, e["organization"]))
        out[lid] = {"title": rule["title"], "rules": rule, "description": describe_rules(rule),
                    "entries": entries}
    return out


def _select(rule: Mapping, orgs: list[Mapping], tiers: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Step 1: organization id -> the reasons it was selected, in results order. (The rule was
    checked by normalize_rules, so compiling cannot fail here.)"""
    include = compile_rule_expr(rule["include"]) if "include" in rule else None
    anys = [(compile_rule_expr(s), s) for s in rule.get("include_any", [])]
    if include is None and not anys:
        return {} if "bottom" in rule else {str(o.get("id")): [] for o in orgs if o.get("status") == "graded"}
    reasons: dict[str, list[str]] = {}
    for org in orgs:
        oid, env = str(org.get("id")), _env(org, tiers)
        why = []
        if include is not None:
            if not _matches(include, env):
                continue
            why.append("符合条件：" + describe_expr(rule["include"]))
        if anys:
            hit = [s for e, s in anys if _matches(e, env)]
            if not hit:
                continue
            why += ["符合条件：" + describe_expr(s) for s in hit]
        reasons[oid] = why
    return reasons


def _groups(orgs: list[Mapping], scope: str) -> dict[str, list[Mapping]]:
    groups: dict[str, list[Mapping]] = defaultdict(list)
    for o in orgs:
        groups[_scope_key(o, scope)].append(o)
    return groups


def _keep_top(reasons: dict[str, list[str]], ranked: list[Mapping], n: int, scope: str) -> dict[str, list[str]]:
    """Step 2: of the selected, the best n by rank per scope; ties at the boundary all stay."""
    kept: dict[str, list[str]] = {}
    for key, group in _groups([o for o in ranked if str(o.get("id")) in reasons], scope).items():
        shared = Counter(_rank(o) for o in group)
        for o, pos in zip(group, _positions(group)):
            if pos <= n:
                tie = "（并列）" if shared[_rank(o)] > 1 else ""
                kept[str(o["id"])] = reasons[str(o["id"])] + [
                    f"{scope_label(scope, key)}入选组织中第 {pos} 名{tie}"]
    return kept


def _add_bottom(reasons: dict[str, list[str]], ranked: list[Mapping], share_text: str, scope: str) -> None:
    """Step 3: add floor(share x graded) lowest-ranked per scope, ties at the boundary included."""
    fraction = share(share_text)
    for key, group in _groups(ranked, scope).items():      # ranked organizations are the graded ones
        places = int((fraction * len(group)).to_integral_value(ROUND_FLOOR))
        if places == 0:
            continue
        cutoff = _rank(group[len(group) - places])
        for o, pos in zip(group, _positions(group)):
            if _rank(o) >= cutoff:
                reasons.setdefault(str(o["id"]), []).append(
                    f"{scope_label(scope, key)}排名后 {share_text}（第 {pos} 名 / 共 {len(group)} 个，后 {places} 名列入）")


def _entry(o: Mapping, reasons: list[str]) -> dict:
    return {"organization": str(o.get("id")), "name": o.get("name"), "district": o.get("district"),
            "street": o.get("street"), "type": o.get("type"), "tier": o.get("tier"),
            "tier_name": o.get("tier_name"), "total": o.get("total"), "rank": _rank(o), "reasons": reasons}


