"""Write results: results.json (byte-identical for the same inputs), results.csv, run.json.

Files are first written into a temporary folder beside the output folder and moved in only
when all of them are complete, so a failed run leaves nothing half-written.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..terms import STATUS_ZH


def to_jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    if isinstance(obj, Decimal):
        # Integral values as ints; others as the shortest float that round-trips the decimal
        # (all our numbers have at most a few decimal places, so this is exact in text).
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    if hasattr(obj, "date") and hasattr(obj, "title"):          # a normalize.Record
        return obj.date.isoformat() if not obj.title else {"date": obj.date.isoformat(), "title": obj.title}
    raise TypeError(f"cannot serialize {type(obj).__name__}")


def dumps(payload: dict) -> str:
    return json.dumps(to_jsonable(payload), ensure_ascii=False, indent=1) + "\n"


# A cell starting with one of these is run as a formula by Excel, WPS or LibreOffice (the
# full-width forms too: spreadsheet input methods fold them), and a leading tab or CR can hide
# one. Organizations type these cells, so such text gets a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20", "\t", "\r")


def neutralize(value: Any) -> Any:
    """Text a spreadsheet would run as a formula, prefixed with an apostrophe so it stays text.
    Only text is touched: a number (a negative total is data) is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


CSV_COLUMNS = [("rank", "排名"), ("id", "组织编号"), ("name", "组织名称"), ("type_name", "领域"), ("district", "区县"),
               ("street", "街道"), ("standard", "标准"), ("status", "状态"), ("total", "总分"), ("base", "基础得分"),
               ("bonus", "加分"), ("tier", "档次"), ("tier_name", "档次名称"), ("rank_district", "区县内排名"),
               ("rank_type", "领域内排名"), ("vetoes", "一票否决"), ("findings", "核查发现"), ("lost", "失分指标数")]


def results_csv(payload: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([zh for _, zh in CSV_COLUMNS])
    for r in payload["organizations"]:
        row = {"rank": r["rank"]["round"], "id": r["id"], "name": r["name"], "type_name": r["type_name"],
               "district": r["district"], "street": r["street"], "standard": r["standard"]["id"],
               "status": STATUS_ZH.get(r["status"], r["status"]), "total": r["total"], "base": r["base"],
               "bonus": r["bonus"], "tier": r["tier"], "tier_name": r["tier_name"],
               "rank_district": r["rank"]["district"], "rank_type": r["rank"]["type"],
               "vetoes": "；".join(v["criterion"] for v in r["vetoes"]), "findings": len(r["findings"]),
               "lost": sum(1 for c in r["criteria"] if c["points"] < c["max_points"] and c["outcome"] != "not_applicable")}
        w.writerow(["" if row[k] is None else neutralize(to_jsonable(row[k])) for k, _ in CSV_COLUMNS])
    return "\ufeff" + buf.getvalue()     # BOM so Excel opens the Chinese correctly


def write_atomically(out_dir: Path, files: dict[str, bytes | str]) -> list[Path]:
    """Write all files or none: build them in a temp folder, then move each into place."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".agrade-", dir=out_dir))
    try:
        for name, content in files.items():
            target = tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        written = []
        for name in files:
            dest = out_dir / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / name, dest)
            written.append(dest)
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_results(results_dir: Path) -> dict:
    path = Path(results_dir) / "results.json" if Path(results_dir).is_dir() else Path(results_dir)
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
