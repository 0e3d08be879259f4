"""What-if: the round scored again with a changed standard, and who changes tier.

`agrade whatif ROUND.yaml --set 'G4.1.bands[0].min=200'` answers "what happens if we raise
the threshold?" without touching a file. An edit names a criterion by id (or `grading`) and a
path into its YAML as written in the standard (`bands[0].min`, `condition`, `points`,
`grading.tiers[0].min`, `grading.quotas[0].max_share`); `community:G4.1...` limits it to one
standard of the round (by standard id or organization type), otherwise every standard of the
round that has the criterion changes. The changed standard is compiled by the loader itself
(the same checks, the same messages), after the edited part passed the standard schema, so a
bad edit is refused before anything is scored, naming the --set and what was expected.

Speed: the evidence is read once (the evaluation path's partitions) and each organization is
scored once against the round's standards; for the changed standard only the edited criteria
are scored again (through their own outcome cache), every other outcome is reused, and the
organization is graded again from them. Nothing is serialized: the comparison needs only the
compact rows (evaluator.scoring.rows), placed (quotas, ranks) by the same ScoredRound an
evaluation uses. Partitions are scored in forked worker processes when there are several.
Edits that change no score (tier lines, quotas, the target) are answered without evidence from
the compact rows an evaluation of the round kept (`results=`: state.jsonl), placed again.
"""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from ..errors import InputError, Issue, json_path
from ..intake.columnar import partition_evidence
from ..intake.partition import route, unknown_issues
from ..intake.rounds import Round
from ..model import Evidence, Standard
from ..standard.loader import _Resolver, load_document
from ..standard.schema import check_with, make_validator, schema
from ..standard.yamlsafe import Locator, gc_paused, load_yaml_text
from ..terms import STATUS_ZH, scope_label
from .criteria import OutcomeCache, score_all
from .grading import band_index, place
from .rows import Row, Shared
from .run import RoundScorer, ScoredRound, default_partition_size, with_round_overrides

Progress = Callable[[int, int], None]

# one step of a path after the criterion id: .key or [index]
_STEP = re.compile(r"\.([^.\[\]=\s]+)|\[(\d+)\]")
_PERCENT = re.compile(r"\s*[-+]?\d+(\.\d+)?\s*%\s*")


# ------------------------------------------------------------------ edits

@dataclass(frozen=True)
class Edit:
    """One --set: `target` (a criterion id, or "grading") and the path below it, the new value
    (parsed as YAML, as it would be written in the standard), and the standards it changes."""
    text: str                          # as given: G4.1.bands[0].min=200
    target: str
    path: tuple
    value: Any
    standards: tuple[str, ...]         # ids of the round's standards it applies to

    @property
    def where(self) -> str:
        return f"--set {self.text}"

    @property
    def shown(self) -> str:
        """The edited path as the user wrote it: G4.1.bands[0].min."""
        return _shown(self.target, self.path)


def _shown(target: str, path) -> str:
    return target + json_path(list(path))[1:]


