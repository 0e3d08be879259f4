"""Benchmark: `agrade whatif` against a full `agrade evaluate` of the changed round.

    python bench/bench_whatif.py [N] [REPEATS]

On an `agrade demo` round of N organizations (default 2,000) a what-if changes a criterion
every standard of the round has (G3.5 后备力量储备: reserve cadres ≥ 2 → ≥ 3, so every
organization is scored again), and a tier threshold (A档/五星级 from 90 to 88). Each is a whole
command in a fresh process (wall and CPU seconds, peak RSS), median of REPEATS:

  whatif     `agrade whatif ROUND --set G3.5.value=3 --set grading.tiers[0].min=88 --out DIR`
             (scores the round as it is and as changed, writes whatif.xlsx);
  evaluate   `agrade evaluate` of the same round with the change made in copies of the
             standards' files (what a department would do without whatif: one evaluation of
             the changed round, results written).

Before timing, the answer is checked: every organization's tier, total and rank that whatif
computed, before and after the change, equals those of a full evaluation of the round as it
is and of the changed round (results.json). Prints the two medians and their ratio.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]
AGRADE = [sys.executable, "-m", "evaluator"]
WORK = Path(os.environ.get("AGRADE_BENCH_DIR", Path(tempfile.gettempdir()) / "agrade-bench"))
SETS = ["G3.5.value=3", "grading.tiers[0].min=88"]

# the same change, made in the files (text as in rules/general.yaml and the field standards)
_G35 = ('        field: reserve_cadres\n        op: ">="\n        value: 2\n',
        '        field: reserve_cadres\n        op: ">="\n        value: 3\n')
_TOP_TIERS = ("{id: A, name: A档, min: 90}", "{id: A, name: A档, min: 88}",
              "{id: S5, name: 五星级党组织, min: 90}", "{id: S5, name: 五星级党组织, min: 88}")


def changed_round(round_yaml: Path) -> Path:
    """round-changed.yaml beside round_yaml: the same round, its standards read from a copy of
    rules/ with SETS made in the YAML text."""
    rules = round_yaml.parent / "rules-changed"
    shutil.rmtree(rules, ignore_errors=True)
    rules.mkdir()
    hits = {"G3.5": 0, "tiers": 0}
    for f in sorted((ROOT / "rules").glob("*.yaml")):
        if f.name.endswith(".cases.yaml"):
            continue
        text = f.read_text(encoding="utf-8")
        hits["G3.5"] += text.count(_G35[0])
        text = text.replace(*_G35)
        for old, new in zip(_TOP_TIERS[::2], _TOP_TIERS[1::2]):
            hits["tiers"] += text.count(old)
            text = text.replace(old, new)
        (rules / f.name).write_text(text, encoding="utf-8")
    if hits["G3.5"] != 1 or hits["tiers"] < 2:
        raise SystemExit(f"the standards changed since this benchmark was written: {hits}")
    text = round_yaml.read_text(encoding="utf-8") + "\nstandards_dirs: [rules-changed]\n"
    out = round_yaml.parent / "round-changed.yaml"
    out.write_text(text, encoding="utf-8")
    return out


def _placed(results: Path) -> dict[str, tuple]:
    data = json.loads((results / "results.json").read_text(encoding="utf-8"), parse_float=Decimal)
    return {o["id"]: (o["tier"], None if o["total"] is None else Decimal(str(o["total"])), o["rank"]["round"])
            for o in data["organizations"]}


def check(round_yaml: Path, changed: Path, work: Path) -> int:
    """whatif's before and after equal full evaluations of both rounds; the number of
    organizations whose tier changed."""
    from evaluator.cli import evaluate_to
    from evaluator.intake.rounds import load_round
    from evaluator.scoring.whatif import whatif
    answer = whatif(load_round(round_yaml), SETS)
    for name, path, mine in (("as it is", round_yaml, answer.before), ("changed", changed, answer.after)):
        evaluate_to(path, work / f"check-{name.replace(' ', '-')}", quiet=True)
        full = _placed(work / f"check-{name.replace(' ', '-')}")
        wrong = [oid for oid in full if full[oid] != mine.get(oid)]
        if wrong or len(full) != len(mine):
            raise SystemExit(f"whatif differs from a full evaluation of the round {name}: {wrong[:5]} "
                             f"(e.g. {wrong[0] if wrong else ''}: {full.get(wrong[0]) if wrong else ''} vs "
                             f"{mine.get(wrong[0]) if wrong else ''})")
    return len(answer.moves)


def main() -> None:
    from measure import run_measured
    from evaluator.demo import generate
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    work = WORK / f"whatif-{n}"
    shutil.rmtree(work, ignore_errors=True)
    round_yaml = generate(work / "round", n, 2026)
    changed = changed_round(round_yaml)
    moved = check(round_yaml, changed, work)
    print(f"{n} organizations; whatif {' '.join('--set ' + s for s in SETS)}: {moved} change tier, "
          "identical to full evaluations of the round as it is and changed")
    times = {"whatif": [], "evaluate": []}
    for _ in range(repeats):
        w = run_measured([*AGRADE, "whatif", str(round_yaml), *sum((["--set", s] for s in SETS), []),
                          "--out", str(work / "whatif"), "--quiet"])
        e = run_measured([*AGRADE, "evaluate", str(changed), "--out", str(work / "evaluated"), "--quiet"])
        times["whatif"].append(w)
        times["evaluate"].append(e)
    med = {k: tuple(statistics.median(x[i] for x in v) for i in range(3)) for k, v in times.items()}
    for k, (wall, cpu, rss) in med.items():
        print(f"  {k:9s} wall {wall:6.2f} s   cpu {cpu:6.2f} s   peak RSS {rss / 1024:6.0f} MB")
    print(f"  whatif / evaluate (wall, median of {repeats}): {med['whatif'][0] / med['evaluate'][0]:.2f}")


if __name__ == "__main__":
    main()
