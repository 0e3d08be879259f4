"""The round as partitions: however the registry is cut and wherever partitions are scored,
the results are the same bytes, and bad input is refused with the same messages as reading
the round in one piece."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evaluator.demo import generate
from evaluator.errors import InputError
from evaluator.intake.rounds import load_round
from evaluator.scoring.run import check_round, load_evidence, score_round


@pytest.fixture(scope="module")
def demo_round(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("demo") / "round", 240, 11)


def results_bytes(round_path: Path, **how) -> bytes:
    scored = score_round(load_round(round_path), **how)
    try:
        out: list[bytes] = []
        scored.write_json(out.append)
        scored.write_csv(out.append)
        return b"".join(out)
    finally:
        scored.close()


def test_partitioning_and_workers_never_change_a_byte(demo_round):
    reference = results_bytes(demo_round, workers=1, partition_size=100_000)
    for size, workers in ((7, 1), (50, 2), (239, 2), (1, 2)):
        assert results_bytes(demo_round, workers=workers, partition_size=size) == reference, (size, workers)


def test_a_csv_the_fast_reader_leaves_to_the_general_one_reads_the_same(demo_round, tmp_path, monkeypatch):
    from evaluator.intake import partition
    general = []
    real = partition._read_csv
    monkeypatch.setattr(partition, "_read_csv", lambda c, path, data: general.append(path.name) or real(c, path, data))
    copy = tmp_path / "round"
    shutil.copytree(demo_round.parent, copy)
    reference = results_bytes(copy / "round.yaml", partition_size=60)
    assert general == []                                       # both bulk files read column-wise
    values = copy / "evidence" / "values.csv"
    lines = values.read_text(encoding="utf-8-sig").splitlines()
    # an empty line: pyarrow would read it differently, so the csv module reads the file
    values.write_text("\ufeff" + "\n".join(lines[:5] + [""] + lines[5:]) + "\n", encoding="utf-8")
    fallback = results_bytes(copy / "round.yaml", partition_size=60)
    assert general == ["values.csv"]
    # the same results but for the evidence digest (the file changed)
    strip = lambda b: b.split(b'"evidence_digest"')[0] + b.split(b'"evidence_files"')[1]   # noqa: E731
    assert strip(fallback) == strip(reference)


BAD = {
    "dup.yaml": "organization: {org}\nvalues:\n  members_full: 3\n",               # also in values.csv
    "unknown.yaml": "organization: NOPE-1\nvalues:\n  members_full: 3\n",
    "bad_values.csv": "organization,field,self\n{org},members_full,三个\n{org2},centre_area,500人\n",
    "unknown.csv": "organization,field,self\n{org},members_full,3\nNOPE-2,centre_area,500\n",
    "bad_header.csv": "organization,field,selfish\n{org},members_full,3\n",
}


@pytest.fixture(params=["in order", "read ahead"])
def read_ahead(request, monkeypatch):
    """Bulk files read ahead by helper processes (every file, however small), or not."""
    from evaluator.intake import partition
    if request.param == "read ahead":
        monkeypatch.setattr(partition, "_AHEAD_MIN", 0)
    return request.param


@pytest.mark.parametrize("name", sorted(BAD))
def test_refusals_are_the_same_however_the_round_is_read(demo_round, tmp_path, name, read_ahead):
    copy = tmp_path / "round"
    shutil.copytree(demo_round.parent, copy)
    rnd = load_round(copy / "round.yaml")
    org, org2 = rnd.organizations[3].id, rnd.organizations[200].id
    (copy / "evidence" / name).write_text(BAD[name].format(org=org, org2=org2), encoding="utf-8")
    with pytest.raises(InputError) as whole:
        load_evidence(load_round(copy / "round.yaml"))
    for size, workers in ((1000, 1), (17, 2)):
        with pytest.raises(InputError) as parted:
            check_round(load_round(copy / "round.yaml"), workers=workers, partition_size=size)
        assert [str(i) for i in parted.value.issues] == [str(i) for i in whole.value.issues], (size, workers)


def test_a_worker_keeps_one_set_of_rulesets_however_many_partitions_it_scores(demo_round, monkeypatch):
    # durable-rules keeps part of a deleted ruleset's memory: a ruleset per partition grew a
    # worker scoring a million organizations by about 400 MB. Partition after partition, the
    # process makes each standard's concluding rules once, and the results are the same bytes.
    from evaluator.scoring import engine, pipeline
    monkeypatch.setattr(pipeline, "_RULES", {})           # as in a fresh worker
    made = []
    real = engine.ConcludingRules.__init__
    monkeypatch.setattr(engine.ConcludingRules, "__init__", lambda self, std: made.append(std.id) or real(self, std))
    reference = results_bytes(demo_round, workers=1, partition_size=100_000)
    assert sorted(made) == sorted({s.id for s in load_round(demo_round).standards.values()})
    assert results_bytes(demo_round, workers=1, partition_size=7) == reference      # 35 partitions
    assert len(made) == len(set(made))                    # none made again


def test_outcomes_shared_by_equal_values_are_scored_once_across_partitions(demo_round, monkeypatch):
    # The scorer (and its outcome cache) lives as long as the worker: a round cut into 35
    # partitions scores no more criteria than the round in one piece, with the same bytes.
    from evaluator.scoring import criteria, pipeline
    scored = []
    real = criteria.score_criterion
    monkeypatch.setattr(criteria, "score_criterion", lambda c, *a: scored.append(c.id) or real(c, *a))
    counts = {}
    for size in (100_000, 7):
        monkeypatch.setattr(pipeline, "_SCORERS", {})     # a fresh worker for each
        scored.clear()
        counts[size] = (results_bytes(demo_round, workers=1, partition_size=size), len(scored))
    assert counts[7][0] == counts[100_000][0]
    assert counts[7][1] == counts[100_000][1]
    # once the round is scored, the scorer lets go of its caches (a full pass of the garbage
    # collector would scan them), and the rules stay for the next round
    assert pipeline._SCORERS == {} and pipeline._RULES


def test_local_workers_read_evidence_and_write_results_in_place(demo_round, monkeypatch):
    # Forked workers read their partitions from the router they share with the parent and
    # append their results to its spill: nothing is pickled to bytes for them (only a cluster
    # gets bytes), and the results are the same bytes.
    from evaluator.intake.partition import Router
    reference = results_bytes(demo_round, workers=1, partition_size=100_000)
    monkeypatch.setattr(Router, "partition", lambda self, k: pytest.fail("partition sent as bytes"))
    assert results_bytes(demo_round, workers=2, partition_size=50) == reference
    assert results_bytes(demo_round, workers=1, partition_size=50) == reference


def test_a_partition_of_a_round_the_process_was_not_forked_for_is_refused():
    from evaluator.errors import EvaluationError
    from evaluator.scoring.pipeline import PartJob, score_partition
    with pytest.raises(EvaluationError, match="not forked for"):
        score_partition(PartJob(0, [], None, True, local=12345), None)


def test_bulk_files_read_ahead_by_helpers_give_the_same_bytes(demo_round, monkeypatch):
    from evaluator.intake import partition
    reference = results_bytes(demo_round, workers=1, partition_size=100_000)
    monkeypatch.setattr(partition, "_AHEAD_MIN", 0)
    settled = []
    real = partition.Router.read_csv

    def read_csv(self, path, data):
        ahead = self._ahead.get(str(path))
        settled.append((path.name, ahead is not None and ahead.result() is not None))
        return real(self, path, data)
    monkeypatch.setattr(partition.Router, "read_csv", read_csv)
    for size in (50, 7, 100_000):
        settled.clear()
        assert results_bytes(demo_round, workers=2, partition_size=size) == reference, size
        assert sorted(settled) == [("records.csv", True), ("values.csv", True)]


@pytest.mark.parametrize("n,size", [(0, 500), (1, 500), (1000, 500), (1001, 500), (20_000, 500), (35, 7), (10, 1)])
def test_parallel_rounds_end_with_small_partitions_that_cover_the_registry_once(n, size):
    # With several workers the last 2 x size organizations come in quarter-size partitions, so
    # no worker is left scoring a whole partition alone at the end; every organization is in
    # exactly one partition, in registry order, and Router.of finds it there.
    from evaluator.intake.partition import Router, partition_starts
    from evaluator.model import Organization
    orgs = [Organization(f"O{i}", f"O{i}", "community", "区", "街道") for i in range(n)]
    for small_tail in (False, True):
        router = Router(orgs, size, small_tail=small_tail)
        assert router.starts == partition_starts(n, size, small_tail)
        spans = [router.span(k) for k in range(router.count)]
        assert [i for s in spans for i in range(n)[s]] == list(range(n))
        assert all(router.of(i) == k for k, s in enumerate(spans) for i in range(n)[s])
        sizes = [s.stop - s.start for s in spans]
        if not small_tail or n <= 2 * size:
            assert sizes == [size] * (n // size) + ([n % size] if n % size else [])
        else:
            assert max(sizes[-(2 * size // max(1, size // 4)):]) <= max(1, size // 4)


def test_scoring_a_partition_leaves_no_reference_cycles(demo_round):
    # local workers score with the cyclic garbage collector off (pipeline.LocalPool): that is
    # only sound while scoring leaves nothing but reference counting can free
    import gc
    from evaluator.intake.partition import route
    from evaluator.intake.spill import Spill
    from evaluator.scoring.pipeline import Local, PartJob, StandardsSpec, score_partition
    from evaluator.scoring.run import with_round_overrides
    rnd = load_round(demo_round)
    standards = {t: with_round_overrides(s, rnd.grading_override) for t, s in rnd.standards.items()}
    router = route(rnd.evidence_paths, rnd.organizations, 60, standards=rnd.standards)
    spec = StandardsSpec.of(standards, rnd.grading_override, rnd.period, rnd.waivers)
    spill = Spill()
    try:
        gc.collect()
        with Local(router, spill) as token:
            for k in range(router.count):
                res = score_partition(PartJob(k, rnd.organizations[router.span(k)], None, True, token), spec)
                assert len(res.rows) == router.span(k).stop - router.span(k).start
                assert gc.collect() == 0, f"partition {k} left reference cycles"
    finally:
        spill.close()
        router.close()


def test_a_partitions_results_are_spilled_piece_by_piece_as_if_joined(monkeypatch):
    # Spill.add_pieces writes a partition's results without joining them first: the same bytes
    # at the offset it gives, also when the system writes only part of what it is given
    import os
    import random
    from evaluator.intake import spill as spill_module
    from evaluator.intake.spill import Spill
    real = os.pwritev
    monkeypatch.setattr(spill_module.os, "pwritev", lambda fd, bufs, pos: real(fd, bufs, pos) if len(bufs) < 3
                        else real(fd, [bytes(b) for b in bufs][:2] + [bytes(bufs[2])[:7]], pos))
    monkeypatch.setattr(spill_module, "_IOV_MAX", 16)
    rng = random.Random(7)
    s = Spill()
    try:
        for _ in range(20):
            pieces = [rng.randbytes(rng.choice([0, 1, 9, 300])) for _ in range(rng.randrange(60))]
            before = s.add_blob(b"<")
            at = s.add_pieces(pieces)
            assert at == before + 1
            assert s.read(at, sum(map(len, pieces))) == b"".join(pieces)
    finally:
        s.close()


def _scored_where(job, arg):
    """A per-partition function for local workers: which process took the partition."""
    import os
    from evaluator.scoring.pipeline import PartResult
    return PartResult(job.index, blob=str(os.getpid()).encode())


def test_each_local_worker_scores_a_stretch_of_neighbouring_partitions(demo_round):
    # A worker's outcome caches are per standard and fill with the values it meets: handed
    # partitions from one queue in turn, both workers met every standard (the demo registry
    # lists organizations by type) and scored the same repeated values twice. Each walks a
    # stretch of neighbours from its own end instead; the small tail goes to whoever is free.
    from evaluator.scoring.pipeline import Partitions, small_tail
    rnd = load_round(demo_round)
    with Partitions(rnd, 10, workers=2) as parts:
        results = parts.run(_scored_where, None)
        count, tail = parts.router.count, small_tail(parts.router)
    assert [res.index for res in results] == list(range(count))
    assert 4 <= tail < count                                    # the round ends in small partitions
    by_worker: dict[bytes, list[int]] = {}
    for res in results:
        by_worker.setdefault(res.blob, []).append(res.index)
    assert len(by_worker) == 2
    first, second = sorted(sorted(k for k in ks if k < tail) for ks in by_worker.values())
    assert first[0] == 0 and second[-1] == tail - 1 and first[-1] + 1 == second[0]
    for stretch in (first, second):
        assert stretch == list(range(stretch[0], stretch[-1] + 1))


def test_stretches_hand_out_every_partition_once_and_the_tail_last():
    from evaluator.scoring.pipeline import Stretches
    plan = Stretches(20, 3, tail=16)
    taken: list[tuple[int, int]] = []
    for turn in range(40):                                     # workers asking in an uneven order
        w = (0, 1, 2, 2, 0)[turn % 5]
        k = plan.next(w)
        if k is not None:
            taken.append((w, k))
    assert sorted(k for _, k in taken) == list(range(20))
    assert [k for _, k in taken][-4:] == [16, 17, 18, 19]      # small partitions last, in order
    # workers 0 and 1 walk 0..7 from either end, worker 2 walks 8..15, then helps
    assert [k for w, k in taken if w == 0][:3] == [0, 1, 2]
    assert [k for w, k in taken if w == 1][:2] == [7, 6]
    assert [k for w, k in taken if w == 2][:4] == [8, 9, 10, 11]


def test_a_scored_round_is_kept_out_of_the_collector_until_it_is_closed(demo_round):
    """Its rows skip the collector's passes while the results are written (ScoredRound.freeze);
    a long-lived process (the store, the web app) that closes the round has its garbage
    collected again, also garbage that was there when the round was frozen."""
    import gc
    import weakref

    class Node:
        pass
    was = gc.isenabled()
    gc.disable()                                 # the cycle is still garbage when the round is frozen
    try:
        cycle = Node()
        cycle.me = cycle
        gone = weakref.ref(cycle)
        del cycle
        scored = score_round(load_round(demo_round), workers=1)
    finally:
        if was:
            gc.enable()
    try:
        assert gc.get_freeze_count() > 0
        gc.collect()
        assert gone() is not None                # frozen with the round: not scanned
    finally:
        scored.close()
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert gone() is None


def test_rows_from_local_workers_share_the_registrys_texts(demo_round):
    """Local workers take a partition's organizations from the registry they were forked with
    and send its rows back without the texts they copy of them (pipeline.in_place): each row
    holds the registry's own id and name, not a copy of its own per organization."""
    rnd = load_round(demo_round)
    scored = score_round(rnd, workers=2, partition_size=50)
    try:
        assert len(scored.rows) == len(rnd.organizations) > 50
        for r, org in zip(scored.rows, rnd.organizations):
            assert r.id is org.id and r.name is org.name and r.district == org.district
    finally:
        scored.close()