def parse_edit(text: str, standards: dict[str, Standard]) -> Edit:
    """`[STANDARD:]PATH=VALUE` against the round's standards (organization type -> standard)."""
    where = f"--set {text}"

    def bad(message: str, path: str = "$"):
        return InputError(Issue(where, 0, 0, path, message))
    lhs, eq, rhs = text.partition("=")
    lhs = lhs.strip()
    if not eq or not lhs:
        raise bad("expected PATH=VALUE, e.g. G4.1.bands[0].min=200 or grading.tiers[0].min=95")
    by_id = {s.id: s for s in standards.values()}
    chosen = list(by_id.values())
    prefix, colon, rest = lhs.partition(":")
    if colon:
        std = by_id.get(prefix) or standards.get(prefix)
        if std is None:
            known = sorted(set(by_id) | set(standards))
            hint = difflib.get_close_matches(prefix, known, 1)
            raise bad(f"no standard or organization type '{prefix}' in this round (it has: {', '.join(known)})"
                      + (f"; did you mean '{hint[0]}'?" if hint else ""))
        chosen, lhs = [std], rest.strip()
    ids = {"grading"}.union(*(s.criteria for s in chosen))
    target = max((i for i in ids if lhs == i or lhs.startswith((i + ".", i + "["))), key=len, default=None)
    if target is None:
        head = re.split(r"[\[]", lhs)[0]
        guesses = [head.rsplit(".", k)[0] for k in range(head.count(".") + 1)]     # G4.1.x, G4.1, G4
        hint = next((h for g in guesses for h in difflib.get_close_matches(g, sorted(ids), 1, 0.7)), None)
        raise bad(f"'{lhs}' names no criterion of {', '.join(s.id for s in chosen)} (nor grading)"
                  + (f"; did you mean '{hint}'?" if hint else ""), lhs)
    tail = lhs[len(target):]
    steps, at = [], 0
    for m in _STEP.finditer(tail):
        if m.start() != at:
            break
        steps.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        at = m.end()
    if at != len(tail) or not steps:
        raise bad(f"after '{target}' expected .key or [index] steps, e.g. {target}.points"
                  f" (got '{tail or '(nothing)'}')", lhs)
    try:
        value, _ = load_yaml_text(rhs, where)
    except InputError as e:
        raise bad(f"the value {rhs!r} is not valid YAML: {e.issues[0].message}", lhs) from None
    if value is None:
        raise bad("no value after '='", lhs)
    applies = tuple(s.id for s in chosen if target == "grading" or target in s.criteria)
    return Edit(text, target, tuple(steps), value, applies)


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "true or false"
    if isinstance(v, (int, float, Decimal)):
        return "a number"
    if isinstance(v, str):
        return "a percentage" if _PERCENT.fullmatch(v) else "text"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, dt.date):
        return "a date"
    return type(v).__name__


_NUMERIC = {"a number", "a percentage"}     # 40% and 0.4 are the same share wherever shares are read


def _set(root: dict, edit: Edit, new_keys_ok: bool) -> Any:
    """Change `root` (a deep copy) at edit.path; a step that does not exist, or a value of
    another kind than the one it replaces, is refused naming the path. Returns the value
    replaced (None for a key the criterion did not have)."""
    node, steps = root, edit.path

    def bad(upto, message):
        raise InputError(Issue(edit.where, 0, 0, _shown(edit.target, upto), message))
    for i, step in enumerate(steps):
        here, last = steps[:i], i == len(steps) - 1
        if isinstance(step, int):
            if not isinstance(node, list):
                bad(here, f"{_shown(edit.target, here)} is {_kind(node)}, not a list: [{step}] does not apply")
            if step >= len(node):
                bad(steps[:i + 1], f"{_shown(edit.target, here)} has {len(node)} item(s), [0] to [{len(node) - 1}]")
        else:
            if not isinstance(node, dict):
                bad(here, f"{_shown(edit.target, here)} is {_kind(node)}, not a mapping: .{step} does not apply")
            if step not in node and not (last and new_keys_ok and i == 0):
                hint = difflib.get_close_matches(step, list(node), 1)
                bad(steps[:i + 1], f"{_shown(edit.target, here)} has no '{step}' (it has: {', '.join(map(str, node))})"
                    + (f"; did you mean '{hint[0]}'?" if hint else ""))
        if last:
            if isinstance(node, dict) and step not in node:
                node[step] = edit.value                       # a key the criterion may take (compile checks it)
                return None
            old = node[step]
            if _kind(old) != _kind(edit.value) and not {_kind(old), _kind(edit.value)} <= _NUMERIC:
                bad(steps, f"expected {_kind(old)} like the standard's {_plain(old)}, got {_plain(edit.value)} ({_kind(edit.value)})")
            node[step] = edit.value
            return old
        node = node[step]


def _plain(v: Any) -> str:
    return str(v) if not isinstance(v, str) else repr(v)


