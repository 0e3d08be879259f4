"""Benchmark: writing a scored round's result set (results.json, results.csv, state.jsonl,
run.json) the three ways agrade can, on one round scored once, alternately, several times:
  streamed  organization by organization through a FileSink (the general way, which
            rescore's results read back from results.json still take; every write before
            scoring/jsonlayout.py)
  place-1   laid out, then composed from the spill, hashed and written in place (--workers 1)
  place-2   laid out, then written by two forked writers while this process hashes it and
            makes results.csv and state.jsonl (--workers 2 and more)
Prints, per write, the wall time, the CPU seconds of this process and of the forked writers,
and the digests run.json records (which must be equal every time); then the medians.

    AGRADE_MAX_FILE_MB=1024 python bench/bench_write.py ROUND.yaml [REPEATS] [--out DIR]

On a busy host read the CPU seconds: the wall times move with the other processes.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluator.intake.rounds import load_round  # noqa: E402
from evaluator.scoring.results import write_result_set  # noqa: E402
from evaluator.scoring.run import score_round  # noqa: E402


def cpu() -> tuple[float, float]:
    own, forked = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, forked.ru_utime + forked.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("round", type=Path)
    ap.add_argument("repeats", type=int, nargs="?", default=3)
    ap.add_argument("--out", type=Path, help="folder for the result sets (default: a temporary one)")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="agrade-bench-write-"))
    scored = score_round(load_round(args.round), workers=2)
    ways = {"streamed": (scored.stream_pieces, 1), "place-1": (None, 1), "place-2": (None, 2)}
    seen: dict[str, list[tuple[float, float, float]]] = {}
    digests = set()
    try:
        for _ in range(args.repeats):
            for way, (content, writers) in ways.items():
                scored.writers = writers
                (c0, f0), t0 = cpu(), time.perf_counter()
                write_result_set(out / way, content or scored.write_json, scored.write_csv, {"bench": way},
                                 state=scored.write_state)
                t1, (c1, f1) = time.perf_counter(), cpu()
                files = json.loads((out / way / "run.json").read_text(encoding="utf-8"))["files"]
                digests.add(json.dumps(files, sort_keys=True))
                seen.setdefault(way, []).append((t1 - t0, c1 - c0, f1 - f0))
                print(f"{way:9} wall {t1 - t0:5.2f} s  CPU {c1 - c0:5.2f} s here, {f1 - f0:5.2f} s in writers  "
                      f"results.json {files['results.json']['sha256'][:12]}", flush=True)
    finally:
        scored.close()
    for way, runs in seen.items():
        wall, here, forked = (statistics.median(r[i] for r in runs) for i in range(3))
        print(f"median {way:9} wall {wall:5.2f} s  CPU {here:5.2f} s here, {forked:5.2f} s in writers")
    if len(digests) != 1:
        print("the ways wrote different result sets", file=sys.stderr)
        return 1
    print("same digests every time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
