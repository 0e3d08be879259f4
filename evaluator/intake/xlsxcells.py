"""A workbook's cells read fast: python-calamine (Rust) parses the sheets about ten times
faster than openpyxl, and this module adds the little calamine does not tell, so cells read
exactly as intake.workbook's openpyxl reading reads them.

calamine gives each cell's value, turns a number in a date-formatted cell into a date (and
only there), says which sheets are hidden, and leaves a merged cell's text in its first cell.
It does not give a cell's number format, and it reads an error cell (#N/A) as empty. Both are
found in the sheet's XML by one scan for the few cells that need them: cells whose style shows
a percent sign (a number there reads as Excel shows it, '55.8%'), and error cells (kept as
their text, which evidence refuses as an Excel error). Anything this reading is not sure of —
a workbook calamine cannot open, a formula (calamine reads no formula text, and one without a
saved value must be refused naming it), a cell the scan cannot place — raises Unsure, and the
caller reads the file with openpyxl, which also reports what is wrong with a broken file.

Two cells read better than openpyxl read them: a number too large for a date in a date cell
(20260305 typed into a date column) is that number, which evidence reads as yyyymmdd, where
openpyxl made it the error #VALUE!; and text escaped as the file format says (_x0001_) is the
character it stands for, so a control character hidden that way is refused too.
"""
from __future__ import annotations

import datetime as dt
import io
import posixpath
import re
import zipfile
from decimal import Decimal
from xml.etree import ElementTree

from ..standard.yamlsafe import find_control

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_BUILTIN_PERCENT = {9: "0%", 10: "0.00%"}           # Excel's built-in number formats showing a percent
_REF = re.compile(rb'\sr="([A-Z]{1,3})([0-9]+)"')
_EXACT_INT = 2 ** 53                                # floats beyond this are kept as floats, as openpyxl does


class Unsure(Exception):
    """This reading cannot vouch for the file: read it with openpyxl instead."""


def read_cells(data: bytes, first_only: bool = False) -> list[tuple[str, list[list] | None, list]]:
    """Every worksheet as (title, rows, controls), in the workbook's order (only the first with
    first_only); rows None: a hidden sheet (not read). Cells: None for an empty cell, str, int
    (a whole number), float, bool, datetime (a date cell), time, timedelta, or the text Excel
    shows for a percent-formatted number. controls: (row, column, text) of each text cell
    holding a control character, to be refused there. Raises Unsure (also when a visible
    sheet holds a formula)."""
    import python_calamine
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        z = zipfile.ZipFile(io.BytesIO(data))
        parts = _sheet_parts(z)
        percent = _percent_styles(z)
        strings_dirty = "xl/sharedStrings.xml" in z.namelist() and _maybe_control(z.read("xl/sharedStrings.xml"))
    except Unsure:
        raise
    except Exception:                    # a file calamine cannot open: openpyxl says precisely why
        raise Unsure() from None
    out = []
    try:
        worksheets = [m for m in book.sheets_metadata if m.typ == python_calamine.SheetTypeEnum.WorkSheet]
        for meta in worksheets[:1] if first_only else worksheets:
            if meta.visible != python_calamine.SheetVisibleEnum.Visible:
                out.append((meta.name, None, []))
                continue
            part = parts.get(meta.name)
            if part is None:
                raise Unsure()
            xml = z.read(part)
            if _has_formula(xml) or b"='" in xml:
                raise Unsure()           # formulas need openpyxl; so do attributes in single quotes (rare)
            rows = [_plain(row) for row in book.get_sheet_by_name(meta.name).to_python(skip_empty_area=False)]
            _odd_cells(xml, rows, percent)
            dirty = strings_dirty or _maybe_control(xml)
            out.append((meta.name, rows, list(control_cells(rows)) if dirty else []))
    except Unsure:
        raise
    except Exception:                    # calamine's own errors (a damaged sheet): openpyxl reports them
        raise Unsure() from None
    finally:
        book.close()
    return out


def _plain(row: list) -> list:
    """calamine's cells as openpyxl gives them: '' is None, a whole float an int, a date a
    datetime (most cells are text or empty: those take the quick path)."""
    return [(v or None) if type(v) is str else _value(v) for v in row]


def _value(v):
    t = type(v)
    if t is float:
        return int(v) if v.is_integer() and -_EXACT_INT < v < _EXACT_INT else v
    if t is dt.date:
        return dt.datetime(v.year, v.month, v.day)
    return v


# The bytes that are control characters (tab, line feed and carriage return are not); the
# others are deleted by bytes.translate, which is quick, and whatever is left is one.
_NOT_CONTROL = bytes(b for b in range(256) if not (b <= 0x08 or b in (0x0B, 0x0C) or 0x0E <= b <= 0x1F or b == 0x7F))
_C1 = re.compile(rb"\xc2[\x80-\x9f]")              # U+0080..U+009F in UTF-8


