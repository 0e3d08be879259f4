"""Benchmark: the round store (SQLite) against the same work on a round folder, in one run.

    python bench/bench_store.py [N] [REPEATS]

On an `agrade demo` round of N organizations (default 2,000), each a whole command in a fresh
process (wall and CPU seconds, peak RSS from the OS), median of REPEATS:

  import     `agrade round import` into a fresh SQLite store (read, check, store every cell as
             a submission, audit) vs `agrade validate` of the same round (the same reading and
             checking, nothing stored): what storing costs;
  evaluate   `agrade round evaluate --out` (score from the stored evidence, store outcomes and
             placements, write the result set) vs `agrade evaluate --out` of the folder (the
             same results.json but for the evidence digest: checked here);
  rescore    one organization's verified value changed (`agrade evidence submit`), then
             `agrade round rescore ROUND ORG` (score it, read every other outcome back, settle
             quotas, ranks and lists, store) vs `agrade round evaluate` again (the baseline that
             gives the same results: scoring the whole round);
  live       in this process, a LiveRound (the round held in memory, as the web app will):
             its load once, then 20 organizations changed and re-scored one at a time
             (median ms per organization, incl. reading its evidence and storing the result).
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]
AGRADE = [sys.executable, "-m", "evaluator"]
WORK = Path(os.environ.get("AGRADE_BENCH_DIR", Path(tempfile.gettempdir()) / "agrade-bench"))


def main() -> None:
    from measure import run_measured
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    WORK.mkdir(parents=True, exist_ok=True)
    folder = WORK / f"store{n}"
    round_yaml = folder / "round" / "round.yaml"
    if not round_yaml.is_file():
        from evaluator.demo import generate
        generate(folder / "round", n, 2026)
    env = {**os.environ, "AGRADE_USER": "bench", "AGRADE_MAX_FILE_MB": "1024"}
    run = lambda *a: run_measured(AGRADE + [str(x) for x in a], cwd=ROOT, env=env, stdout=subprocess_devnull())  # noqa: E731
    figures: dict[str, list] = {k: [] for k in ("import", "validate", "evaluate", "folder", "rescore", "again")}
    for r in range(repeats):
        work = Path(tempfile.mkdtemp(prefix="bench-store-", dir=WORK))
        db = f"sqlite:///{work}/agrade.db"
        try:
            figures["import"].append(run("round", "import", round_yaml, "--db", db))
            figures["validate"].append(run("validate", round_yaml))
            figures["evaluate"].append(run("round", "evaluate", "shiliqu-2026", "--db", db, "--out", work / "store"))
            figures["folder"].append(run("evaluate", round_yaml, "--out", work / "folder", "-q", "--workers", "1"))
            if r == 0:
                a, b = (json.loads((work / x / "results.json").read_text()) for x in ("store", "folder"))
                for k in ("evidence_digest", "evidence_files"):
                    a.pop(k), b.pop(k)
                if a != b:
                    raise SystemExit("the store's results differ from the folder's")
            org = f"SL-{(r * 37) % n + 1:04d}"
            run("evidence", "submit", "shiliqu-2026", org, "members_trained", str(1 + r), "--source", "verified",
                "--inspector", "bench-核查", "--db", db)
            figures["rescore"].append(run("round", "rescore", "shiliqu-2026", org, "--db", db))
            figures["again"].append(run("round", "evaluate", "shiliqu-2026", "--db", db))
            if r == repeats - 1:
                live = live_round(db, n)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    med = lambda k, i: statistics.median(x[i] for x in figures[k])      # noqa: E731
    print(f"round: {n} organizations ({round_yaml}), SQLite, median of {repeats}; whole commands in fresh processes")
    print(f"{'':44s}{'wall s':>8s}{'CPU s':>8s}{'peak MB':>9s}")
    for label, k in (("agrade round import", "import"), ("  baseline: agrade validate (no storing)", "validate"),
                     ("agrade round evaluate --out", "evaluate"), ("  baseline: agrade evaluate --out (folder)", "folder"),
                     ("agrade round rescore ORG (one changed)", "rescore"), ("  baseline: agrade round evaluate", "again")):
        print(f"{label:44s}{med(k, 0):8.2f}{med(k, 1):8.2f}{med(k, 2) / 1024:9.0f}")
    print(f"import / validate: {med('import', 0) / med('validate', 0):.2f}x the time; "
          f"store evaluate / folder evaluate: {med('evaluate', 0) / med('folder', 0):.2f}x (results equal but the evidence digest); "
          f"rescore one organization: {med('again', 0) / med('rescore', 0):.1f}x faster than evaluating the round again")
    load, per = live
    print(f"LiveRound (in memory): load {load:.2f} s once, then re-scoring one changed organization "
          f"(reading its evidence, storing) median {per * 1000:.1f} ms = {med('again', 0) / per:.0f}x faster than "
          f"agrade round evaluate")


def live_round(db: str, n: int) -> tuple[float, float]:
    import time
    from evaluator.store.base import Store
    from evaluator.store.scoring import LiveRound
    from evaluator.store.submit import submit
    store = Store(db)
    t = time.perf_counter()
    live = LiveRound(store, "shiliqu-2026")
    load = time.perf_counter() - t
    times = []
    try:
        for k in range(20):
            org = f"SL-{(k * 97) % n + 1:04d}"
            submit(store, "shiliqu-2026", org, "members_trained", str(3 + k), "verified", "bench", None,
                   inspector="bench-核查")
            t = time.perf_counter()
            live.rescore([org], "bench")
            times.append(time.perf_counter() - t)
    finally:
        live.close()
    return load, statistics.median(times)


def subprocess_devnull():
    return open(os.devnull, "w")


if __name__ == "__main__":
    main()
