"""Evaluate a whole round: evidence -> outcomes -> grades -> quotas -> ranks -> results.

`evaluate_round` returns the scored payload as plain data (Decimal numbers, ISO dates);
`evaluator.scoring.results` writes it. Nothing here depends on time or host, so the same inputs
give the same payload (design invariant 2).
"""
from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any, Callable

from .. import __version__
from .criteria import score_all
from .engine import ConcludingRules
from ..errors import InputError, Issue
from ..intake.evidence import collect, resolve
from .grading import Grade, grade, place
from .lists import derive_lists
from ..terms import ORG_TYPES
from ..model import Evidence, Organization, Outcome, Standard
from .ranking import Entry, apply_quotas, rank, target_report
from ..intake.rounds import Round

Progress = Callable[[int, int], None]


def with_round_overrides(std: Standard, override: dict) -> Standard:
    """Round-level grading overrides (quotas, target, tie_breaks) replace the standard's."""
    from ..model import Quota, Target
    from ..standard.loader import _dec
    g = std.grading
    changes = {}
    if "quotas" in override:
        changes["quotas"] = tuple(Quota(q["tier"], _dec(q["max_share"]), q["scope"]) for q in override["quotas"])
    if "target" in override:
        t = override["target"]
        changes["target"] = Target(t["tier"], _dec(t["min_share"]), t.get("scope", "round"))
    if not changes:
        return std
    return dataclasses.replace(std, grading=dataclasses.replace(g, **changes))


def evaluate_round(rnd: Round, progress: Progress | None = None) -> dict[str, Any]:
    standards = {t: with_round_overrides(s, rnd.grading_override) for t, s in rnd.standards.items()}
    resolved, evidence_digest, files = load_evidence(rnd, standards)
    payload = evaluate_organizations(rnd.organizations, resolved, standards, rnd.period, rnd.waivers, progress)
    payload["round"] = {"id": rnd.id, "title": rnd.title, "issuer": rnd.issuer,
                        "period": {"from": rnd.period[0].isoformat(), "to": rnd.period[1].isoformat()}}
    for key in ("issued_on", "rectification_deadline"):
        if rnd.raw.get(key):
            payload["round"][key] = rnd.raw[key].isoformat()
    payload["evidence_digest"] = evidence_digest
    payload["evidence_files"] = len(files)
    payload["lists"] = derive_lists(payload, rnd.lists)
    return _ordered(payload)


def load_evidence(rnd: Round, standards: dict[str, Standard] | None = None):
    """Read and normalize all of a round's evidence, so bad input stops the run before anything
    is scored; `agrade validate` runs exactly this. Returns (evidence by org, digest, files)."""
    standards = standards or rnd.standards
    raw, digest, files, notices = collect(rnd.evidence_paths)
    rnd.notices += [n for n in notices if n not in rnd.notices]
    by_id = {o.id: o for o in rnd.organizations}
    issues: list[Issue] = []
    import difflib
    for n, u in enumerate(sorted(set(raw) - set(by_id))):
        # at the first place the organization is named (its `organization` key, its row's cell)
        w = raw[u].where or next((e for f in raw[u].fields.values() for e in f.where.values()), None) \
            or Issue(sorted(raw[u].files)[0] if raw[u].files else "evidence", 0, 0, "$.organization")
        hint = difflib.get_close_matches(u, list(by_id), 1) if n < 20 else []    # a hint costs a registry scan
        issues.append(Issue(w.file, w.line, w.col, w.path, f"evidence for organization '{u}', which is not in the registry"
                            + (f"; did you mean '{hint[0]}'?" if hint else "")))
    resolved: dict[str, Evidence] = {}
    for org in rnd.organizations:
        ev, errs = resolve(raw.get(org.id), org.id, standards[org.type])
        resolved[org.id] = ev
        issues += errs
    if issues:
        raise InputError(issues)
    return resolved, digest, files


