"""Partitions scored on a Dask distributed cluster (`agrade evaluate --cluster tcp://HOST:PORT`).

The client (this process) reads the evidence into partitions and sends each as a task
(`pipeline.score_partition`) with the round's standards as data (`StandardsSpec`: the YAML
bytes, compiled once per worker process and checked against their digests). Results come
back as compact rows and serialized results, written by the client exactly as a local run
writes them: the results are the same bytes whichever workers did the work. A worker that
dies mid-run loses nothing: the scheduler runs its tasks again elsewhere (each task is pure:
the same partition gives the same result), and the standards are a task's result, not
scattered data, so it can make them again too (see DaskCluster.run).

Workers need agrade installed (the same version; `pip install "agrade[cluster]"`) and reach
nothing but the scheduler: no shared file system is needed, evidence travels in the tasks.
"""
from __future__ import annotations

import secrets
from typing import Iterable, Iterator

from ..errors import InputError, Issue
from .pipeline import PartJob, PartResult, StandardsSpec, Work, score_partition

# The environment agrade's own scripts start Dask workers with, and recommend (README, Dask).
# Dask's sampling profiler keeps the call trees of each worker's last 1,000 seconds: with
# WeasyPrint's deep stacks that grew a report worker from about 100 MB to 700 MB (measured by
# bench/bench_reports.py --memory), which is not agrade's memory and says nothing about it.
WORKER_ENV = {"DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}


def task_result(value):
    """A value sent to a cluster as the result of a task (client.submit(task_result, value)) rather
    than scattered: the scheduler can make it again when the worker holding it dies (see run)."""
    return value


class DaskCluster:
    """Where partitions run: the workers of a Dask scheduler."""
    shares_memory = False                # jobs carry their evidence as bytes

    def __init__(self, address: str, timeout: float = 30):
        try:
            from distributed import Client
        except ImportError:          # pragma: no cover - the base install has it
            raise InputError(Issue("--cluster", 0, 0, "$", "Dask is not installed here; pip install \"agrade[cluster]\"")) from None
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except OSError as e:
            raise InputError(Issue("--cluster", 0, 0, "$", f"cannot reach the Dask scheduler at {address}: {e}")) from None
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def run(self, jobs: Iterable[PartJob], spec, work: Work | None = None) -> Iterator[PartResult]:
        """`work(job, spec)` for each job (score_partition unless given), as they finish."""
        from distributed import as_completed
        tag = secrets.token_hex(6)          # task keys of this run only, however many share the scheduler
        # The standards are the result of a task, not scattered data. Dask keeps scattered
        # data only where it was put, and its memory manager (ReduceReplicas, every 2 s)
        # drops the copies no task there is waiting for: killing the worker left holding the
        # only copy made the scheduler forget the standards and every partition with them
        # ("cancelled ... already forgotten", the whole run lost). A task's result is made
        # again elsewhere.
        spec_future = self.client.submit(task_result, spec, key=f"agrade-standards-{tag}", pure=False)
        window = as_completed(loop=self.client.loop)
        in_flight = 0
        for job in jobs:
            # a few tasks per worker at a time: the client holds only what is in flight
            window.add(self.client.submit(work or score_partition, job, spec_future, key=f"agrade-part-{tag}-{job.index}-{job.score}",
                                          retries=3, pure=False))
            in_flight += 1
            while in_flight >= 2 * self.workers:
                future = next(window)
                in_flight -= 1
                yield future.result()
                future.release()
        for future in window:
            yield future.result()
            future.release()
        spec_future.release()

    def close(self) -> None:
        self.client.close()
