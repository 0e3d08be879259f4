"""Scoring one organization's criteria: each applicable criterion once, in document order.

`score_all` is the compiled per-organization path: one pass over the standard's criteria
with the scoring method each names (evaluator.standard.methods). What follows from the
outcomes — veto caps, gates, designations, list membership — is concluded by the rules
engine (evaluator.scoring.engine), not here.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

from ..errors import EvaluationError
from ..model import ZERO, Criterion, Evidence, Field, Organization, Outcome, Standard
from ..standard.expr import DEFAULT_FUNCTIONS, EvalError, Expr, MissingValue
from ..standard.methods import REGISTRY, Frequency, NotDue, Scored, plain
from ..standard.periods import as_of as period_as_of
from ..standard.plain import ORG_TERMS
from ..terms import NA_POLICY_ZH, date_text


def org_env(org: Organization, values: Mapping[str, Any], period, fields=None, notes=None, tiers=None) -> dict:
    """The names one organization's expressions read; `fields` and `tiers` (id -> name) give
    the labels its reasons are written with."""
    env = dict(values)
    env.update({"org.id": org.id, "org.name": org.name, "org.type": org.type,
                "org.district": org.district, "org.street": org.street, "$period": period,
                "$fields": fields or {}, "$notes": notes or {}, "$tiers": tiers or {}})
    return env


def score_criterion(c: Criterion, env: Mapping[str, Any], waiver: str | None = None, fields=None) -> Outcome:
    """One criterion for one organization; never raises for bad evidence.

    Raises EvaluationError only for a bug: a method that gave points outside 0..max."""
    max_points = _max_points(c)
    if waiver is not None:
        return Outcome(c.id, "waived", max_points, max_points, f"经批准免于考核：{waiver}")
    try:
        if c.applies_if is not None and not c.applies_if.evaluate(env):
            return Outcome(c.id, "not_applicable", ZERO, max_points,
                           f"不适用：本项仅适用于{plain(c.applies_if, env)}的组织", _evidence(env, c.applies_if.names))
        not_yet = _not_due(c, env.get("$period"))
        if not_yet:
            return Outcome(c.id, "not_due", ZERO, max_points, not_yet)
        s: Scored = REGISTRY[c.method].score(c.params, c.points, env)
    except NotDue as e:
        return Outcome(c.id, "not_due", ZERO, max_points, f"未到期：{e}")
    except MissingValue as e:
        name = e.name
        f = (fields or env.get("$fields") or {}).get(name)
        shown = f.label if f else _missing_label(name, c, fields or env.get("$fields") or {})
        return Outcome(c.id, "not_reviewed", ZERO, max_points,
                       _noted(f"缺少材料：{shown}，{NA_POLICY_ZH[c.na_policy]}", env, c.reads + (name,)),
                       ((name, None),))
    except EvalError as e:
        return Outcome(c.id, "error", ZERO, max_points, _noted(f"无法计算：{e}", env, c.reads))
    _check_points(c, s.points, max_points)
    return Outcome(c.id, s.outcome, s.points, max_points, _noted(s.reason, env, c.reads),
                   tuple(s.used.items()), s.veto_hit)


def _max_points(c: Criterion) -> Decimal:
    """What a criterion can give: its points (base and bonus), none (veto, info)."""
    return c.points if c.kind in ("base", "bonus") else ZERO


def _check_points(c: Criterion, points: Decimal, max_points: Decimal) -> None:
    """A method that gave points outside 0..max is a bug, never an organization's result."""
    if not ZERO <= points <= max_points:
        raise EvaluationError(f"criterion {c.id} ({c.method}) gave {points} points, outside 0..{max_points}")