def shown_value(v: Any) -> str:
    """A standard's value as the user reads it back: 500, 40%, members_full >= 7, and lists or
    mappings in JSON's flow form ([{"min": 500, "points": 6}]); (无) for a key it did not have."""
    if v is None:
        return "（无）"
    if isinstance(v, (list, dict)):
        import json
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)


# ------------------------------------------------------------------ the changed standards

_SCHEMA: dict[str, Any] = {}


def _part_validator(part: str):
    """A validator for one part of a standard (a criterion, the grading block), from the
    standard schema, so an edited value gets the same messages as a file would."""
    v = _SCHEMA.get(part)
    if v is None:
        full = schema("standard")
        sub = full["$defs"]["criterion"] if part == "criterion" else full["properties"]["grading"]
        v = _SCHEMA[part] = make_validator({**sub, "$defs": full["$defs"]}, trusted=True)
    return v


class _Edited(_Resolver):
    """The loader's resolver for one standard's files, with edits applied to the merged
    definition before it is compiled; problems are stated against the --set they come from."""

    def __init__(self, chain, edits: list[Edit]):
        super().__init__(chain)
        self.edits = edits
        self.changes: list[tuple[Edit, Any]] = []     # (edit, the value it replaced in this standard)

    def _compile(self) -> Standard:
        for e in self.edits:
            loc = Locator(e.where)
            if e.target == "grading":
                data = {k: copy.deepcopy(v) for k, (v, _, _) in self.grading.items()}
                self.changes.append((e, _set(data, e, new_keys_ok=True)))
                self._schema(e, data, "grading")
                key = e.path[0]
                self.grading[key] = (data[key], loc, (key,))
            else:
                raw = self.criteria[e.target]
                raw.data = copy.deepcopy(raw.data)        # the loader's cached document stays as read
                self.changes.append((e, _set(raw.data, e, new_keys_ok=True)))
                self._schema(e, raw.data, "criterion")
                raw.key_origin[e.path[0]] = (loc, (e.path[0],))
        return super()._compile()

    @staticmethod
    def _schema(e: Edit, data, part: str) -> None:
        issues = check_with(data, _part_validator(part), Locator(e.where))
        if issues:
            raise InputError([Issue(e.where, 0, 0, _shown(e.target, ()) + i.path[1:], i.message) for i in issues])

    def _digest(self) -> str:
        # not the files' digest: a changed standard must never pass for the one on disk
        return super()._digest() + "+whatif:" + "|".join(e.text for e in self.edits)


def edited_standards(rnd: Round, edits: list[Edit]) -> tuple[dict[str, Standard], list[dict]]:
    """The round's standards (organization type -> standard, round overrides applied) with the
    edits made (a standard no edit touches is the round's own object), and what each edit
    replaced in each standard: [{standard, title, path, before, after}]. The same path can
    hold different values in different standards (a field standard's override of G4.1 has
    its own bands), so this is what the user should read back."""
    for e in edits:
        if e.target == "grading" and e.path[0] in rnd.grading_override:
            raise InputError(Issue(e.where, 0, 0, e.shown, f"the round ({rnd.path}) sets grading.{e.path[0]} for "
                                   "every standard; change it there (round.yaml grading:), not in the standard"))
    out: dict[str, Standard] = {}
    made: dict[str, Standard] = {}
    changes: list[dict] = []
    for org_type, std in rnd.standards.items():
        mine = [e for e in edits if std.id in e.standards]
        if not mine:
            out[org_type] = with_round_overrides(std, rnd.grading_override)
            continue
        if std.id not in made:
            chain = [load_document(Path(f)) for f in std.files]
            resolver = _Edited(chain, mine)
            try:
                changed = resolver.build()
            except InputError as e:
                raise InputError([_stated(i, mine) for i in e.issues]) from None
            made[std.id] = with_round_overrides(changed, rnd.grading_override)
            changes += [{"standard": std.id, "title": std.title, "path": e.shown, "before": old, "after": e.value}
                        for e, old in resolver.changes]
        out[org_type] = made[std.id]
    return out, changes


