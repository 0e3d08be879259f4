"""A real Dask cluster on 127.0.0.1 for the tests: a scheduler and worker processes (one thread
each, no nanny, no dashboard), started by the `cluster` fixture and stopped after it.

    from dask_local import cluster          # noqa: F401  (the fixture)

    def test_x(cluster):
        address, client, procs = cluster   # procs[0] is the scheduler, then the workers

A worker started later (localdask.start_worker, importable from here) and appended to procs is stopped with the others.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import pytest

distributed = pytest.importorskip("distributed")

from evaluator.scoring.localdask import start_scheduler, start_worker, stop  # noqa: E402,F401 (start_worker: for tests)


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
        stop(procs)


@pytest.fixture
def cluster(tmp_path):
    with local_cluster(tmp_path) as running:
        yield running