def _not_due(c: Criterion, period) -> str | None:
    """Why `c` has not fallen due on a bulletin's as-of date (None: it has, or this is no
    bulletin). A frequency criterion's own periods are the method's to judge (NotDue)."""
    cut = period_as_of(period) if period is not None else None
    if cut is None or c.due in (None, "always", "prorated"):
        return None
    due = period.round_end if c.due == "period_end" else c.due
    if cut >= due:
        return None
    what = "本项于考评期末" if c.due == "period_end" else "本项"
    return f"未到期：{what}（{date_text(due)}）到期，截至{date_text(cut)}不计分"


def due_records(values: Mapping[str, Any], fields, period) -> tuple[Mapping[str, Any], dict[str, str]]:
    """A bulletin counts only records dated on or before its as-of date: the values with later
    records taken out, and a note per records field saying which were not counted (every
    reason reading the field carries it). Unchanged when this is no bulletin."""
    cut = period_as_of(period)
    if cut is None:
        return values, {}
    out, notes = None, {}
    for fid, v in values.items():
        f = fields.get(fid)
        if f is None or f.type != "records" or not isinstance(v, tuple):
            continue
        later = [r for r in v if r.date > cut]
        if not later:
            continue
        out = out if out is not None else dict(values)
        out[fid] = tuple(r for r in v if r.date <= cut)
        shown = "、".join(date_text(r.date) + (f"《{r.title}》" if r.title else "") for r in later[:5])
        notes[fid] = (f"另有 {len(later)} 条记录晚于通报截止日{date_text(cut)}，本期不计入：{shown}"
                      f"{'等' if len(later) > 5 else ''}")
    return (out if out is not None else values), notes


def scoring_envs(standard: Standard, org: Organization, evidence: Evidence, period, tiers, own: bool):
    """The env an organization's criteria are scored in, and (when `own`) the one its
    self-assessment is scored in: its values with records dated after a bulletin's as-of date
    taken out, and intake's notes with a note on those added."""
    fields, noted = standard.fields, evidence.notes

    def env_of(values):
        values, later = due_records(values, fields, period)
        notes = {**noted, **{k: (noted[k] + "；" if k in noted else "") + v for k, v in later.items()}} \
            if later else noted
        return org_env(org, values, period, fields, notes, tiers)
    return env_of(evidence.values), env_of(evidence.self_values) if own else None


def _missing_label(name: str, c: Criterion, fields) -> str:
    """What is missing when it is not a field itself: an organization's attribute, or the value
    of a function over the criterion's fields (days_since() of a date not given)."""
    if name in ORG_TERMS:
        return ORG_TERMS[name].label
    labels = [fields[n].label for n in c.reads if n in fields]
    return "、".join(labels) if labels else "所需数据"


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
              waivers: Mapping[tuple[str, str], str] | None = None,
              cache: "OutcomeCache | None" = None) -> tuple[list[Outcome], list[Outcome] | None]:
    """Every criterion's outcome in document order, and the self-assessment outcomes (from
    self-reported values only) when a grading component needs them. Exactly one outcome per
    criterion, by construction: the invariant "nothing is silently skipped".

    `cache` (an OutcomeCache of this standard and period) gives an organization whose values
    equal an earlier one's the outcome already computed for them."""
    fields = standard.fields
    env, own_env = scoring_envs(standard, org, evidence, period, {t.id: t.name for t in standard.grading.tiers},
                                standard.needs_self_assessment)
    main: list[Outcome] = []
    own: list[Outcome] | None = [] if own_env is not None else None
    if cache is None:
        for c in standard.criteria.values():
            waiver = waivers.get((org.id, c.id)) if waivers else None
            main.append(score_criterion(c, env, waiver, fields))
            if own is not None:
                own.append(score_criterion(c, own_env, waiver, fields))
        return main, own
    if cache.standard != standard.id:
        raise EvaluationError(f"an outcome cache of standard {cache.standard} used for {standard.id}")
    # the organization's waivers, if it has any (a round has a few: most have none)
    waived = {cid: w for (oid, cid), w in waivers.items() if oid == org.id} if waivers and org.id in \
        cache.waived_organizations(waivers) else None
    get, notes = env.get, env["$notes"] or None
    own_get, own_notes = (own_env.get, own_env["$notes"] or None) if own_env is not None else (None, None)
    for c, names, memo, counts, one in cache.plan:
        waiver = waived.get(c.id) if waived else None
        if names is None or waiver is not None:
            if counts and waiver is None:
                main.append(cache.counted(c, env))
                if own is not None:
                    own.append(cache.counted(c, own_env))
                continue
            main.append(score_criterion(c, env, waiver, fields))
            if own is not None:
                own.append(score_criterion(c, own_env, waiver, fields))
            continue
        # the common case, an outcome already computed, looked up here; anything else (not
        # seen yet, a value that cannot be a key) is the cache's to settle, with the key made.
        # Most criteria read `one` name: its key made here, not by a call (see _key)
        key = (v := get(one), type(v), notes.get(one) if notes else None) if one else _key(names, get, notes)
        try:
            got = memo.get(key, _UNSEEN)
        except TypeError:
            got = key = _UNSEEN
        main.append(got if got is not _UNSEEN else cache.score(c, key, memo, env))
        if own is not None:
            key = (v := own_get(one), type(v), own_notes.get(one) if own_notes else None) if one \
                else _key(names, own_get, own_notes)
            try:
                got = memo.get(key, _UNSEEN)
            except TypeError:
                got = key = _UNSEEN
            own.append(got if got is not _UNSEEN else cache.score(c, key, memo, own_env))
    return main, own