def _stated(i: Issue, edits: list[Edit]) -> Issue:
    """A problem of an edited standard as the user can act on it: at the --set that caused it
    (its path as written there), or, found elsewhere in the standard, with the edits named."""
    edit = next((e for e in edits if e.where == i.file), None)
    if edit is not None:                     # the loader's JSON path below the edited key, or ours already
        return Issue(i.file, 0, 0, edit.target + i.path[1:] if i.path.startswith("$") else i.path, i.message)
    return i._replace(message=f"{i.message} (after {', '.join(e.where for e in edits)})")


def edited_criteria(edits: list[Edit], std_id: str) -> tuple[str, ...]:
    """The criteria of standard `std_id` whose outcomes an edit can change (a grading edit
    changes none: outcomes are reused, only the grading runs again)."""
    return tuple(dict.fromkeys(e.target for e in edits if std_id in e.standards and e.target != "grading"))


# ------------------------------------------------------------------ scoring both ways

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
        # per edited standard: the evidence fields its edited criteria read, as they were and as
        # edited (from the outcome caches' plans: None for a criterion whose reads it cannot
        # list, such as one reading dated records), or None when every organization is
        # graded again anyway
        self._needs: dict[str, frozenset[str] | None] = {}
        for sid, (part, cache) in self.parts.items():
            plans = cache.plan + self.was[sid][1].plan
            names = [n for _, n, _ in plans]
            self._needs[sid] = None if self.regrade[sid] or any(n is None for n in names) else \
                frozenset(x for n in names for x in n if not x.startswith(("org.", "$")))
        for sid, regrade in self.regrade.items():
            if regrade and sid not in self._needs:
                self._needs[sid] = None

    def needs(self, org_type: str) -> frozenset[str] | None:
        """The evidence fields `unchanged` reads for an organization of this type (empty: its
        standard is not edited); None when it cannot tell without scoring in full."""
        return self._needs.get(self.after.standards[org_type].id, frozenset())

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


def _score_part(k: int):
    router, orgs, before, after, edits, period, waivers, rows = _JOB[0]
    span = router.span(k)                    # partition k's organizations in registry order
    with gc_paused():
        part = orgs[span]
        # as an evaluation reads a partition: bulk CSV rows column-wise (intake.columnar)
        evidence, put_issues, issues, _ = partition_evidence(router.pieces(k), part, before)
        pairs: list[tuple[Row, Row]] = []
        if rows is not None and not (put_issues or issues):
            # the evaluation's rows stand for the round as it is, and its evidence was valid then
            # (same digest): an organization is scored in full only if its edited criteria now
            # grade differently (_PairScorer.score with its row)
            scorer = _PairScorer(before, after, edits, period, waivers)
            try:
                pairs = [scorer.score(org, evidence.pop(org.id), row) for org, row in zip(part, rows[span])]
            finally:
                scorer.close()
            return k, pairs, put_issues, []
        if not (put_issues or issues):
            scorer = _PairScorer(before, after, edits, period, waivers)
            try:
                pairs = [scorer.score(org, evidence.pop(org.id)) for org in part]
            finally:
                scorer.close()
    return k, pairs, put_issues, issues


