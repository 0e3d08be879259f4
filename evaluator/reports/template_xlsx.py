"""The evidence workbook (evaluator.intake.template's sheets) written as XLSX with openpyxl:
bold wrapped headers, frozen header row, readable widths, number formats by field type (dates,
percentages, whole numbers, text for ids), drop-downs from the visible options sheet, and a
prompt on each field column saying what to type. No formulas, no hidden sheets. The same round
gives the same bytes (fixed document and zip dates, as tables.to_xlsx)."""
from __future__ import annotations

import datetime as dt
import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..intake.template import Sheet
from .tables import _HEAD_FILL, _ILLEGAL_XML, _THIN, _stable_zip, sheet_names

FORMATS = {"id": "@", "text": "@", "integer": "General", "number": "General", "percentage": "0.00%",
           "date": "yyyy-mm-dd", "choice": "General"}
_LAST_ROW = 1_048_576            # validations and formats reach rows added below the prefilled ones


def to_xlsx(sheets: list[Sheet], *, title: str, author: str, when: dt.date) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    stamp = dt.datetime.combine(when, dt.time(0, 0))
    wb.properties.creator = wb.properties.lastModifiedBy = _ILLEGAL_XML.sub("", author)
    wb.properties.title = _ILLEGAL_XML.sub("", title)
    wb.properties.created = wb.properties.modified = stamp
    for sheet, name in zip(sheets, sheet_names([s.title for s in sheets])):
        ws = wb.create_sheet(name)
        if sheet.lines:
            _lines(ws, sheet)
        else:
            _table(ws, sheet)
    buf = io.BytesIO()
    wb.save(buf)
    return _stable_zip(buf.getvalue(), stamp)


def _lines(ws, sheet: Sheet) -> None:
    ws.column_dimensions["A"].width = sheet.columns[0].width
    for n, (line,) in enumerate(sheet.rows, start=1):
        cell = ws.cell(n, 1, line or None)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if n == 1 or (line and line[0] in "一二三四五六七八九十" and "、" in line[:3]):
            cell.font = Font(bold=True, size=14 if n == 1 else 11)


def _table(ws, sheet: Sheet) -> None:
    for j, col in enumerate(sheet.columns, start=1):
        cell = ws.cell(1, j, col.header)
        cell.font = Font(bold=True)
        cell.fill = _HEAD_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = Border(bottom=_THIN)
        ws.column_dimensions[get_column_letter(j)].width = col.width
    ws.row_dimensions[1].height = 15 * max(_lines_of(c.header, c.width) for c in sheet.columns)
    for row in sheet.rows:
        ws.append([_ILLEGAL_XML.sub("\ufffd", v) if isinstance(v, str) else v for v in row])
    for j, col in enumerate(sheet.columns, start=1):
        letter = get_column_letter(j)
        fmt = FORMATS[col.kind]
        if fmt != "General":
            # a column's format is what Excel gives every cell typed into it; the cells written
            # here (ids, names) carry it themselves
            ws.column_dimensions[letter].number_format = fmt
            for n in range(2, len(sheet.rows) + 2):
                ws.cell(n, j).number_format = fmt
        if col.choices or col.prompt:
            dv = DataValidation(type="list" if col.choices else None, formula1=col.choices, allow_blank=True,
                                showDropDown=False, showErrorMessage=bool(col.choices), showInputMessage=bool(col.prompt),
                                errorTitle="请从下拉列表中选择", error="请从下拉列表中选择，或清空单元格。",
                                promptTitle=col.header.replace("\n", " ")[:32], prompt=col.prompt[:255] or None)
            dv.add(f"{letter}2:{letter}{_LAST_ROW}")
            ws.add_data_validation(dv)
    ws.freeze_panes = sheet.freeze
    ws.auto_filter.ref = f"A1:{get_column_letter(len(sheet.columns))}{max(len(sheet.rows) + 1, 2)}"


def _lines_of(header: str, width: int) -> int:
    """Lines a wrapped header takes in a column `width` characters wide (CJK count twice)."""
    n = 0
    for part in header.split("\n"):
        w = sum(2 if ord(ch) > 0x2E7F else 1 for ch in part)
        n += max(1, -(-w // max(width - 1, 1)))
    return n


def round_template(rnd, organizations=None, self_only: bool = False, part: str = "") -> tuple[bytes, list[Sheet]]:
    """The evidence workbook of a round (intake.rounds.Round) as XLSX bytes, with its sheets:
    for `organizations` (default: the whole registry), titled with `part` (a street's name)."""
    from ..intake.template import workbook
    title = rnd.title + (f"（{part}）" if part else "")
    sheets = workbook(title, rnd.period, rnd.standards, rnd.organizations if organizations is None else organizations,
                      self_only)
    return to_xlsx(sheets, title=f"{title} 证据采集表", author=rnd.issuer, when=rnd.period[0]), sheets
