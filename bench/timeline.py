"""Where the wall time of one `agrade evaluate` goes: the main process's phases, each worker's
partitions, and the outcomes each process scored.

    python bench/timeline.py ROUND.yaml [--workers W] [--repeats R]

Runs `agrade evaluate ROUND.yaml --out (a temporary folder) --workers W -q` in a fresh process
with a few of agrade's functions wrapped to write a timestamp (wall seconds since the command
was started) where they begin or end, and prints per run: start-up (the command line
imported), before the workers (reading ahead, loading the round, routing the evidence), the
workers (first partition started to last one returned, with each worker's partitions and
outcomes scored, `OutcomeCache.score` calls), after them (placing, laying results.json out,
state.jsonl, waiting for the writers) and the exit (the results written to the process gone,
seen from here). Medians over R runs at the end. The wrappers cost a little; compare runs of
this script with each other, not with bench_scale.py.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(Path(__file__).resolve().parent)]

# Run in the measured process: wraps what the phases are made of, then runs the command line.
_WRAPPER = r"""
import functools, os, sys, time
T0, LOG = float(os.environ["AGRADE_TL_T0"]), open(os.environ["AGRADE_TL_LOG"], "a", buffering=1)
def log(what):
    LOG.write(f"{time.time() - T0:.4f} {os.getpid()} {what}\n")
log("start")
import evaluator.cli as cli
log("imported")
import evaluator.scoring.criteria as criteria, evaluator.scoring.pipeline as pipeline
import evaluator.scoring.results as results, evaluator.scoring.run as run
write = results.write_result_set
@functools.wraps(write)
def write_result_set(*a, **k):
    try:
        return write(*a, **k)
    finally:
        log("written")
results.write_result_set = write_result_set   # (the CLI imports it when it writes)
scored = [0]
score = criteria.OutcomeCache.score
def counted(self, *a, **k):
    scored[0] += 1
    return score(self, *a, **k)
criteria.OutcomeCache.score = counted
part = pipeline.score_partition
def score_partition(job, spec):
    log(f"> part {job.index}")
    try:
        return part(job, spec)
    finally:
        log(f"< part {job.index} {scored[0]}")
pipeline.score_partition = run.score_partition = score_partition
sys.argv = ["agrade", *sys.argv[1:]]
cli.main()
"""


def run_once(round_yaml: Path, workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="agrade-timeline-") as tmp:
        log = Path(tmp) / "timeline.log"
        t0 = time.time()
        env = {**os.environ, "AGRADE_TL_T0": repr(t0), "AGRADE_TL_LOG": str(log)}
        subprocess.run([sys.executable, "-c", _WRAPPER, "evaluate", str(round_yaml), "--out", str(Path(tmp) / "out"),
                        "--workers", str(workers), "-q"], cwd=ROOT, env=env, check=True)
        gone = time.time() - t0
        lines = [line.split(" ", 2) for line in log.read_text().splitlines()]
    main = lines[0][1]
    at = {what: float(wall) for wall, pid, what in lines if pid == main}
    workers_seen = defaultdict(lambda: {"parts": 0, "scored": 0, "first": None, "last": 0.0})
    for wall, pid, what in lines:
        if what.startswith("> part"):
            w = workers_seen[pid]
            w["first"] = float(wall) if w["first"] is None else w["first"]
        elif what.startswith("< part"):
            w = workers_seen[pid]
            w["parts"] += 1
            w["scored"] = int(what.split()[-1])
            w["last"] = float(wall)
    first = min(w["first"] for w in workers_seen.values())
    last = max(w["last"] for w in workers_seen.values())
    return {"start-up": at["imported"], "before the workers": first - at["imported"], "workers": last - first,
            "after them": at["written"] - last, "exit": gone - at["written"], "all": gone,
            "per worker": [(w["parts"], w["scored"]) for w in workers_seen.values()]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("round", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    from measure import _compiled
    _compiled()                      # as bench_scale measures: agrade compiled to bytecode first
    os.environ.setdefault("AGRADE_MAX_FILE_MB", "1024")
    runs = []
    for _ in range(a.repeats):
        r = run_once(a.round.resolve(), a.workers)
        runs.append(r)
        per = ", ".join(f"{p} partitions / {s:,} outcomes" for p, s in r["per worker"])
        print("  " + ", ".join(f"{k} {v:.2f}" for k, v in r.items() if k != "per worker") + f" s; workers: {per}",
              flush=True)
    print(f"evaluate --workers {a.workers}, wall s, median of {a.repeats}: "
          + ", ".join(f"{k} {statistics.median(r[k] for r in runs):.2f}" for k in runs[0] if k != "per worker"))
    print(f"outcomes scored in all (median): {statistics.median(sum(s for _, s in r['per worker']) for r in runs):,.0f}")


if __name__ == "__main__":
    main()
