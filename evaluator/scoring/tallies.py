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
or with anything a tally states in words (a veto hit, an error, a missing value that forbids
grading) is tallied by `tally` itself: a few in a round. tests/test_tallies.py checks every
field, exponents included, against `tally`.
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from ..model import ZERO, Outcome, Standard
from ..terms import UNCOUNTED
from .grading import _REVIEWED, BaseScore, Tally, _ByCriterion, _of_standard, tally

SCALE = 9                      # points as integers of 10**-9: the demo's deepest exact points have 4 decimals
_BELOW = Decimal(10) ** 6      # |points| under this: scaled, under 10**15
_MAX_CRITERIA = 9000           # 9,000 terms under 10**15 sum under 2**63

# what an outcome adds to (bits of its flags)
_EARNED = 1       # earned and reviewed: a base criterion reviewed (or in error)
_APPLICABLE = 2   # applicable: reviewed, in error or not reviewed
_COUNTED = 4      # counted: as applicable, less a not-reviewed one its na_policy excludes
_SECTION = 8      # its section's points: every base criterion
_BONUS = 16       # bonus: a bonus criterion, whatever its outcome
_LOST = 32        # lost points: counted and short of its maximum
_NOT_DUE = 64     # a base criterion not yet due (a bulletin)
_OWN_WAY = 128    # tallied by `tally`: a veto hit, an error, forbid, or points off the scale

_KNOWN = frozenset(_REVIEWED | {"error", "not_reviewed", *UNCOUNTED})


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
    # every one stays alive in `rows` while this runs
    distinct = dict(zip(ids, flat))
    code = dict(zip(distinct, range(len(distinct))))
    codes = np.fromiter(map(code.__getitem__, ids), np.intp, len(ids)).reshape(n, width)
    table = np.array([_terms(o, positions, info) for o in distinct.values()], dtype=np.int64).reshape(-1, 6)
    where, flags, points, p_exp, most, m_exp = (table[:, k][codes] for k in range(6))
    # a row is summed here when its outcomes are in the standard's order and none goes its own way
    ok = ((where == np.arange(width)).all(1) & ((flags & _OWN_WAY) == 0).all(1)).tolist()

    def total(bit, values, exps, cols=slice(None)):
        if cols == []:                    # a section without criteria: ZERO, as tally starts it
            return [ZERO] * n
        mask = (flags[:, cols] & bit) != 0
        return _decimals(np.where(mask, values[:, cols], 0).sum(1), np.where(mask, exps[:, cols], 0).min(1))

    earned, reviewed = total(_EARNED, points, p_exp), total(_EARNED, most, m_exp)
    applicable, counted = total(_APPLICABLE, most, m_exp), total(_COUNTED, most, m_exp)
    bonus = total(_BONUS, points, p_exp)
    section_ids = [info[cid][1] for cid in positions]
    sections = [total(_SECTION, points, p_exp, [j for j, s in enumerate(section_ids) if s == sid])
                for sid in sections_of]
    lost = ((flags & _LOST) != 0).sum(1).tolist()
    not_due = ((flags & _NOT_DUE) != 0).any(1).tolist()
    g = standard.grading.base
    for k, row in enumerate(rows):
        if not ok[k]:
            continue
        e, c = earned[k], counted[k]
        score = e / c * g if c > 0 else ZERO
        out[at[k]] = Tally(BaseScore(score, e, c, applicable[k], reviewed[k], []), [], bonus[k],
                           dict(zip(sections_of, (s[k] for s in sections))), [], not_due[k], lost[k],
                           _ByCriterion(positions, row))


def _terms(o: Outcome, positions: dict, info: dict) -> tuple[int, int, int, int, int, int]:
    """What one outcome adds to a tally: (its criterion's position, flags, points and their
    exponent, maximum and its exponent), the points as integers of 10**-SCALE."""
    base, _, c = info[o.criterion]
    state, got, most = o.outcome, o.points, o.max_points
    p, m = _scaled(got), _scaled(most)
    own_way = (o.veto_hit or state == "error" or state not in _KNOWN or p is None or m is None
               or (state == "not_reviewed" and c.na_policy == "forbid"))
    if own_way:
        return positions[o.criterion], _OWN_WAY, 0, 0, 0, 0
    flags = 0
    if state not in UNCOUNTED and got < most:
        flags |= _LOST
    if base:
        flags |= _SECTION
        if state in _REVIEWED:
            flags |= _EARNED | _APPLICABLE | _COUNTED
        elif state == "not_reviewed":
            flags |= _APPLICABLE | (0 if c.na_policy == "exclude" else _COUNTED)
        elif state == "not_due":
            flags |= _NOT_DUE
    elif c.kind == "bonus":
        flags |= _BONUS
    return positions[o.criterion], flags, *p, *m


_SCALED: dict[int, tuple] = {}


def _scaled(d: Decimal) -> tuple[int, int] | None:
    """(d as an integer of 10**-SCALE, its exponent but at most 0), or None when d does not fit
    that scale. Kept by identity, with d itself so the id stays its own: a round's points are
    a few Decimals (criteria's points, ZERO, a frequency plan's verdicts) shared by outcomes."""
    got = _SCALED.get(id(d))
    if got is not None and got[0] is d:
        return got[1]
    exp = d.as_tuple().exponent
    fits = isinstance(exp, int) and exp >= -SCALE and abs(d) < _BELOW
    value = (int(d.scaleb(SCALE)), min(exp, 0)) if fits else None
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
