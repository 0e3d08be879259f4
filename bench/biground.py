"""A large synthetic round for benchmarks: a demo round replicated.

`agrade demo` plans every organization (realistic, slow, all in memory); a province or a
national round for a benchmark is made here instead by repeating a demo round of `base`
organizations `copies` times under new ids (SL-0001 -> SL-0001-X000017), streaming its
evidence into bulk files of at most `chunk` organizations each (part0001_values.csv,
part0001_records.csv, ...), so that neither this script nor agrade holds it whole. Scores are
as realistic as the demo's; the quota and rank structure is that of one very large district.

    python bench/biground.py OUT_DIR N [--base 2000] [--chunk 20000] [--seed 2026]
"""
from __future__ import annotations

import argparse
import csv
import io
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluator.demo import generate          # noqa: E402


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(path.open(encoding="utf-8-sig", newline="")))
    return rows[0], rows[1:]


def _write(path: Path, header: list[str], rows) -> None:
    with path.open("wb") as fh:
        fh.write(b"\xef\xbb\xbf")
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow(row)
            if buf.tell() > 1 << 22:
                fh.write(buf.getvalue().encode("utf-8"))
                buf.seek(0)
                buf.truncate()
        fh.write(buf.getvalue().encode("utf-8"))


def make(out: Path, n: int, base: int = 2000, chunk: int = 20000, seed: int = 2026) -> Path:
    """The round file of an `n`-organization round in `out` (made once; reused if there)."""
    round_yaml = out / "round.yaml"
    if round_yaml.is_file() and (out / f".n{n}").is_file():
        return round_yaml
    if out.exists():
        shutil.rmtree(out)
    src = generate(out / "base", min(base, n), seed).parent
    reg_head, reg = _rows(src / "organizations.csv")
    v_head, values = _rows(src / "evidence" / "values.csv")
    r_head, records = _rows(src / "evidence" / "records.csv")
    ev = out / "evidence"
    ev.mkdir(parents=True)
    per_copy = len(reg)
    copies = (n + per_copy - 1) // per_copy
    by_org_v: dict[str, list] = {}
    for row in values:
        by_org_v.setdefault(row[0], []).append(row)
    by_org_r: dict[str, list] = {}
    for row in records:
        by_org_r.setdefault(row[0], []).append(row)
    registry, made, part = [], 0, 0
    vals, recs = [], []
    for c in range(copies):
        suffix = "" if c == 0 else f"-X{c:06d}"
        for row in reg:
            if made == n:
                break
            oid = row[0] + suffix
            registry.append([oid, row[1] + (f"（{c}）" if c else ""), *row[2:5],
                             (row[5] + suffix) if row[5] else "", row[6]])
            vals += [[oid, *r[1:]] for r in by_org_v.get(row[0], [])]
            recs += [[oid, *r[1:]] for r in by_org_r.get(row[0], [])]
            made += 1
            if made % chunk == 0:
                part += 1
                _write(ev / f"part{part:04d}_values.csv", v_head, vals)
                _write(ev / f"part{part:04d}_records.csv", r_head, recs)
                vals, recs = [], []
    if vals or recs:
        part += 1
        _write(ev / f"part{part:04d}_values.csv", v_head, vals)
        _write(ev / f"part{part:04d}_records.csv", r_head, recs)
    _write(out / "organizations.csv", reg_head, registry)
    # the base round's own per-organization YAML files belong to its first copy
    shutil.copytree(src / "evidence" / "orgs", ev / "orgs")
    text = (src / "round.yaml").read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.startswith("  - organization:") and
                     not line.startswith("    criterion:") and not line.startswith("    reason:"))
    text = text.replace("waivers:\n", "waivers: []\n")
    round_yaml.write_text(text + "\n", encoding="utf-8")
    shutil.rmtree(out / "base")
    (out / f".n{n}").write_text("")
    return round_yaml


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("n", type=int)
    ap.add_argument("--base", type=int, default=2000)
    ap.add_argument("--chunk", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=2026)
    a = ap.parse_args()
    print(make(a.out, a.n, a.base, a.chunk, a.seed))


if __name__ == "__main__":
    main()
