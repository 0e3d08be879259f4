"""The rules engine (durable-rules): what follows from outcomes is concluded by rules whose
conditions the engine itself matches over an organization's facts.

Scoring each criterion is a plain pass (evaluator.scoring.criteria). The engine gets the
rules a rules engine is for: veto caps (a veto criterion hit caps the tier), gates (a tier's
extra conditions, failed or not checkable) and, over ranked results, list membership
(evaluator.scoring.lists). Each condition written in the standard's expression language is
*lowered* into durable-rules' condition language (`lower`): comparisons of exact values —
totals and base scores in cents, counts, ranks, tier ids, outcome words, enum values, yes/no
fields — are matched by the engine; a comparison it cannot match exactly (a section's points,
which may carry a proportional ratio's many decimals, `days_since(...)`) is computed in
Python into a yes/no attribute and the engine matches the rest. The expression language's
"missing value" is kept: every condition has a true, a false and a missing form (three-valued,
with the short-circuit order of `and`/`or`), so a gate "not met for lack of evidence" is a rule
that fires, as in the expression evaluator.

Known traps (design.md) and what we do:
- durable.lang's global host dispatches part of the actions later on a timer thread. We own a
  `Host` whose background dispatcher is never started, so every action has run when
  `assert_fact` returns.
- A fact matching no rule raises MessageNotHandledException: every ruleset has a `seen` rule
  matching every fact, which also counts firings: a fact that did not fire `seen` exactly once
  fails the run (expected vs actual firings).
- Actions that raise are swallowed into the state's `exception` field: ours record errors
  themselves, and the state is checked after each fact.
- `$or` conditions may fire an action once per branch that holds: conclusions are sets.
- Facts are retracted right after their conclusions are read, so one sid suffices (rulesets
  allow at most 1,024 live sids); the ruleset is deleted from the C engine on close().
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Mapping

import durable_rules_engine
from durable import engine as durable_engine

from ..errors import EvaluationError
from ..model import Standard
from ..standard.expr import Binary, Call, EvalError, Expr, ListLit, Literal, MissingValue, Name, Unary
from ..standard.plain import GATE_TERMS, ORG_TERMS

_names = itertools.count()


class _OwnedHost(durable_engine.Host):
    """A durable-rules host without the background dispatch/timer threads."""

    def _run(self):   # the base class starts threading.Timer loops here
        pass


# ------------------------------------------------------------------ conditions

TRUE, FALSE = "TRUE", "FALSE"      # constant conditions, simplified away before registering


def _and(*parts):
    parts = [p for p in parts if p != TRUE]
    if any(p == FALSE for p in parts):
        return FALSE
    return TRUE if not parts else parts[0] if len(parts) == 1 else {"$and": parts}


def _or(*parts):
    parts = [p for p in parts if p != FALSE]
    if any(p == TRUE for p in parts):
        return TRUE
    return FALSE if not parts else parts[0] if len(parts) == 1 else {"$or": parts}


_NEGATE = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
_FLIP = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_DURABLE_OP = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}


def _cmp(attr: str, op: str, value) -> dict:
    return {attr: value} if op == "==" else {_DURABLE_OP[op]: {attr: value}}


@dataclass(frozen=True)
class Exact:
    """A value the engine compares itself: `scale` > 0 sends a number as an integer of
    10**-scale units (totals in cents), 0 an integer, None text or yes/no as it is."""
    kind: str            # number | text | bool
    scale: int | None = None


@dataclass
class Attr:
    """One attribute of the fact, and how to compute it from the environment."""
    name: str
    get: Callable[[Mapping[str, Any]], Any]     # None: absent (a missing value)
    exact: Exact | None = None                  # None: a precomputed yes/no comparison
    source: str = ""                            # the expression text, for messages


@dataclass
class Lowered:
    """A boolean expression as three durable-rules conditions: true, false, missing."""
    T: Any
    F: Any
    M: Any


class Lowering:
    """Lowers expressions over one set of names into conditions and the attributes they need.

    `exact` maps a name (or 'outcome()') to how the engine may compare it; anything else is
    computed in Python with the expression evaluator, one yes/no attribute per comparison."""

    def __init__(self, exact: Mapping[str, Exact], env_value: Callable[[Mapping, str], Any] | None = None):
        self.exact = exact
        self.attrs: dict[str, Attr] = {}
        self._keys: dict[tuple, str] = {}
        self._env_value = env_value or (lambda env, name: env.get(name))

    def attr(self, key: tuple, make: Callable[[str], Attr]) -> str:
        name = self._keys.get(key)
        if name is None:
            name = self._keys[key] = f"a{len(self._keys)}"
            self.attrs[name] = make(name)
        return name

    def lower(self, expr: Expr) -> Lowered:
        low = self._node(expr, expr.tree)
        try:
            for cond in (low.T, low.F, low.M):
                dnf(cond)
        except TooComplex:
            # too many alternatives for the engine's rules: the whole condition becomes one
            # attribute computed by the expression evaluator; the engine matches that
            return self._computed(expr, expr.tree)
        return low

    # a node in boolean position
    def _node(self, expr: Expr, node) -> Lowered:
        if isinstance(node, Literal) and isinstance(node.value, bool):
            return Lowered(TRUE, FALSE, FALSE) if node.value else Lowered(FALSE, TRUE, FALSE)
        if isinstance(node, Unary) and node.op == "not":
            inner = self._node(expr, node.operand)
            return Lowered(inner.F, inner.T, inner.M)
        if isinstance(node, Binary) and node.op in ("and", "or"):
            a, b = self._node(expr, node.left), self._node(expr, node.right)
            if node.op == "and":      # a missing left side stops evaluation: the whole is missing
                return Lowered(_and(a.T, b.T), _or(a.F, _and(a.T, b.F)), _or(a.M, _and(a.T, b.M)))
            return Lowered(_or(a.T, _and(a.F, b.T)), _and(a.F, b.F), _or(a.M, _and(a.F, b.M)))
        exact = self._exact_leaf(expr, node)
        return exact if exact is not None else self._computed(expr, node)

    def _exact_leaf(self, expr: Expr, node) -> Lowered | None:
        if isinstance(node, Name) and self.exact.get(node.name) == Exact("bool"):
            a = self._exact_attr(node.name, self.exact[node.name])
            return Lowered({a: True}, {a: False}, {"$nex": {a: 1}})
        if not isinstance(node, Binary):
            return None
        op, left, right = node.op, node.left, node.right
        if op in ("in", "not in") and isinstance(right, ListLit):
            parts = [self._compare("==", left, item) for item in right.items]
            if any(p is None for p in parts) or not parts:
                return None
            hit = Lowered(_or(*[p.T for p in parts]), _and(*[p.F for p in parts]), parts[0].M)
            return hit if op == "in" else Lowered(hit.F, hit.T, hit.M)
        if op in _NEGATE:
            return self._compare(op, left, right)
        return None

    def _compare(self, op: str, left, right) -> Lowered | None:
        if isinstance(left, Literal) and not isinstance(right, Literal):
            op, left, right = _FLIP[op], right, left
        if not isinstance(right, Literal):
            return None
        key = self._leaf_key(left)
        if key is None:
            return None
        how = self.exact[key[0]]
        a = self._exact_attr(key, how, left)
        present = {"$ex": {a: 1}}
        missing = {"$nex": {a: 1}}
        # (a comparison on an absent attribute never holds in durable-rules, so T and F need no
        # "present" test; constant outcomes do)
        if how.kind == "number":
            if not isinstance(right.value, Decimal):
                return None
            t, f = _number_conditions(a, op, right.value, how.scale or 0)
            return Lowered(_and(present, t) if t == TRUE else t, _and(present, f) if f == TRUE else f, missing)
        if how.kind == "text" and op in ("==", "!=") and isinstance(right.value, str):
            eq, ne = {a: right.value}, {"$neq": {a: right.value}}
            t, f = (eq, ne) if op == "==" else (ne, eq)
            return Lowered(t, f, missing)
        if how.kind == "bool" and op in ("==", "!=") and isinstance(right.value, bool):
            want = right.value if op == "==" else not right.value
            return Lowered({a: want}, {a: not want}, missing)
        return None

    def _leaf_key(self, node) -> tuple | None:
        if isinstance(node, Name) and node.name in self.exact:
            return (node.name,)
        if (isinstance(node, Call) and node.func == "outcome" and "outcome()" in self.exact
                and isinstance(node.args[0], Literal)):
            return ("outcome()", node.args[0].value)
        return None

    def _exact_attr(self, key, how: Exact, node=None) -> str:
        key = key if isinstance(key, tuple) else (key,)

        def make(name):
            if key[0] == "outcome()":
                cid = key[1]

                def get(env, cid=cid):
                    o = (env.get("$outcomes") or {}).get(cid)
                    return None if o is None else o.outcome
            else:
                get = _exact_getter(key[0], how, self._env_value)
            return Attr(name, get, how, key[0])
        return self.attr(("exact",) + key, make)

    def _computed(self, expr: Expr, node) -> Lowered:
        sub = expr.subexpression(node)
        a = self.attr(("computed", sub.source, id(expr), id(node)),
                      lambda name: Attr(name, lambda env, sub=sub: sub.evaluate(env), None, sub.source))
        return Lowered({a: True}, {a: False}, {"$nex": {a: 1}})


def _label(env: Mapping[str, Any], name: str) -> str:
    """A missing name as the documents call it: its field's label (never the field id)."""
    f = (env.get("$fields") or {}).get(name)
    if f is not None:
        return f.label
    term = ORG_TERMS.get(name) or GATE_TERMS.get(name)
    return term.label if term is not None else "所需数据"


