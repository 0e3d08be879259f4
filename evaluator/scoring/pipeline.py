"""The round as independent partitions: read (intake.partition), then each partition resolved
and scored on its own — in this process, in local worker processes, or on a Dask cluster —
and the compact rows and serialized results brought back.

`Partitions` is the one loop over them: an evaluation and `agrade validate` (scoring.run) run
`score_partition` in it, a what-if (scoring.whatif_pairs) its own per-partition function;
both get the partitions' results in registry order and the round's problems raised in one
order, whatever order partitions finish in.

A partition's work (`score_partition`) depends only on its own evidence and the round's
standards, so where it runs cannot change a byte of the results: rows are assembled in
registry order and results written in rank order, whatever order partitions finish in.
Standards travel to other machines as the bytes of their YAML files (`StandardsSpec`) and are
compiled there once per process, checked against the digest the round was loaded with.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..errors import EvaluationError, InputError, Issue
from ..intake.columnar import partition_evidence
from ..intake.partition import local_cores, read_ahead_helpers, route, unknown_issues, unpickled
from ..standard.yamlsafe import gc_paused
from ..model import Organization, Standard
from .rows import Packed, Row, Shared


@dataclass
class StandardsSpec:
    """A round's standards as data that can cross process and machine boundaries."""
    leaf: dict[str, str]                 # organization type -> file name of its standard
    files: dict[str, bytes]              # file name -> content, every standard of every lineage
    digests: dict[str, str]              # organization type -> the standard's digest
    override: dict                       # round-level grading overrides
    period: tuple
    waivers: dict
    key: str = ""

    @staticmethod
    def of(standards: dict[str, Standard], override: dict, period, waivers) -> "StandardsSpec":
        leaf, files = {}, {}
        for org_type, std in standards.items():
            for path in std.files:
                name = Path(path).name
                data = Path(path).read_bytes()
                if files.setdefault(name, data) != data:
                    raise EvaluationError(f"two different standards named {name} in one round")
            leaf[org_type] = Path(std.files[-1]).name
        h = hashlib.sha256()
        for name in sorted(files):
            h.update(name.encode() + b"\0" + files[name] + b"\0")
        h.update(repr((sorted(leaf.items()), sorted(override.items()), period, sorted(waivers.items()))).encode())
        spec = StandardsSpec(leaf, files, {t: s.digest for t, s in standards.items()}, override, period, waivers,
                             h.hexdigest())
        _COMPILED[spec.key] = standards          # this process already has them compiled
        return spec

    def standards(self) -> dict[str, Standard]:
        """The compiled standards (once per process)."""
        got = _COMPILED.get(self.key)
        if got is None:
            got = _COMPILED[self.key] = self._compile()
        return got

    def _compile(self) -> dict[str, Standard]:
        from ..standard.loader import load_standard
        from .run import with_round_overrides
        folder = Path(tempfile.mkdtemp(prefix="agrade-standards-"))
        for name, data in self.files.items():
            (folder / name).write_bytes(data)
        out = {}
        for org_type, name in self.leaf.items():
            std = with_round_overrides(load_standard(folder / name, [folder]), self.override)
            if std.digest != self.digests[org_type]:
                raise EvaluationError(f"standard {std.id} compiled here differs from the round's ({std.digest})")
            out[org_type] = std
        return out


_COMPILED: dict[str, dict[str, Standard]] = {}
# (round's StandardsSpec.key, thread) -> concluding rules per standard id; like _COMPILED, one
# entry per round a (long-lived, e.g. Dask) worker has scored
_RULES: dict[tuple[str, int], dict] = {}
# (round's StandardsSpec.key, thread) -> the round's scorer in this process (see _score_partition)
_SCORERS: dict[tuple[str, int], Any] = {}


@dataclass
class PartJob:
    index: int
    organizations: list[Organization]
    data: bytes | None                   # the partition's routed evidence (intake.partition), or
                                         # None: read in place from the round being scored (Local)
    score: bool = True                   # False: read and check only (agrade validate)
    local: int = 0                       # with data None: the Local round it belongs to


