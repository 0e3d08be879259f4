"""Scoring a partition's organizations criterion by criterion: score_all's outcomes for many.

`score_all` (evaluator.scoring.criteria) walks one organization's criteria. A partition holds
hundreds of organizations of a few types, and most of a criterion's outcomes are already in
its OutcomeCache: looking them up column by column — the keys of one criterion across the
partition made in one comprehension, looked up with one map — spends the interpreter's time
on the few outcomes not seen yet instead of on a loop per organization and criterion, and a
frequency criterion's plan is found once per partition (OutcomeCache.counted_column).

The outcomes are those score_all gives, in the same order: the same functions decide each
one (OutcomeCache.score, counted, score_criterion); only the order they are asked in
differs, and none depends on it (outcomes are functions of the criterion and the values it
reads). An organization with a waiver is scored by score_all itself: a round has a few.
tests/test_partition_scoring.py checks the two paths against each other.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from ..errors import EvaluationError
from ..model import Evidence, Organization, Outcome, Standard
from .criteria import _UNSEEN, OutcomeCache, _key, score_all, score_criterion, scoring_envs

Scored = tuple[list[Outcome], "list[Outcome] | None"]


def score_partition_all(standard: Standard, orgs: Sequence[Organization], evidences: Sequence[Evidence], period,
                        waivers: Mapping[tuple[str, str], str] | None, cache: OutcomeCache) -> list[Scored]:
    """score_all(standard, org, evidence, period, waivers, cache) for each organization (all
    of this standard's type) and its evidence, in order."""
    if cache.standard != standard.id:
        raise EvaluationError(f"an outcome cache of standard {cache.standard} used for {standard.id}")
    waived = cache.waived_organizations(waivers) if waivers else frozenset()
    plain = [i for i, org in enumerate(orgs) if org.id not in waived]
    out: list[Scored | None] = [None] * len(orgs)
    if len(plain) < len(orgs):
        for i, org in enumerate(orgs):
            if org.id in waived:
                out[i] = score_all(standard, org, evidences[i], period, waivers, cache)
    if not plain:
        return out
    own = standard.needs_self_assessment
    tiers = {t.id: t.name for t in standard.grading.tiers}
    pairs = [scoring_envs(standard, orgs[i], evidences[i], period, tiers, own) for i in plain]
    mains = _columns(cache, [e for e, _ in pairs])
    owns = _columns(cache, [o for _, o in pairs]) if own else [None] * len(plain)
    for i, main, own_outcomes in zip(plain, mains, owns):
        out[i] = (main, own_outcomes)
    return out


def _columns(cache: OutcomeCache, envs: list[dict]) -> list[list[Outcome]]:
    """Each env's outcomes, criterion by criterion (no waivers among them), per env."""
    columns = []
    gets = [env.get for env in envs]
    notes = [env["$notes"] or None for env in envs]
    for c, names, memo, counts, one in cache.plan:
        if names is None:
            columns.append(cache.counted_column(c, envs) if counts else
                           [score_criterion(c, env, None, cache.fields) for env in envs])
            continue
        # the key score_all makes for each organization (criteria._key; one name inline)
        keys = [((v := get(one)), type(v), n.get(one) if n else None) for get, n in zip(gets, notes)] if one \
            else [_key(names, get, n) for get, n in zip(gets, notes)]
        try:
            got = list(map(memo.get, keys))              # outcomes are never None: None is unseen
        except TypeError:                                # a value that cannot be a key: one by one
            got = [None] * len(keys)
        if None in got:
            for k, o in enumerate(got):
                if o is None:
                    got[k] = _settle(cache, c, keys[k], memo, envs[k])
        columns.append(got)
    if not columns:
        return [[] for _ in envs]
    return list(map(list, zip(*columns)))


def _settle(cache: OutcomeCache, c, key, memo: dict, env) -> Outcome:
    """An outcome not found by the column's lookup: maybe scored for an earlier organization
    of the same column since, or a key that cannot be one (then computed each time)."""
    try:
        got = memo.get(key)
    except TypeError:
        got, key = None, _UNSEEN
    return got if got is not None else cache.score(c, key, memo, env)