_UNSEEN = object()


def _key(names: tuple[str, ...], get, notes: Mapping[str, str] | None) -> tuple:
    """What an outcome cache keys a criterion's outcome by: the values of the names it reads,
    each with its type, and intake's notes on them (OutcomeCache). A criterion reading one name
    (most do) is keyed by (value, its type, the note on it), made inline by score_all."""
    values = tuple(map(get, names))
    return (values, tuple(map(type, values)), tuple(map(notes.get, names)) if notes else None)


class OutcomeCache:
    """Outcomes already computed, by criterion and the values it reads.

    A criterion's outcome — points, reason, evidence — is a function of the criterion and the
    values of the names its expressions and fields read (plus the round period and the
    standard's field labels, fixed for one cache, and intake's notes on those names). Many
    organizations report the same counts, yes/no answers and enum values, so most outcomes
    repeat: each is computed once and shared (outcomes are immutable). Keys hold each value
    with its type, so values that are equal but written differently in a reason (False and a
    blank-as-zero 0) never share an outcome; Decimals equal in value are shown and serialized
    the same (terms.num, orgresult), whatever their exponent. A criterion whose method or
    functions this module does not know (so whose reads it cannot list) is never cached, nor is
    one that reads dated records.

    One cache serves one standard and period (a RoundScorer keeps one per standard) and is
    bounded: it is emptied when it holds `limit` outcomes."""

    _KNOWN = frozenset(("check", "threshold", "bands", "ratio", "frequency", "deduction", "bonus", "veto", "info"))

    def __init__(self, standard: Standard, limit: int = 50_000):
        self.standard = standard.id
        self.fields = standard.fields
        self.limit = limit
        self.size = 0
        self._waivers: Mapping | None = None
        self._waived: frozenset[str] = frozenset()
        # per criterion, in document order: (criterion, the names it reads or None when it is
        # not cached, its outcomes by key, whether `counted` scores it, the one name it reads
        # if it reads one)
        self.plan: list[tuple[Criterion, tuple[str, ...] | None, dict, bool, str | None]] = []
        for c in standard.criteria.values():
            names = _names_read(c)
            # dated records rarely repeat between organizations (one in eight, measured on the
            # demo round) and hashing them costs more than scoring: not cached
            if names is not None and any(self.fields[n].type == "records" for n in names if n in self.fields):
                names = None
            self.plan.append((c, names, {}, c.method == "frequency", names[0] if names and len(names) == 1 else None))
        self._plans: dict[str, tuple[Any, Any]] = {}     # frequency criterion -> (period, its plan)

    def waived_organizations(self, waivers: Mapping[tuple[str, str], str]) -> frozenset[str]:
        """The organizations `waivers` name (kept while the same waivers are asked about)."""
        if self._waivers is not waivers:
            self._waivers, self._waived = waivers, frozenset(oid for oid, _ in waivers)
        return self._waived

    def score(self, c: Criterion, key, memo: dict, env: Mapping[str, Any]) -> Outcome:
        """Criterion `c` scored in `env` and kept under `key` (score_all's, not in `memo`
        yet), unless the key is _UNSEEN: a value that cannot be a key, computed each time."""
        got = score_criterion(c, env, None, self.fields)
        if key is not _UNSEEN:
            if self.size >= self.limit:
                for _, _, m, _, _ in self.plan:
                    m.clear()
                self.size = 0
            memo[key] = got
            self.size += 1
        return got


    def counted(self, c: Criterion, env: Mapping[str, Any]) -> Outcome:
        """A frequency criterion (not waived) scored as score_criterion scores it, with its
        plan made once for the period rather than looked up per organization: 8 of a
        community's 48 criteria, never cached (their records are each organization's own)."""
        return self.counted_column(c, (env,))[0]

    def counted_column(self, c: Criterion, envs) -> list[Outcome]:
        """`counted` for each of `envs` (organizations scored in one period), the plan looked
        up once for them all. Anything but the common case (a bulletin, records missing, the
        criterion not applicable or its condition not computable) goes the general way."""
        period = envs[0].get("$period") if envs else None
        got = self._plans.get(c.id)
        if got is None or got[0] is not period:
            plan = Frequency.plan(c.params, c.points, period) if period is not None and \
                period_as_of(period) is None else None
            got = self._plans[c.id] = (period, plan)
        plan, fid, fields, cid, reads = got[1], c.params[0].id, self.fields, c.id, c.reads
        if plan is None:
            return [score_criterion(c, env, None, fields) for env in envs]
        when, max_points = c.applies_if, _max_points(c)
        column = [env.get(fid) for env in envs]
        judged = iter(plan.judge_all([records for records in column if type(records) is tuple]))
        out = []
        for env, records in zip(envs, column):
            if type(records) is not tuple:
                out.append(score_criterion(c, env, None, fields))
                continue
            outcome, points, reason = next(judged)
            if when is not None:
                try:
                    applies = when.evaluate(env)
                except (MissingValue, EvalError):
                    applies = False
                if not applies:
                    out.append(score_criterion(c, env, None, fields))
                    continue
            _check_points(c, points, max_points)
            # most organizations have no notes from intake: their reason is the verdict's own
            out.append(Outcome(cid, outcome, points, max_points,
                               _noted(reason, env, reads) if env.get("$notes") else reason, ((fid, records),)))
        return out


def _names_read(c: Criterion) -> tuple[str, ...] | None:
    """Every env name a criterion's scoring can read: its fields and the names of its
    expressions (org.* included); None when that cannot be known."""
    if c.method not in OutcomeCache._KNOWN:
        return None
    exprs: list[Expr] = []

    def walk(x) -> bool:
        if isinstance(x, Expr):
            exprs.append(x)
        elif isinstance(x, tuple):
            return all(walk(y) for y in x)
        elif x is not None and not isinstance(x, (str, int, Decimal, Field)):
            return False                      # a parameter of a kind not seen before
        return True
    if not walk(c.params) or not walk(c.applies_if):
        return None
    if any(e._functions is not DEFAULT_FUNCTIONS for e in exprs):
        return None
    names = set(c.reads).union(*(e.names for e in exprs))
    if any(n.startswith("$") for n in names):
        return None
    return tuple(sorted(names))
