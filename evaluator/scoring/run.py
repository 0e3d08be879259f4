"""Evaluate a whole round: evidence -> outcomes -> grades -> quotas -> ranks -> lists -> results.

The round streams through: each organization is scored on its own (`RoundScorer.score`), its
full result serialized and spilled to an anonymous temporary file, and only a compact row
(evaluator.scoring.rows) kept for the round-level steps — quotas, ranks, the lists, the
summary. The writer then streams results.json and results.csv in rank order from the rows and
the spill. Nothing depends on time or host, so the same inputs give the same bytes (design
invariant 2).
"""
from __future__ import annotations

import contextlib
import dataclasses
import difflib
import gc
import json
import os
from array import array
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Iterable, Iterator

from .. import __version__
from ..errors import InputError, Issue
from ..intake.columnar import partition_evidence
from ..intake.evidence import collect, resolve
from ..intake.partition import DEFAULT_SIZE
from ..intake.rounds import Round, published_info
from ..intake.partition import local_cores
from ..intake.spill import Spill
from ..model import Evidence, Organization, Standard
from ..standard.yamlsafe import gc_paused
from ..standard.distribution import compile_distribution
from .asof import evidence_as_of, gate_evidence
from .criteria import OutcomeCache
from .partition_criteria import score_partition_all
from .engine import ConcludingRules
from .grading import grade, tie_values
from .jsonlayout import Aside, Layout, spill_descriptor
from .lists import ListState, veto_marks
from .orgresult import Pieces, dumps, parts, round_part
from .pipeline import PartResult, Partitions, StandardsSpec, score_partition
from .placement import Quotas, Ranks, ranking_info, sort_key
from .previous import load_previous
from .rescore import waivers_state
from ..terms import scope_key
from .rows import Row, Shared
from .source import CLOSING, opening

Progress = Callable[[int, int], None]


def with_round_overrides(std: Standard, override: dict) -> Standard:
    """Round-level grading overrides (quotas, target, ranking, distribution) replace the standard's."""
    from ..model import Quota, Target
    from ..standard.quantity import read_decimal
    g = std.grading
    changes = {}
    if "quotas" in override:
        changes["quotas"] = tuple(Quota(q["tier"], read_decimal(q["max_share"]), q["scope"]) for q in override["quotas"])
    if "target" in override:
        t = override["target"]
        changes["target"] = Target(t["tier"], read_decimal(t["min_share"]), t.get("scope", "round"))
    if "ranking" in override:         # tier_first | score_first (scoring.placement)
        changes["ranking"] = override["ranking"]
    if "distribution" in override:    # checked against each standard's tiers when the round loaded
        changes["distribution"] = compile_distribution(override["distribution"], [t.id for t in g.tiers], _unreachable)
    if not changes:
        return std
    return dataclasses.replace(std, grading=dataclasses.replace(g, **changes))


def _unreachable(sub, message):
    raise AssertionError(f"grading.distribution {sub}: {message}; load_round checks it first")


# ------------------------------------------------------------------ evidence

def load_evidence(rnd: Round, standards: dict[str, Standard] | None = None):
    """Read and normalize all of a round's evidence, so bad input stops the run before anything
    is scored; `agrade validate` runs exactly this. Returns (evidence by org, digest, files)."""
    standards = standards or rnd.standards
    raw, digest, files, notices = collect(rnd.evidence_paths, rnd.organizations, rnd.standards)
    rnd.notices += [n for n in notices if n not in rnd.notices]
    by_id = {o.id: o for o in rnd.organizations}
    issues: list[Issue] = []
    for n, u in enumerate(sorted(set(raw) - set(by_id))):
        # at the first place the organization is named (its `organization` key, its row's cell)
        w = raw[u].where or next((e for f in raw[u].fields.values() for e in f.where.values()), None) \
            or Issue(sorted(raw[u].files)[0] if raw[u].files else "evidence", 0, 0, "$.organization")
        hint = difflib.get_close_matches(u, list(by_id), 1) if n < 20 else []    # a hint costs a registry scan
        issues.append(Issue(w.file, w.line, w.col, w.path, f"evidence for organization '{u}', which is not in the registry"
                            + (f"; did you mean '{hint[0]}'?" if hint else "")))
    resolved: dict[str, Evidence] = {}
    for org in rnd.organizations:
        ev, errs = resolve(raw.get(org.id), org.id, standards[org.type])
        resolved[org.id] = ev
        issues += errs
    if issues:
        raise InputError(issues)
    return resolved, digest, files