def _maybe_control(xml: bytes) -> bool:
    """Whether a part's XML may hold a control character, raw, escaped (_x0001_) or C1:
    only then are its text cells searched one by one."""
    return (b"_x00" in xml or bool(xml.translate(None, _NOT_CONTROL))
            or (b"\xc2" in xml and _C1.search(xml) is not None))


def _has_formula(xml: bytes) -> bool:
    """A <f> element (not <filterColumn>), with or without a namespace prefix."""
    return _FORMULA.search(xml) is not None or (b":f" in xml and _FORMULA_NS.search(xml) is not None)


_FORMULA = re.compile(rb"<f[\s>/]")
_FORMULA_NS = re.compile(rb"<\w+:f[\s>/]")


def control_cells(rows: list[list]):
    """(row, column, text) of each text cell holding a control character, both from 1."""
    for n, row in enumerate(rows, start=1):
        text = "".join(v for v in row if type(v) is str)
        if text and find_control(text):
            for j, v in enumerate(row, start=1):
                if type(v) is str and find_control(v):
                    yield n, j, v


def _sheet_parts(z: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> its XML part in the zip (xl/worksheets/sheet1.xml)."""
    book = ElementTree.fromstring(z.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target") for r in rels.iter(f"{_PKG_REL}Relationship")}
    parts = {}
    for s in book.iter(f"{_MAIN}sheet"):
        t = target.get(s.get(f"{_REL}id"))
        if t is not None:
            parts[s.get("name")] = t.lstrip("/") if t.startswith("/") else posixpath.normpath(posixpath.join("xl", t))
    if not parts:
        raise Unsure()                   # another dialect (strict OOXML): openpyxl knows it
    return parts


def _percent_styles(z: zipfile.ZipFile) -> dict[int, str]:
    """Style index (a cell's s="…") -> its number format, for the formats that show a percent sign."""
    try:
        styles = ElementTree.fromstring(z.read("xl/styles.xml"))
    except KeyError:
        return {}
    codes = dict(_BUILTIN_PERCENT)
    for f in styles.iter(f"{_MAIN}numFmt"):
        codes[int(f.get("numFmtId"))] = f.get("formatCode") or ""
    xfs = styles.find(f"{_MAIN}cellXfs")
    out = {}
    for i, xf in enumerate(xfs if xfs is not None else ()):
        code = codes.get(int(xf.get("numFmtId") or 0), "")
        if "%" in code:
            out[i] = code
    return out


def _odd_cells(xml: bytes, rows: list[list], percent: dict[int, str]) -> None:
    """Percent-formatted numbers as the text Excel shows, error cells as their text (#N/A).
    The attribute is searched for as text (fast), then its element is checked to be a cell."""
    if percent:
        styled = re.compile(rb' s="(%s)"' % b"|".join(b"%d" % i for i in percent))
        for m in styled.finditer(xml):
            attrs = _cell_tag(xml, m.start())
            if attrs is None:
                continue                 # a row's or a column's style
            n, j = _place(attrs)
            if n < len(rows) and j < len(rows[n]):
                v = rows[n][j]
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    rows[n][j] = percent_text(v, percent[int(m.group(1))])
    for m in _ERROR_TYPE.finditer(xml):
        attrs = _cell_tag(xml, m.start())
        if attrs is None:
            continue
        n, j = _place(attrs)
        v = _ERROR_VALUE.match(xml, xml.index(b">", m.end()) + 1)
        if v is not None and n < len(rows) and j < len(rows[n]) and rows[n][j] is None:
            rows[n][j] = v.group(1).decode("utf-8", "replace")


_ERROR_TYPE = re.compile(rb' t="e"')
_ERROR_VALUE = re.compile(rb"""\s*<(?:\w+:)?v>([^<]*)<""")
_CELL_START = re.compile(rb"<(?:\w+:)?c\s")


def _cell_tag(xml: bytes, at: int) -> bytes | None:
    """The attributes of the start tag holding position `at`, if it is a cell's (<c …>)."""
    start = xml.rfind(b"<", 0, at)
    if start < 0 or not _CELL_START.match(xml, start):
        return None
    return xml[start:xml.find(b">", at)]


def percent_text(v: int | float, number_format: str) -> str:
    """A percent-formatted cell as the text Excel shows: 1.0 under '0%' is '100%'. A format
    with a literal percent sign ('0"%"', '0\\%') shows the number itself."""
    d = Decimal(str(v))
    if "%" in re.sub(r'"[^"]*"|\\.', "", number_format):
        d = d.scaleb(2)
    d = d.normalize() if d else Decimal(0)
    return format(d, "f") + "%"


def _place(attrs: bytes) -> tuple[int, int]:
    """A cell's r="AB12" as (row, column) from 0; a cell without one cannot be placed."""
    m = _REF.search(attrs)
    if m is None:
        raise Unsure()
    j = 0
    for ch in m.group(1):
        j = j * 26 + ch - 64
    return int(m.group(2)) - 1, j - 1
