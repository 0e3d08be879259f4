"""A vectorized re-implementation of agrade's scoring, for benchmarking and differential checks.

Independent of agrade's engine, grading and ranking code: it reads a demo round's files
column-wise (polars), pivots the evidence into one array per field over all organizations
(NumPy), evaluates the standards' expression trees over whole columns, scores every criterion,
grades, places tiers, applies quotas, ranks and derives the red/black lists, all without a
Python loop per organization. From agrade it takes only the compiled standards (the criteria
definitions: `load_round`), the calendar periods, the list-rule parser, and
`normalize()` as a per-cell fallback for odd cells (counted).

    setup = Setup(round_yaml)            # compiled standards, round.yaml (not timed)
    piv = read_round(setup)              # read + pivot
    res = score_round(setup, piv)        # score + grade + rank + lists
    problems = compare(setup, piv, res, results_json)

Modules: `intake` (reading, normalizing, pivoting), `rational` (exact int64 / object
fractions), `expr` (the expression language over columns), `methods` (scoring methods),
`grading` (scores, tiers, gates, vetoes, quotas, ranks), `lists` (red/black lists),
`check` (against agrade's results.json).
"""
__all__ = ["Setup", "Pivot", "read_round", "RoundResult", "score_round", "compare"]


def __getattr__(name):          # lazy, so each module can be imported (and tested) on its own
    if name == "Setup":
        from .setup import Setup
        return Setup
    if name in ("Pivot", "read_round"):
        from . import intake
        return getattr(intake, name)
    if name in ("RoundResult", "score_round"):
        from . import grading
        return getattr(grading, name)
    if name == "compare":
        from .check import compare
        return compare
    raise AttributeError(name)
