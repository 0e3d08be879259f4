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

import dataclasses
import json
import secrets
from typing import Iterable, Iterator

from ..errors import InputError, Issue
from ..model import Organization
from .pipeline import PartJob, PartResult, Work, score_partition

# The environment agrade's own scripts start Dask workers with, and recommend (README, Dask).
# Dask's sampling profiler keeps the call trees of each worker's last 1,000 seconds: with
# WeasyPrint's deep stacks that grew a report worker from about 100 MB to 700 MB (measured by
# bench/bench_reports.py --memory), which is not agrade's memory and says nothing about it.
WORKER_ENV = {"DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}


def task_result(value):
    """A value sent to a cluster as the result of a task (client.submit(task_result, value)) rather
    than scattered: the scheduler can make it again when the worker holding it dies (see run)."""
    return value


_ORG_FIELDS = [f.name for f in dataclasses.fields(Organization)]


def _orgs_bytes(orgs: list[Organization]) -> bytes:
    # As JSON rather than pickled: pickle asks every non-ASCII string for its UTF-8 form, which
    # CPython then keeps on the string for its life: the registry's names grew by ~110 bytes an
    # organization on the client (tracemalloc, 20,000-organization round).
    return json.dumps([[getattr(o, f) for f in _ORG_FIELDS] for o in orgs], ensure_ascii=False).encode()


def remote(work: Work, job: PartJob, orgs: bytes, spec) -> PartResult:
    """`work(job, spec)` on a worker, for `job` sent without its organizations (`orgs`, as
    _orgs_bytes made them); its rows sent back packed (rows.Packed) without what they copy of
    their organizations, which the client has (pipeline.Partitions.run unpacks them)."""
    job.organizations = [Organization(*v) for v in json.loads(orgs)]
    return work(job, spec).pack(job.organizations)


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
        in_flight: set[str] = set()                          # task keys

        def arrived(future) -> PartResult:
            res = future.result()
            in_flight.discard(future.key)
            future.release()
            return res
        for job in jobs:
            # a few tasks per worker at a time: the client holds only what is in flight
            key = f"agrade-part-{tag}-{job.index}-{job.score}"
            in_flight.add(key)
            window.add(self.client.submit(remote, work or score_partition, dataclasses.replace(job, organizations=None),
                                          _orgs_bytes(job.organizations), spec_future, key=key, retries=3, pure=False))
            while len(in_flight) >= 2 * self.workers:
                yield arrived(next(window))
        for future in window:
            yield arrived(future)
        spec_future.release()

    def close(self) -> None:
        self.client.close()