# ------------------------------------------------------------------ scoring one organization

class RoundScorer:
    """Scores organizations of one round, one at a time, into compact rows and result parts."""

    def __init__(self, standards: dict[str, Standard], period, waivers=None,
                 rules: dict[str, ConcludingRules] | None = None):
        """`rules`: concluding rules per standard id kept by the caller across scorers (a
        worker scoring partition after partition): durable-rules does not give back all of a
        ruleset's memory when it is deleted (about 80 KB each), so a ruleset per partition
        grew a worker by about 1 KB per organization scored. Without it, the scorer makes its
        own and deletes them on close()."""
        self.standards = standards
        self.period = period
        self.waivers = waivers or {}
        self.tie_breaks = next(iter(standards.values())).grading.tie_breaks   # load_round checked they agree
        self._own_rules = rules is None
        self._rules: dict[str, ConcludingRules] = {} if rules is None else rules
        self._outcomes: dict[str, OutcomeCache] = {}     # per standard: outcomes shared by equal values
        self._pieces = Pieces()                           # their serialized criteria items

    def score(self, org: Organization, ev: Evidence | None) -> tuple[Row, bytes, bytes]:
        return self.score_many((org,), {org.id: ev})[0]

    def score_many(self, orgs, evidence: dict) -> list[tuple[Row, bytes, bytes]]:
        """`score` for each of `orgs` (a partition's), their evidence taken out of `evidence`
        (id -> Evidence or None). Criteria are scored criterion by criterion over each
        standard's organizations (partition_criteria), the outcomes score_all gives each."""
        # in a bulletin: the evidence as it stood on the as-of date (asof.py); unchanged otherwise
        evs = [evidence_as_of(evidence.pop(org.id) or Evidence(org.id), self.period) for org in orgs]
        by_type: dict[str, list[int]] = {}
        for i, org in enumerate(orgs):
            by_type.setdefault(org.type, []).append(i)
        scored: list = [None] * len(evs)
        for kind, at in by_type.items():
            std = self.standards[kind]
            got = score_partition_all(std, [orgs[i] for i in at], [evs[i] for i in at], self.period, self.waivers,
                                      self.outcome_cache(std))
            for i, outcomes in zip(at, got):
                scored[i] = outcomes
        out = []
        for org, ev, (outcomes, own) in zip(orgs, evs, scored):
            row, g = self.grade_row(org, ev, outcomes, own)
            out.append((row, *parts(org, self.standards[org.type], ev, outcomes, own, g, self._pieces)))
        return out

    def outcome_cache(self, std: Standard) -> OutcomeCache:
        """The outcomes already computed for standard `std` (one cache per standard id)."""
        cache = self._outcomes.get(std.id)
        if cache is None:
            cache = self._outcomes[std.id] = OutcomeCache(std)
        return cache

    def _concluding(self, std: Standard) -> ConcludingRules:
        """A standard's concluding rules (vetoes, gates), made when first needed."""
        rules = self._rules.get(std.id)
        if rules is None:
            rules = self._rules[std.id] = ConcludingRules(std)
        return rules

    def prepare(self) -> None:
        """Every standard's concluding rules made and compiled now, for a process that keeps a
        round to re-score (rescore.RoundState.keep_resident): durable-rules compiles a ruleset
        when it first runs, which took 50-100 ms of the first rescore of a process."""
        for std in self.standards.values():
            self._concluding(std).ready()

    def grade_row(self, org: Organization, ev: Evidence, outcomes, own):
        """(compact row, Grade) of an organization from its outcomes; the what-if path
        (evaluator.scoring.whatif) grades outcomes it partly reused through here."""
        std = self.standards[org.type]
        rules = self._concluding(std)
        # gates read records as the criteria count them: none dated after a bulletin's as-of date
        g = grade(std, org, gate_evidence(ev, std.fields, self.period), outcomes, own, self.period, rules)
        graded = g.status == "graded"
        row = Row.of(org, std.id, graded=graded, total=g.total, base=g.base, bonus=g.bonus,
                     veto_count=len(g.vetoes), vetoes="；".join(v["criterion"] for v in g.vetoes),
                     findings=len(ev.findings),
                     lost=g.lost,
                     sort_key=sort_key(tie_values(std, g), self.tie_breaks) if graded else (),
                     tier_index=std.grading.tier_index(g.tier) if g.tier else None,
                     reasons=tuple(g.tier_reasons), caps=tuple(g.caps), gate_failures=g.gate_failures or None)
        return row, g

    def close(self) -> None:
        if self._own_rules:
            for rules in self._rules.values():
                rules.close()
            self._rules.clear()
        self._outcomes.clear()
        self._pieces = Pieces()


