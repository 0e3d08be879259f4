"""Benchmark: a large synthetic round through a local Dask cluster.

    python bench/bench_cluster.py [N ...] [--workers W] [--no-baseline]

Makes an N-organization round (bench/biground.py; default 1,000,000), starts a Dask
scheduler and W worker processes (default 2, one thread each) on 127.0.0.1, runs
`agrade evaluate ROUND --out DIR --cluster tcp://127.0.0.1:PORT` and prints, for the whole
command (reading the evidence, scoring on the workers, placing, ranking, lists, writing
results.json/csv/state.jsonl): wall time and organizations per second; for each worker: the
organizations it scored, its CPU seconds, organizations per CPU second and its peak resident
memory; and the client's peak resident memory. Then the baseline, in the same run: the same
command on this machine's own worker processes (`--workers W`, no Dask), with the ratio, and
whether both runs wrote the same bytes. Everything is stopped afterwards.

Given several sizes (`300000 1000000`), it runs each in turn and ends with the client's growth
in bytes per organization between consecutive sizes: its peak RSS difference over the
organizations added. Take 300,000 or more for the smaller one: below that the client's peak
is reading the evidence at the start, not the rows it keeps (100,000: about 500 MB either way).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]
WORK = Path(os.environ.get("AGRADE_BENCH_DIR", Path(tempfile.gettempdir()) / "agrade-bench"))
PY = sys.executable


def _proc(pid: int) -> tuple[float, int]:
    """(CPU seconds, peak RSS in KB) of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    hwm = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
               if line.startswith("VmHWM:"))
    return cpu, hwm


class LocalCluster:
    """A scheduler and `workers` worker processes on 127.0.0.1 (no nanny: the worker is the
    process we started, so its memory and CPU are its own)."""

    def __init__(self, workers: int, log_dir: Path):
        from evaluator.scoring.localdask import start_scheduler, start_worker
        self.address, self.scheduler = start_scheduler(log_dir)
        self.workers = [start_worker(self.address, f"w{i}", log_dir / f"w{i}.log", memory_limit="0")
                        for i in range(workers)]
        from distributed import Client
        self.client = Client(self.address, timeout=60)
        self.client.wait_for_workers(workers, timeout=120)

    def executed(self) -> dict[int, int]:
        """Worker pid -> tasks it ran."""
        return self.client.run(lambda dask_worker: (os.getpid(), dask_worker.state.executed_count)).values()

    def close(self) -> None:
        from evaluator.scoring.localdask import stop
        self.client.close()
        stop(self.workers + [self.scheduler], grace=30)


def _evaluate(round_yaml: Path, out: Path, extra: list[str], env: dict) -> tuple[float, int]:
    """Wall seconds and the command's peak RSS (KB): its own process and the local workers it
    starts (the cluster's processes are not its children)."""
    from measure import run_measured
    wall, _, rss = run_measured([PY, "-m", "evaluator", "evaluate", str(round_yaml), "--out", str(out), "-q", *extra],
                                cwd=ROOT, env=env)
    return wall, rss


def _digests(folder: Path) -> dict[str, str]:
    """sha256 of the outputs compared (so the first run's files, 24 KB per organization, can
    be deleted before the second run writes its own)."""
    out = {}
    for name in ("results.json", "results.csv", "state.jsonl"):
        h = hashlib.sha256()
        with open(folder / name, "rb") as f:
            while chunk := f.read(1 << 24):
                h.update(chunk)
        out[name] = h.hexdigest()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", nargs="*", type=int, default=[1_000_000])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-baseline", action="store_true", help="skip the local run")
    args = ap.parse_args()
    peaks = [(n, _one(n, args.workers, args.no_baseline)) for n in args.n]
    if len(peaks) > 1:
        print("\nclient growth per organization (peak RSS):")
        for (n0, kb0), (n1, kb1) in zip(peaks, peaks[1:]):
            print(f"  {n0:,} -> {n1:,}: {(kb1 - kb0) * 1024 / (n1 - n0):,.0f} bytes per organization "
                  f"({kb0 / 1024:,.0f} -> {kb1 / 1024:,.0f} MB)")


def _one(n: int, workers: int, no_baseline: bool) -> int:
    """One size through the cluster (and the local baseline): the client's peak RSS in KB."""
    from biground import make
    WORK.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    round_yaml = make(WORK / f"big{n}", n)
    print(f"round: {n:,} organizations ({_size(round_yaml.parent)}), ready in {time.perf_counter() - t:.0f} s")
    env = dict(os.environ, AGRADE_MAX_FILE_MB=os.environ.get("AGRADE_MAX_FILE_MB", "2048"))
    from evaluator.intake.partition import DEFAULT_SIZE
    size = int(env.get("AGRADE_PARTITION_SIZE", DEFAULT_SIZE))
    outs = Path(tempfile.mkdtemp(prefix="agrade-cluster-", dir=WORK))
    try:
        cluster = LocalCluster(workers, outs)
        try:
            wall, client_rss = _evaluate(round_yaml, outs / "dask", ["--cluster", cluster.address], env)
            stats = [(pid, tasks, *_proc(pid)) for pid, tasks in cluster.executed()]
        finally:
            cluster.close()
        print(f"\nDask, {workers} workers: {wall:.0f} s wall, {n / wall:,.0f} organizations/s "
              f"end to end; client peak RSS {client_rss / 1024:,.0f} MB")
        # a worker's organizations: its share of the partitions (all but the last hold `size`)
        parts = sum(tasks for _, tasks, _, _ in stats)
        print(f"  worker      partitions  organizations   CPU s    orgs per CPU s   peak RSS   "
              f"({parts} partitions of up to {size})")
        for i, (pid, tasks, cpu, hwm) in enumerate(stats):
            orgs = round(n * tasks / parts) if parts else 0
            print(f"  w{i} ({pid:>7})  {tasks:>9}  {orgs:>13,}  {cpu:>7.0f}    {orgs / cpu if cpu else 0:>10,.0f}     "
                  f"{hwm / 1024:,.0f} MB")
        if not no_baseline:
            first = _digests(outs / "dask")
            shutil.rmtree(outs / "dask")
            base_wall, base_rss = _evaluate(round_yaml, outs / "local", ["--workers", str(workers)], env)
            same = first == _digests(outs / "local")
            print(f"\nbaseline, local worker processes (--workers {workers}): {base_wall:.0f} s wall, "
                  f"{n / base_wall:,.0f} organizations/s; peak RSS of its largest process {base_rss / 1024:,.0f} MB")
            print(f"ratio Dask / local: {base_wall / wall:.2f}   same results.json, results.csv, state.jsonl: {same}")
    finally:
        shutil.rmtree(outs, ignore_errors=True)
    return client_rss


def _size(folder: Path) -> str:
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return f"{total / 1e9:.1f} GB of evidence" if total > 1e9 else f"{total / 1e6:.0f} MB of evidence"


if __name__ == "__main__":
    main()
