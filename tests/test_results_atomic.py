"""results.json, results.csv and run.json are replaced together or not at all (issue 6, item 4).

run.json is written last and records the digests of the other two; every reader (explain,
report, validate) refuses a folder whose files do not belong together, and no temp file or
folder is left behind, even by `kill -9`.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from evaluator.errors import InputError
from evaluator.scoring import results as results_mod

SET = ["results.csv", "results.json", "run.json", "state.jsonl"]
MIXED = "are incomplete or from two different runs (interrupted?); run agrade evaluate again"


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def evaluate(mini: Path, out: Path, title: str | None = None, code: int = 0) -> str:
    """Evaluate the mini round into `out`; with `title`, a changed round whose results.json
    (the title) and results.csv (C3's name) both differ from the previous run's. `code`: the
    exit expected (1: the system refused a write, said in a sentence); its stderr."""
    if title:
        p = mini / "round.yaml"
        text = p.read_text(encoding="utf-8")
        p.write_text("\n".join(f"title: {title}" if line.startswith("title:") else line
                               for line in text.splitlines()) + "\n", encoding="utf-8")
        orgs = mini / "orgs.csv"
        orgs.write_text("\n".join(f"C3,丙社区党委（{title}）," + line.split(",", 2)[2] if line.startswith("C3,") else line
                                  for line in orgs.read_text(encoding="utf-8").splitlines()) + "\n", encoding="utf-8")
    got, _, err = run_cli("evaluate", mini / "round.yaml", "--out", out, "-q")
    assert got == code, err
    if code:
        assert err.startswith("文件读写失败") and "Traceback" not in err, err
    return err


def readers_refuse(out: Path) -> None:
    """explain, report and validate all refuse the folder with the same clear message."""
    code, _, err = run_cli("explain", out, "C1")
    assert code == 2 and f"results in {out} {MIXED}" in err
    code, _, err = run_cli("report", out, "--out", out.parent / "reports", "--kind", "summary", "--format", "csv")
    assert code == 2 and f"results in {out} {MIXED}" in err
    assert not (out.parent / "reports").exists()
    code, _, err = run_cli("validate", out)
    assert code == 2 and MIXED in err
    code, _, err = run_cli("validate", out / "results.json")
    assert code == 2 and MIXED in err


# ------------------------------------------------------------------ what run.json records

def test_run_json_records_the_digests_of_the_set(mini, tmp_path):
    import hashlib
    out = tmp_path / "out"
    evaluate(mini, out)
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    for name in ("results.json", "results.csv"):
        data = (out / name).read_bytes()
        assert meta["files"][name] == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    assert listing(out) == SET


def test_a_file_replaced_from_another_run_is_refused(mini, tmp_path):
    out, other = tmp_path / "out", tmp_path / "other"
    evaluate(mini, out)
    evaluate(mini, other, title="第二轮考评")
    shutil.copy(other / "results.csv", out / "results.csv")       # one file from another run
    readers_refuse(out)


def test_a_set_without_run_json_is_incomplete_but_a_results_json_alone_is_readable(mini, tmp_path):
    out = tmp_path / "out"
    evaluate(mini, out)
    (out / "run.json").unlink()
    code, _, err = run_cli("explain", out, "C1")
    assert code == 2 and MIXED in err and "run.json is missing" in err
    # given as a file, a results.json is read without a check (documented: copied on its own)
    code, out_text, _ = run_cli("explain", out / "results.json", "C1")
    assert code == 0 and "甲社区党委（C1）" in out_text
    alone = tmp_path / "copied"
    alone.mkdir()
    shutil.copy(out / "results.json", alone / "results.json")
    assert run_cli("explain", alone, "C1")[0] == 0
    assert run_cli("explain", alone / "results.json", "C1")[0] == 0


# ------------------------------------------------------------------ failures between the renames

def _fail_on_call(monkeypatch, n: int):
    real = os.replace
    calls = []

    def replace(src, dst, *args, **kwargs):
        calls.append(Path(dst).name)
        if len(calls) == n:
            raise OSError(28, "No space left on device (injected)")
        return real(src, dst, *args, **kwargs)
    monkeypatch.setattr(os, "replace", replace)
    return calls


def test_a_failure_between_the_renames_is_detected_by_every_reader(mini, tmp_path, monkeypatch):
    out = tmp_path / "out"
    evaluate(mini, out)
    old_csv, old_run = (out / "results.csv").read_bytes(), (out / "run.json").read_bytes()
    calls = _fail_on_call(monkeypatch, 2)
    assert "injected" in evaluate(mini, out, title="第二轮考评", code=1)
    monkeypatch.undo()
    assert calls == ["results.json", "results.csv"]
    # results.json is the new one, the other two are the old ones: a mixed set...
    assert "第二轮考评" in (out / "results.json").read_text(encoding="utf-8")
    assert (out / "results.csv").read_bytes() == old_csv and (out / "run.json").read_bytes() == old_run
    assert listing(out) == SET                       # ...with no temp name left behind
    readers_refuse(out)
    with pytest.raises(InputError, match="two different runs"):
        results_mod.load_results(out)
    evaluate(mini, out, title="第三轮考评")             # the next run repairs it
    code, text, _ = run_cli("explain", out, "C1")
    assert code == 0 and "第三轮考评" in text


def test_a_first_run_that_fails_midway_leaves_an_incomplete_set(mini, tmp_path, monkeypatch):
    out = tmp_path / "out"
    calls = _fail_on_call(monkeypatch, 3)        # placeholder run.json, results.json, then results.csv fails
    assert "injected" in evaluate(mini, out, code=1)
    monkeypatch.undo()
    assert calls == ["run.json", "results.json", "results.csv"]
    assert listing(out) == ["results.json", "run.json"]
    readers_refuse(out)


def test_a_failure_while_writing_changes_nothing(mini, tmp_path, monkeypatch):
    out = tmp_path / "out"
    evaluate(mini, out)
    before = {n: (out / n).read_bytes() for n in SET}
    real = os.fsync
    seen = []

    def fsync(fd):
        seen.append(fd)
        if len(seen) == 2:
            raise OSError(5, "I/O error (injected)")
        return real(fd)
    monkeypatch.setattr(os, "fsync", fsync)
    assert "injected" in evaluate(mini, out, title="第二轮考评", code=1)
    monkeypatch.undo()
    assert {n: (out / n).read_bytes() for n in SET} == before
    assert listing(out) == SET


def test_stale_temp_names_are_removed_by_the_next_write(mini, tmp_path):
    out = tmp_path / "out"
    evaluate(mini, out)
    (out / ".agrade-tmp-0123456789abcdef").write_text("left by kill -9", encoding="utf-8")
    (out / ".agrade-k3j4h5g6").mkdir()                       # an older version's temp folder
    (out / ".agrade-k3j4h5g6" / "results.json").write_text("{}", encoding="utf-8")
    (out / "notes.txt").write_text("mine", encoding="utf-8")   # not ours: kept
    evaluate(mini, out)
    assert listing(out) == sorted(SET + ["notes.txt"])


def test_without_o_tmpfile_named_temp_files_are_used_and_removed(mini, tmp_path, monkeypatch):
    monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    out = tmp_path / "out"
    evaluate(mini, out)
    assert listing(out) == SET
    assert run_cli("explain", out, "C1")[0] == 0


# ------------------------------------------------------------------ kill -9, for real

N_ORGS = 400


@pytest.fixture(scope="session")
def big_round(tmp_path_factory):
    """A demo round large enough that evaluating and writing take a few seconds, its complete
    results (the old set), and a second round file whose results differ in every file."""
    from evaluator.demo import generate
    base = tmp_path_factory.mktemp("killround")
    round_path = generate(base / "round", N_ORGS, 11)
    text = round_path.read_text(encoding="utf-8")
    new_round = round_path.with_name("round-new.yaml")
    new_round.write_text(text.replace("organizations: organizations.csv", "organizations: organizations-new.csv")
                         .replace("title: ", "title: 第二次评估 ", 1), encoding="utf-8")
    orgs = (round_path.parent / "organizations.csv").read_text(encoding="utf-8-sig").splitlines()
    first = orgs[1].split(",")
    first[1] = "改名后的" + first[1]
    (round_path.parent / "organizations-new.csv").write_text("\n".join([orgs[0], ",".join(first)] + orgs[2:]) + "\n",
                                                             encoding="utf-8")
    old = base / "old"
    subprocess.run([sys.executable, "-m", "evaluator", "evaluate", str(round_path), "--out", str(old), "-q"],
                   cwd=ROOT, check=True, capture_output=True)
    return round_path, new_round, old, first[0]


def _start(round_path: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "evaluator", "evaluate", str(round_path), "--out", str(out), "-q"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _writing(proc: subprocess.Popen, out: Path) -> bool:
    """True once the process holds a file open in `out` (an anonymous O_TMPFILE inode)."""
    try:
        fds = os.listdir(f"/proc/{proc.pid}/fd")
    except FileNotFoundError:
        return True
    for fd in fds:
        try:
            if os.readlink(f"/proc/{proc.pid}/fd/{fd}").startswith(f"{out}/"):
                return True
        except OSError:
            continue
    return False


def _inode(path: Path):
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def _kill_at(point: str, proc: subprocess.Popen, out: Path) -> None:
    if point == "evaluating":
        time.sleep(1.5)
    elif point.startswith("writing"):
        while proc.poll() is None and not _writing(proc, out):
            time.sleep(0.001)
        time.sleep(float(point.split("+")[1]))
    elif point == "renaming":                      # the instant results.json is replaced
        watched = out / "results.json"
        before = _inode(watched)
        while proc.poll() is None and _inode(watched) == before:
            pass
    elif point == "placeholder":                   # a first run: the instant run.json appears
        while proc.poll() is None and not (out / "run.json").exists():
            pass
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()


def _which_run(out: Path, renamed_id: str) -> dict:
    """Which run each file that exists came from, read from the files themselves."""
    runs = {}
    if (out / "results.json").exists():
        runs["results.json"] = "new" if "第二次评估" in (out / "results.json").read_text(encoding="utf-8") else "old"
    if (out / "results.csv").exists():
        csv_text = (out / "results.csv").read_text(encoding="utf-8-sig")
        assert renamed_id in csv_text
        runs["results.csv"] = "new" if "改名后的" in csv_text else "old"
    if (out / "run.json").exists():
        meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
        runs["run.json"] = "new" if meta.get("round", "").endswith("round-new.yaml") else "old"
    return runs


# evaluating: long before writing; writing+S: S seconds after the first file is opened in the
# folder (+0: while results.json is written, +0.5: usually after the run ended); renaming: the
# instant results.json is replaced (usually leaves a mixed set); placeholder: a first run into
# an empty folder, the instant its placeholder run.json appears.
@pytest.mark.parametrize("point", ["evaluating", "writing+0", "writing+0.003", "writing+0.5", "renaming",
                                   "placeholder"])
def test_kill_9_never_leaves_a_silently_mixed_set_or_temp_files(big_round, tmp_path, point):
    round_path, new_round, old, renamed_id = big_round
    out = tmp_path / "out"
    if point != "placeholder":                      # placeholder: a first run into an empty folder
        shutil.copytree(old, out)
    else:
        out.mkdir()
    _kill_at(point, _start(new_round, out), out)

    names = listing(out)
    # a kill between giving a finished file's inode its hidden temp name and renaming it (one
    # system call apart, results._Staged.commit) leaves that one name; the next write removes it
    temps = [n for n in names if n.startswith(results_mod.TMP_PREFIX)]
    names = [n for n in names if n not in temps]
    assert len(temps) <= 1 and set(names) <= set(SET), f"left behind: {sorted(set(names) - set(SET)) + temps}"
    runs = _which_run(out, renamed_id)
    try:
        results_mod.check_result_set(out)
        consistent = True
    except InputError as e:
        consistent = False
        assert MIXED in str(e)
    code, text, err = run_cli("explain", out, renamed_id)
    if consistent:
        # a complete set, old or new, every file from the same run
        assert names == SET and len(set(runs.values())) == 1, runs
        assert code == 0 and ("改名后的" in text) == (runs["results.json"] == "new")
    else:
        assert code == 2 and MIXED in err
    # whatever was left, the next run completes the set (for the mixed one; the others are alike)
    if point == "renaming" or temps:
        code, _, err = run_cli("evaluate", new_round, "--out", out, "-q")
        assert code == 0, err
        assert listing(out) == SET and set(_which_run(out, renamed_id).values()) == {"new"}
        results_mod.check_result_set(out)


def test_a_full_disk_is_said_in_a_sentence_and_the_last_complete_results_stay(mini, tmp_path, monkeypatch):
    # the disk fills while results.json is written: exit 1 with what the system said and where,
    # no traceback, and the folder still holds the previous complete result set, nothing half-named
    import errno
    from evaluator.scoring import jsonlayout
    out = tmp_path / "out"
    evaluate(mini, out)
    before = {name: (out / name).read_bytes() for name in listing(out)}

    def full(fd, views, at):
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "results.json"))
    monkeypatch.setattr(jsonlayout, "write_at", full)
    code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", out, "-q", "--workers", "1")
    assert code == 1
    assert f"文件读写失败：{out / 'results.json'}：No space left on device" in err and "(ENOSPC)" in err
    assert "Traceback" not in err
    assert {name: (out / name).read_bytes() for name in listing(out)} == before