# ------------------------------------------------------------------ a scored round

class ScoredRound:
    """A round scored and placed: compact rows, the spill, and what results.json says of the
    round as a whole. `write_json` / `write_csv` stream the results; `payload()` builds them
    in memory (small rounds, tests, golden cases)."""

    def __init__(self, rows: list[Row], spill: Spill, standards: dict[str, Standard], header: dict,
                 writers: int = 1):
        """`writers`: processes that may write results.json side by side (jsonlayout)."""
        self.rows = rows
        self.spill = spill
        self.writers = writers
        self.standards = {s.id: s for s in standards.values()}
        self.gradings = gradings = {sid: s.grading for sid, s in self.standards.items()}
        for r in rows:
            r.tier_before_quota = r.tier_index
        self._aside = None                 # lists derived in a forked process (add_lists)
        self._frozen = False               # the process's objects kept out of the collector (freeze)
        self.quotas = Quotas(rows, gradings)
        first = next(iter(self.standards.values())).grading       # the round's one ranking (load_round)
        self.ranks = Ranks(rows, first.ranking)
        self.place_all()
        self.header = {
            "agrade_version": __version__, **header,
            "standards": _standards_block(self.standards),
            "tie_breaks": [f"{k} {'desc' if d else 'asc'}" for k, d in first.tie_breaks],
            "ranking": ranking_info(first.ranking, first.tie_breaks,
                                    {sec.id: sec.title for s in self.standards.values() for sec in s.sections}),
        }
        self.summary = Summary(rows, standards, gradings)
        self.header["summary"] = self.summary.render()
        # header parts made when the results are written (a RoundState's lists, kept as it changes)
        self.derived: dict[str, Callable[[], dict]] = {}
        if self.quotas.distributions.active:      # what each declared tier share came to
            self.derived["distribution"] = self.quotas.distributions.report

    @property
    def header(self) -> dict:
        """What results.json says of the round as a whole; waits for lists derived aside."""
        if self._aside is not None:
            aside, self._aside = self._aside, None
            self._header.update(aside.result())
        return self._header

    @header.setter
    def header(self, value: dict) -> None:
        self._header = value

    def place_all(self) -> None:
        """Ranks and tier names on every row."""
        self.ranks.assign()
        named = {sid: [(t.id, t.name) for t in g.tiers] for sid, g in self.gradings.items()}
        for r in self.rows:
            r.tier, r.tier_name = named[r.standard][r.tier_index] if r.tier_index is not None else (None, None)
        self._order = None

    def invalidate_order(self) -> None:
        """Rows moved (rescore): the rank order is made again when next needed."""
        self._order = None

    @property
    def order(self) -> list[Row]:
        """The organizations as results.json lists them: graded in rank order, then the
        ungraded in registry order."""
        if self._order is None:
            by_id = {r.id: r for r in self.rows}
            self._order = [by_id[k[-1]] for k in self.ranks.groups["round"][""]] + [r for r in self.rows if not r.graded]
        return self._order

    def list_states(self, rules, designations=None, previous=None) -> dict[str, ListState]:
        """The red and black lists (`rules`: the round's lists:, None for the defaults) and, if
        the round has any, its designations, each as a ListState over these rows, with
        `previous` (evaluator.scoring.previous.PreviousRound) for rules that read the previous
        round (named in the header). Close them when done."""
        tiers = {sid: [t.id for t in s.grading.tiers] for sid, s in self.standards.items()}
        before = previous.graded() if previous else None
        if previous:
            self.header["previous"] = previous.header()
        marks = veto_marks(self.standards.values())
        states = {kind: ListState(r, tiers, self.rows, self.ranks.groups, self.ranks.keys, before, kind, marks,
                                  self.header["ranking"]["description"])
                  for kind, r in (("lists", rules), ("designations", designations)) if kind == "lists" or r}
        for state in states.values() if previous else ():
            # a tier only the previous round's standard version had is printed with its name then
            for tid, name in previous.tier_names().items():
                state.names.setdefault(tid, name)
        return states

    def add_lists(self, rules, designations=None, previous=None, aside: bool = False) -> None:
        """The lists and designations (see list_states) into the header, once. `aside`:
        derived in a forked process while this one goes on to lay results.json out, which
        needs the header only once every organization is laid out (`header` waits for them):
        0.15 s of a 20,000-organization round the main process spent alone, the other cores
        idle, between the workers and the writers."""
        if aside and hasattr(os, "fork"):
            self._aside = Aside(lambda: self._lists(rules, designations, previous))
        else:
            self.header.update(self._lists(rules, designations, previous))

    def _lists(self, rules, designations, previous) -> dict:
        """The header's parts add_lists makes: lists, designations, previous."""
        out = {}
        for kind, state in self.list_states(rules, designations, previous).items():
            try:
                out[kind] = state.derive()
            finally:
                state.close()
        if "previous" in self.header:
            out["previous"] = self.header["previous"]
        return out

    def org_bytes(self) -> Iterator[tuple[Row, bytes, int, int]]:
        """Each organization's result in rank order: (row, bytes, length of the part before the
        round part, length of the round part) — where `rescore` later splices a new round part."""
        for r, pieces, _, before, middle in self.org_pieces():
            yield r, b"".join(pieces), before, middle

    def org_pieces(self) -> Iterator[tuple[Row, tuple, int, int, int]]:
        """`org_bytes` as pieces to be written one after the other: (row, pieces, their length,
        length before the round part, length of the round part). From a Spill they are views
        of the bytes read back, not copies: results.json (485 MB at 20,000 organizations) went
        through five copies on its way, about 0.3 s of the main process after scoring."""
        read = getattr(self.spill, "read", None)          # a Spill (not a results file or a store)
        reasoned = self.quotas.reasoned()
        for r in self.order:
            middle = self._round_part(r, reasoned)
            if read is not None:
                at, nh, nt = r.spill
                data = memoryview(read(at, nh + nt))
                head, tail = data[:nh - 1], data[nh + 1:]
            else:
                head, tail = self.spill.get(r.spill)
                nh, nt = len(head), len(tail)
                head, tail = head[:-1], tail[1:]
            yield r, (head, b"," + middle + b",", tail), nh + nt + len(middle), nh - 1, len(middle)

    def _round_part(self, r: Row, reasoned: set[str]) -> bytes:
        """r's round part of its result (tier after quotas, reasons, ranks), serialized without
        its braces. Its quota reasons quote positions and counts of the final placement: made
        here, once the round is placed (`reasoned`: the ids it may have any for, Quotas.reasoned)."""
        r.extra_reasons = (self.quotas.reasons(r) or None) if r.id in reasoned else None
        return dumps(round_part(r, self.standards[r.standard]))[1:-1]

    @property
    def write_json(self) -> "ResultsJson":
        """results.json: called with a `write`, streamed to it (bytes-like pieces); handed to
        results.write_result_set, written in place, by `writers` processes (jsonlayout)."""
        return ResultsJson(self)

    def _header_text(self) -> bytes:
        for key, make in self.derived.items():
            self.header[key] = make()
        head = {k: self.header[k] for k in _HEADER_ORDER if k in self.header}
        return opening(dumps_indented(head))

    def lay_out(self, fd: int) -> Layout:
        """results.json laid out (jsonlayout.Layout) over this round's Spill, whose descriptor
        is `fd`: every organization's round part made (into the spill) and its place in the
        file known (`where`), before a byte of it is written."""
        layout = Layout(self.spill, fd, None, CLOSING)     # the header last: see add_lists
        reasoned = self.quotas.reasoned()
        with gc_paused():                  # (see score_round)
            for n, r in enumerate(self.order):
                layout.add(r.spill, self._round_part(r, reasoned))
                r.at = n
        layout.done(self._header_text())
        self.positions = layout.positions
        return layout

    def stream_pieces(self, write: Callable[[bytes], None]) -> None:
        """results.json from any source of results (rescore's FileSpill reads the previous
        results.json), streamed organization by organization from org_pieces."""
        text = self._header_text()
        write(text)
        at = len(text)
        # four numbers per organization in one array, not a tuple each: a round of a million
        self.positions = array("q")
        with gc_paused():                  # (see score_round)
            for n, (r, pieces, size, before, middle) in enumerate(self.org_pieces()):
                if n:
                    write(b",\n")
                    at += 2
                for piece in pieces:
                    write(piece)
                r.at = n
                self.positions.extend((at, size, before, middle))
                at += size
        write(CLOSING)

    def where(self, r: Row) -> list[int]:
        """Where r's result is in results.json as last written: [offset, length, length of the
        part before the round part, length of the round part]."""
        return self.positions[4 * r.at: 4 * r.at + 4].tolist()

    @property
    def write_csv(self) -> "ResultsCsv":
        """results.csv: called with a `write`, streamed to it; handed to
        results.write_result_set, written by a forked process (`writers` > 1, see ResultsCsv)."""
        return ResultsCsv(self)

    @property
    def write_state(self) -> "StateJsonl":
        """state.jsonl: called with a `write`, streamed to it; handed to
        results.write_result_set after results.json (whose layout it quotes), written by a
        forked process (`writers` > 1, see StateJsonl)."""
        return StateJsonl(self)

    def payload(self) -> dict[str, Any]:
        buf: list[bytes] = []
        self.write_json(buf.append)
        return json.loads(b"".join(buf), parse_float=Decimal)

    def freeze(self) -> None:
        """Keep the round's rows (and everything else this process holds now) out of the
        cyclic garbage collector's passes until close(): they live until the results are
        written, and hold no reference cycles. Scored with the collector paused, they were all
        still in its youngest generation, so the first pass after scoring scanned all of them,
        and the next passes, as writing the results made objects, again in the older
        generations: about 0.2 CPU-s of the main process at 20,000 organizations, alone on
        its core after the workers were done (and at exit)."""
        gc.freeze()
        self._frozen = True

    def close(self) -> None:
        if self._frozen:                   # (objects frozen since, by another round, too)
            gc.unfreeze()
            self._frozen = False
        if self._aside is not None:
            self._aside.cancel()
            self._aside = None
        self.spill.close()


