"""The console entry point's exit (cli.main → _leave): the exit status sys.exit would give,
everything printed reaches a pipe, exit handlers run, and a process with a thread still
working waits for it as an ordinary exit does."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _agrade(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """`code` run before cli.main() in a fresh interpreter (argv set by it)."""
    script = "import sys, atexit, threading, time\nimport evaluator.cli as cli\n" + code + "\ncli.main()\n"
    # buffered output, as a user's shell gives a pipe (this machine sets PYTHONUNBUFFERED)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=env)


def test_exit_status_and_output_are_those_of_an_ordinary_exit(tmp_path):
    # printed into the pipe's buffer, not flushed by anyone before the exit
    ok = _agrade("print('先印的 — printed first')\nsys.argv = ['agrade', 'validate', 'rules/']", tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("先印的 — printed first\n")
    assert len(ok.stdout.splitlines()) > 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [unclosed\n", encoding="utf-8")
    refused = _agrade(f"sys.argv = ['agrade', 'validate', {str(bad)!r}]", tmp_path)
    assert refused.returncode == 2
    assert "bad.yaml" in refused.stdout + refused.stderr
    usage = _agrade("sys.argv = ['agrade', 'no-such-command']", tmp_path)
    assert usage.returncode == 2


def test_exit_handlers_run(tmp_path):
    mark = tmp_path / "ran"
    # the handler prints last, into the pipe's buffer: flushed after the handlers ran
    done = _agrade(f"atexit.register(lambda: open({str(mark)!r}, 'w').write('ran'))\n"
                   "atexit.register(lambda: print('最后 — last'))\nsys.argv = ['agrade', '--version']", tmp_path)
    assert done.returncode == 0 and "agrade" in done.stdout
    assert mark.read_text() == "ran"
    assert done.stdout.endswith("最后 — last\n")


def test_a_thread_still_working_is_waited_for(tmp_path):
    mark = tmp_path / "late"
    code = (f"def late():\n    time.sleep(0.5)\n    open({str(mark)!r}, 'w').write('done')\n"
            "threading.Thread(target=late).start()\nsys.argv = ['agrade', '--version']")
    done = _agrade(code, tmp_path)
    assert done.returncode == 0
    assert mark.read_text() == "done"


def test_a_message_exit_prints_it_and_gives_1(tmp_path):
    # a command ending in sys.exit("message") (as typer/click may): printed, status 1
    code = "def stop(*a, **k):\n    sys.exit('停止 — stopped')\ncli.app = stop"
    done = _agrade(code, tmp_path)
    assert done.returncode == 1
    assert "停止 — stopped" in done.stderr


def test_a_boolean_exit_gives_the_status_sys_exit_gives(tmp_path):
    # sys.exit(True) is status 1 and sys.exit(False) status 0, nothing printed (a bool is an int)
    for value, status in ((True, 1), (False, 0)):
        done = _agrade(f"def stop(*a, **k):\n    sys.exit({value})\ncli.app = stop", tmp_path)
        assert (done.returncode, done.stderr) == (status, "")


def test_child_processes_still_running_are_waited_for(tmp_path):
    mark = tmp_path / "child"
    code = ("import multiprocessing as mp\n"
            f"def late():\n    time.sleep(0.5)\n    open({str(mark)!r}, 'w').write('done')\n"
            "mp.get_context('fork').Process(target=late).start()\nsys.argv = ['agrade', '--version']")
    done = _agrade(code, tmp_path)
    assert done.returncode == 0
    assert mark.read_text() == "done"