def evaluate_organizations(orgs: list[Organization], evidence: dict[str, Evidence], standards: dict[str, Standard],
                           period, waivers=None, progress: Progress | None = None) -> dict[str, Any]:
    """Score, grade and rank organizations whose evidence is already resolved."""
    rulesets: dict[str, ConcludingRules] = {}
    graded: list[tuple[Organization, Standard, Evidence, list[Outcome], list[Outcome] | None, Grade]] = []
    try:
        for n, org in enumerate(orgs, start=1):
            std = standards[org.type]
            rules = rulesets.get(std.id)
            if rules is None:
                rules = rulesets[std.id] = ConcludingRules(std)
            ev = evidence.get(org.id) or Evidence(org.id)
            outcomes, own = score_all(std, org, ev, period, waivers)
            graded.append((org, std, ev, outcomes, own, grade(std, org, ev, outcomes, own, period, rules)))
            if progress:
                progress(n, len(orgs))
    finally:
        for rules in rulesets.values():
            rules.close()

    tie_breaks = _tie_breaks(list(standards.values()))
    entries = {}
    for org, std, ev, outcomes, own, g in graded:
        keys = {"total": g.total, "base": g.base, "bonus": g.bonus, "veto_count": Decimal(len(g.vetoes)),
                "reviewed_share": g.reviewed_share}
        keys.update({f"section:{k}": v for k, v in g.sections.items()})
        tier_idx = std.grading.tier_index(g.tier) if g.tier else None
        replace = (lambda idx, reasons, g=g, grading=std.grading: place(grading, idx, g.caps, g.gate_failures, reasons)) \
            if g.status == "graded" else None
        entries[org.id] = Entry(org.id, org.district, org.street, org.type, g.status == "graded", tier_idx, keys,
                                std.grading, reasons=list(g.tier_reasons), place=replace)
    apply_quotas(list(entries.values()), tie_breaks)
    ranks = {scope: rank(list(entries.values()), tie_breaks, scope) for scope in ("round", "district", "type")}
    results = [_org_result(org, std, ev, outcomes, own, g, entries[org.id], ranks) for org, std, ev, outcomes, own, g in graded]
    results.sort(key=lambda r: (r["rank"]["round"] is None, r["rank"]["round"] or 0, r["id"]))
    used = {s.id: s for s in standards.values()}
    return {
        "agrade_version": __version__,
        "standards": {sid: {"version": s.version, "title": s.title, "digest": s.digest, "lineage": list(s.lineage),
                            "tiers": [{"id": t.id, "name": t.name, "min": t.min} for t in s.grading.tiers],
                            "base": s.grading.base, "bonus_cap": s.grading.bonus_cap,
                            "components": [{"id": c.id, "label": c.label, "source": c.source, "weight": c.weight}
                                           for c in s.grading.components],
                            "fields": {f.id: {"label": f.label, "type": f.type, **({"unit": f.unit} if f.unit else {})}
                                       for f in s.fields.values()}}
                      for sid, s in sorted(used.items())},
        "tie_breaks": [f"{k} {'desc' if d else 'asc'}" for k, d in tie_breaks],
        "summary": _summary(results, list(entries.values()), standards),
        "organizations": results,
    }


def _tie_breaks(stds: list[Standard]):
    """The round's tie-breaks; load_round has already checked that its standards agree."""
    return stds[0].grading.tie_breaks


def _org_result(org, std: Standard, ev: Evidence, outcomes, own, g: Grade, entry: Entry, ranks) -> dict:
    tiers = std.grading.tiers
    tier = tiers[entry.tier_index].id if entry.tier_index is not None else None
    own_by_id = {o.criterion: o for o in own} if own else {}
    criteria = []
    for o in outcomes:
        c = std.criteria[o.criterion]
        item = {"id": c.id, "section": c.section, "title": c.title, "method": c.method, "kind": c.kind,
                "outcome": o.outcome, "points": o.points, "max_points": o.max_points, "reason": o.reason,
                "evidence": {k: v for k, v in o.evidence}, "rectification": c.rectification}
        if c.id in own_by_id:
            item["self_outcome"] = own_by_id[c.id].outcome
            item["self_points"] = own_by_id[c.id].points
        criteria.append(item)
    return {
        "id": org.id, "name": org.name, "type": org.type, "type_name": ORG_TYPES.get(org.type, org.type),
        "district": org.district, "street": org.street, "parent": org.parent,
        **({"responsible": org.responsible} if org.responsible else {}),
        "standard": {"id": std.id, "version": std.version},
        "status": g.status, "total": g.total, "base": g.base, "bonus": g.bonus, "components": g.components,
        "reviewed_share": g.reviewed_share, "tier": tier, "tier_name": std.grading.tier_name(tier),
        "tier_before_quota": tiers[entry.tier_before_quota].id if entry.tier_before_quota is not None else None,
        "tier_reasons": entry.reasons,
        "rank": {scope: ranks[scope].get(org.id) for scope in ("round", "district", "type")},
        "sections": [{"id": s.id, "title": s.title, "points": g.sections[s.id],
                      "max_points": sum((std.criteria[c].points for c in s.criteria if std.criteria[c].kind == "base"), Decimal(0))}
                     for s in std.sections],
        "criteria": criteria, "vetoes": g.vetoes,
        "findings": [{"kind": f.kind, "field": f.field, "self": f.self_value, "verified": f.verified_value,
                      "message": f.message} for f in ev.findings],
        "provenance": dict(sorted(ev.provenance.items())),
    }


def _summary(results: list[dict], entries: list[Entry], standards) -> dict:
    def count(key):
        out: dict[str, dict[str, int]] = {}
        for r in results:
            k = r[key] if key else "all"
            bucket = out.setdefault(k, {})
            t = r["tier"] or "not_graded"
            bucket[t] = bucket.get(t, 0) + 1
        return dict(sorted(out.items()))
    targets = []
    seen = set()
    for std in sorted({s.id: s for s in standards.values()}.values(), key=lambda s: s.id):
        t = std.grading.target
        if t and (t.tier, t.min_share, t.scope) not in seen:
            seen.add((t.tier, t.min_share, t.scope))
            # only the organizations whose standard sets this target are measured against it
            targets += target_report([e for e in entries if e.grading.target == t], t)
    return {"organizations": len(results), "graded": sum(1 for r in results if r["status"] == "graded"),
            "tiers": count(None)["all"] if results else {}, "by_district": count("district"), "by_type": count("type"),
            "target": targets}


def _ordered(payload: dict) -> dict:
    keys = ["agrade_version", "round", "standards", "evidence_digest", "evidence_files", "tie_breaks", "summary", "lists", "organizations"]
    return {k: payload[k] for k in keys if k in payload}
