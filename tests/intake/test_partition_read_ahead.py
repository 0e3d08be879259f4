"""Bulk evidence files read ahead by helper processes started before the round is loaded
(partition.read_ahead, what `agrade evaluate` does with several workers): route takes the
helpers over and every partition holds what reading the files in order gives; helpers
started for other files, a helper that dies and a round that is refused leave nothing
behind and change nothing."""
from __future__ import annotations

import multiprocessing
import os
import shutil

import pytest

from evaluator.cli import run
from evaluator.demo import generate
from evaluator.intake import partition
from evaluator.intake.partition import read_ahead, replay_pieces, route, stop_read_ahead
from evaluator.intake.rounds import load_round, round_evidence_paths


@pytest.fixture(scope="module")
def demo_round(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("demo") / "round", 120, 5)


@pytest.fixture(autouse=True)
def every_csv_read_ahead(monkeypatch):
    # the demo's CSV files are small: every one is read ahead, however small
    monkeypatch.setattr(partition, "_AHEAD_MIN", 0)
    yield
    stop_read_ahead()


def plain(replayed):
    """A partition's replay (raw evidence by organization, problems) as comparable data."""
    raw, issues = replayed
    return {org: (r.files, r.where, {fid: [getattr(e, s) for s in e.__slots__] for fid, e in r.fields.items()})
            for org, r in raw.items()}, issues


def partitions(rnd, helpers: int, size: int = 17):
    """What each partition replays to (raw evidence by organization, problems), the evidence
    digest and how many helper processes route started itself."""
    started = []
    real = partition.ReadAhead.start
    partition.ReadAhead.start = classmethod(lambda cls, *a: started.append(a) or real(*a))
    try:
        router = route(rnd.evidence_paths, rnd.organizations, size, helpers=helpers, standards=rnd.standards)
    finally:
        partition.ReadAhead.start = real
    try:
        return [plain(replay_pieces(router.pieces(k))) for k in range(router.count)], router.digest.hexdigest(), len(started)
    finally:
        router.close()


def test_helpers_started_before_the_round_loads_are_taken_over_with_the_same_evidence(demo_round):
    rnd = load_round(demo_round)
    reference, digest, _ = partitions(rnd, helpers=0)
    read_ahead(round_evidence_paths(demo_round), 2)
    early = partition._EARLY[0]
    assert early is not None and sorted(os.path.basename(f) for f in early.pending) == ["records.csv", "values.csv"]
    got, got_digest, started = partitions(load_round(demo_round), helpers=2)
    assert started == 0 and partition._EARLY[0] is None          # taken over, none started again
    assert all(p.taken and p.result() is not None for p in early.pending.values())   # the helpers settled both
    assert (got, got_digest) == (reference, digest)
    assert not multiprocessing.active_children()


def test_helpers_started_for_other_files_are_stopped_and_route_reads_its_own(demo_round, tmp_path):
    other = tmp_path / "round"
    shutil.copytree(demo_round.parent, other)
    (other / "evidence" / "values.csv").unlink()
    rnd = load_round(demo_round)
    reference, digest, _ = partitions(rnd, helpers=0)
    read_ahead(round_evidence_paths(other / "round.yaml"), 2)
    got, got_digest, started = partitions(rnd, helpers=2)
    assert started == 1 and partition._EARLY[0] is None
    assert (got, got_digest) == (reference, digest)
    assert not multiprocessing.active_children()


def test_a_helper_that_dies_leaves_its_file_to_route(demo_round, monkeypatch):
    rnd = load_round(demo_round)
    reference, digest, _ = partitions(rnd, helpers=0)
    parent = os.getpid()
    real = partition.parse_bulk
    # the helper reading records.csv dies (as under the kernel's OOM killer) before sending anything
    monkeypatch.setattr(partition, "parse_bulk", lambda path, data: os._exit(9) if os.getpid() != parent
                        and path.name == "records.csv" else real(path, data))
    read_ahead(round_evidence_paths(demo_round), 2)
    got, got_digest, _ = partitions(rnd, helpers=2)
    assert (got, got_digest) == (reference, digest)
    assert not multiprocessing.active_children()


def test_a_refused_round_stops_the_helpers_and_says_what_it_said(demo_round, tmp_path, capsys):
    bad = tmp_path / "round"
    shutil.copytree(demo_round.parent, bad)
    registry = bad / "organizations.csv"
    registry.write_text(registry.read_text(encoding="utf-8") + "X-1,甲社区党委,no-such-type,示例区,文昌街道,,某\n", encoding="utf-8")
    codes, said = [], []
    for workers in ("1", "2"):                  # without helpers, then with them started early
        codes.append(run(["evaluate", str(bad / "round.yaml"), "--out", str(tmp_path / f"out{workers}"),
                          "--workers", workers, "-q"]))
        said.append(capsys.readouterr().err)
        assert not multiprocessing.active_children() and partition._EARLY[0] is None
    assert codes == [2, 2] and said[0] == said[1] and "no-such-type" in said[0]
    assert not (tmp_path / "out2").exists()


def routed_with_early_helpers(round_yaml, wait_for_digest: bool):
    """What route gives with helpers `read_ahead` started (partitions, digest), and whether its
    digest is the one computed ahead."""
    read_ahead(round_evidence_paths(round_yaml), 2)
    hashing = partition._EARLY[0]._digest
    if wait_for_digest:
        assert hashing.conn.poll(30)                 # (it hashes while the round loads)
    router = route(round_evidence_paths(round_yaml), load_round(round_yaml).organizations, 17, helpers=2)
    try:
        got = [plain(replay_pieces(router.pieces(k))) for k in range(router.count)]
        return got, router.digest.hexdigest(), isinstance(router.digest, partition._Hashed)
    finally:
        router.close()


def test_the_evidence_digest_computed_ahead_is_the_one_reading_the_files_gives(demo_round, tmp_path):
    # results.json's evidence_digest: sha256 of each file's name and bytes, in file order
    copy = tmp_path / "round"
    shutil.copytree(demo_round.parent, copy)
    (copy / "evidence" / "orgs" / "empty.yaml").write_bytes(b"")     # (an empty file cannot be mapped)
    reference, digest, _ = partitions(load_round(copy / "round.yaml"), helpers=0)
    got, got_digest, ahead = routed_with_early_helpers(copy / "round.yaml", wait_for_digest=True)
    assert ahead and (got, got_digest) == (reference, digest)
    assert not multiprocessing.active_children()


def test_a_digest_process_that_dies_leaves_the_hashing_to_route(demo_round, monkeypatch):
    reference, digest, _ = partitions(load_round(demo_round), helpers=0)
    monkeypatch.setattr(partition, "_digest_helper", lambda files, conn: os._exit(9))
    got, got_digest, ahead = routed_with_early_helpers(demo_round, wait_for_digest=True)
    assert not ahead and (got, got_digest) == (reference, digest)
    assert not multiprocessing.active_children()


def test_route_does_not_wait_for_a_digest_not_done_and_hashes_itself(demo_round, monkeypatch):
    import time
    reference, digest, _ = partitions(load_round(demo_round), helpers=0)
    monkeypatch.setattr(partition, "_digest_helper", lambda files, conn: time.sleep(60))
    started = time.monotonic()
    got, got_digest, ahead = routed_with_early_helpers(demo_round, wait_for_digest=False)
    assert time.monotonic() - started < 30                  # the slow one stopped, not waited for
    assert not ahead and (got, got_digest) == (reference, digest)
    assert not multiprocessing.active_children()