@dataclass
class PartResult:
    index: int
    put_issues: list[Issue] = field(default_factory=list)      # duplicates found putting evidence together
    issues: list[Issue] = field(default_factory=list)          # values refused when resolved
    rows: list[Row] = field(default_factory=list)
    blob: bytes = b""                    # serialized results; each row's spill is relative to it
    in_spill: bool = False               # or: already appended to the Local spill (rows' spill absolute)
    packed: Packed | None = None         # the rows on their way back from a worker (see pack)

    def pack(self, orgs: list[Organization]) -> "PartResult":
        """This result as a worker sends it back: its rows (those of `orgs`) packed (rows.Packed)."""
        self.packed = Packed.of(self.rows, orgs)
        if self.packed is not None:
            self.rows = []
        return self

    def unpack(self, orgs: list[Organization], shared: Shared | None) -> None:
        """Its rows back from a worker, made with the registry's `orgs` and, given `shared`,
        their values shared with the round's other rows (rows.Packed, Shared)."""
        if self.packed is not None:
            self.rows, self.packed = self.packed.rows(orgs, shared), None
        elif shared is not None:
            for r in self.rows:
                shared.row(r)


class Local:
    """The round being scored on this machine, for partitions scored in this process or in
    worker processes forked from it while it is set (LocalPool forks its workers on first
    use): they read their evidence from its router (intake.partition.Router.pieces) and
    append their results to its spill (spill.Spill.share) in place. Sending each partition's
    routed evidence down a pipe (163 MB at 20,000 organizations) and its results back (485
    MB) cost the parent about 3 s of the round's 20 while both workers wanted its core, and
    the workers the same again; a Dask cluster, which shares nothing, still gets bytes.

    `context`: whatever else a per-partition function other than score_partition needs (a
    what-if's standards both ways and an evaluation's rows), inherited the same way rather
    than pickled into every job. `organizations`: the registry the router cuts, from which
    local workers take a job's organizations (LocalPool, in_place)."""
    router = None
    spill = None
    token = 0

    def __init__(self, router, spill, context=None, organizations: list[Organization] | None = None):
        self.router, self.spill, self.context, self.organizations = router, spill, context, organizations

    def __enter__(self) -> int:
        Local.token += 1
        _LOCAL[:] = [Local.token, self]
        return Local.token

    def __exit__(self, *exc) -> None:
        _LOCAL[:] = [0, None]


_LOCAL: list = [0, None]                 # [token, Local] of the round set in this process


def local_round(job: PartJob) -> Local | None:
    """The Local round a job reads its evidence from in place (its data None), which must be
    the one this process was forked for (or set in); None for a job that carries its evidence."""
    if job.data is not None:
        return None
    if _LOCAL[0] != job.local:
        raise EvaluationError(f"partition {job.index} of a round this process was not forked for")
    return _LOCAL[1]


def job_pieces(job: PartJob) -> Iterable[tuple]:
    """A job's partition as intake.columnar.partition_evidence reads it: from the Local round's
    router in place, or from the bytes the job carries."""
    local = local_round(job)
    return local.router.pieces(job.index) if local is not None else unpickled(job.data)


def score_partition(job: PartJob, spec: StandardsSpec) -> PartResult:
    """Resolve a partition's evidence and, if nothing was refused, score its organizations.

    The cyclic garbage collector is paused for the whole partition: reading it builds a
    partition's evidence (acyclic, freed by reference counting as each organization is
    scored), and letting the collector run in between scanned all of it again (about 5% of
    intake). Whatever cycles scoring might leave are collected once the partition is done:
    memory stays bounded by one partition."""
    with gc_paused():
        return _score_partition(job, spec)


