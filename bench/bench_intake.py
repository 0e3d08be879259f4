"""Benchmark: loading evidence YAML (MB/s) with agrade's loader, against plain libyaml.

Generates evidence files of about 1 MB and 10 MB (many organizations in one file, the shape an
inspection team sends: values with self/verified/inspector, dated records) and times, in the same
run and over several repetitions (median):
  baseline  `yaml.load(text, Loader=yaml.CSafeLoader)`: the same parsing with libyaml, but
            YAML 1.1 types and no positions, no refusals (what a naive loader would do)
  agrade    `load_yaml`: libyaml's events built into YAML 1.2 values with the position of every
            value (for file:line:col messages) and all refusals (aliases, tags, duplicate keys,
            control characters, huge numbers)
  collect   `collect`: the whole evidence intake of that file (agrade's loader, the evidence
            schema, raw entries with provenance)
and prints MB/s for each and the ratio to the baseline. Each run starts from the file's bytes.

    python bench/bench_intake.py [SIZES_MB ...] [--repeats R] [--python]

--python also times the pure-Python parser fallback (used when PyYAML lacks libyaml; slow).

    python bench/bench_intake.py --round ROUND.yaml [--partition-size N]

instead times a round's partition intake (what each worker does before scoring: a partition's
pieces into every organization's Evidence and the issues), in the same run, both ways:
  general   replay_pieces (a RawEntry per field, a location per cell) + resolve() per organization
  columnar  intake.columnar.partition_evidence (bulk CSV rows as Arrow columns)
over every partition, CPU seconds, normalize's and the columnar intake's memos emptied before
each (both start cold, as a worker does), and checks they give identical Evidence and issues. Prints both times, their
ratio and how many organizations the columnar path left to the general one; then the columnar
intake again with each partition's pieces read back from the spill while it is resolved, as a
worker reads them (the two above read them all beforehand).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml                                                      # noqa: E402

from evaluator.intake.evidence import collect                    # noqa: E402
from evaluator.standard import yamlsafe                          # noqa: E402
from evaluator.standard.yamlsafe import load_yaml                # noqa: E402


def evidence_yaml(n_bytes: int) -> str:
    """Organizations one after another until the text reaches n_bytes (UTF-8)."""
    out, size, i = ["organizations:\n"], 0, 0
    while size < n_bytes:
        i += 1
        block = (f"  - organization: HD-{i:06d}\n"
                 f"    values:\n"
                 f"      members_full: {10 + i % 30}\n"
                 f"      centre_area: {{self: 520平方米, verified: 480, inspector: 督导三组-王敏, verified_on: 2026-10-12}}\n"
                 f"      grid_party_share: 55.8%\n"
                 f"      secretary_rating: 好\n"
                 f"      has_volunteer_team: 是\n"
                 f"    records:\n"
                 f"      committee_meetings: [2026-01-10, 2026-02-10, 2026-03-10, 2026-04-10, 2026-05-10, 2026-06-10]\n"
                 f"      theme_party_days:\n"
                 f"        - {{date: 2026-01-05, title: 一月主题党日}}\n"
                 f"        - {{date: 2026-02-05, title: 二月主题党日}}\n")
        out.append(block)
        size += len(block.encode())
    return "".join(out)


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def partition_intake(round_yaml: Path, size: int) -> None:
    """The round's partitions resolved the general way and column-wise (see the docstring)."""
    from evaluator.intake import columnar as columnar_module, normalize
    from evaluator.intake.columnar import partition_evidence
    from evaluator.intake.evidence import resolve
    from evaluator.intake.partition import replay_pieces, route
    from evaluator.intake.rounds import load_round
    from evaluator.scoring.run import with_round_overrides

    def cold():                   # what a worker process starts without: the texts and rows read
        normalize._MEMO.clear()
        columnar_module._ODD_READ.clear()
    rnd = load_round(round_yaml)
    standards = {t: with_round_overrides(s, rnd.grading_override) for t, s in rnd.standards.items()}
    t = time.process_time()
    router = route(rnd.evidence_paths, rnd.organizations, size, standards=rnd.standards)
    print(f"{len(rnd.organizations)} organizations, {router.count} partitions of {size}; "
          f"routing the evidence files: {time.process_time() - t:.2f} s CPU (not compared)")
    parts = [(rnd.organizations[router.span(k)], list(router.pieces(k))) for k in range(router.count)]

    def general(orgs, pieces):
        raw, put_issues = replay_pieces(pieces)
        evidence, issues = {}, []
        for o in orgs:
            evidence[o.id], errs = resolve(raw.pop(o.id, None), o.id, standards[o.type])
            issues += errs
        return evidence, put_issues, issues

    def columnar(orgs, pieces):
        got = partition_evidence(pieces, orgs, standards)
        columnar.general += got.general
        return got.evidence, got.put_issues, got.issues
    columnar.general = 0

    results, times = {}, {}
    for name, fn in (("general", general), ("columnar", columnar)):
        cold()
        t = time.process_time()
        with yamlsafe.gc_paused():
            results[name] = [fn(orgs, pieces) for orgs, pieces in parts]
        times[name] = time.process_time() - t
    # as a worker reads them: each partition's pieces read back from the spill (where most of
    # a large round's are) while it is resolved, not read beforehand
    cold()
    t = time.process_time()
    with yamlsafe.gc_paused():
        for k in range(router.count):
            partition_evidence(router.pieces(k), rnd.organizations[router.span(k)], standards)
    read_back = time.process_time() - t
    router.close()
    same = results["general"] == results["columnar"] and all(
        list(a) == list(b) and all(list(vars(a[o])[d]) == list(vars(b[o])[d]) for o in a
                                   for d in ("values", "self_values", "provenance", "notes"))
        for (a, _, _), (b, _, _) in zip(results["general"], results["columnar"]))
    print(f"  general  (replay_pieces + resolve)    {times['general']:7.2f} s CPU")
    print(f"  columnar (partition_evidence)         {times['columnar']:7.2f} s CPU   "
          f"ratio {times['general'] / times['columnar']:.2f}x")
    print(f"  organizations left to the general path: {columnar.general}; identical Evidence and issues: {same}")
    print(f"  columnar, each partition's pieces read back from the spill as a worker reads them: {read_back:.2f} s CPU")
    if not same:
        raise SystemExit("the two paths differ")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", type=float, default=[1.0, 10.0], help="file sizes in MB (default 1 10)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--python", action="store_true", help="also time the pure-Python parser fallback")
    ap.add_argument("--round", type=Path, help="time a round's partition intake, general against columnar")
    ap.add_argument("--partition-size", type=int, default=500)
    args = ap.parse_args()
    if args.round is not None:
        partition_intake(args.round, args.partition_size)
        return
    print(f"PyYAML {yaml.__version__}, libyaml {'yes' if yamlsafe._CParser else 'no'}, "
          f"repeats: {args.repeats} (median)")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"evidence_{size:g}mb.yaml"
            path.write_text(evidence_yaml(int(size * 1e6)), encoding="utf-8")
            data = path.read_bytes()
            mb = len(data) / 1e6

            def baseline():
                yaml.load(data.decode("utf-8"), Loader=yaml.CSafeLoader)

            def agrade():
                load_yaml(data, filename=str(path))

            def whole():
                collect([path])

            rows = [("baseline (yaml.load, CSafeLoader)", median_time(baseline, args.repeats)),
                    ("agrade load_yaml (positions, refusals)", median_time(agrade, args.repeats)),
                    ("agrade collect (+ schema, provenance)", median_time(whole, args.repeats))]
            if args.python:
                saved, yamlsafe._CParser = yamlsafe._CParser, None
                try:
                    rows.append(("agrade load_yaml, pure-Python parser", median_time(agrade, args.repeats)))
                finally:
                    yamlsafe._CParser = saved
            t_base = rows[0][1]
            print(f"\n{path.name}: {mb:.2f} MB, {data.count(b'organization:')} organizations")
            for label, t in rows:
                ratio = "" if t is t_base else f"   ratio to baseline {t_base / t:.2f}"
                print(f"  {label:<40} {mb / t:7.2f} MB/s  {t:7.3f} s{ratio}")


if __name__ == "__main__":
    main()
