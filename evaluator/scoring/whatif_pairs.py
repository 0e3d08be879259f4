"""What-if: each organization scored against the round's standards and the edited ones.

The evidence is read once, partition by partition, in the evaluation's own loop
(pipeline.Partitions: here, or in forked worker processes when there are several), and each
organization is scored once against the round's standards; for an edited standard only the
edited criteria are scored again (through their own outcome cache), every other outcome is
reused, and the organization is graded again from them. Nothing is serialized: the
comparison needs only the compact rows (evaluator.scoring.rows). With the rows of an
evaluation of the round as it is, only the edited criteria are scored, both ways, and the
rest only where they now grade differently.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Callable

from ..errors import EvaluationError
from ..intake.columnar import partition_evidence
from ..intake.rounds import Round
from ..model import Evidence, Standard
from ..standard.yamlsafe import gc_paused
from .criteria import OutcomeCache, score_all
from .pipeline import PartJob, PartResult, Partitions, job_pieces, local_round
from .rows import Row, Shared
from .run import RoundScorer, default_partition_size
from .whatif_edits import Edit, edited_criteria

Progress = Callable[[int, int], None]


class _PairScorer:
    """Each organization scored against the round's standard and the edited one."""

    def __init__(self, before: dict[str, Standard], after: dict[str, Standard], edits: list[Edit], period, waivers):
        self.before = RoundScorer(before, period, waivers)
        self.after = RoundScorer(after, period, waivers)
        self.period, self.waivers = period, waivers
        # per edited standard: only its edited criteria, with their own outcome cache, as they
        # are (`was`) and as edited (`parts`)
        self.parts: dict[str, tuple[Standard, OutcomeCache]] = {}
        self.was: dict[str, tuple[Standard, OutcomeCache]] = {}
        # per edited standard: must every organization be graded again (its grading changed, or
        # how grading reads an edited criterion), or only those whose edited criteria now score
        # differently?
        self.regrade = regrades(before, after, edits)
        old_by_id = {s.id: s for s in before.values()}
        for std in {s.id: s for s in after.values()}.values():
            ids = edited_criteria(edits, std.id)
            if ids:
                part = dataclasses.replace(std, criteria={c: std.criteria[c] for c in ids})
                self.parts[std.id] = (part, OutcomeCache(part))
                old = old_by_id[std.id]
                was = dataclasses.replace(old, criteria={c: old.criteria[c] for c in ids})
                self.was[std.id] = (was, OutcomeCache(was))

    def unchanged(self, org, ev: Evidence | None, row: Row) -> tuple[Row, Row] | None:
        """(row, copy of it) when the organization, whose row from an evaluation of the round as
        it is is `row`, grades as before: its standard is not edited, or its edited criteria
        score, as they were and as edited, alike. None: it must be scored in full."""
        old_std, new_std = self.before.standards[org.type], self.after.standards[org.type]
        if new_std is old_std:
            return row, copy.copy(row)
        part = self.parts.get(new_std.id)
        if part is None or self.regrade[new_std.id]:
            return None
        ev = ev or Evidence(org.id)
        was = self.was[new_std.id]
        then, then_own = score_all(was[0], org, ev, self.period, self.waivers, was[1])
        now, now_own = score_all(part[0], org, ev, self.period, self.waivers, part[1])
        if _same_grade(then, now) and (then_own is None or _same_grade(then_own, now_own)):
            return row, copy.copy(row)
        return None

    def score(self, org, ev: Evidence | None, row: Row | None = None) -> tuple[Row, Row]:
        """(row as it is, row as edited). `row`: the organization's row from an evaluation of the
        round as it is (state.jsonl), when there is one: then only the edited criteria are
        scored, as they were and as edited, and the rest only if they now grade differently."""
        if row is not None:
            same = self.unchanged(org, ev, row)
            if same is not None:
                return same
        old_std, new_std = self.before.standards[org.type], self.after.standards[org.type]
        ev = ev or Evidence(org.id)
        part = self.parts.get(new_std.id)
        outcomes, own = score_all(old_std, org, ev, self.period, self.waivers, self.before.outcome_cache(old_std))
        if row is None:
            row, _ = self.before.grade_row(org, ev, outcomes, own)
        if new_std is old_std:
            return row, copy.copy(row)
        if part is not None:
            redone, redone_own = score_all(part[0], org, ev, self.period, self.waivers, part[1])
            if not self.regrade[new_std.id] and _same_grade(outcomes, redone) and \
                    (own is None or _same_grade(own, redone_own)):
                # only the edited criteria's reasons differ: grading reads none of it
                return row, copy.copy(row)
            fresh = {o.criterion: o for o in redone}
            outcomes = [fresh.get(o.criterion, o) for o in outcomes]
            if own is not None:
                fresh_own = {o.criterion: o for o in redone_own}
                own = [fresh_own.get(o.criterion, o) for o in own]
        new, _ = self.after.grade_row(org, ev, outcomes, own)
        return row, new

    def close(self) -> None:
        self.before.close()
        self.after.close()