def _score_round(rnd: Round, before, after, edits, progress: Progress | None, workers: int | None,
                 rows: list[Row] | None = None):
    """(rows as they are, rows as edited), in registry order, from the round's evidence;
    `rows`: the round's rows from an evaluation of it as it is (_usable_rows), if any."""
    import os
    size = default_partition_size()
    cores = (os.cpu_count() or 1) if workers is None else workers
    # read as the evaluation reads it (workbooks' Chinese headers by the round's standards)
    router = route(rnd.evidence_paths, rnd.organizations, size, None, helpers=0 if cores < 2 else cores,
                   standards=rnd.standards, small_tail=cores > 1)
    pool = None
    try:
        rnd.notices += [n for n in router.notices if n not in rnd.notices]
        if router.issues:
            raise InputError(router.issues)
        _JOB[0] = (router, rnd.organizations, before, after, edits, rnd.period, rnd.waivers, rows)
        total, done = len(rnd.organizations), 0
        if cores > 1 and router.count > 1:
            import concurrent.futures as cf
            import multiprocessing as mp
            pool = cf.ProcessPoolExecutor(min(cores, router.count), mp_context=mp.get_context("fork"))
            results = (f.result() for f in cf.as_completed([pool.submit(_score_part, k) for k in range(router.count)]))
        else:
            results = (_score_part(k) for k in range(router.count))
        parts = {}
        for k, pairs, put_issues, issues in results:
            parts[k] = (pairs, put_issues, issues)
            done += router.span(k).stop - router.span(k).start
            if progress:
                progress(done, total)
        ordered = [parts[k] for k in range(router.count)]
        issues = [i for p in ordered for i in p[1]] or unknown_issues(router, rnd.organizations) + \
            [i for p in ordered for i in p[2]]
        if issues:
            raise InputError(issues)
        shared = Shared()
        pairs = [pair for p in ordered for pair in p[0]]
        for a, b in pairs:
            shared.row(a)
            shared.row(b)
        return [a for a, _ in pairs], [b for _, b in pairs]
    finally:
        _JOB[0] = None
        if pool is not None:
            pool.shutdown()
        router.close()


class _NoSpill:
    """Rows placed for a comparison only: no organization's full result is kept."""

    def close(self) -> None:
        pass


# ------------------------------------------------------------------ the answer

@dataclass
class Move:
    """One organization whose tier changed."""
    id: str
    name: str
    type: str
    district: str
    street: str
    direction: str                    # "up" | "down"
    tier_before: str | None           # tier names (A档, 五星级), None: not graded
    tier_after: str | None
    total_before: Decimal | None
    total_after: Decimal | None


@dataclass
class WhatIf:
    round: dict
    edits: list[Edit]
    changes: list[dict]               # what each edit replaced, per standard (edited_standards)
    organizations: int
    moves: list[Move]
    totals_changed: int               # organizations whose total changed (whether or not their tier did)
    targets: list[dict]               # per target scope: before and after share, met or not
    tiers_before: dict[str, int] = field(default_factory=dict)   # tier name -> organizations
    tiers_after: dict[str, int] = field(default_factory=dict)
    # every organization's (tier id, total, rank in the round), without and with the edits
    before: dict[str, tuple] = field(default_factory=dict)
    after: dict[str, tuple] = field(default_factory=dict)
    # "scored": evidence read, every organization scored both ways; "edited": evidence read, only
    # the edited criteria scored where an evaluation's rows (--results) stand for the rest;
    # "graded": its rows stand for the round as it is, every organization is graded again as
    # edited (the grading, or how it reads a criterion, changed); "rows": no evidence read, the
    # evaluation's rows placed again
    method: str = "scored"
    notes: list[str] = field(default_factory=list)               # why the rows of --results were not used

    @property
    def up(self) -> int:
        return sum(m.direction == "up" for m in self.moves)

    @property
    def down(self) -> int:
        return sum(m.direction == "down" for m in self.moves)


def whatif(rnd: Round, sets: list[str], progress: Progress | None = None, workers: int | None = None,
           results=None) -> WhatIf:
    """The round scored with and without the edits `sets` (`PATH=VALUE` texts); bad edits and
    bad evidence are refused (InputError) before anything is scored. `results`: a results
    folder of this round (agrade evaluate); edits that only move organizations between tiers
    are then answered from its compact rows, without reading evidence (`WhatIf.method`)."""
    before = {t: with_round_overrides(s, rnd.grading_override) for t, s in rnd.standards.items()}
    if not sets:
        raise InputError(Issue("--set", 0, 0, "$", "give at least one --set PATH=VALUE"))
    edits = [parse_edit(text, before) for text in sets]
    after, changes = edited_standards(rnd, edits)
    notes: list[str] = []
    rows = _usable_rows(rnd, results, before, notes) if results is not None else None
    if rows is not None and all(placement_only(e) for e in edits):
        method, (rows_before, rows_after) = "rows", (rows, _replaced(rows, after))
        if progress:
            progress(len(rows), len(rows))
    else:
        method = "scored" if rows is None else "graded" if any(regrades(before, after, edits).values()) else "edited"
        rows_before, rows_after = _score_round(rnd, before, after, edits, progress, workers, rows)
    old = ScoredRound(rows_before, _NoSpill(), before, {})
    new = ScoredRound(rows_after, _NoSpill(), after, {})
    answer = compare(rnd, edits, changes, old, new)
    answer.method, answer.notes = method, notes
    return answer


