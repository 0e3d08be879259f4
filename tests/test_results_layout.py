"""results.json laid out and written in place (evaluator.scoring.jsonlayout): one process or
several forked writers give the same bytes and the same SHA-256 as streaming it, whatever the
chunking; a writer that fails is reported with what went wrong, never hangs the run, and
leaves no process behind."""
from __future__ import annotations

import hashlib
import json
import os

import pytest

from conftest import run_cli
from evaluator.scoring import jsonlayout
from evaluator.scoring.jsonlayout import spill_descriptor
from evaluator.scoring.run import score_round


@pytest.fixture(scope="module")
def scored(request):
    """The mini round scored once (its spill kept open for every write below)."""
    from evaluator.intake.rounds import load_round
    mini = request.getfixturevalue("mini")
    s = score_round(load_round(mini / "round.yaml"), workers=1)
    yield s
    s.close()


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    from conftest import FIXTURES
    import shutil
    dst = tmp_path_factory.mktemp("layout") / "mini"
    shutil.copytree(FIXTURES / "mini", dst)
    return dst


def streamed(s) -> bytes:
    """results.json the general way: organization by organization (what rescore uses)."""
    out: list[bytes] = []
    s.stream_pieces(lambda piece: out.append(bytes(piece)))
    return b"".join(out)


