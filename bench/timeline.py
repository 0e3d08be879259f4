"""Where the wall time of one `agrade evaluate` goes: the main process's phases, each worker's
partitions, and the outcomes each process scored.

    python bench/timeline.py ROUND.yaml [--workers W] [--repeats R] [--tree DIR]

Runs `agrade evaluate ROUND.yaml --out (a temporary folder) --workers W -q` in a fresh process
with a few of agrade's functions wrapped to write a timestamp (wall seconds since the command
was started) where they begin or end, and prints per run: start-up (the command line
imported), before the workers (reading ahead, loading the round, routing the evidence), the
workers (first partition started to last one returned, with each worker's partitions and
outcomes scored, `OutcomeCache.score` calls), after them (placing, laying results.json out,
writing it and the rest: each also printed apart) and the exit (the results written to the
process gone, seen from here). With each run: the main process's CPU seconds while the partitions were out
(taken from the workers' cores), each worker's CPU in its partitions (sys: the kernel's part)
and from its first partition to its last, how long it was idle at the start and at the end,
and the CPU of every process in the phase. Medians over R runs at the end. `--tree DIR` runs another
checkout (a worktree of HEAD, to compare alternately). The wrappers cost a little; compare
runs of this script with each other, not with bench_scale.py.
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
    # wall since the command started, then this process's CPU seconds so far (user+sys, sys)
    t = os.times()
    LOG.write(f"{time.time() - T0:.4f} {os.getpid()} {what} {t.user + t.system:.4f} {t.system:.4f}\n")
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
loop = pipeline.Partitions.run
def partitions_run(self, *a, **k):      # the main process's CPU while the partitions are out
    log("> run")
    try:
        return loop(self, *a, **k)
    finally:
        log("< run")
pipeline.Partitions.run = partitions_run
init, lay = run.ScoredRound.__init__, run.ScoredRound.lay_out
def scored_round(self, *a, **k):       # after the workers: the round placed and ranked
    init(self, *a, **k)
    log("placed")
def lay_out(self, *a, **k):            # every round part made, the lists waited for
    try:
        return lay(self, *a, **k)
    finally:
        log("laid out")
run.ScoredRound.__init__, run.ScoredRound.lay_out = scored_round, lay_out
sys.argv = ["agrade", *sys.argv[1:]]
cli.main()
"""


def run_once(round_yaml: Path, workers: int, tree: Path = ROOT) -> dict:
    with tempfile.TemporaryDirectory(prefix="agrade-timeline-") as tmp:
        log = Path(tmp) / "timeline.log"
        t0 = time.time()
        env = {**os.environ, "AGRADE_TL_T0": repr(t0), "AGRADE_TL_LOG": str(log)}
        subprocess.run([sys.executable, "-c", _WRAPPER, "evaluate", str(round_yaml), "--out", str(Path(tmp) / "out"),
                        "--workers", str(workers), "-q"], cwd=tree, env=env, check=True)
        gone = time.time() - t0
        # wall pid what... cpu sys
        lines = [(float(w), pid, what, float(cpu), float(sy)) for w, pid, rest in
                 (line.split(" ", 2) for line in log.read_text().splitlines()) for what, cpu, sy in [rest.rsplit(" ", 2)]]
    main = lines[0][1]
    at = {what: (wall, cpu) for wall, pid, what, cpu, _ in lines if pid == main}
    workers_seen = defaultdict(lambda: {"parts": 0, "scored": 0, "first": None, "last": 0.0, "busy": 0.0, "cpu": 0.0,
                                        "sys": 0.0, "cpu first": 0.0, "cpu last": 0.0})
    began: dict[str, tuple[float, float, float]] = {}
    for wall, pid, what, cpu, sy in lines:
        if what.startswith("> part"):
            w = workers_seen[pid]
            if w["first"] is None:
                w["first"], w["cpu first"] = wall, cpu
            began[pid] = (wall, cpu, sy)
        elif what.startswith("< part"):
            w = workers_seen[pid]
            w["parts"] += 1
            w["scored"] = int(what.split()[-1])
            w["last"], w["cpu last"] = wall, cpu
            w["busy"] += wall - began[pid][0]      # inside score_partition: not waiting for a job
            w["cpu"] += cpu - began[pid][1]
            w["sys"] += sy - began[pid][2]
    first = min(w["first"] for w in workers_seen.values())
    last = max(w["last"] for w in workers_seen.values())
    return {"start-up": at["imported"][0], "before the workers": first - at["imported"][0], "workers": last - first,
            "after them": at["written"][0] - last,
            # of which: placing (the last partition in to the round placed and ranked), laying
            # results.json out (lists and results.csv forked, round parts made, the lists waited
            # for), writing (its writers and hasher, state.jsonl, run.json, the renames)
            "placing": at["placed"][0] - last, "laying out": at["laid out"][0] - at["placed"][0],
            "writing": at["written"][0] - at["laid out"][0],
            "exit": gone - at["written"][0], "all": gone,
            # the main process's CPU while the partitions were out (Partitions.run): taken from the workers' cores
            "main CPU": at["< run"][1] - at["> run"][1],
            # every process's CPU while the partitions were scored (a worker's from its first partition
            # to its last, taking jobs and sending rows back included); one worker: the main process's
            "phase CPU": at["< run"][1] - at["> run"][1] + sum(w["cpu last"] - w["cpu first"]
                                                               for pid, w in workers_seen.items() if pid != main),
            "per worker": [(w["parts"], w["scored"], w["busy"], w["cpu"], w["sys"], w["cpu last"] - w["cpu first"],
                            w["first"] - first, last - w["last"]) for w in workers_seen.values()]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("round", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tree", type=Path, default=ROOT, help="the agrade checkout to run (e.g. a worktree of HEAD, to compare)")
    a = ap.parse_args()
    from measure import _compiled
    _compiled()                      # as bench_scale measures: agrade compiled to bytecode first
    os.environ.setdefault("AGRADE_MAX_FILE_MB", "1024")
    runs = []
    for _ in range(a.repeats):
        r = run_once(a.round.resolve(), a.workers, a.tree.resolve())
        runs.append(r)
        # busy: wall inside its partitions (CPU: of them); idle at the end: before the last worker was done
        per = ", ".join(f"{p} partitions / {s:,} outcomes, busy {b:.2f} s (CPU {c:.2f}, sys {y:.2f}; "
                        f"first to last {a:.2f}), idle at the start {i:.2f}, at the end {e:.2f} s"
                        for p, s, b, c, y, a, i, e in r["per worker"])
        print("  " + ", ".join(f"{k} {v:.2f}" for k, v in r.items() if k != "per worker") + f" s; workers: {per}",
              flush=True)
    print(f"evaluate --workers {a.workers}, wall s, median of {a.repeats}: "
          + ", ".join(f"{k} {statistics.median(r[k] for r in runs):.2f}" for k in runs[0] if k != "per worker"))
    print(f"outcomes scored in all (median): {statistics.median(sum(w[1] for w in r['per worker']) for r in runs):,.0f}")


if __name__ == "__main__":
    main()