class ResultsJson:
    """A ScoredRound's results.json as results.write_atomically content. Called with a
    `write`, it streams the file; `write_to(fd)` writes it into the (unnamed) file `fd` in
    place, laid out first (jsonlayout), in the round's `writers` processes, and returns the
    sink to wait on; None when the results are not in a Spill (they are then streamed)."""

    def __init__(self, scored: ScoredRound):
        self.scored = scored

    def __call__(self, write: Callable[[bytes], None]) -> None:
        fd = spill_descriptor(self.scored.spill)
        if fd is None:
            self.scored.stream_pieces(write)
        else:
            self.scored.lay_out(fd).stream(write)

    def write_to(self, out: int):
        fd = spill_descriptor(self.scored.spill)
        if fd is None:
            return None
        return self.scored.lay_out(fd).write_to(out, self.scored.writers)


class _MadeAside:
    """A ScoredRound's file that nothing waits for until the set is named (results.csv,
    state.jsonl), as results.write_atomically content. Called with a `write`, it streams the
    file's `lines()`; `write_to(fd)` (`writers` > 1) has a forked process make, write, hash and
    fsync it in the (unnamed) file `fd`, at a lower priority than the processes making
    results.json (jsonlayout.Aside, background), and returns the sink to wait on. None with
    one writer: streamed here."""

    def __init__(self, scored: ScoredRound):
        self.scored = scored

    def lines(self) -> Iterable[bytes]:
        raise NotImplementedError

    def before_fork(self) -> None:
        """What the forked process needs made here first, once for both processes."""

    def __call__(self, write: Callable[[bytes], None]) -> None:
        for line in self.lines():
            write(line)

    def write_to(self, out: int):
        if self.scored.writers < 2 or not hasattr(os, "fork"):
            return None
        self.before_fork()
        return Aside(lambda: _sunk(self, out), keep=(out,), background=True)