# ------------------------------------------------------------------ placement only, from the rows

def placement_only(e: Edit) -> bool:
    """An edit that moves organizations between tiers without changing any score: a tier's
    score line or name, the quotas, the declared distribution, the target. Each row keeps its
    total, its tie-break values, its veto caps and which tiers' gates it fails (by tier place),
    so it is placed again from those alone."""
    p = e.path
    return e.target == "grading" and (p[0] in ("quotas", "distribution", "target") or (
        p[0] == "tiers" and len(p) == 3 and isinstance(p[1], int) and p[2] in ("min", "name")))


def _usable_rows(rnd: Round, folder, before, notes: list[str]) -> list[Row] | None:
    """The compact rows of an evaluation of this round (state.jsonl), if the folder is of the
    round as it is now: its standards (read_state refuses others), every organization of the
    registry, the evidence as it is (the digest results.json records) and no as-of date (a
    bulletin). None, with the reason in `notes`, otherwise."""
    from .rescore import read_state
    rows, head = read_state(folder, rnd, before)
    header = head.get("header") or {}
    if (header.get("round") or {}).get("as_of"):
        notes.append(f"{folder} 是一期通报（按截止日评估），已重新读取证据并评分")
        return None
    if len(rows) != len(rnd.organizations):
        notes.append(f"{folder} 的组织与当前名册不一致，已重新读取证据并评分")
        return None
    if header.get("evidence_digest") != _evidence_digest(rnd):
        notes.append(f"证据在 {folder} 评估之后有变化，已重新读取证据并评分")
        return None
    return rows


def _evidence_digest(rnd: Round) -> str | None:
    """The evidence digest results.json records, from the files' bytes alone (no parsing): each
    evidence file's name and content in reading order, as intake.evidence._read_file hashes
    them. A file that cannot be read gives None (the evidence is then read and refused)."""
    import hashlib
    from ..intake.evidence import _evidence_files
    from ..standard.yamlsafe import read_limited
    issues: list[Issue] = []
    h = hashlib.sha256()
    try:
        for f in _evidence_files(rnd.evidence_paths, issues):
            h.update(f.name.encode() + b"\0" + read_limited(f) + b"\0")
    except InputError:
        return None
    return None if issues else "sha256:" + h.hexdigest()


def _replaced(rows: list[Row], after: dict[str, Standard]) -> list[Row]:
    """Each row as the edited grading places it (before quotas; ScoredRound applies them)."""
    gradings = {s.id: s.grading for s in after.values()}
    out = []
    for r in rows:
        n = copy.copy(r)
        if r.graded:
            g = gradings[r.standard]
            n.tier_index = place(g, band_index(g, r.total), list(r.caps), r.gate_failures or {}, [])
        out.append(n)
    return out


def _place(r: Row, std: Standard) -> int:
    """Where a row stands in its standard's tiers, best first; not graded is below every tier."""
    return r.tier_index if r.tier_index is not None else len(std.grading.tiers)