def _score_partition(job: PartJob, spec: StandardsSpec) -> PartResult:
    from .run import RoundScorer
    local = local_round(job)
    standards = spec.standards()
    # bulk CSV rows column-wise; anything unusual, and every message, the general way
    evidence, put_issues, issues, _ = partition_evidence(job_pieces(job), job.organizations, standards)
    result = PartResult(job.index, put_issues, issues)
    if put_issues or issues or not job.score:
        return result
    # One set of concluding rules per round and thread, kept for the process's life (see
    # RoundScorer: a ruleset per partition grew a worker), per thread because a ruleset reports
    # one fact's firings at a time. One scorer per round and thread too, kept while the round is
    # scored (`release`): its outcomes and serialized criteria items shared by equal values
    # (criteria.OutcomeCache, orgresult.Pieces), which a scorer per partition of 500
    # organizations computed again for each (2 of 17 criteria scored per organization). The
    # caches are bounded; everything in them is a function of the round's standards, period
    # and waivers, which the key names.
    key = (spec.key, threading.get_ident())
    scorer = _SCORERS.get(key)
    if scorer is None:
        for other in [k for k in _SCORERS if k[0] != spec.key]:   # a long-lived worker's earlier rounds
            _SCORERS.pop(other).close()
        scorer = _SCORERS[key] = RoundScorer(standards, spec.period, spec.waivers, _RULES.setdefault(key, {}))
    pieces, at = [], 0
    for row, head, tail in scorer.score_many(job.organizations, evidence):
        row.spill = (at, len(head), len(tail))
        pieces += (head, tail)
        at += len(head) + len(tail)
        result.rows.append(row)
    if local is not None and local.spill is not None:
        base = local.spill.add_pieces(pieces)
        for row in result.rows:
            row.spill = (base + row.spill[0], row.spill[1], row.spill[2])
        result.in_spill = True
    else:
        result.blob = b"".join(pieces)
    return result


def in_place(work: "Work", job: PartJob, spec) -> PartResult:
    """In a local worker: `work(job, spec)` for a job sent without its organizations (None),
    which it takes from the registry of the Local round it was forked with; the rows sent back
    packed (rows.Packed), without what they copy of their organizations, which the parent has.
    Pickled both ways, a partition's 500 organizations and the five texts each row copies of
    them were about 0.2 CPU-s of a 20,000-organization round in the main process (and as much
    in the workers), taken from the workers' cores while they scored; and each row kept its
    own id and name, next to the registry's equal ones (~170 bytes an organization)."""
    if job.organizations is None:
        local = local_round(job)
        job.organizations = local.organizations[local.router.span(job.index)]
    return work(job, spec).pack(job.organizations)


# ------------------------------------------------------------------ where partitions run

# what is done with one partition where it runs: score_partition, or another module-level
# function of (job, argument) returning a PartResult (a forked worker finds it by name)
Work = Callable[[PartJob, Any], PartResult]


def release(spec: StandardsSpec) -> None:
    """The round is scored: this process's scorers of it let go of their caches (their rules
    stay, see _RULES). Kept, they held about 280,000 objects at 5,000 organizations, which
    every full pass of the cyclic garbage collector after scoring scanned (0.27 s a pass
    instead of 0.03)."""
    for key in [k for k in _SCORERS if k[0] == spec.key]:
        _SCORERS.pop(key).close()


class Serial:
    """Partitions scored one after the other in this process."""
    workers = 1
    shares_memory = True                 # jobs may leave their evidence in place (Local)

    def run(self, jobs: Iterable[PartJob], spec, work: Work | None = None) -> Iterator[PartResult]:
        """`work(job, spec)` for each job (score_partition unless given), in order."""
        work = work or score_partition
        try:
            for job in jobs:
                yield work(job, spec)
        finally:
            if work is score_partition:  # its scorers outlive a partition
                release(spec)

    def close(self) -> None:
        pass