class ResultsCsv(_MadeAside):
    """results.csv. write_result_set stages it first, so that with several writers its
    process makes it while this one lays results.json out (at 20,000 organizations about
    0.3 s, which this process spent alone after the layout beside the results.json writers)."""

    def lines(self) -> Iterable[bytes]:
        from .results import csv_lines
        return csv_lines(self.scored.order)

    def before_fork(self) -> None:
        self.scored.order                  # the rank order, which this process writes results.json in


class StateJsonl(_MadeAside):
    """state.jsonl: the compact rows and where each result is in results.json, what `agrade
    rescore` starts from. Staged after results.json, whose layout it quotes; with several
    writers its process makes it while results.json's writers work (made here, it took a
    share of their cores: 0.3 s of the main process at 20,000 organizations)."""

    def lines(self) -> Iterable[bytes]:
        from .rescore import state_lines
        return state_lines(self.scored)


def _sunk(content: Callable[[Callable[[bytes], None]], None], out: int) -> dict:
    """`content` written to the file `out` (filesink.FileSink): its digest once on disk."""
    from .filesink import FileSink
    sink = FileSink(out)
    try:
        content(sink.write)
    finally:
        sink.close()
    return sink.result()


_HEADER_ORDER = ("agrade_version", "round", "standards", "evidence_digest", "evidence_files", "tie_breaks", "ranking",
                 "summary", "distribution", "lists", "designations", "previous", "bulletin")


