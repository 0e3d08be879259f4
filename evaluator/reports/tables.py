"""Rankings, lists and rectification items as CSV (UTF-8 with BOM, so Excel shows the Chinese)
and XLSX (bold header, frozen first row, filters, widths, A4 print setup).

Both are built from the same rows. Text that a spreadsheet would run as a formula
(=, +, -, @ at the start, full-width too) is prefixed with an apostrophe
(`evaluator.scoring.results.neutralize`, shared with results.csv): the cells hold
organizations' text. Sheet names are made legal and unique whatever the list titles say.
XLSX files are made byte-identical for the same input (fixed zip and document dates).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from typing import Any, Iterable

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from ..scoring.results import neutralize
from ..terms import RANK_ZH, STATUS_ZH, to_decimal
from .labels import type_name

# characters XML 1.0 cannot hold (openpyxl refuses them); shown as U+FFFD in XLSX cells
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
# characters Excel refuses in sheet names, replaced by their full-width forms
_SHEET_CHARS = str.maketrans({":": "：", "/": "／", "\\": "＼", "?": "？", "*": "＊", "[": "［", "]": "］"})
SHEET_NAME_MAX = 31


class Table:
    """One sheet: a title, (key, Chinese header, kind) columns and rows of plain values."""

    def __init__(self, name: str, columns: list[tuple[str, str, str]], rows: list[dict]):
        self.name, self.columns, self.rows = name, columns, rows

    def cells(self) -> Iterable[list[Any]]:
        for row in self.rows:
            yield [_cell(row.get(key), kind) for key, _, kind in self.columns]


def _cell(value: Any, kind: str) -> Any:
    if value is None or value == "":
        return None
    if kind == "num":
        d = to_decimal(value)
        return None if d is None else (int(d) if d == d.to_integral_value() else float(d))
    if isinstance(value, str):
        return neutralize(value)
    return str(value)          # a number in a text column is data, never a formula


def _cut(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, ending in neither a space nor an apostrophe."""
    cut = text[:limit]
    while cut and cut[-1] in " '":
        cut = cut[:-1]
    return cut or "表"


def sheet_names(titles: list[str]) -> list[str]:
    """Legal, unique (case-insensitively, as Excel compares them) sheet names for `titles`:
    no `: / \\ ? * [ ]` (full-width forms instead), no control characters, no apostrophe
    at either end, at most 31 characters, not empty, not Excel's reserved 'History'."""
    out: list[str] = []
    used: set[str] = set()
    for title in titles:
        base = _ILLEGAL_XML.sub("", str(title)).translate(_SHEET_CHARS).strip().strip("'").strip() or "表"
        if base.lower() == "history":
            base += "表"
        name, n = _cut(base, SHEET_NAME_MAX), 2
        while name.lower() in used:
            suffix = f"({n})"
            name, n = _cut(base, SHEET_NAME_MAX - len(suffix)) + suffix, n + 1
        used.add(name.lower())
        out.append(name)
    return out


# ------------------------------------------------------------------ the tables

def rankings(results: dict, previous: dict[str, dict]) -> Table:
    cols = [("rank", RANK_ZH["round"], "num"), ("rank_district", RANK_ZH["district"], "num"),
            ("rank_street", RANK_ZH["street"], "num"), ("rank_type", RANK_ZH["type"], "num"),
            ("id", "组织编号", "text"), ("name", "组织名称", "text"), ("type", "领域", "text"),
            ("district", "区县", "text"), ("street", "街道（镇）", "text"), ("status", "状态", "text"),
            ("total", "总分", "num"), ("base", "基础得分", "num"), ("bonus", "加分", "num"),
            ("tier", "档次", "text"), ("vetoes", "一票否决", "text"), ("reasons", "定档说明", "text")]
    if previous:
        # a bulletin's previous placing is the bulletin before it (上期), a round's the last round
        cols += [("prev_tier", "上期档次" if (results.get("round") or {}).get("as_of") else "上轮档次", "text")]
    rows = []
    for o in results["organizations"]:
        rank = o.get("rank") or {}
        prev = previous.get(o["id"]) or {}
        rows.append({"rank": rank.get("round"), "rank_district": rank.get("district"),
                     "rank_street": rank.get("street"), "rank_type": rank.get("type"),
                     "id": o["id"], "name": o["name"], "type": type_name(o), "district": o.get("district"),
                     "street": o.get("street"), "status": STATUS_ZH.get(o["status"], o["status"]),
                     "total": o.get("total"), "base": o.get("base"), "bonus": o.get("bonus"),
                     "tier": o.get("tier_name") or o.get("tier"),
                     "vetoes": "；".join(v.get("criterion", "") for v in o.get("vetoes") or []),
                     "reasons": "；".join(str(r) for r in o.get("tier_reasons") or []),
                     "prev_tier": prev.get("tier_name") or prev.get("tier")})
    return Table("排名", cols, rows)