def _exact_getter(name: str, how: Exact, env_value):
    scale = how.scale

    def get(env):
        v = env_value(env, name)
        if v is None:
            return None
        if how.kind == "number":
            scaled = Decimal(v).scaleb(scale or 0)
            if scaled != scaled.to_integral_value():
                raise EvaluationError(f"'{name}' = {v} is not a whole number of 10^-{scale} units")
            return int(scaled)
        return v
    return get


def _number_conditions(a: str, op: str, literal: Decimal, scale: int):
    """(true, false) conditions for `value op literal` where the attribute holds value × 10**scale
    as an integer: exact whatever the literal's decimals (a total of 89.995 cannot exist)."""
    x = literal.scaleb(scale)
    lo, hi = math.floor(x), math.ceil(x)
    if op == "==":
        return ({a: int(x)}, {"$neq": {a: int(x)}}) if lo == hi else (FALSE, TRUE)
    if op == "!=":
        return ({"$neq": {a: int(x)}}, {a: int(x)}) if lo == hi else (TRUE, FALSE)
    t = {">=": _cmp(a, ">=", hi), ">": _cmp(a, ">", lo), "<=": _cmp(a, "<=", lo), "<": _cmp(a, "<", hi)}[op]
    f = {">=": _cmp(a, "<", hi), ">": _cmp(a, "<=", lo), "<=": _cmp(a, ">", lo), "<": _cmp(a, ">=", hi)}[op]
    return t, f


