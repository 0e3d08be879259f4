"""grading.tally for a partition's organizations at once: their points summed as integers.

`tally` walks one organization's 40-odd outcomes adding Decimals, one outcome at a time: a
loop per organization and criterion that was half of grading it. Here a partition's outcomes
become integer matrices (organizations × criteria) summed by numpy; each Decimal sum is made
once per organization from its integer sum.

The same digits, not only the same values: state.jsonl writes sums as text, and an exact
Decimal sum has the smallest exponent of its terms and of the ZERO it starts from (2 + 0.5 is
2.5, 2.0 + 1 is 3.0). The points are integers of 10**-SCALE, and each sum keeps the least
exponent of the terms it adds (at most 0). A sum of such terms is exact in Decimal's 28 digits,
so the order of additions does not matter. An organization with a term that does not fit that
scale (a proportional ratio's 28-digit points: its sums round in Decimal, in document order)
is tallied by `tally` itself: a few in a round. What a tally states in words (veto hits,
errors, missing values that forbid grading) is written for the organizations that have any.
tests/test_partition_scoring.py checks every field, exponents included, against `tally`.
"""
from __future__ import annotations

import itertools
import operator
from decimal import Decimal

import numpy as np

from ..model import ZERO, Outcome, Standard
from ..terms import UNCOUNTED
from .grading import _REVIEWED, BaseScore, Tally, _ByCriterion, _cannot_compute, _must_provide, _of_standard, _veto, tally

SCALE = 9                      # points as integers of 10**-9: the demo's deepest exact points have 4 decimals
_BELOW = Decimal(10) ** 6      # |points| under this: scaled, under 10**15
_MAX_CRITERIA = 9000           # 9,000 terms under 10**15 sum under 2**63

# outcome words as small integers: the reviewed ones first
_STATES = {s: i for i, s in enumerate((*sorted(_REVIEWED), "error", "not_reviewed", *UNCOUNTED))}
_UNKNOWN = len(_STATES)
_OFF_SCALE = 1                 # the exponent _scaled gives a Decimal that does not fit the scale
_CRITERION, _STATE, _POINTS, _MOST, _VETO = (operator.attrgetter(a) for a in
                                             ("criterion", "outcome", "points", "max_points", "veto_hit"))


def tallies(standard: Standard, rows: list[list[Outcome]]) -> list[Tally]:
    """[tally(standard, outcomes) for outcomes in rows], the same in every digit."""
    positions, sections_of, info = _of_standard(standard)[:3]
    width = len(positions)
    regular = [i for i, row in enumerate(rows) if len(row) == width]
    out: list[Tally | None] = [None] * len(rows)
    if regular and 0 < width <= _MAX_CRITERIA:
        _tally_matrix(standard, [rows[i] for i in regular], regular, out, positions, sections_of, info)
    return [t if t is not None else tally(standard, row) for t, row in zip(out, rows)]


def _tally_matrix(standard, rows, at, out, positions, sections_of, info) -> None:
    """The tallies of `rows` (each as long as the standard's criteria) into out[at[i]]; a row
    left None goes `tally`'s way."""
    n, width = len(rows), len(positions)
    flat = [o for row in rows for o in row]
    ids = list(map(id, flat))
    # the distinct outcomes (cached ones are shared by many organizations), found by identity:
    # every one stays alive in `rows` while this runs; what each adds is worked out for all
    # of them at once, column by column
    distinct = dict(zip(ids, flat))
    code = dict(zip(distinct, range(len(distinct))))
    codes = np.fromiter(map(code.__getitem__, ids), np.intp, len(ids)).reshape(n, width)
    adds = _adds(list(distinct.values()), standard, positions, info)
    where, own_way, words, points, p_exp, most, m_exp = (a[codes] for a in adds[:7])
    # a row is summed here when its outcomes are in the standard's order and none is off the scale
    ok = ((where == np.arange(width)).all(1) & ~own_way.any(1)).tolist()
    worded = words.any(1).tolist()

    def total(mask, values, exps, cols=slice(None)):
        if cols == []:                    # a section without criteria: ZERO, as tally starts it
            return [ZERO] * n
        mask = mask[codes[:, cols]]
        return _decimals(np.where(mask, values[:, cols], 0).sum(1), np.where(mask, exps[:, cols], 0).min(1))

    earned_mask, applicable_mask, counted_mask, section_mask, bonus_mask, lost, not_due = adds[7:]
    earned, reviewed = total(earned_mask, points, p_exp), total(earned_mask, most, m_exp)
    applicable, counted = total(applicable_mask, most, m_exp), total(counted_mask, most, m_exp)
    bonus = total(bonus_mask, points, p_exp)
    section_ids = [info[cid][1] for cid in positions]
    sections = [total(section_mask, points, p_exp, [j for j, s in enumerate(section_ids) if s == sid])
                for sid in sections_of]
    lost = lost[codes].sum(1).tolist()
    not_due = not_due[codes].any(1).tolist()
    g = standard.grading.base
    for k, row in enumerate(rows):
        if not ok[k]:
            continue
        e, c = earned[k], counted[k]
        score = e / c * g if c > 0 else ZERO
        problems, others, vetoes = _words(row, info) if worded[k] else ([], [], [])
        out[at[k]] = Tally(BaseScore(score, e, c, applicable[k], reviewed[k], problems), others, bonus[k],
                           dict(zip(sections_of, (s[k] for s in sections))), vetoes, not_due[k], lost[k],
                           _ByCriterion(positions, row))