def compare(rnd: Round, edits: list[Edit], changes: list[dict], old: ScoredRound, new: ScoredRound) -> WhatIf:
    moves, changed = [], 0
    for a, b in zip(old.rows, new.rows):
        changed += a.total != b.total
        pa, pb = _place(a, old.standards[a.standard]), _place(b, new.standards[b.standard])
        if pa != pb:
            moves.append(Move(a.id, a.name, a.type, a.district, a.street, "up" if pb < pa else "down",
                              a.tier_name, b.tier_name, a.total, b.total))
    # those moving up first, then down; each in registry order
    moves.sort(key=lambda m: m.direction != "up")
    targets = []
    after = {(t["scope"], t["value"], t["tier"]): t for t in new.header["summary"]["target"]}
    names = {t.id: t.name for s in new.standards.values() for t in s.grading.tiers}
    for t in old.header["summary"]["target"]:
        n = after.get((t["scope"], t["value"], t["tier"]))
        if n is None:
            continue
        targets.append({"where": scope_label(t["scope"] or "round", t["value"] or ""), "tier": names.get(t["tier"], t["tier"]),
                        "target": n["target"], "before": t["share"], "after": n["share"], "count_before": t["count"],
                        "count_after": n["count"], "graded_before": t["graded"], "graded_after": n["graded"],
                        "met_before": t["met"], "met_after": n["met"]})

    def tiers(scored: ScoredRound) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in scored.order:
            key = r.tier_name or STATUS_ZH["not_graded"]
            out[key] = out.get(key, 0) + 1
        return out
    placed = lambda scored: {r.id: (r.tier, r.total, r.rank_round) for r in scored.rows}   # noqa: E731
    return WhatIf({"id": rnd.id, "title": rnd.title, "issuer": rnd.issuer, "period": rnd.period}, edits, changes, len(old.rows), moves, changed, targets,
                  tiers(old), tiers(new), placed(old), placed(new))


# ------------------------------------------------------------------ as a workbook

MOVE_COLUMNS = [("id", "组织编号", "text"), ("name", "组织名称", "text"), ("district", "区县", "text"),
                ("street", "街道", "text"), ("direction", "变化", "text"), ("tier_before", "原档次", "text"),
                ("tier_after", "新档次", "text"), ("total_before", "原总分", "num"), ("total_after", "新总分", "num")]
SUMMARY_COLUMNS = [("item", "项目", "text"), ("value", "内容", "text")]
TARGET_COLUMNS = [("where", "范围", "text"), ("tier", "目标档次", "text"), ("target", "目标占比", "text"),
                  ("before", "原占比", "text"), ("after", "新占比", "text"), ("met", "是否达标（原 → 新）", "text")]
DIRECTION_ZH = {"up": "升档", "down": "降档"}


def sheets(w: WhatIf) -> list[tuple[str, list, list[dict]]]:
    """The answer as sheets (name, columns, rows) for an XLSX: the summary, the organizations
    whose tier changed, and the target shares."""
    from ..terms import pct
    summary = [{"item": "考评轮次", "value": w.round["title"]}]
    summary += [{"item": "假设调整", "value": f"{c['title']}：{c['path']} {shown_value(c['before'])} → {shown_value(c['after'])}"}
                for c in w.changes]
    summary += [{"item": "组织数", "value": str(w.organizations)},
                {"item": "升档", "value": str(w.up)}, {"item": "降档", "value": str(w.down)},
                {"item": "总分变化的组织", "value": str(w.totals_changed)}]
    moves = [{"id": m.id, "name": m.name, "district": m.district, "street": m.street,
              "direction": DIRECTION_ZH[m.direction], "tier_before": m.tier_before or STATUS_ZH["not_graded"],
              "tier_after": m.tier_after or STATUS_ZH["not_graded"], "total_before": m.total_before, "total_after": m.total_after}
             for m in w.moves]
    yes = {True: "达标", False: "未达标"}
    targets = [{"where": t["where"], "tier": t["tier"], "target": "≥ " + pct(t["target"], 2),
                "before": f"{t['count_before']}/{t['graded_before']} = {pct(t['before'])}",
                "after": f"{t['count_after']}/{t['graded_after']} = {pct(t['after'])}",
                "met": f"{yes[t['met_before']]} → {yes[t['met_after']]}"} for t in w.targets]
    return [("假设分析", SUMMARY_COLUMNS, summary), ("档次变化", MOVE_COLUMNS, moves), ("目标占比", TARGET_COLUMNS, targets)]
