"""A Dask scheduler and worker processes on this machine (127.0.0.1 only), as agrade's tests
and benchmarks start them, and as anyone may to try `--cluster` before pointing it at a real
cluster (README, Dask).

The scheduler binds a port the system picks as it binds (--port 0) and the address is read
from the scheduler file it writes: asking for a free port first and passing it on raced,
because another process could take the port between the check and the bind. Workers run one
thread each, without a nanny (killing a worker process kills the worker: the tests rely on it)
and with WORKER_ENV.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterable

from .cluster import WORKER_ENV

SCHEDULER = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
WORKER = [sys.executable, "-m", "distributed.cli.dask_worker"]


def start_scheduler(logs: Path, timeout: float = 60) -> tuple[str, subprocess.Popen]:
    """A scheduler on 127.0.0.1 and its address; its messages in logs/scheduler.log. Raises
    RuntimeError, with the end of its log, when it exits or says nothing within `timeout`."""
    info = logs / "scheduler.json"
    with open(logs / "scheduler.log", "w") as err:          # the child keeps its own handle
        proc = subprocess.Popen(SCHEDULER + ["--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                             "--scheduler-file", str(info)], stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return json.loads(info.read_text())["address"], proc
        except (OSError, ValueError, KeyError):             # not written yet, or caught half-written
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"the scheduler did not start (exit {proc.returncode}): "
                               + (logs / "scheduler.log").read_text()[-2000:])
        time.sleep(0.1)


def start_worker(address: str, name: str, log: Path, env: dict[str, str] | None = None,
                 memory_limit: str | None = None) -> subprocess.Popen:
    """One worker process of the scheduler at `address`, its messages in `log`, its environment
    this one's plus WORKER_ENV and `env`; `memory_limit` as dask-worker takes it ("0": none)."""
    extra = ["--memory-limit", memory_limit] if memory_limit is not None else []
    with open(log, "w") as err:
        return subprocess.Popen(WORKER + [address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
                                          "--no-dashboard", "--name", name] + extra,
                                env={**os.environ, **WORKER_ENV, **(env or {})}, stdout=subprocess.DEVNULL, stderr=err)


def stop(procs: Iterable[subprocess.Popen], grace: float = 0) -> None:
    """Stop the processes: killed at once (grace 0), or asked to stop and killed after `grace`
    seconds if they have not."""
    procs = list(procs)
    for p in procs:
        if p.poll() is None:
            (p.terminate if grace else p.kill)()
    for p in procs:
        try:
            p.wait(timeout=grace or None)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
