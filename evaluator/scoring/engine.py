"""Score one organization's evidence against a standard, through durable-rules.

Each standard compiles once into a durable-rules ruleset with one rule per criterion; the
rule's action runs the criterion's scoring method. Known traps (design.md) and what we do:

- durable.lang's global host dispatches part of the actions later on a timer thread. We
  own a `Host` whose background dispatcher is never started, so every action has run when
  `assert_fact` returns: asserting one organization's fact runs all its actions synchronously.
- Facts are retracted right after, so each organization's facts are isolated and one sid
  suffices (rulesets allow at most 1,024 live sids).
- Actions that raise are swallowed into the state's `exception` field: ours catch
  everything themselves, and we still check the state after each organization.
- After every organization we count outcomes against criteria: a missing or duplicate
  outcome fails the run naming the organization and the criterion.
- The ruleset is deleted from the C engine when the Engine is closed.
"""
from __future__ import annotations

import itertools
from typing import Any, Mapping

import durable_rules_engine
from durable import engine as durable_engine

from ..errors import EvaluationError
from ..standard.expr import EvalError, MissingValue
from ..standard.methods import REGISTRY, Scored
from ..terms import NA_POLICY_ZH
from ..model import ZERO, Criterion, Evidence, Organization, Outcome, Standard

_names = itertools.count()


class _OwnedHost(durable_engine.Host):
    """A durable-rules host without the background dispatch/timer threads."""

    def _run(self):   # the base class starts threading.Timer loops here
        pass


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
    notes = env.get("$notes") or {}
    extra = [notes[n] for n in dict.fromkeys(sorted(names)) if n in notes]
    return reason + "".join(f"（{x}）" for x in extra)


def _evidence(env, names):
    return tuple((n, env.get(n)) for n in sorted(names) if not n.startswith(("$", "org.")))


class Engine:
    """Evaluates organizations one at a time against one standard."""

    def __init__(self, standard: Standard, period, waivers: Mapping[tuple[str, str], str] | None = None):
        self.standard = standard
        self.period = period
        self.waivers = dict(waivers or {})
        self.ruleset = f"agrade_{standard.id}_{next(_names)}"
        self._host = _OwnedHost()
        self._seq = itertools.count()
        self._current: dict | None = None
        rules = {f"r{i}": {"all": [{"m": {"kind": "org"}}], "run": self._action(c)}
                 for i, c in enumerate(standard.criteria.values())}
        self._host.register_rulesets({self.ruleset: rules})

    def _action(self, c: Criterion):
        def run(closure):
            cur = self._current
            try:
                if cur is None or closure.m["org"] != cur["org"].id:
                    raise EvaluationError(f"rule for {c.id} fired outside its organization")
                waiver = self.waivers.get((cur["org"].id, c.id))
                fields = self.standard.fields
                main = score_criterion(c, cur["env"], waiver, fields)
                own = score_criterion(c, cur["self_env"], waiver, fields) if cur["self_env"] is not None else None
                if c.id in cur["out"]:
                    cur["errors"].append(f"criterion {c.id} produced two outcomes")
                cur["out"][c.id] = (main, own)
            except BaseException as e:      # durable-rules would swallow it: record it ourselves
                if cur is not None:
                    cur["errors"].append(f"{c.id}: {type(e).__name__}: {e}")
        return run

    def evaluate(self, org: Organization, evidence: Evidence) -> tuple[list[Outcome], list[Outcome] | None]:
        """Outcomes in criterion order, plus the self-assessment outcomes when a grading
        component needs them."""
        env = org_env(org, evidence.values, self.period, self.standard.fields, evidence.notes)
        self_env = (org_env(org, evidence.self_values, self.period, self.standard.fields, evidence.notes)
                    if self.standard.needs_self_assessment else None)
        self._current = {"org": org, "env": env, "self_env": self_env, "out": {}, "errors": []}
        fact = {"kind": "org", "org": org.id, "seq": next(self._seq)}
        try:
            self._host.assert_fact(self.ruleset, fact)
            self._host.retract_fact(self.ruleset, fact)
            state = self._host.get_state(self.ruleset, None)
            cur = self._current
        finally:
            self._current = None
        if "exception" in state:
            self._host.delete_state(self.ruleset, None)
            raise EvaluationError(f"organization {org.id}: a rule action failed: {state['exception']}")
        if cur["errors"]:
            raise EvaluationError(f"organization {org.id}: " + "; ".join(cur["errors"]))
        missing = [cid for cid in self.standard.criteria if cid not in cur["out"]]
        if missing:
            raise EvaluationError(f"organization {org.id}: no outcome for criterion {', '.join(missing)}")
        main = [cur["out"][cid][0] for cid in self.standard.criteria]
        own = [cur["out"][cid][1] for cid in self.standard.criteria] if self_env is not None else None
        return main, own

    def close(self):
        rs = self._host._ruleset_directory.pop(self.ruleset, None)
        if rs is not None:
            self._host._ruleset_list.remove(rs)
            durable_rules_engine.delete_ruleset(rs._handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
