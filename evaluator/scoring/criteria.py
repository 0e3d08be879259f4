"""Scoring one organization's criteria: each applicable criterion once, in document order.

`score_all` is the compiled per-organization path: one pass over the standard's criteria
with the scoring method each names (evaluator.standard.methods). What follows from the
outcomes — veto caps, gates, designations, list membership — is concluded by the rules
engine (evaluator.scoring.engine), not here.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..errors import EvaluationError
from ..model import ZERO, Criterion, Evidence, Organization, Outcome, Standard
from ..standard.expr import EvalError, MissingValue
from ..standard.methods import REGISTRY, Scored
from ..terms import NA_POLICY_ZH


def org_env(org: Organization, values: Mapping[str, Any], period, fields=None, notes=None) -> dict:
    env = dict(values)
    env.update({"org.id": org.id, "org.name": org.name, "org.type": org.type,
                "org.district": org.district, "org.street": org.street, "$period": period,
                "$fields": fields or {}, "$notes": notes or {}})
    return env


def score_criterion(c: Criterion, env: Mapping[str, Any], waiver: str | None = None, fields=None) -> Outcome:
    """One criterion for one organization; never raises for bad evidence.

    Raises EvaluationError only for a bug: a method that gave points outside 0..max."""
    max_points = c.points if c.kind in ("base", "bonus") else ZERO
    if waiver is not None:
        return Outcome(c.id, "waived", max_points, max_points, f"经批准免于考核：{waiver}")
    try:
        if c.applies_if is not None and not c.applies_if.evaluate(env):
            return Outcome(c.id, "not_applicable", ZERO, max_points,
                           f"不适用：{c.applies_if.source} 不成立", _evidence(env, c.applies_if.names))
        s: Scored = REGISTRY[c.method].score(c.params, c.points, env)
    except MissingValue as e:
        name = e.name
        f = (fields or {}).get(name)
        shown = f"{f.label}（{name}）" if f else name
        return Outcome(c.id, "not_reviewed", ZERO, max_points,
                       _noted(f"缺少材料：{shown}，{NA_POLICY_ZH[c.na_policy]}", env, c.reads + (name,)),
                       ((name, None),))
    except EvalError as e:
        return Outcome(c.id, "error", ZERO, max_points, _noted(f"无法计算：{e}", env, c.reads))
    if not ZERO <= s.points <= max_points:
        raise EvaluationError(f"criterion {c.id} ({c.method}) gave {s.points} points, outside 0..{max_points}")
    return Outcome(c.id, s.outcome, s.points, max_points, _noted(s.reason, env, c.reads),
                   tuple(s.used.items()), s.veto_hit)


def _noted(reason: str, env: Mapping[str, Any], names) -> str:
    """The reason plus what intake noted about the fields it read (a blank counted as 0, a
    verified value left empty), so no reading of a cell goes unexplained."""
    notes = env.get("$notes")
    if not notes:
        return reason
    extra = [notes[n] for n in dict.fromkeys(sorted(names)) if n in notes]
    return reason + "".join(f"（{x}）" for x in extra)


def _evidence(env, names):
    return tuple((n, env.get(n)) for n in sorted(names) if not n.startswith(("$", "org.")))


def score_all(standard: Standard, org: Organization, evidence: Evidence, period,
              waivers: Mapping[tuple[str, str], str] | None = None) -> tuple[list[Outcome], list[Outcome] | None]:
    """Every criterion's outcome in document order, and the self-assessment outcomes (from
    self-reported values only) when a grading component needs them. Exactly one outcome per
    criterion, by construction: the invariant "nothing is silently skipped"."""
    fields = standard.fields
    env = org_env(org, evidence.values, period, fields, evidence.notes)
    own_env = (org_env(org, evidence.self_values, period, fields, evidence.notes)
               if standard.needs_self_assessment else None)
    waivers = waivers or {}
    main: list[Outcome] = []
    own: list[Outcome] | None = [] if own_env is not None else None
    for c in standard.criteria.values():
        waiver = waivers.get((org.id, c.id)) if waivers else None
        main.append(score_criterion(c, env, waiver, fields))
        if own is not None:
            own.append(score_criterion(c, own_env, waiver, fields))
    return main, own