def _adds(outcomes: list[Outcome], standard, positions: dict, info: dict) -> tuple:
    """What each outcome adds to a tally, as arrays over `outcomes`: its criterion's position,
    whether it goes tally's own way (points off the integers' scale, an unknown word), whether
    it is stated in words (a veto hit, an error, a missing value that forbids grading), its
    points and maximum as integers of 10**-SCALE with their exponents, and the masks of the
    sums it takes part in (earned and reviewed, applicable, counted, its section's points,
    bonus), of lost points and of not due. The same cases as grading.tally's loop."""
    k = len(outcomes)
    where = np.fromiter(map(positions.__getitem__, map(_CRITERION, outcomes)), np.intp, k)
    state = np.fromiter(map(_STATES.get, map(_STATE, outcomes), itertools.repeat(_UNKNOWN)), np.int8, k)
    veto = np.fromiter(map(_VETO, outcomes), bool, k)
    p, p_exp = _scaled_all(map(_POINTS, outcomes), k)
    m, m_exp = _scaled_all(map(_MOST, outcomes), k)
    base, bonus_kind, exclude, forbid = _of_criteria(standard, positions, info)
    base, bonus_kind, exclude, forbid = base[where], bonus_kind[where], exclude[where], forbid[where]
    reviewed, error, missing = state < len(_REVIEWED), state == _STATES["error"], state == _STATES["not_reviewed"]
    uncounted = np.isin(state, [_STATES[s] for s in UNCOUNTED])
    own_way = (state == _UNKNOWN) | (p_exp == _OFF_SCALE) | (m_exp == _OFF_SCALE)
    words = veto | error | (missing & forbid)
    earned = base & (reviewed | error)
    applicable = base & (reviewed | error | missing)
    counted = base & (reviewed | error | (missing & ~exclude))
    return (where, own_way, words, p, p_exp, m, m_exp, earned, applicable, counted, base, ~base & bonus_kind,
            ~uncounted & (p < m), base & (state == _STATES["not_due"]))


_CRITERIA: dict[str, tuple] = {}


def _of_criteria(standard, positions, info) -> tuple:
    """Per criterion, in the standard's order: is it base, a bonus one, does its na_policy
    exclude or forbid (made once per standard)."""
    got = _CRITERIA.get(standard.id)
    if got is None or got[0] is not standard:
        cs = [info[cid] for cid in positions]
        got = _CRITERIA[standard.id] = (standard, np.array([b for b, _, _ in cs], bool),
                                        np.array([c.kind == "bonus" for _, _, c in cs], bool),
                                        np.array([c.na_policy == "exclude" for _, _, c in cs], bool),
                                        np.array([c.na_policy == "forbid" for _, _, c in cs], bool))
    return got[1:]


def _words(row: list[Outcome], info: dict) -> tuple[list[str], list[str], list[dict]]:
    """What grading.tally states in words for one organization: why it cannot be graded (base
    criteria; then bonus, veto and info ones) and its veto hits, in document order."""
    problems, others, vetoes = [], [], []
    for o in row:
        base, _, c = info[o.criterion]
        if o.veto_hit:
            vetoes.append(_veto(c, o))
        said = _cannot_compute(c, o) if o.outcome == "error" else \
            _must_provide(c) if o.outcome == "not_reviewed" and c.na_policy == "forbid" else None
        if said is not None:
            (problems if base else others).append(said)
    return problems, others, vetoes


def _scaled_all(decimals, k: int) -> tuple[np.ndarray, np.ndarray]:
    """_scaled of each of `k` Decimals: their integers and exponents as two arrays."""
    both = np.fromiter(itertools.chain.from_iterable(map(_scaled, decimals)), np.int64, 2 * k)
    return both[0::2], both[1::2]


_SCALED: dict[int, tuple] = {}


def _scaled(d: Decimal) -> tuple[int, int]:
    """(d as an integer of 10**-SCALE, its exponent but at most 0), or (0, _OFF_SCALE) when d
    does not fit that scale. Kept by identity, with d itself so the id stays its own: a round's points are
    a few Decimals (criteria's points, ZERO, a frequency plan's verdicts) shared by outcomes."""
    got = _SCALED.get(id(d))
    if got is not None and got[0] is d:
        return got[1]
    exp = d.as_tuple().exponent
    fits = isinstance(exp, int) and exp >= -SCALE and abs(d) < _BELOW
    value = (int(d.scaleb(SCALE)), min(exp, 0)) if fits else (0, _OFF_SCALE)
    if len(_SCALED) >= 4096:
        _SCALED.clear()
    _SCALED[id(d)] = (d, value)
    return value


_DECIMALS: dict[tuple[int, int], Decimal] = {}


def _decimals(sums: np.ndarray, exps: np.ndarray) -> list[Decimal]:
    """The Decimals of integer sums (of 10**-SCALE) with their exponents: the coefficient
    at the exponent is exact, as every term is a multiple of 10**exponent. Equal sums repeat
    (a section's full points): each is made once."""
    coefficients = (sums // np.power(10, SCALE + exps, dtype=np.int64)).tolist()
    out = []
    for key in zip(coefficients, exps.tolist()):
        d = _DECIMALS.get(key)
        if d is None:
            if len(_DECIMALS) >= 4096:
                _DECIMALS.clear()
            d = _DECIMALS[key] = Decimal(key[0]).scaleb(key[1])
        out.append(d)
    return out
