"""The vectorized baseline as a command, end to end as `agrade evaluate` is measured: a fresh
process that starts Python, imports what it needs (polars, NumPy, agrade's round loader), loads
the round and its standards, reads and pivots the evidence, then scores, grades, places, ranks
and lists every organization (bench/vectorized, checked equal to agrade's results by
bench_vectorized.py and bench_scale.py). It writes nothing: bench_scale.py adds the output floor.

    python bench/vectorized_command.py ROUND.yaml

Prints one line: the organizations and criterion outcomes it computed.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("POLARS_MAX_THREADS", "1")      # one thread, as bench_vectorized.py measures it
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from vectorized import Setup, read_round, score_round   # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("round", type=Path, help="the round's round.yaml (an `agrade demo` folder's round/round.yaml)")
    setup = Setup(ap.parse_args(argv).round)
    piv = read_round(setup)
    res = score_round(setup, piv)
    outcomes = sum(s.code.shape[0] * s.code.shape[1] for s in res.stds)
    print(f"{piv.n} organizations, {outcomes} criterion outcomes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