def written(s, workers: int, tmp_path, name: str) -> tuple[bytes, dict]:
    fd = os.open(tmp_path / name, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        digest = s.lay_out(spill_descriptor(s.spill)).write_to(fd, workers).result()
    finally:
        os.close(fd)
    return (tmp_path / name).read_bytes(), digest


@pytest.mark.parametrize("chunk, tasks", [(1 << 20, 256), (1, 256), (700, 256), (700, 2), (50_000, 3)])
def test_in_place_one_or_many_writers_give_the_streamed_bytes_and_digest(scored, tmp_path, monkeypatch, chunk, tasks):
    # chunk 1: every organization a chunk of its own (larger than CHUNK); tasks 2: chunks
    # handed out in groups, as a round of millions of chunks is
    monkeypatch.setattr(jsonlayout, "CHUNK", chunk)
    monkeypatch.setattr(jsonlayout, "_TASKS_MAX", tasks)
    want = streamed(scored)
    where = scored.positions.tolist()
    assert json.loads(want)["organizations"]
    for workers in (1, 2, 3):
        data, digest = written(scored, workers, tmp_path, f"w{workers}")
        assert data == want, f"{workers} writers"
        assert digest == {"sha256": hashlib.sha256(want).hexdigest(), "bytes": len(want)}
        assert scored.positions.tolist() == where       # state.jsonl's offsets alike
    streamed_again: list[bytes] = []
    scored.write_json(lambda piece: streamed_again.append(bytes(piece)))      # a payload() caller
    assert b"".join(streamed_again) == want


def test_each_organization_is_where_positions_say(scored, tmp_path):
    data, _ = written(scored, 2, tmp_path, "r.json")
    orgs = json.loads(data)["organizations"]
    for r in scored.rows:
        at, length, before, middle = scored.where(r)
        one = json.loads(data[at:at + length])
        assert one == orgs[r.at] and one["id"] == r.id
        assert json.loads(b"{" + data[at + before + 1:at + before + 1 + middle] + b"}")["rank"]["round"] == r.rank_round


def test_a_round_without_organizations_is_header_and_closing(scored, tmp_path, monkeypatch):
    monkeypatch.setattr(scored, "_order", [])
    data, digest = written(scored, 2, tmp_path, "empty.json")
    assert json.loads(data)["organizations"] == []
    assert digest["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_writer_process_that_fails_is_reported_and_reaped(scored, tmp_path, monkeypatch):
    monkeypatch.setattr(jsonlayout, "CHUNK", 700)
    layout = scored.lay_out(spill_descriptor(scored.spill))
    unreadable = os.open(tmp_path / "spill", os.O_WRONLY | os.O_CREAT, 0o600)
    layout.fd = unreadable                               # reading the spill fails in the writers: EBADF
    fd = os.open(tmp_path / "out", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        sink = layout.write_to(fd, 2)
        pids = list(sink.pids)
        with pytest.raises(OSError) as e:
            sink.result()
    finally:
        os.close(fd)
        os.close(unreadable)
    assert e.value.errno == 9 and "results.json" in str(e.value)
    for pid in pids:                                     # reaped: no zombie, no orphan left
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_evaluate_with_two_workers_writes_what_one_writes(mini, tmp_path, monkeypatch):
    monkeypatch.setattr(jsonlayout, "CHUNK", 700)        # the mini round in several chunks
    for workers in ("1", "2"):
        code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", tmp_path / workers, "--workers", workers, "-q")
        assert code == 0, err
    for name in ("results.json", "results.csv", "state.jsonl"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes(), name
    files = [json.loads((tmp_path / w / "run.json").read_text(encoding="utf-8"))["files"] for w in ("1", "2")]
    assert files[0] == files[1]


def test_results_csv_and_state_are_made_below_the_priority_of_the_results_json_writers(mini, tmp_path, monkeypatch):
    # with two writers, results.csv and state.jsonl are made in forked processes that give way
    # to the processes making and hashing results.json, which the command waits for; the lists
    # (the header those wait for) are not given lower priority
    from evaluator.scoring import run
    niceness = os.getpriority(os.PRIO_PROCESS, 0)
    assert jsonlayout.Aside(lambda: os.getpriority(os.PRIO_PROCESS, 0), background=True).result() == \
        min(19, niceness + jsonlayout.BACKGROUND_NICE)
    assert jsonlayout.Aside(lambda: os.getpriority(os.PRIO_PROCESS, 0)).result() == niceness
    made: list[tuple[str, bool]] = []
    real = jsonlayout.Aside

    class Recorded(real):
        def __init__(self, make, keep=(), background=False):
            made.append((getattr(make, "__qualname__", ""), background))
            super().__init__(make, keep, background)
    monkeypatch.setattr(run, "Aside", Recorded)
    code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", tmp_path / "out", "--workers", "2", "-q")
    assert code == 0, err
    # the lists, then results.csv and state.jsonl (the only other files made aside)
    assert [background for _, background in made] == [False, True, True], made
    assert "add_lists" in made[0][0] and all("_MadeAside" in name for name, _ in made[1:]), made


def test_a_writer_that_breaks_stops_evaluate_with_a_message_and_writes_nothing(mini, tmp_path, monkeypatch):
    monkeypatch.setattr(jsonlayout, "CHUNK", 700)
    real = jsonlayout.Layout.compose

    def compose(self, c, buf):
        if c == 1 and os.getpid() != parent:             # in a forked writer only
            raise ValueError("injected")
        return real(self, c, buf)
    parent = os.getpid()
    monkeypatch.setattr(jsonlayout.Layout, "compose", compose)
    out = tmp_path / "out"
    code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", out, "--workers", "2", "-q")
    assert code == 1 and "a process writing results.json failed: ValueError: injected" in err
    assert "Traceback" not in err
    assert os.listdir(out) == []                          # nothing named, no temp name left


def test_lists_derived_aside_are_the_lists_derived_here(mini):
    # with several writers the lists are derived in a forked process while this one lays
    # results.json out (ScoredRound.add_lists): the same header, and the process reaped
    from evaluator.intake.rounds import load_round
    here, aside = (score_round(load_round(mini / "round.yaml"), workers=w) for w in (1, 2))
    try:
        pid = aside._aside.pid
        assert aside.header == here.header and "lists" in here.header
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        assert streamed(aside) == streamed(here)
    finally:
        here.close()
        aside.close()


def test_lists_not_taken_in_are_stopped_when_the_round_is_closed(mini):
    from evaluator.intake.rounds import load_round
    s = score_round(load_round(mini / "round.yaml"), workers=2)
    pid = s._aside.pid
    s.close()
    with pytest.raises(ChildProcessError):                # reaped: no zombie, no orphan left
        os.waitpid(pid, os.WNOHANG)


def test_lists_that_fail_aside_stop_evaluate_with_the_message_and_write_nothing(mini, tmp_path, monkeypatch):
    from evaluator.errors import EvaluationError
    from evaluator.scoring import lists

    def derive(self):
        raise EvaluationError("red list rule failed (injected)")
    monkeypatch.setattr(lists.ListState, "derive", derive)
    out = tmp_path / "out"
    code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", out, "--workers", "2", "-q")
    assert code == 1 and "red list rule failed (injected)" in err
    assert "Traceback" not in err
    assert os.listdir(out) == []


def test_lists_derived_aside_while_the_progress_bar_draws_give_the_quiet_runs_bytes(mini, tmp_path):
    # the lists' child is forked while rich's refresh thread may be drawing the progress bar,
    # which it does only on a terminal: the same command on a pseudo-terminal and with -q
    import pty
    import subprocess
    import sys
    from pathlib import Path
    quiet, shown = tmp_path / "quiet", tmp_path / "shown"
    code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", quiet, "--workers", "2", "-q")
    assert code == 0, err
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "evaluator", "evaluate", str(mini / "round.yaml"), "--out", str(shown),
                             "--workers", "2"], stdin=slave, stdout=slave, stderr=slave,
                            cwd=Path(__file__).resolve().parents[1])
    os.close(slave)
    said = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:                       # EIO: the command closed the terminal
            break
        if not chunk:
            break
        said += chunk
    os.close(master)
    assert proc.wait(timeout=120) == 0, said.decode(errors="replace")
    assert "个组织".encode() in said                 # its summary, on the terminal
    assert (shown / "results.json").read_bytes() == (quiet / "results.json").read_bytes()


def test_results_csv_written_aside_fails_like_one_written_here(mini, tmp_path, monkeypatch):
    # with several writers results.csv is made and written by a forked process while this one
    # lays results.json out (run.ResultsCsv): a disk that fills there stops evaluate with what
    # the system said, no traceback, the previous complete results left as they were
    import errno
    from evaluator.scoring import filesink
    out = tmp_path / "out"
    code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", out, "--workers", "2", "-q")
    assert code == 0, err
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}
    real, parent = filesink.write_all, os.getpid()

    def full(fd, data):
        if os.getpid() != parent:                        # in the forked CSV writer only
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd, data)
    monkeypatch.setattr(filesink, "write_all", full)
    code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", out, "--workers", "2", "-q")
    assert code == 1 and "No space left on device" in err and "(ENOSPC)" in err
    assert "Traceback" not in err
    assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before