def dumps_indented(obj) -> bytes:
    import orjson
    from .orgresult import _default
    return orjson.dumps(obj, default=_default, option=orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATACLASS)


def _standards_block(used: dict[str, Standard]) -> dict:
    return {sid: {"version": s.version, "title": s.title, "digest": s.digest, "lineage": list(s.lineage),
                  "tiers": [{"id": t.id, "name": t.name, "min": t.min} for t in s.grading.tiers],
                  "base": s.grading.base, "bonus_cap": s.grading.bonus_cap,
                  "components": [{"id": c.id, "label": c.label, "source": c.source, "weight": c.weight}
                                 for c in s.grading.components],
                  "fields": {f.id: {"label": f.label, "type": f.type, **({"unit": f.unit} if f.unit else {})}
                             for f in s.fields.values()}}
            for sid, s in sorted(used.items())}


class Summary:
    """results.json's summary — tier counts overall, per district and per type, and each target
    share — kept as counters so one organization moving is two updates. Dictionaries list
    tiers in the standards' order ("not_graded" last) and districts and types sorted."""

    def __init__(self, rows: list[Row], standards: dict[str, Standard], gradings):
        self.gradings = gradings
        order: dict[str, int] = {}
        for s in sorted({x.id: x for x in standards.values()}.values(), key=lambda x: x.id):
            for t in s.grading.tiers:
                order.setdefault(t.id, len(order))
        self.tier_order = order
        self.count = len(rows)
        self.tiers: dict[str, int] = {}
        self.by: dict[str, dict[str, dict[str, int]]] = {"district": {}, "type": {}}
        self.targets: list = []                   # [(target, {scope value: [hit, graded]})]
        seen = set()
        for s in sorted({x.id: x for x in standards.values()}.values(), key=lambda x: x.id):
            t = s.grading.target
            if t and (t.tier, t.min_share, t.scope) not in seen:
                seen.add((t.tier, t.min_share, t.scope))
                self.targets.append((t, {}))
        for r in rows:
            self.add(r, r.tier, +1)

    def add(self, r: Row, tier: str | None, sign: int) -> None:
        """Count (sign +1) or uncount (-1) row r as placed in `tier` (None: not graded)."""
        key = tier or "not_graded"
        for counter in (self.tiers, self.by["district"].setdefault(r.district, {}),
                        self.by["type"].setdefault(r.type, {})):
            counter[key] = counter.get(key, 0) + sign
        for t, groups in self.targets:
            # only the organizations whose standard sets this target are measured against it
            if tier is not None and self.gradings[r.standard].target == t:
                hit_graded = groups.setdefault(scope_key(t.scope, r.district, r.street, r.type), [0, 0])
                hit_graded[0] += sign * (tier == t.tier)
                hit_graded[1] += sign

    def _tiers(self, counter: dict[str, int]) -> dict[str, int]:
        keys = sorted((k for k, n in counter.items() if n), key=lambda k: (k == "not_graded", self.tier_order.get(k, 1 << 20), k))
        return {k: counter[k] for k in keys}

    def render(self) -> dict:
        targets = []
        for t, groups in self.targets:
            for value, (hit, graded) in sorted(groups.items()):
                if graded:
                    share = (Decimal(hit) / graded).quantize(Decimal("0.0001"), ROUND_HALF_UP)
                    targets.append({"scope": t.scope, "value": value, "tier": t.tier, "count": hit, "graded": graded,
                                    "share": share, "target": t.min_share, "met": share >= t.min_share})
        return {"organizations": self.count, "graded": sum(n for k, n in self.tiers.items() if k != "not_graded"),
                "tiers": self._tiers(self.tiers),
                "by_district": {k: self._tiers(v) for k, v in sorted(self.by["district"].items()) if any(v.values())},
                "by_type": {k: self._tiers(v) for k, v in sorted(self.by["type"].items()) if any(v.values())},
                "target": targets}