class Stretches:
    """Which partition each local worker scores next. A worker's caches (criteria.OutcomeCache,
    orgresult.Pieces: one per standard, filled by the values it meets) serve it best on
    neighbouring partitions, which a registry listed by type, district or street gives the
    same standards and similar values: the partitions are cut into contiguous stretches, each
    walked by two workers from its two ends until they meet (the last by one alone when the
    workers are odd), and a worker whose stretch is done helps the one with most left. Taken
    from one queue in turn, every worker met every standard and filled its caches with the
    same values: at 20,000 organizations two fresh scorers in one process scored 130,423
    criteria taking partitions in turn, 115,082 walking stretches (one scorer alone: about
    106,000). A criterion scored costs about 10 us, so this is about 0.15 CPU-s, within the
    noise of the loaded host it was measured on (10.4-11.0 CPU-s either way). The small
    partitions at the end (`tail`, see
    intake.partition.partition_starts) go last, in order, to whichever worker is free, so
    the workers still finish together."""

    def __init__(self, count: int, workers: int, tail: int | None = None):
        tail = count if tail is None else tail
        groups = max(1, min(-(-workers // 2), tail))
        cut = [tail * g // groups for g in range(groups + 1)]
        self.left = [[cut[g], cut[g + 1]] for g in range(groups)]       # [from, to) not yet taken
        self.tail, self.count = tail, count

    def next(self, worker: int) -> int | None:
        """The partition `worker` (0, 1, ...) is to score next; None when all are taken."""
        own = self.left[min(worker // 2, len(self.left) - 1)]
        if own[0] >= own[1]:
            own = max(self.left, key=lambda s: s[1] - s[0])
        if own[0] < own[1]:
            if worker % 2 == 0:
                own[0] += 1
                return own[0] - 1
            own[1] -= 1
            return own[1]
        if self.tail < self.count:
            self.tail += 1
            return self.tail - 1
        return None


class Jobs:
    """A round's jobs, one per partition, each made when it is sent: `make(k)` reads whether
    anything was refused by then (Partitions.run). Iterated: in registry order."""

    def __init__(self, count: int, make: Callable[[int], PartJob], tail: int | None = None):
        self.count, self.make, self.tail = count, make, tail

    def __iter__(self) -> Iterator[PartJob]:
        return (self.make(k) for k in range(self.count))


class LocalPool:
    """Partitions scored by worker processes on this machine (forked: they inherit the
    compiled standards, and the Local round set when they start). Each worker is a
    one-process executor of its own, so which partitions it scores is chosen here
    (`Stretches`), not by whichever worker takes the next job from a shared queue. At most
    2 jobs per worker are in flight (one scored, one waiting), so memory stays bounded.

    A worker's cyclic garbage collector stays off for its life (one round): scoring makes no
    reference cycles (tests/test_pipeline.py checks it), but between partitions, while the
    collector was on, taking a job and sending its rows back set off full passes over
    everything the worker keeps (its scorer's caches: 420,000 objects, 0.2 s a pass at
    20,000 organizations). Reference counting frees the rest as before."""
    shares_memory = True

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._pools: list = []

    @property
    def context(self):
        import multiprocessing as mp
        return mp.get_context("fork")

    def run(self, jobs: Iterable[PartJob], spec, work: Work | None = None) -> Iterator[PartResult]:
        """`work(job, spec)` for each job (score_partition unless given), as they finish.
        `jobs`: a Jobs (partitions handed out by Stretches), or any iterable (in its order)."""
        import concurrent.futures as cf
        if not self._pools:
            self._pools = [cf.ProcessPoolExecutor(1, mp_context=self.context, initializer=gc.disable)
                           for _ in range(self.workers)]
        plan = Stretches(jobs.count, self.workers, jobs.tail) if isinstance(jobs, Jobs) else None
        given = iter(jobs)
        in_flight: dict = {}                     # future -> the worker scoring it
        local = _LOCAL[1]

        def send(w: int) -> None:
            if plan is None:
                job = next(given, None)
            else:
                k = plan.next(w)
                job = None if k is None else jobs.make(k)
            if job is not None:
                if job.data is None and job.local == _LOCAL[0] and local.organizations is not None:
                    job = dataclasses.replace(job, organizations=None)    # the worker has them (in_place)
                in_flight[self._pools[w].submit(in_place, work or score_partition, job, spec)] = w
        for w in list(range(self.workers)) * 2:
            send(w)
        while in_flight:
            done, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
            for f in done:
                w = in_flight.pop(f)
                yield f.result()                 # (its rows unpacked by Partitions.run)
                send(w)                          # after the result is taken in: see Jobs

    def close(self) -> None:
        for pool in self._pools:
            pool.shutdown()
        self._pools = []


def executor(workers: int | None = None, cluster: str | None = None):
    """Where partitions run: a Dask cluster (scheduler address), local worker processes, or
    this process. workers=None: one per core."""
    if cluster:
        from .cluster import DaskCluster
        return DaskCluster(cluster)
    n = local_cores(workers)
    return LocalPool(n) if n > 1 else Serial()


# ------------------------------------------------------------------ the partition loop

def small_tail(router) -> int:
    """The first of the small partitions a router cut the end of the round into (see
    intake.partition.partition_starts), or of a last one shorter than the rest."""
    for k in range(router.count):
        span = router.span(k)
        if span.stop - span.start < router.size:
            return k
    return router.count


class Partitions:
    """A round's evidence read once into partitions of its registry (intake.partition.route),
    and a per-partition function run over them where `executor` says. Refuses, as reading the
    round in one piece would, what reading the files found; `run` raises the rest. Use as a
    context manager: the router (its spill file) is let go of on exit."""

    def __init__(self, rnd, size: int, workers: int | None = 1, cluster: str | None = None, spill_dir=None):
        self.rnd, self.workers, self.cluster = rnd, workers, cluster
        # the cores local workers will score on read the bulk evidence files side by side first
        helpers = read_ahead_helpers(workers, cluster)
        self.router = route(rnd.evidence_paths, rnd.organizations, size, spill_dir, helpers=helpers,
                            standards=rnd.standards, small_tail=bool(cluster) or helpers > 1)
        try:
            rnd.notices += [n for n in self.router.notices if n not in rnd.notices]
            if self.router.issues:
                raise InputError(self.router.issues)
        except BaseException:
            self.router.close()
            raise

    def __enter__(self) -> "Partitions":
        return self

    def __exit__(self, *exc) -> None:
        self.router.close()

    def run(self, work: Work, arg, *, score: bool = True, spill=None, context=None,
            progress: Callable[[int, int], None] | None = None,
            arrived: Callable[[PartResult], None] | None = None, shared: Shared | None = None) -> list[PartResult]:
        """`work(job, arg)` for every partition, in this process, local worker processes or on
        the cluster; the results in registry order. `score` False: read and check only (each
        job's `score`); once anything is refused the partitions not yet sent are only checked.
        `spill`: where score_partition's local workers append their results (Spill.share);
        `context`: Local.context for the per-partition function; `arrived(result)` as each
        partition comes back (in any order), `progress(organizations done, total)` after it;
        `shared`: the rows' values shared through it (rows.Shared) before `arrived` sees them.

        Raises the round's problems in the order reading it in one piece gives: putting
        evidence together (duplicates), then organizations not in the registry, then values
        refused (intake.evidence.collect, then resolve per organization)."""
        router, orgs = self.router, self.rnd.organizations
        total = len(orgs)
        failed = bool(router.unknown)        # once anything is refused, the rest is only checked
        ex = executor(self.workers, self.cluster) if router.count > 1 else Serial()
        # in place (Local) wherever the partitions' processes share this one's memory
        local = Local(router, spill, context, orgs) if ex.shares_memory else contextlib.nullcontext(0)

        def jobs(token) -> Jobs:
            def make(k: int) -> PartJob:
                return PartJob(k, orgs[router.span(k)], None if token else router.partition(k), score and not failed, token)
            return Jobs(router.count, make, small_tail(router))
        results: dict[int, PartResult] = {}
        done = 0
        try:
            with local as token:
                if spill is not None and isinstance(ex, LocalPool):
                    spill.share(ex.context)            # its workers append their results themselves
                for res in ex.run(jobs(token), arg, work):
                    span = router.span(res.index)
                    res.unpack(orgs[span], shared)
                    if res.put_issues or res.issues:
                        failed = True
                    if arrived:
                        arrived(res)
                    results[res.index] = res
                    done += span.stop - span.start
                    if progress:
                        progress(done, total)
            if spill is not None:
                spill.unshare()
        finally:
            ex.close()
        ordered = [results[k] for k in range(router.count)]
        put_issues = [i for res in ordered for i in res.put_issues]
        if put_issues:
            raise InputError(put_issues)
        issues = unknown_issues(router, orgs) + [i for res in ordered for i in res.issues]
        if issues:
            raise InputError(issues)
        return ordered