def regrades(before: dict[str, Standard], after: dict[str, Standard], edits: list[Edit]) -> dict[str, bool]:
    """Per standard id: must every organization be graded again — its grading was edited, or
    how grading reads an edited criterion — rather than only those whose edited criteria now
    score differently?"""
    old_by_id = {s.id: s for s in before.values()}
    return {std.id: any(std.id in e.standards and e.target == "grading" for e in edits) or
            not all(_grades_alike(old_by_id[std.id].criteria[c], std.criteria[c]) for c in edited_criteria(edits, std.id))
            for std in {s.id: s for s in after.values()}.values()}


def _grades_alike(old, new) -> bool:
    """Whether grading reads two versions of a criterion alike, given equal outcomes: the same
    kind (base, bonus, veto, info), the same policy for missing evidence and, for a veto, the
    same tier cap and mark (grading.grade, engine.ConcludingRules)."""
    return (old.kind, old.na_policy) == (new.kind, new.na_policy) and \
        (old.kind != "veto" or old.params[1:] == new.params[1:])


def _same_grade(outcomes, redone) -> bool:
    """Whether the edited criteria's new outcomes grade as the old ones did: grading (totals,
    sections, vetoes, gates on outcome(), tie-breaks, the lost count) reads of an outcome only
    its kind, points, maximum and veto hit, and the reason only of an error (it is why the
    organization is not graded)."""
    fresh = {o.criterion: o for o in redone}
    for o in outcomes:
        n = fresh.get(o.criterion)
        if n is not None and ((n.outcome, n.points, n.max_points, n.veto_hit) != (o.outcome, o.points, o.max_points, o.veto_hit)
                              or (o.outcome == "error" and n.reason != o.reason)):
            return False
    return True


# the round being scored, set before worker processes fork (they read their partitions from
# its router, as the evaluation's Local round does)
_JOB: list = [None]


# ------------------------------------------------------------------ partition by partition

@dataclass
class PairResult(PartResult):
    """A partition scored both ways: `rows` as it is, `after` as edited (same order)."""
    after: list[Row] = field(default_factory=list)


@dataclass
class _Context:
    """What every partition's scoring reads, inherited by forked workers (pipeline.Local)."""
    before: dict[str, Standard]
    after: dict[str, Standard]
    edits: list[Edit]
    period: tuple
    waivers: dict
    rows: list[Row] | None               # an evaluation's rows of the round as it is, if usable
    # One scorer per process for the whole what-if, made on its first partition and kept across
    # the others, as an evaluation keeps its RoundScorer (pipeline._SCORERS): a scorer per
    # partition left reference cycles behind each time (its outcome caches' plans, a
    # ruleset's durable-rules objects), which local workers, their cyclic garbage collector
    # off (pipeline.LocalPool), never freed; its caches now serve every partition.
    scorer: _PairScorer | None = None

    def pair_scorer(self) -> _PairScorer:
        if self.scorer is None:
            self.scorer = _PairScorer(self.before, self.after, self.edits, self.period, self.waivers)
        return self.scorer

    def close(self) -> None:
        """This process's scorer let go of (a forked worker's goes with the worker)."""
        if self.scorer is not None:
            self.scorer.close()
            self.scorer = None


def score_pairs(job: PartJob, _arg=None) -> PairResult:
    """A partition's evidence read as an evaluation reads it (intake.columnar) and, if nothing
    was refused, each organization scored as it is and as edited (_PairScorer); with an
    evaluation's rows, an organization is scored in full only if its edited criteria now grade
    differently. The garbage collector is paused as in pipeline.score_partition."""
    local = local_round(job)
    if local is None:                    # a what-if's standards are not files a cluster can compile
        raise EvaluationError(f"what-if partition {job.index} sent away from this machine")
    ctx: _Context = local.context
    with gc_paused():
        evidence, put_issues, issues, _ = partition_evidence(job_pieces(job), job.organizations, ctx.before)
        result = PairResult(job.index, put_issues, issues)
        if put_issues or issues or not job.score:
            return result
        rows = ctx.rows[local.router.span(job.index)] if ctx.rows is not None else [None] * len(job.organizations)
        scorer = ctx.pair_scorer()
        for org, row in zip(job.organizations, rows):
            a, b = scorer.score(org, evidence.pop(org.id), row)
            result.rows.append(a)
            result.after.append(b)
    return result


def score_both_ways(rnd: Round, before: dict[str, Standard], after: dict[str, Standard], edits: list[Edit],
                    progress: Progress | None, workers: int | None,
                    rows: list[Row] | None = None) -> tuple[list[Row], list[Row]]:
    """(rows as they are, rows as edited), in registry order, from the round's evidence, read
    and refused as an evaluation reads and refuses it; `rows`: the round's rows from an
    evaluation of it as it is (whatif._usable_rows), if any."""
    context = _Context(before, after, edits, rnd.period, rnd.waivers, rows)
    try:
        with Partitions(rnd, default_partition_size(), workers) as parts:
            ordered = parts.run(score_pairs, None, context=context, progress=progress)
    finally:
        context.close()
    shared = Shared()
    pairs = [(a, b) for res in ordered for a, b in zip(res.rows, res.after)]
    for a, b in pairs:
        shared.row(a)
        shared.row(b)
    return [a for a, _ in pairs], [b for _, b in pairs]
