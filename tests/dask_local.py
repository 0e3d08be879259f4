"""A real Dask cluster on 127.0.0.1 for the tests: a scheduler and worker processes (one thread
each, no nanny, no dashboard), started by the `cluster` fixture and stopped after it.

    from dask_local import cluster          # noqa: F401  (the fixture)

    def test_x(cluster):
        address, client, procs = cluster   # procs[0] is the scheduler, then the workers

A worker started later (start_worker) and appended to procs is stopped with the others.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from evaluator.scoring.cluster import WORKER_ENV

distributed = pytest.importorskip("distributed")
SCHEDULER = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
WORKER = [sys.executable, "-m", "distributed.cli.dask_worker"]


def start_scheduler(logs: Path, timeout: float = 60) -> tuple[str, subprocess.Popen]:
    """A scheduler on a port the system picks as it binds (--port 0), and the address it then
    writes to its scheduler file. (Asking for a free port first and passing it on raced: another
    process could take the port between the check and the scheduler's bind.)"""
    info = logs / "scheduler.json"
    with open(logs / "scheduler.log", "w") as err:
        proc = subprocess.Popen(SCHEDULER + ["--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                             "--scheduler-file", str(info)], stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return json.loads(info.read_text())["address"], proc
        except (OSError, ValueError, KeyError):   # not written yet, or caught half-written
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"the scheduler did not start (exit {proc.returncode}): "
                               + (logs / "scheduler.log").read_text()[-2000:])
        time.sleep(0.1)


def start_worker(address: str, name: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """One worker process of the scheduler at `address` (one thread, no nanny: killing it kills
    the worker), its messages in `log`, its environment this one's plus WORKER_ENV and `env`."""
    with open(log, "w") as err:                  # the child keeps its own handle
        return subprocess.Popen(WORKER + [address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
                                          "--no-dashboard", "--name", name],
                                env={**os.environ, **WORKER_ENV, **(env or {})}, stdout=subprocess.DEVNULL, stderr=err)


@contextlib.contextmanager
def local_cluster(logs: Path, workers: int = 2, worker_env: dict[str, str] | None = None,
                  ) -> Iterator[tuple[str, "distributed.Client", list]]:
    """A scheduler and `workers` worker processes on 127.0.0.1 (their logs in `logs`; their
    environment this one's plus `worker_env`), stopped (killed) when the block ends."""
    address, scheduler = start_scheduler(logs)
    procs = [scheduler]
    try:
        for i in range(workers):
            procs.append(start_worker(address, f"w{i}", logs / f"w{i}.log", worker_env))
        client = distributed.Client(address, timeout=30)
        try:
            client.wait_for_workers(workers, timeout=60)
            yield address, client, procs
        finally:
            client.close()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()


@pytest.fixture
def cluster(tmp_path):
    with local_cluster(tmp_path) as running:
        yield running
