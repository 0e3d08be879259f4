"""Benchmark: appending a round's serialized results to a spill (intake.spill.Spill), by write size.

Every partition's results (about 1,000 pieces of 12 KB, as 500 scored organizations give) are
appended to a fresh spill in DIRECTORY, as scoring does; once with all of a partition in one
pwritev (the spill before bounded writes: `--write 0`), once with the spill's own write size
(`Spill._write`, spill._WRITE bytes), alternately, each in a process of its own so that neither
inherits the other's page cache. Prints user and system CPU seconds of the appends of every run
and their medians, and checks both ways left the same bytes (SHA-256 of the spill read back).

    python bench/bench_spill.py [DIRECTORY] [--mb 467] [--pairs 5] [--kb 64 1024]

(--kb: other write sizes, in KB, timed in the same rotation.)

DIRECTORY defaults to the system's temporary directory (agrade spills to the output folder).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def one_run(directory: str, mb: int, write: int) -> dict:
    """Append `mb` MB of result-like pieces partition by partition; CPU of the appends, digest."""
    from evaluator.intake import spill as spill_module
    if write:
        spill_module._WRITE = write
    rng = random.Random(2026)
    pieces = [rng.randbytes(1000) * 12 + b"x" * rng.randrange(500) for _ in range(1000)]
    per_partition = sum(map(len, pieces))
    s = spill_module.Spill(directory)
    try:
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        for _ in range(max(1, (mb << 20) // per_partition)):
            s.add_pieces(pieces)
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        digest, at = hashlib.sha256(), 0
        while at < s._end:
            chunk = s.read(at, min(8 << 20, s._end - at))
            digest.update(chunk)
            at += len(chunk)
        return {"user": r1.ru_utime - r0.ru_utime, "sys": r1.ru_stime - r0.ru_stime,
                "sha256": digest.hexdigest(), "bytes": s._end}
    finally:
        s.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("directory", nargs="?", default=None)
    ap.add_argument("--mb", type=int, default=467)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--kb", type=int, nargs="*", default=[], help="other write sizes to compare (KB)")
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)   # a child run: its write size
    a = ap.parse_args()
    import tempfile
    directory = a.directory or tempfile.gettempdir()
    if a.one is not None:
        print(json.dumps(one_run(directory, a.mb, a.one)))
        return
    from evaluator.intake.spill import _WRITE
    ways = {"one pwritev per partition": 1 << 40, f"writes of {_WRITE >> 10} KB (agrade)": 0}
    ways.update((f"writes of {kb} KB", kb << 10) for kb in a.kb)
    got: dict[str, list[dict]] = {w: [] for w in ways}
    for _ in range(a.pairs):
        for way, write in ways.items():
            out = subprocess.run([sys.executable, __file__, directory, "--mb", str(a.mb), "--one", str(write)],
                                 check=True, capture_output=True, text=True).stdout
            got[way].append(json.loads(out))
    digests = {r["sha256"] for runs in got.values() for r in runs}
    size = got[next(iter(ways))][0]["bytes"] >> 20
    print(f"{size} MB appended to a spill in {directory}, {a.pairs} runs each way, alternately")
    for way, runs in got.items():
        users, syss = [r["user"] for r in runs], [r["sys"] for r in runs]
        print(f"  {way:28s} user {' '.join(f'{u:.2f}' for u in users)}  sys {' '.join(f'{s:.2f}' for s in syss)}"
              f"  (medians {statistics.median(users):.2f} / {statistics.median(syss):.2f} s)")
    print("  same bytes both ways:", "yes" if len(digests) == 1 else "NO")
    if len(digests) != 1:
        sys.exit(1)


if __name__ == "__main__":
    main()
