"""Benchmark: a frequency criterion's evidence JSON (`{"field":[records]}`, as results.json
quotes an organization's dated records) for every (organization, field, source) group of a
round's records.csv, built two ways, checked byte-identical, CPU seconds of each:

- column-wise, in pyarrow compute: each record's fragment (`"2026-01-14"`, or
  `{"date":…,"title":…}` with a title) made for the whole column, joined per group with a
  list array (the way a columnar scoring path would make them);
- per record, in Python: orjson of each group's list of dates and {date, title} dicts, from
  tuples already made (what orgresult does for an organization's own items).

    python bench/bench_records_json.py [RECORDS.csv] [--repeats R]

Default: records.csv of the round `bench_scale.py 20000` makes (/tmp/agrade-bench/demo20000).
It answers one question for the columnar path issue 7 needs: whether making results.json's
bytes from columns is cheaper than orjson from Python objects (the dates are used as the file
has them: the demo writes ISO dates; a real round's are normalized first). Reading the CSV
and sorting the records are timed apart; both ways start from the sorted table.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

_COLUMNS = ("organization", "field", "date", "title", "source", "inspector", "verified_on")
_NEEDS_ESCAPE = r'["\\\x00-\x1f]'          # what orjson escapes in a string besides nothing


def read_sorted(path: Path) -> tuple[pa.Table, float, float]:
    """(the records sorted by organization, field, source, date and title; CPU s reading; sorting)."""
    c = time.process_time()
    table = pcsv.read_csv(path, read_options=pcsv.ReadOptions(use_threads=False),
                          convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in _COLUMNS}))
    read = time.process_time() - c
    c = time.process_time()
    order = pc.sort_indices(table, sort_keys=[(k, "ascending") for k in ("organization", "field", "source", "date", "title")])
    table = table.take(order)
    return table, read, time.process_time() - c


def group_starts(table: pa.Table) -> np.ndarray:
    """Where each (organization, field, source) group begins, in the sorted table."""
    change = np.zeros(table.num_rows, dtype=bool)
    change[0] = True
    for name in ("organization", "field", "source"):
        codes = table.column(name).combine_chunks().dictionary_encode().indices.to_numpy()
        change[1:] |= codes[1:] != codes[:-1]
    return np.flatnonzero(change)


def column_wise(table: pa.Table, starts: np.ndarray) -> list[bytes]:
    date, title, field = (table.column(n).combine_chunks() for n in ("date", "title", "field"))
    frag = pc.if_else(pc.equal(pc.utf8_length(title), 0),
                      pc.binary_join_element_wise('"', date, '"', ""),
                      pc.binary_join_element_wise('{"date":"', date, '","title":"', title, '"}', ""))
    odd = pc.match_substring_regex(title, _NEEDS_ESCAPE)
    if pc.any(odd).as_py():                 # a title with a quote, backslash or control character
        fixed = frag.to_pylist()
        for i in np.flatnonzero(odd.to_numpy(zero_copy_only=False)).tolist():
            fixed[i] = orjson.dumps({"date": date[i].as_py(), "title": title[i].as_py()}).decode()
        frag = pa.array(fixed, pa.string())
    offsets = pa.array(np.r_[starts, table.num_rows].astype(np.int32))
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, frag), ",")
    out = pc.binary_join_element_wise('{"', field.take(pa.array(starts)), '":[', joined, "]}", "")
    return [s.encode() for s in out.to_pylist()]


def per_record(table: pa.Table, starts: np.ndarray, records: list[tuple[str, str]]) -> list[bytes]:
    fields = table.column("field").combine_chunks().take(pa.array(starts)).to_pylist()
    bounds = np.r_[starts, table.num_rows].tolist()
    return [orjson.dumps({f: [d if not t else {"date": d, "title": t} for d, t in records[a:b]]})
            for f, a, b in zip(fields, bounds[:-1], bounds[1:])]


def main() -> None:
    ap = argparse.ArgumentParser()
    default = Path(os.environ.get("AGRADE_BENCH_DIR", Path(tempfile.gettempdir()) / "agrade-bench")) \
        / "demo20000" / "round" / "evidence" / "records.csv"
    ap.add_argument("records", nargs="?", type=Path, default=default)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    if not a.records.is_file():
        sys.exit(f"{a.records} does not exist: run `python bench/bench_scale.py 20000 1` first, or name a records.csv")
    table, read, sort = read_sorted(a.records)
    starts = group_starts(table)
    records = list(zip(*(table.column(n).to_pylist() for n in ("date", "title"))))   # (made once: not timed)
    cols, pys = [], []
    for _ in range(a.repeats):              # alternately: the host's speed drifts
        c = time.process_time()
        got = column_wise(table, starts)
        cols.append(time.process_time() - c)
        c = time.process_time()
        want = per_record(table, starts, records)
        pys.append(time.process_time() - c)
        if got != want:
            bad = next(i for i, (x, y) in enumerate(zip(got, want)) if x != y)
            sys.exit(f"the two ways differ at group {bad}:\n{got[bad][:300]!r}\n{want[bad][:300]!r}")
    col, py = statistics.median(cols), statistics.median(pys)
    print(f"{table.num_rows:,} records in {len(starts):,} groups ({a.records}); read {read:.2f} CPU s, sorted {sort:.2f}")
    print(f"column-wise (pyarrow compute):            {col:.3f} CPU s")
    print(f"per record (orjson, from ready tuples):   {py:.3f} CPU s   column-wise / per record {col / py:.2f}"
          f"   (median of {a.repeats}, alternated; the bytes checked identical)")


if __name__ == "__main__":
    main()
