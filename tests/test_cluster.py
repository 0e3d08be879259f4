"""A real Dask cluster on 127.0.0.1 (a scheduler and two worker processes, started and stopped
here): a round scored on it is byte-identical to a local run, also when a worker is killed
mid-run."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import run_cli
from dask_local import cluster, local_cluster, start_worker  # noqa: F401  (cluster: the fixture, a scheduler and two workers on 127.0.0.1)


def round_for(tmp_path, n=300) -> Path:
    from evaluator.demo import generate
    return generate(tmp_path / "round", n, 3)


def test_a_round_scored_on_the_cluster_is_the_local_round(tmp_path, cluster):
    address, _, _ = cluster
    rnd = round_for(tmp_path)
    assert run_cli("evaluate", rnd, "--out", tmp_path / "local", "-q", "--workers", "1")[0] == 0
    code, _, err = run_cli("evaluate", rnd, "--out", tmp_path / "dask", "-q", "--cluster", address)
    assert code == 0, err
    for name in ("results.json", "results.csv", "state.jsonl"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name


def test_a_worker_killed_mid_run_loses_nothing(tmp_path, cluster):
    address, client, procs = cluster
    rnd = round_for(tmp_path, 600)
    assert run_cli("evaluate", rnd, "--out", tmp_path / "local", "-q", "--workers", "1")[0] == 0
    env = dict(os.environ, AGRADE_PARTITION_SIZE="5")           # 120 partitions: the run lasts a while
    run = subprocess.Popen([sys.executable, "-m", "evaluator", "evaluate", str(rnd), "--out", str(tmp_path / "dask"),
                            "-q", "--cluster", address], env=env, stderr=subprocess.PIPE, cwd=Path(__file__).parents[1])
    pids = client.run(os.getpid)                                 # worker address -> its process
    killed = None
    deadline = time.time() + 120
    while killed is None and time.time() < deadline and run.poll() is None:
        busy = [w for w, tasks in client.processing().items() if tasks]
        if busy:                                   # a worker is in the middle of a partition: kill it
            pid = pids[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed = pid
        time.sleep(0.02)
    _, err = run.communicate(timeout=300)
    assert killed is not None, "no worker was ever busy"
    assert run.returncode == 0, err.decode()
    assert len(client.scheduler_info()["workers"]) == 1        # the run finished on the one left
    for name in ("results.json", "results.csv", "state.jsonl"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name


def wait_for(state, what: str, run: subprocess.Popen, timeout: float = 120):
    """Poll until `state()` is true: the run must still be going (it cannot finish while it
    waits for a worker the test holds still, but it can fail)."""
    deadline = time.time() + timeout
    while not state():
        assert run.poll() is None, f"the run ended before {what}: {run.communicate()[1].decode()}"
        assert time.time() < deadline, f"no {what} in {timeout} s"
        time.sleep(0.02)


def test_the_worker_holding_the_only_copy_of_the_standards_dies_and_a_later_one_finishes(tmp_path):
    # The standards go to the workers once per run. Whichever worker holds the only copy (here
    # the only worker there was when the run began; Dask's memory manager also drops spare
    # copies mid-run) may die: a worker that joined since must still finish the run.
    rnd = round_for(tmp_path, 300)
    assert run_cli("evaluate", rnd, "--out", tmp_path / "local", "-q", "--workers", "1")[0] == 0
    with local_cluster(tmp_path, workers=1) as (address, client, procs):
        first = procs[1]
        (w0,) = client.scheduler_info()["workers"]
        run = subprocess.Popen([sys.executable, "-m", "evaluator", "evaluate", str(rnd), "--out", str(tmp_path / "dask"),
                                "-q", "--cluster", address], env=dict(os.environ, AGRADE_PARTITION_SIZE="5"),
                               stderr=subprocess.PIPE, cwd=Path(__file__).parents[1])
        # the first worker holds data of the run (the standards) and is scoring a partition
        wait_for(lambda: client.has_what().get(w0) and client.processing().get(w0), "busy first worker", run)
        os.kill(first.pid, signal.SIGSTOP)         # held still mid-run: the run cannot finish without it
        procs.append(start_worker(address, "w1", tmp_path / "w1.log"))
        client.wait_for_workers(2, timeout=120)
        first.kill()                                # dies with the only copy; never resumed
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err.decode()
        assert list(client.scheduler_info()["workers"]) != [w0]    # the newcomer finished the run
    for name in ("results.json", "results.csv", "state.jsonl"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
