"""Benchmark: `agrade whatif` against a full `agrade evaluate` of the changed round.

    python bench/bench_whatif.py [N] [REPEATS]

On an `agrade demo` round of N organizations (default 2,000), three what-ifs, each against what a
department would do without whatif: `agrade evaluate` of the round with the same change made in
copies of the standards' files (one evaluation of the changed round, results written).

  scoring    a criterion every standard of the round has (G3.5 后备力量储备: reserve cadres ≥ 2 →
             ≥ 3): `agrade whatif ROUND --set G3.5.value=3 --out DIR` (reads the evidence, scores
             every organization as it is and as changed, writes whatif.xlsx);
  edited     the same, from an earlier evaluation of the round: `agrade whatif ROUND --results
             RESULTS --set G3.5.value=3 --out DIR` (reads the evidence, scores only G3.5 both
             ways, the rest only where it now grades differently);
  placement  a tier line (A档/五星级 90 → 88) from that evaluation: `agrade whatif ROUND --results
             RESULTS --set grading.tiers[0].min=88 --out DIR` (its rows placed again; no evidence).

Each is a whole command in a fresh process (wall and CPU seconds, peak RSS), median of REPEATS.
Before timing, each answer is checked: every organization's tier, total and rank that whatif
computed, before and after the change, equals those of full evaluations of the round as it is
and of the changed round (results.json). Prints the medians and the ratios whatif / evaluate.
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
G35_SETS = ["G3.5.value=3"]
TIER_SETS = ["grading.tiers[0].min=88"]

# the same change, made in the files (text as in rules/general.yaml and the field standards)
_G35 = ('        field: reserve_cadres\n        op: ">="\n        value: 2\n',
        '        field: reserve_cadres\n        op: ">="\n        value: 3\n')
_TOP_TIERS = ("{id: A, name: A档, min: 90}", "{id: A, name: A档, min: 88}",
              "{id: S5, name: 五星级党组织, min: 90}", "{id: S5, name: 五星级党组织, min: 88}")


def changed_round(round_yaml: Path, name: str, g35: bool) -> Path:
    """round-<name>.yaml beside round_yaml: the same round, its standards read from a copy of
    rules/ with G3.5's value 3 (g35) or the top tier line at 88 (not g35) in the YAML text."""
    rules = round_yaml.parent / f"rules-{name}"
    shutil.rmtree(rules, ignore_errors=True)
    rules.mkdir()
    hits = {"G3.5": 0, "tiers": 0}
    for f in sorted((ROOT / "rules").glob("*.yaml")):
        if f.name.endswith(".cases.yaml"):
            continue
        text = f.read_text(encoding="utf-8")
        if g35:
            hits["G3.5"] += text.count(_G35[0])
            text = text.replace(*_G35)
        for old, new in zip(_TOP_TIERS[::2], _TOP_TIERS[1::2]) if not g35 else ():
            hits["tiers"] += text.count(old)
            text = text.replace(old, new)
        (rules / f.name).write_text(text, encoding="utf-8")
    if hits["G3.5"] != int(g35) or (hits["tiers"] < 2) != g35:
        raise SystemExit(f"the standards changed since this benchmark was written: {hits}")
    text = round_yaml.read_text(encoding="utf-8") + f"\nstandards_dirs: [rules-{name}]\n"
    out = round_yaml.parent / f"round-{name}.yaml"
    out.write_text(text, encoding="utf-8")
    return out


def _placed(results: Path) -> dict[str, tuple]:
    data = json.loads((results / "results.json").read_text(encoding="utf-8"), parse_float=Decimal)
    return {o["id"]: (o["tier"], None if o["total"] is None else Decimal(str(o["total"])), o["rank"]["round"])
            for o in data["organizations"]}


def check(round_yaml: Path, changed: Path, work: Path, sets: list[str], results: Path | None = None) -> int:
    """whatif's before and after equal full evaluations of both rounds; the number of
    organizations whose tier changed."""
    from evaluator.cli import evaluate_to
    from evaluator.intake.rounds import load_round
    from evaluator.scoring.whatif import whatif
    answer = whatif(load_round(round_yaml), sets, results=results)
    if results is not None and answer.method not in ("rows", "edited", "graded"):
        raise SystemExit(f"whatif did not use {results}: {answer.notes}")
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
    results = work / "results"                  # the evaluation the placement what-if starts from
    from evaluator.cli import evaluate_to
    evaluate_to(round_yaml, results, quiet=True)
    g35, tiers = changed_round(round_yaml, "g35", True), changed_round(round_yaml, "tiers", False)
    cases = {"scoring": (g35, G35_SETS, []), "edited": (g35, G35_SETS, ["--results", str(results)]),
             "placement": (tiers, TIER_SETS, ["--results", str(results)])}
    for name, (changed, sets, extra) in cases.items():
        moved = check(round_yaml, changed, work, sets, results if extra else None)
        print(f"{n} organizations, {name}: whatif {' '.join(extra + ['--set ' + s for s in sets])}: {moved} change tier, "
              "identical to full evaluations of the round as it is and changed")
    for name, (changed, sets, extra) in cases.items():
        times = {"whatif": [], "evaluate": []}
        for _ in range(repeats):
            times["whatif"].append(run_measured([*AGRADE, "whatif", str(round_yaml), *extra,
                                                 *sum((["--set", s] for s in sets), []),
                                                 "--out", str(work / "whatif"), "--quiet"]))
            times["evaluate"].append(run_measured([*AGRADE, "evaluate", str(changed), "--out", str(work / "evaluated"),
                                                   "--quiet"]))
        med = {k: tuple(statistics.median(x[i] for x in v) for i in range(3)) for k, v in times.items()}
        print(f"{name}:")
        for k, (wall, cpu, rss) in med.items():
            print(f"  {k:9s} wall {wall:6.2f} s   cpu {cpu:6.2f} s   peak RSS {rss / 1024:6.0f} MB")
        print(f"  whatif / evaluate (wall, median of {repeats}): {med['whatif'][0] / med['evaluate'][0]:.2f}")


if __name__ == "__main__":
    main()
