"""Benchmark: reading a filled evidence workbook (证据采集表.xlsx), against reading the same
evidence as bulk CSV, in the same run.

Makes a demo round of N organizations (`agrade demo`), writes its workbook (`agrade template`)
and fills it with the demo's bulk CSV evidence as a department would (one wide row per
organization: numbers as numbers, dates as date cells, the row's 核查人 and 核查日期; one
records row per meeting), then times, each from the files' bytes, median of R runs:
  baseline  `collect` of values.csv + records.csv (column-wise CSV reading, pyarrow)
  workbook  `collect` of the filled workbook: the same values and records
  openpyxl  the same, its cells read by openpyxl as before python-calamine (--openpyxl)
and prints organizations/s and MB/s for each and the workbook's ratio to the baseline. The
readings are checked to give the same values for every organization before anything is timed.

    python bench/bench_workbook.py [N] [--repeats R] [--keep DIR] [--openpyxl]
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import functools
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import openpyxl                                                  # noqa: E402

from evaluator.intake import workbook as workbook_reader         # noqa: E402
from evaluator.intake.evidence import collect, resolve           # noqa: E402
from evaluator.intake.rounds import load_round                   # noqa: E402
from evaluator.intake.template import RECORDS, field_header      # noqa: E402
from evaluator.reports.template_xlsx import round_template       # noqa: E402

_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def typed(text: str, kind: str = "date"):
    """A CSV cell as it would sit in an Excel cell of a `kind` field: a number, a date cell, or
    the text as typed (20260305 stays text: typed into a date cell it is no date)."""
    if kind in ("integer", "number") and _NUMBER.fullmatch(text):
        return float(text) if "." in text else int(text)
    if kind == "date" and _ISO.fullmatch(text):
        return dt.datetime.strptime(text, "%Y-%m-%d")
    return text


def fill(rnd, template: Path, values_csv: Path, records_csv: Path, out: Path) -> None:
    """The round's template with the bulk CSV evidence typed in."""
    wb = openpyxl.load_workbook(template)
    heads = {ws.title: {c.value: c.column for c in ws[1]} for ws in wb.worksheets}
    where = {}
    for ws in wb.worksheets:
        if "核查人" in heads[ws.title] and ws.title != RECORDS and "组织名称" in heads[ws.title]:
            for n in range(2, ws.max_row + 1):
                where[ws.cell(n, 1).value] = (ws, n)
    org_type = {o.id: o.type for o in rnd.organizations}
    names = {o.id: o.name for o in rnd.organizations}
    with values_csv.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            org, std = row["organization"], rnd.standards[org_type[row["organization"]]]
            ws, n = where[org]
            head = heads[ws.title]
            fld = std.fields[row["field"]]
            for source in ("self", "verified"):
                if row[source] or (source == "verified" and row["inspector"]):
                    ws.cell(n, head[field_header(fld, source)], typed(row[source], fld.type) if row[source] else "无")
            if row["inspector"]:
                ws.cell(n, head["核查人"], row["inspector"])
                ws.cell(n, head["核查日期"], typed(row["verified_on"]))
    records = wb[RECORDS]
    with records_csv.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            org = row["organization"]
            fld = rnd.standards[org_type[org]].fields[row["field"]]
            records.append([org, names[org], fld.label, typed(row["date"]), row["title"] or None,
                            "核查" if row["source"] == "verified" else "自评",
                            row["inspector"] or None, typed(row["verified_on"]) if row["verified_on"] else None])
    wb.save(out)


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def same_values(rnd, a: dict, b: dict) -> None:
    """Both readings give every organization the same evidence, as scoring sees it (each
    organization's values resolved by its standard: typed cells and CSV text normalized)."""
    for o in rnd.organizations:
        std = rnd.standards[o.type]
        (ea, _), (eb, _) = resolve(a.get(o.id), o.id, std), resolve(b.get(o.id), o.id, std)
        assert ea.values == eb.values and ea.self_values == eb.self_values, f"{o.id}: the workbook reads otherwise"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("orgs", nargs="?", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="make the round in this folder (kept) instead of a temporary one")
    ap.add_argument("--openpyxl", action="store_true", help="also time reading the workbook with openpyxl (slow)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        demo = base / "demo"
        if not (demo / "round" / "round.yaml").exists():
            subprocess.run([sys.executable, "-m", "evaluator", "demo", "--out", str(demo), "--orgs", str(args.orgs),
                            "--no-reports", "--no-store"], check=True, cwd=ROOT, capture_output=True)
        round_dir = demo / "round"
        rnd = load_round(round_dir / "round.yaml")
        values_csv, records_csv = round_dir / "evidence" / "values.csv", round_dir / "evidence" / "records.csv"
        book = base / "证据采集表.xlsx"
        if not book.exists():
            template = base / "template.xlsx"
            template.write_bytes(round_template(rnd)[0])
            fill(rnd, template, values_csv, records_csv, book)
        orgs, standards = rnd.organizations, rnd.standards

        def baseline():
            return collect([values_csv, records_csv], orgs, standards)[0]

        def workbook():
            return collect([book], orgs, standards)[0]

        def by_openpyxl():
            fast = workbook_reader.read_xlsx
            workbook_reader.read_xlsx = functools.partial(fast, fast=False)
            try:
                return workbook()
            finally:
                workbook_reader.read_xlsx = fast

        expected = baseline()
        same_values(rnd, expected, workbook())
        rows = [("baseline: values.csv + records.csv", values_csv.stat().st_size + records_csv.stat().st_size,
                 median_time(baseline, args.repeats)),
                ("workbook: 证据采集表.xlsx", book.stat().st_size, median_time(workbook, args.repeats))]
        if args.openpyxl:
            same_values(rnd, expected, by_openpyxl())
            rows.append(("workbook read by openpyxl (before)", book.stat().st_size, median_time(by_openpyxl, args.repeats)))
        n, t_csv = len(orgs), rows[0][2]
        print(f"{n} organizations, repeats: {args.repeats} (median)")
        for label, size, t in rows:
            ratio = "" if t is t_csv else f"   ratio to baseline {t_csv / t:.2f}"
            print(f"  {label:<36} {size / 1e6:6.2f} MB  {t:7.3f} s  {n / t:7.0f} orgs/s  {size / 1e6 / t:6.2f} MB/s{ratio}")


if __name__ == "__main__":
    main()
