"""Benchmark: the vectorized baseline of issue 7, checked equal to agrade's own results.

A fully vectorized implementation of the same criteria (bench/vectorized/: polars to read,
NumPy to pivot, score, grade, place, rank and list; no Python loop per organization) runs on
an `agrade demo --no-reports` folder and measures, as the median of REPEATS runs,

  (a) read + pivot: organizations.csv, evidence/values.csv, evidence/records.csv and the
      per-organization YAML files, normalized, verified-wins resolved, one array per field;
  (b) score + grade + rank + lists: every criterion's outcome and points (and the
      self-assessment's), base score, bonus, total rounded once half-up to 0.01, status, tier
      after gates, veto caps and quotas, ranks (round, district, type), red/black lists;

in CPU seconds (time.process_time, every thread of the process) and wall seconds, and prints
organizations/s and CPU seconds per 20,000 organizations. Nothing is written: it is the
"before writing" limit that `agrade evaluate` is measured against (1/3 of it per core).
polars runs on one thread (POLARS_MAX_THREADS=1 unless set), so CPU time is not spent on
thread hand-offs. agrade's compiled standards come from `load_round` (setup, timed apart).

Then it checks: every organization's criterion outcomes and points (self-assessment too),
base, bonus, components, reviewed share, total, status, tier (before and after quotas),
ranks, vetoes and section points, the order of the organizations, and every list's entries,
against DIR/results/results.json. It prints "checked equal: N organizations, M criterion
outcomes", or the first 20 differences and exits 1.

    python bench/bench_vectorized.py DIR [REPEATS] [--orgs N] [--seed S]

If DIR does not exist, a demo round of N organizations (default 20,000) is generated into
DIR/round and evaluated by agrade into DIR/results (AGRADE_MAX_FILE_MB is raised for the
run: records.csv of 20,000 organizations is about 66 MB).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("POLARS_MAX_THREADS", "1")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from vectorized import Setup, compare, read_round, score_round   # noqa: E402


def generate_round(out: Path, n: int, seed: int) -> None:
    from evaluator.cli import run
    from evaluator.demo import generate
    round_yaml = generate(out / "round", n, seed)
    os.environ["AGRADE_MAX_FILE_MB"] = str(max(int(os.environ.get("AGRADE_MAX_FILE_MB", "64")), 1024))
    t = time.perf_counter()
    code = run(["evaluate", str(round_yaml), "--out", str(out / "results"), "-q"])
    if code != 0:
        raise SystemExit(f"agrade evaluate failed (exit {code})")
    print(f"generated {n} organizations (seed {seed}) and evaluated them with agrade in {time.perf_counter() - t:.1f} s")


def timed(fn):
    c, w = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c, time.perf_counter() - w


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", type=Path, help="an `agrade demo --no-reports` output folder")
    ap.add_argument("repeats", type=int, nargs="?", default=3)
    ap.add_argument("--orgs", type=int, default=20000, help="organizations when DIR is generated (default 20000)")
    ap.add_argument("--seed", type=int, default=2026, help="seed when DIR is generated (default 2026)")
    args = ap.parse_args(argv)
    d = args.dir
    if not d.exists():
        generate_round(d, args.orgs, args.seed)
    setup, c_setup, w_setup = timed(lambda: Setup(d / "round" / "round.yaml"))
    reads, scores = [], []
    piv = res = None
    for _ in range(max(1, args.repeats)):
        piv, c1, w1 = timed(lambda: read_round(setup))
        res, c2, w2 = timed(lambda: score_round(setup, piv))
        reads.append((c1, w1))
        scores.append((c2, w2))
    n = piv.n
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    rc, rw, sc, sw = med(reads, 0), med(reads, 1), med(scores, 0), med(scores, 1)
    criteria = sum(s.code.shape[0] * s.code.shape[1] for s in res.stds)
    print(f"vectorized baseline: {n} organizations, {criteria} criterion outcomes, "
          f"{len(setup.standards)} standards; median of {len(reads)} (POLARS_MAX_THREADS={os.environ['POLARS_MAX_THREADS']})")
    print(f"setup (agrade load_round: round.yaml, standards, registry check; not counted): "
          f"{c_setup:.2f} s CPU, {w_setup:.2f} s wall")
    print(f"{'':32s}{'CPU s':>9s}{'wall s':>9s}{'orgs/s (CPU)':>15s}")
    for label, c, w in (("(a) read + pivot", rc, rw), ("(b) score + grade + rank + lists", sc, sw),
                        ("(a) + (b)", rc + sc, rw + sw)):
        print(f"{label:32s}{c:9.3f}{w:9.3f}{n / c:15,.0f}")
    print(f"CPU seconds per 20,000 organizations: {(rc + sc) * 20000 / n:.2f} "
          f"(read + pivot {rc * 20000 / n:.2f}, score + grade + rank + lists {sc * 20000 / n:.2f})")
    print(f"fallback cells (agrade normalize() one cell at a time): {piv.fallback}"
          + (f", e.g. {piv.fallback_examples[:5]}" if piv.fallback else ""))
    print(f"organizations on a half-cent edge, recomputed with Decimal: {res.decimal_rows}")
    results = d / "results" / "results.json"
    problems, n_orgs, n_out = compare(setup, piv, res, results)
    if problems:
        print(f"DIFFERENT from {results} (first {len(problems)}):")
        for p in problems:
            print("  " + p)
        return 1
    print(f"checked equal: {n_orgs} organizations, {n_out} criterion outcomes (and every list entry) against {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
