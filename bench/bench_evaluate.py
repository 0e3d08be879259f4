"""Benchmark: organizations scored per second through durable-rules, against a plain loop.

Generates a demo round (N organizations, default 2000), loads and normalizes its evidence
once, then times, in the same run and over several repetitions (median):
  engine    Engine.evaluate per organization (durable-rules ruleset, owned host)
  baseline  the same scoring methods called in a plain Python loop (no rules engine)
  full      evaluate_organizations: engine + grading + quotas + ranking
and prints organizations/s for each and the ratios to the baseline.

    python bench/bench_evaluate.py [N] [REPEATS]
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluator.demo import generate                      # noqa: E402
from evaluator.scoring.criteria import org_env, score_all, score_criterion   # noqa: E402
from evaluator.intake.evidence import collect, resolve          # noqa: E402
from evaluator.intake.rounds import load_round                  # noqa: E402
from evaluator.scoring.run import evaluate_organizations         # noqa: E402


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory() as tmp:
        rnd = load_round(generate(Path(tmp) / "round", n, 7))
        raw, _, _, _ = collect(rnd.evidence_paths)
    evidence = {o.id: resolve(raw.get(o.id), o.id, rnd.standards[o.type])[0] for o in rnd.organizations}
    orgs = rnd.organizations
    criteria = sum(len(rnd.standards[o.type].criteria) for o in orgs)

    def engine():
        for o in orgs:
            score_all(rnd.standards[o.type], o, evidence[o.id], rnd.period)

    def baseline():
        for o in orgs:
            std = rnd.standards[o.type]
            ev = evidence[o.id]
            env = org_env(o, ev.values, rnd.period)
            self_env = org_env(o, ev.self_values, rnd.period) if std.needs_self_assessment else None
            for c in std.criteria.values():
                score_criterion(c, env, None, std.fields)
                if self_env is not None:
                    score_criterion(c, self_env, None, std.fields)

    def full():
        evaluate_organizations(orgs, evidence, rnd.standards, rnd.period)

    t_base = median_time(baseline, repeats)
    t_engine = median_time(engine, repeats)
    t_full = median_time(full, repeats)
    print(f"organizations: {n}, criterion outcomes per pass: {criteria}, repeats: {repeats} (median)")
    print(f"baseline (plain loop, no rules engine): {n / t_base:8.0f} orgs/s  {t_base:6.2f} s")
    print(f"scoring pass (score_all):               {n / t_engine:8.0f} orgs/s  {t_engine:6.2f} s   ratio to baseline {t_base / t_engine:.2f}")
    print(f"full (engine + grading + quotas + rank): {n / t_full:8.0f} orgs/s  {t_full:6.2f} s   ratio to baseline {t_base / t_full:.2f}")


if __name__ == "__main__":
    main()