# ------------------------------------------------------------------ entry points

def score_organizations(orgs: Iterable[Organization], evidence: Callable[[str], Evidence | None],
                        standards: dict[str, Standard], period, waivers=None, progress: Progress | None = None,
                        spill_dir=None, total: int | None = None) -> tuple[list[Row], Spill]:
    """Score each organization, spilling its result; the compact rows and the spill."""
    scorer = RoundScorer(standards, period, waivers)
    spill = Spill(spill_dir)
    rows: list[Row] = []
    try:
        for n, org in enumerate(orgs, start=1):
            row, head, tail = scorer.score(org, evidence(org.id))
            row.spill = spill.add(head, tail)
            rows.append(row)
            if progress:
                progress(n, total or n)
    except BaseException:
        spill.close()
        raise
    finally:
        scorer.close()
    return rows, spill


def evaluate_organizations(orgs: list[Organization], evidence: dict[str, Evidence], standards: dict[str, Standard],
                           period, waivers=None, progress: Progress | None = None) -> dict[str, Any]:
    """Score, grade and rank organizations whose evidence is already resolved: the payload
    (as results.json reads back, without the round and the lists)."""
    rows, spill = score_organizations(orgs, evidence.get, standards, period, waivers, progress, total=len(orgs))
    scored = ScoredRound(rows, spill, standards, {})
    try:
        return scored.payload()
    finally:
        scored.close()


def default_partition_size() -> int:
    """Organizations per partition: AGRADE_PARTITION_SIZE, or intake.partition.DEFAULT_SIZE."""
    try:
        return max(1, int(os.environ.get("AGRADE_PARTITION_SIZE", DEFAULT_SIZE)))
    except ValueError:
        raise InputError(Issue("AGRADE_PARTITION_SIZE", 0, 0, "$", "AGRADE_PARTITION_SIZE must be a whole number")) from None


def score_round(rnd: Round, progress: Progress | None = None, spill_dir=None, workers: int | None = 1,
                cluster: str | None = None, partition_size: int | None = None) -> ScoredRound:
    """The round scored, placed, ranked and listed, ready to be written. Evidence is read once
    into partitions of the registry; partitions are resolved and scored where `workers` /
    `cluster` say (pipeline.executor), the results spilled as they come back."""
    standards = {t: with_round_overrides(s, rnd.grading_override) for t, s in rnd.standards.items()}
    # the round's rows pile up in this process, acyclic: full passes of the garbage collector
    # over them (4 at 20,000 organizations, 0.07 s each) found next to nothing to collect. Not
    # with a Dask client here, whose machinery makes cycles all along.
    with gc_paused() if not cluster else contextlib.nullcontext():
        rows, spill, router = _run_partitions(rnd, standards, True, progress, spill_dir, workers, cluster,
                                              partition_size or default_partition_size())
        round_info = published_info(rnd)    # as the store's header makes it: footer and dates included
        scored = ScoredRound(rows, spill, standards, {"round": round_info, "evidence_digest": "sha256:" + router.digest.hexdigest(),
                                                      "evidence_files": len(router.files), "waivers": waivers_state(rnd.waivers)},
                             writers=local_cores(None if cluster else workers))   # this machine's, with a cluster
        scored.add_lists(rnd.lists, rnd.designations, load_previous(rnd.previous), aside=scored.writers > 1)
        if not cluster:                     # (frozen before the collector is back on: see freeze)
            scored.freeze()
    return scored


