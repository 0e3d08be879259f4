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


# ------------------------------------------------------------------ a file cut between helpers

@pytest.fixture
def cut_small(monkeypatch):
    """Bulk files cut between helpers however small (the demo's are a few hundred KB)."""
    monkeypatch.setattr(partition, "_SPLIT_MIN", 1000)


def cut_files(round_yaml, helpers: int) -> dict[str, int]:
    """Helpers started early for a round's evidence: into how many ranges each file was cut."""
    read_ahead(round_evidence_paths(round_yaml), helpers)
    return {os.path.basename(f): len(p.parts) for f, p in partition._EARLY[0].pending.items()}


def edit_line(path, line: int, edit) -> None:
    """Line `line` (1: the header) of a text file replaced by edit(its text)."""
    lines = path.read_bytes().split(b"\n")
    lines[line - 1] = edit(lines[line - 1].decode("utf-8")).encode("utf-8")
    path.write_bytes(b"\n".join(lines))


@pytest.mark.parametrize("helpers", [2, 3])
def test_a_file_cut_between_helpers_gives_what_reading_it_whole_gives(demo_round, cut_small, helpers):
    rnd = load_round(demo_round)
    reference, digest, _ = partitions(rnd, helpers=0)
    cut = cut_files(demo_round, helpers)
    assert max(cut.values()) > 1, cut                            # a file was read in ranges
    got, got_digest, started = partitions(load_round(demo_round), helpers=helpers)
    # the same values, with the same file, line and column for every one of them
    assert started == 0 and (got, got_digest) == (reference, digest)
    assert not multiprocessing.active_children()


@pytest.mark.parametrize("where", ["first range", "last range"])
def test_a_quote_in_a_range_has_the_whole_file_parsed_with_the_same_evidence(demo_round, tmp_path, cut_small, where):
    # a line break may be inside quotes: a range with a quote character cannot be told apart
    # from the rest, and its helper parses the whole file, as when it was not cut
    copy = tmp_path / "round"
    shutil.copytree(demo_round.parent, copy)
    records = copy / "evidence" / "records.csv"
    n = records.read_bytes().count(b"\n")
    line = 5 if where == "first range" else n - 5
    edit_line(records, line, lambda text: text.replace(",self,", ',"self",', 1))
    assert b'"self"' in records.read_bytes()
    rnd = load_round(copy / "round.yaml")
    reference, digest, _ = partitions(rnd, helpers=0)
    assert cut_files(copy / "round.yaml", 2)["records.csv"] == 2
    assert partitions(load_round(copy / "round.yaml"), helpers=2)[:2] == (reference, digest)


def test_a_range_is_numbered_from_the_lines_before_it_whatever_ends_them(tmp_path, monkeypatch):
    # pyarrow ends a row at \n, \r\n and a lone \r: the rows of a later range are numbered
    # after all of them, as in the parse of the whole file
    monkeypatch.setattr(partition, "_SPLIT_MIN", 100)
    f = tmp_path / "values.csv"
    rows = [f"SL-{i:04d},members_full,{i}" for i in range(60)]
    f.write_bytes(("organization,field,self\r\n" + "\r\n".join(rows[:20]) + "\r" + "\r".join(rows[20:40]) + "\n"
                   + "\n".join(rows[40:]) + "\n").encode())
    (whole, first, is_whole) = partition._parse_job(f, 0, None)
    assert (first, is_whole) == (2, True)
    [share1, share2] = partition._shares([f], 2)
    assert share1 == [(f, 0, share2[0][1])] and share2 == [(f, share2[0][1], None)]
    assert f.read_bytes()[share2[0][1] - 1:share2[0][1]] == b"\n"      # cut after a line's end
    later, first, is_whole = partition._parse_job(*share2[0])
    body = whole[3]
    skipped = body.num_rows - later[3].num_rows
    assert not is_whole and first == 2 + skipped                   # numbered from the lines before it
    assert later[3].to_pylist() == body.slice(skipped).to_pylist()
    (tmp_path / "quoted").mkdir()
    quoted = tmp_path / "quoted" / "values.csv"
    quoted.write_bytes(f.read_bytes().replace(b"SL-0050", b'"SL-0050"'))
    got, first, is_whole = partition._parse_job(quoted, share2[0][1], None)
    assert is_whole and first == 2 and got[3].num_rows == 60      # the whole file, with the quote


def test_files_are_dealt_to_helpers_in_about_equal_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(partition, "_SPLIT_MIN", 1000)
    files = []
    for name, n in (("a.csv", 3000), ("b.csv", 800), ("c.csv", 200)):
        f = tmp_path / name
        f.write_text("organization,field,self\n" + "".join(f"SL-{i:05d},members_full,{i}\n" for i in range(n)))
        files.append(f)
    total = sum(f.stat().st_size for f in files)
    for helpers in (1, 2, 3, 5):
        shares = partition._shares(files, helpers)
        assert len(shares) <= helpers
        for f in files:                           # each file once, its ranges end to end, cut at lines' ends
            ranges = sorted((start, stop) for share in shares for g, start, stop in share if g == f)
            assert ranges[0][0] == 0 and ranges[-1][1] is None
            assert all(a[1] == b[0] and f.read_bytes()[a[1] - 1] == ord("\n") for a, b in zip(ranges, ranges[1:]))
        load = [sum((stop or g.stat().st_size) - start for g, start, stop in share) for share in shares]
        assert max(load) <= total / helpers + 1000 + 30, (helpers, load)   # (a line past the fair share)


def test_a_bad_cell_in_a_later_range_is_refused_at_its_line(demo_round, tmp_path, cut_small, capsys):
    copy = tmp_path / "round"
    shutil.copytree(demo_round.parent, copy)
    records = copy / "evidence" / "records.csv"
    line = records.read_bytes().count(b"\n") - 30            # in the last range
    edit_line(records, line, lambda text: ",".join(text.split(",")[:2] + ["三个"] + text.split(",")[3:]))
    assert cut_files(copy / "round.yaml", 2)["records.csv"] == 2
    stop_read_ahead()
    codes, said = [], []
    for workers in ("1", "2"):                  # without helpers, then with the file cut between them
        codes.append(run(["evaluate", str(copy / "round.yaml"), "--out", str(tmp_path / f"out{workers}"),
                          "--workers", workers, "-q"]))
        said.append(capsys.readouterr().err)
    assert codes == [2, 2] and said[0] == said[1]
    assert f"records.csv:{line}:3:" in said[0] and "三个" in said[0]
    assert not multiprocessing.active_children() and partition._EARLY[0] is None