MAX_CONJUNCTIONS = 64      # beyond this a condition is too complex to split into rules
MAX_TESTS = 24             # tests in one rule (durable-rules' limit is 32 per expression sequence)


class TooComplex(Exception):
    """A condition whose normal form is too large for the engine's rules."""


def dnf(condition) -> list[list[dict]]:
    """`condition` as a list of conjunctions of single tests (durable-rules condition dicts)."""
    if condition == TRUE:
        return [[]]
    if condition == FALSE:
        return []
    if isinstance(condition, dict) and "$or" in condition:
        out = [c for part in condition["$or"] for c in dnf(part)]
    elif isinstance(condition, dict) and "$and" in condition:
        out = [[]]
        for part in condition["$and"]:
            out = [a + b for a in out for b in dnf(part)]
            if len(out) > MAX_CONJUNCTIONS:
                raise TooComplex(f"more than {MAX_CONJUNCTIONS} alternatives")
    else:
        out = [[condition]]
    out = [_unique(c) for c in out]
    if len(out) > MAX_CONJUNCTIONS or any(len(c) > MAX_TESTS for c in out):
        raise TooComplex(f"more than {MAX_CONJUNCTIONS} alternatives or {MAX_TESTS} tests in one")
    return out


def _unique(tests: list[dict]) -> list[dict]:
    seen, out = set(), []
    for t in tests:
        key = repr(t)
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out


def attributes_in(condition) -> set[str]:
    """The fact attributes a condition reads."""
    if isinstance(condition, dict):
        out = set()
        for k, v in condition.items():
            if k in ("$and", "$or"):
                for part in v:
                    out |= attributes_in(part)
            elif k.startswith("$"):
                out |= set(v)
            elif k != "kind":
                out.add(k)
        return out
    return set()