def list_tables(lists_model: dict) -> list[Table]:
    cols = [("no", "序号", "num"), ("id", "组织编号", "text"), ("name", "组织名称", "text"),
            ("district", "区县", "text"), ("street", "街道（镇）", "text"), ("type", "领域", "text"),
            ("tier", "档次", "text"), ("total", "总分", "num"), ("rank", "全域排名", "num"),
            ("reasons", "列入理由", "text")]
    out = []
    for lst in lists_model["lists"]:
        rows = [{**e, "total": None if e["total"] == "—" else e["total"], "rank": None if e["rank"] == "—" else e["rank"],
                 "reasons": "；".join(e["reasons"])} for e in lst["entries"]]
        out.append(Table(lst["title"], cols, rows))
    return out


def rectification(results: dict, scorecards: Iterable[dict]) -> Table:
    cols = [("org_id", "组织编号", "text"), ("org", "组织名称", "text"), ("district", "区县", "text"),
            ("no", "序号", "num"), ("id", "指标编号", "text"), ("title", "指标", "text"),
            ("problem", "存在问题", "text"), ("action", "整改要求", "text"), ("deadline", "整改时限", "text"),
            ("responsible", "责任人", "text")]
    rows = []
    for card in scorecards:
        for r in card["rectification"]:
            rows.append({**r, "org_id": card["org"]["id"], "org": card["org"]["name"],
                         "district": card["org"]["district"]})
    return Table("整改清单", cols, rows)


# ------------------------------------------------------------------ writers

def to_csv(table: Table) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([zh for _, zh, _ in table.columns])
    for cells in table.cells():
        w.writerow(["" if c is None else c for c in cells])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


_THIN = Side(style="thin", color="999999")
_HEAD_FILL = PatternFill("solid", fgColor="F1EDE6")


def _width(value: Any) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)   # CJK characters are twice as wide


def to_xlsx(tables: list[Table], *, title: str, author: str, when: dt.date) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    stamp = dt.datetime.combine(when, dt.time(0, 0))
    author, title = _ILLEGAL_XML.sub("", author), _ILLEGAL_XML.sub("", title)
    wb.properties.creator = author
    wb.properties.title = title
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.lastModifiedBy = author
    for table, sheet in zip(tables, sheet_names([t.name for t in tables])):
        ws = wb.create_sheet(sheet)
        ws.append([zh for _, zh, _ in table.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = _HEAD_FILL
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.border = Border(bottom=_THIN)
        widths = [_width(zh) for _, zh, _ in table.columns]
        for cells in table.cells():
            cells = [_ILLEGAL_XML.sub("\ufffd", c) if isinstance(c, str) else c for c in cells]
            ws.append(cells)
            widths = [max(w, _width(c)) for w, c in zip(widths, cells)]
        for i, (key, _, kind) in enumerate(table.columns, start=1):
            letter = get_column_letter(i)
            ws.column_dimensions[letter].width = min(max(widths[i - 1] + 2, 6), 60)
            wrap = widths[i - 1] > 58
            for cell in ws[letter][1:]:
                if kind == "num":
                    cell.number_format = "0.##" if key in ("total", "base", "bonus") else "0"
                    cell.alignment = Alignment(horizontal="right")
                elif wrap:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = ws.dimensions
        ws.print_title_rows = "1:1"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    buf = io.BytesIO()
    wb.save(buf)
    return _stable_zip(buf.getvalue(), stamp)


def _stable_zip(data: bytes, stamp: dt.datetime) -> bytes:
    """Rewrite the XLSX zip with fixed member dates, and the modification date openpyxl sets
    to 'now' on save, so the same rows give the same bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    when = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                                 lambda m: m.group(1) + when + m.group(2), content)
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, content)
    return out.getvalue()


__all__ = ["Table", "rankings", "list_tables", "rectification", "sheet_names", "to_csv", "to_xlsx"]