def check_round(rnd: Round, workers: int | None = 1, cluster: str | None = None,
                partition_size: int | None = None) -> None:
    """Everything `score_round` refuses, refused the same way, without scoring (agrade validate)."""
    standards = {t: with_round_overrides(s, rnd.grading_override) for t, s in rnd.standards.items()}
    _run_partitions(rnd, standards, False, None, None, workers, cluster, partition_size or default_partition_size())


def _run_partitions(rnd: Round, standards, score: bool, progress, spill_dir, workers, cluster, size):
    """The round's partitions scored (or, `score` False, only checked) by
    pipeline.score_partition where `workers` / `cluster` say: (rows in registry order, the
    spill holding their results, the router, whose digest and files the header names)."""
    with Partitions(rnd, size, workers, cluster, spill_dir) as parts:
        spec = StandardsSpec.of(standards, rnd.grading_override, rnd.period, rnd.waivers)
        shared = Shared()
        spill = Spill(spill_dir) if score else None

        def arrived(res: PartResult) -> None:
            # each partition's results into the spill as it comes, not held until all are back
            # (local workers' are there already, where their rows say)
            if res.rows and spill is not None and not res.in_spill:
                base = spill.add_blob(res.blob)
                for r in res.rows:
                    r.spill = (base + r.spill[0], r.spill[1], r.spill[2])
            res.blob = b""
        try:
            ordered = parts.run(score_partition, spec, score=score, spill=spill, progress=progress, arrived=arrived,
                                shared=shared)
        except BaseException:
            if spill is not None:
                spill.close()
            raise
        return [r for res in ordered for r in res.rows], spill, parts.router


def evidence_of(rnd: Round, ids: list[str], standards: dict[str, Standard]) -> tuple[dict[str, Evidence], str, int]:
    """The current evidence of a few organizations (re-read from the round's files, only their
    partitions resolved), with the evidence digest and file count of the round as it is now;
    what they would be refused for, refused the same way."""
    by_id = {o.id: o for o in rnd.organizations}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        hint = difflib.get_close_matches(unknown[0], list(by_id), 1)
        raise InputError(Issue(str(rnd.path), 0, 0, "$.organizations", f"no organization '{unknown[0]}' in the registry"
                               + (f"; did you mean '{hint[0]}'?" if hint else "")))
    with Partitions(rnd, DEFAULT_SIZE) as parts:
        router = parts.router
        index = {o.id: i for i, o in enumerate(rnd.organizations)}
        out, issues = {}, []
        for k in sorted({router.of(index[i]) for i in ids}):
            part = rnd.organizations[router.span(k)]
            # the whole partition column-wise, as an evaluation reads it ...
            evidence, put_issues, errs, _ = partition_evidence(router.pieces(k), part, standards)
            if put_issues or errs:
                # ... but of the values only the asked-for organizations' refused, in the order
                # asked: with the others left out, the rows go the general way, which says where
                asked = [by_id[oid] for oid in ids if router.of(index[oid]) == k]
                evidence, put_issues, errs, _ = partition_evidence(router.pieces(k), asked, standards)
            issues += put_issues + errs
            out.update((oid, evidence[oid]) for oid in ids if router.of(index[oid]) == k)
        if issues:
            raise InputError(issues)
        return out, "sha256:" + router.digest.hexdigest(), len(router.files)


def evaluate_round(rnd: Round, progress: Progress | None = None) -> dict[str, Any]:
    """The whole results payload in memory (tests, small rounds); `score_round` streams."""
    scored = score_round(rnd, progress)
    try:
        return scored.payload()
    finally:
        scored.close()