# ------------------------------------------------------------------ rulesets

_CONCLUDED_MAX = 4096           # distinct facts remembered per ruleset (then each new one is run)

@dataclass
class Fired:
    """What the rules concluded for one fact: rule name -> payloads (a set: `$or` may repeat)."""
    rules: dict[str, set] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)    # attribute -> the missing name / error
    # what a ConcludingRules concluded from it, kept with it: organizations with equal facts
    # share one Fired (Ruleset.run) and so the conclusions read from it (read only, as it is)
    concluded: Any = None


class Ruleset:
    """A durable-rules ruleset with our own host and the firing invariant."""

    def __init__(self, label: str, lowering: Lowering):
        self.label = label
        self.lowering = lowering
        self.name = f"agrade_{label}_{next(_names)}"
        self._rules: dict[str, dict] = {"seen": {"all": [{"m": {"kind": "fact"}}], "run": self._seen}}
        self._host: _OwnedHost | None = None
        self._seq = itertools.count()
        self._current: Fired | None = None
        self._seen_count = 0
        # What the engine concluded for each fact it matched. A fact holds only what the rules
        # read (a tier, a veto hit, a total...), so a round's organizations make few distinct
        # ones (20,000 made 8 to 10 per standard's vetoes and gates, 16 for the lists): the
        # engine matches each distinct fact once, and an organization whose fact is the same
        # as an earlier one's gets the conclusions the engine reached for it. The rules are a
        # function of the fact, so nothing changes but the time (about 40 µs a run, 2 s of a
        # 20,000-organization round); bounded, so memory stays flat.
        self._concluded: dict[tuple, Fired] = {}

    def add(self, rule_name: str, condition, payload) -> None:
        """Rules firing when `condition` holds; their action records `payload` under rule_name.

        durable-rules allows a few dozen tests in one rule's condition, so the condition goes
        in as its disjunctive normal form, one rule per conjunction (each small)."""
        if condition == FALSE:
            return
        for k, conj in enumerate(dnf(condition)):
            match = {"$and": [{"kind": "fact"}] + conj} if conj else {"kind": "fact"}
            self._rules[f"{rule_name}#{k}"] = {"all": [{"m": match}], "run": self._action(rule_name, payload)}

    def _action(self, rule_name, payload):
        def run(closure):
            cur = self._current
            if cur is not None:
                cur.rules.setdefault(rule_name, set()).add(payload)
        return run

    def _seen(self, closure):
        self._seen_count += 1

    def ready(self) -> None:
        """Compile the ruleset now rather than when it first runs."""
        self._ready()

    def _ready(self) -> _OwnedHost:
        if self._host is None:
            self._host = _OwnedHost()
            self._host.register_rulesets({self.name: self._rules})
        return self._host

    def facts_for(self, env: Mapping[str, Any], fired: Fired) -> dict:
        """The fact's attributes from `env`; a value that is missing (or cannot be computed)
        is left out, and why is kept for the conclusions' reasons."""
        fact: dict[str, Any] = {"kind": "fact"}
        for a in self.lowering.attrs.values():
            try:
                value = a.get(env)
            except MissingValue as e:
                fired.missing[a.name] = f"缺少材料（{_label(env, e.name)}），无法认定"
                continue
            except EvalError as e:
                fired.missing[a.name] = f"无法计算：{e.message}"
                continue
            if value is not None:
                fact[a.name] = bool(value) if a.exact is None else value
            else:
                fired.missing[a.name] = f"缺少材料（{_label(env, a.source)}），无法认定"
        return fact

    def run(self, env: Mapping[str, Any], who: str) -> Fired:
        """Assert one fact built from `env`, let every matching rule fire, retract it; what
        fired (read-only: it may be given again for the same fact, see `_concluded`)."""
        fired = Fired()
        fact = self.facts_for(env, fired)
        # the value's type is part of the key: True, 1 and Decimal(1) are equal, not the same fact
        key = (tuple(zip(fact, map(type, fact.values()), fact.values())), tuple(fired.missing.items()))
        try:
            known = self._concluded.get(key)
        except TypeError:                          # a value that cannot be a key: just run it
            key, known = None, None
        if known is not None:
            return known
        self._fire(fact, fired, who)
        if key is not None and len(self._concluded) < _CONCLUDED_MAX:
            self._concluded[key] = fired
        return fired

    def _fire(self, fact: dict, fired: Fired, who: str) -> None:
        host = self._ready()
        fact["seq"] = next(self._seq)
        before = self._seen_count
        self._current = fired
        try:
            host.assert_fact(self.name, fact)
            host.retract_fact(self.name, fact)
            state = host.get_state(self.name, None)
        finally:
            self._current = None
        if "exception" in state:
            host.delete_state(self.name, None)
            raise EvaluationError(f"{who}: a rule action failed: {state['exception']}")
        if self._seen_count != before + 1:
            raise EvaluationError(f"{who}: the rules engine fired {self._seen_count - before} times for one fact, "
                                  "expected 1 (an action ran late or twice)")

    def close(self) -> None:
        host, self._host = self._host, None
        if host is not None:
            rs = host._ruleset_directory.pop(self.name, None)
            if rs is not None:
                host._ruleset_list.remove(rs)
                durable_rules_engine.delete_ruleset(rs._handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ------------------------------------------------------------------ one standard's conclusions

GATE_EXACT = {"total": Exact("number", 2), "base": Exact("number", 2), "veto_count": Exact("number", 0),
              "org.type": Exact("text"), "org.district": Exact("text"), "org.street": Exact("text"),
              "outcome()": Exact("text")}


@dataclass
class Conclusions:
    """For one organization: veto caps [(criterion, tier index)] and, per tier index, why its
    gate fails (the first failing gate, in the standard's order)."""
    caps: list[tuple[str, int]]
    gate_failures: dict[int, str]


class ConcludingRules(Ruleset):
    """A standard's vetoes and gates as durable-rules rules."""

    def __init__(self, standard: Standard):
        exact = dict(GATE_EXACT)
        for f in standard.fields.values():        # enum and yes/no evidence the engine compares itself
            if f.type == "enum":
                exact[f.id] = Exact("text")
            elif f.type == "boolean":
                exact[f.id] = Exact("bool")
        super().__init__(standard.id, Lowering(exact))
        g = standard.grading
        self.tiers = [t.id for t in g.tiers]
        # a flag-only veto (cap None) caps nothing: its hit is counted and marked, not concluded here
        self.vetoes = [(c.id, self.tiers.index(c.params[1])) for c in standard.criteria.values()
                       if c.kind == "veto" and c.params[1] is not None]
        for cid, cap in self.vetoes:
            a = self.lowering.attr(("veto", cid), lambda name, cid=cid: Attr(
                name, lambda env, cid=cid: bool(env["$outcomes"][cid].veto_hit), Exact("bool"), cid))
            self.add(f"veto:{cid}", {a: True}, cid)
        self.gates = list(g.gates)
        self._gate_attrs: list[list[str]] = []
        for i, gate in enumerate(self.gates):
            low = self.lowering.lower(gate.condition)
            self._gate_attrs.append(sorted(attributes_in(low.M), key=lambda a: int(a[1:])))
            self.add(f"gate:{i}:false", low.F, i)
            self.add(f"gate:{i}:missing", low.M, i)

    def conclude(self, env: Mapping[str, Any], who: str) -> Conclusions:
        fired = self.run(env, who)
        if fired.concluded is None:
            fired.concluded = self._read(fired)
        return fired.concluded

    def _read(self, fired: Fired) -> Conclusions:
        """The veto caps and failing gates the rules that fired conclude."""
        hit = {cid for name, cids in fired.rules.items() if name.startswith("veto:") for cid in cids}
        failures: dict[int, str] = {}
        for i, gate in enumerate(self.gates):
            why = None
            if f"gate:{i}:false" in fired.rules:
                why = ""
            elif f"gate:{i}:missing" in fired.rules:
                why = "".join("；" + m for m in dict.fromkeys(
                    fired.missing[a] for a in self._gate_attrs[i] if a in fired.missing))
            if why is not None:
                failures.setdefault(self.tiers.index(gate.tier), f"{gate.reason}{why}")
        return Conclusions([(cid, cap) for cid, cap in self.vetoes if cid in hit], failures)
