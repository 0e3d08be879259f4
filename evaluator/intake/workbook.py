"""Evidence workbooks (.xlsx): cells read as Excel shows them, sheets read by the layout their
header row shows, fields named by id or by Chinese label.

A sheet is a long values sheet (organization or street, field, self, verified …: one row per
value), a records sheet (organization, date …: one row per record) or a wide sheet (organization,
then a column per field and source, as `agrade template` writes it: intake.template). Labels are
read by the round's standards (the collector's `standards`), each row's by its organization's
standard; every refusal names the sheet and cell. The rows then go through the same readers as
bulk CSV files (intake.evidence), so a workbook's values are checked, verified and resolved
exactly as any other evidence's.
"""
from __future__ import annotations

import difflib
import io
import re
from itertools import zip_longest
from pathlib import Path

from ..errors import InputError, Issue
from ..model import Organization
from ..standard.yamlsafe import control_message, find_control, read_limited
from ..terms import ORG_TYPES
from .evidence import (_HEADER_ZH, Cell, Streets, _at, _cell, _cell_text, _padded, _rows_records, _rows_values,
                       _streets_of, column_letter, records_head, records_rows, streets_sheet)
from .xlsxcells import Unsure, percent_text, read_cells
from .template import OWN_SHEETS, SOURCE_MARK, AmbiguousHeader, FieldHeaders, RoundHeaders, is_field_id


def read_workbook(c, path: Path, data: bytes | None = None):
    """A workbook's sheets, each read by the layout its header shows (see _sheet_kind); the
    template's own sheets (填表说明, 可选值) are not evidence."""
    sheets, hidden = read_xlsx(path, data)
    if hidden:
        c.notices.append(Issue(str(path), 0, 0, "$", f"ignored hidden sheet(s): {', '.join(hidden)}"))
    file = str(path)
    seen: dict[str, Cell] = {}           # each organization has one row on the workbook's wide sheets
    for title, rows in sheets:
        if not rows or title in OWN_SHEETS:
            continue
        kind = _sheet_kind(title, rows[0])
        if kind == "wide":
            two = _two_row_header(rows)
            if two is not None:
                _rows_wide(c, [two] + rows[2:], file, title, seen, first=3)
            else:
                _rows_wide(c, rows, file, title, seen)
            continue
        rows = _named_fields(c, rows, file, title)
        cols = _col_names(rows[0])
        fid = None if "field" in cols else title     # a field column, or the sheet named after its field
        if kind == "values":
            _rows_values(c, rows, file, title)
        elif streets_sheet(rows[0]):
            street_records(c, rows, file, fid, title)
        else:
            _rows_records(c, rows, file, fid, title)


def street_records(c, rows: list[list], file: str, fid: str | None, sheet: str | None,
                   _cell_text=_cell_text) -> None:
    """A records sheet (or records CSV: sheet None) with a 街道 column instead of 组织编号 (the
    template's 街道会议活动记录: a street's 大工委 meetings): each row is its street's record,
    given to every organization of the street, as a street's values are
    (evidence._street_rows). The rows are read by the records reader itself, into a collector
    that gives each to the street's organizations."""
    streets = _streets_of(c)
    if streets is None:                  # read alone: no registry to give the records to
        return
    header = ["organization" if name == "street" else h for name, h in zip(_col_names(rows[0]), rows[0])]
    head = records_head(header, file, fid, sheet)
    records_rows(_StreetRecords(c, streets), head, enumerate(rows[1:], start=2), file, fid, sheet, _cell_text,
                 who="street")


class _StreetRecords:
    """The collector records_rows writes a street's rows into: `named` finds the street (a
    street no organization is in is refused at its cell, with "did you mean"), `put` gives the
    record to each of its organizations, carrying the street for provenance. A street's field
    is given by one sheet or document (evidence.Streets.given): its rows here are one listing.

    Read with the round's standards, a record goes only to the organizations whose standard
    has its field: a street's 两新 organizations do not read its 大工委 meetings, and resolving
    the field for them would take it for a misspelling of one of theirs (joint_meetings,
    committee_meetings). A field no standard of the round has, or none of the street's
    organizations reads, is refused at its cell: it would count for nobody."""

    def __init__(self, c, streets: Streets):
        self.c, self.streets, self.issues = c, streets, c.issues
        self.key: tuple[str, str] | None = None
        self.mine: set[tuple] = set()
        self.standards = getattr(c, "standards", None) or {}
        self.fields = sorted({f for s in self.standards.values() for f in s.fields})
        self.orgs = _registry(c)

    def _reads(self, org_id: str, fid: str) -> bool:
        standard = self.standards.get(self.orgs[org_id].type)
        return standard is None or fid in standard.fields      # (no standard: refused elsewhere)

    def named(self, text: str, file: str, where) -> None:
        self.key, why = self.streets.find(text) if text else (None, "street must not be blank")
        if self.key is None:
            self.issues.append(Issue(where.file, where.line, where.col, where.path, why))

    def put(self, _text, fid, source, record, where, inspector=None, verified_on=None, append=False,
            verified_on_where=None) -> None:
        if self.key is None:
            return                       # refused where the street is named
        if not fid:
            self.issues.append(Issue(where.file, where.line, where.col, where.path,
                                     "the row's field (记录类别) must not be blank"))
            return
        label = f"{self.key[0]}/{self.key[1]}" if self.key[0] else self.key[1]
        given = (self.key, fid)
        first = self.streets.given.get(given)
        if first is not None and given not in self.mine:
            self.issues.append(Issue(where.file, where.line, where.col, where.path,
                                     f"duplicate value for street '{label}' field '{fid}' (first given at {first.file}:{first.line})"))
            return
        members = self.streets.members[self.key]
        if self.standards:
            if fid not in self.fields:
                hint = difflib.get_close_matches(fid, self.fields, 1)
                self.issues.append(Issue(where.file, where.line, where.col, where.path,
                                         f"unknown field '{fid}': no standard of the round has it"
                                         + (f"; did you mean '{hint[0]}'?" if hint else "")))
                return
            members = [o for o in members if self._reads(o, fid)]
            if not members:              # it would count for nobody: say so rather than drop it
                self.issues.append(Issue(where.file, where.line, where.col, where.path,
                                         f"no organization of street '{label}' is scored on field '{fid}' "
                                         "(their standards do not have it): enter it for a street whose "
                                         "organizations read it, or delete the row"))
                return
        self.streets.given.setdefault(given, where)
        self.mine.add(given)
        for org in members:
            self.c.put(org, fid, source, record, where, inspector, verified_on, append=True,
                       verified_on_where=verified_on_where, street=label)


def _col_names(row) -> list[str]:
    """A header row's cells as column names ('' for an empty cell)."""
    return [_HEADER_ZH.get(str(h).strip(), str(h).strip().lower()) if h is not None else "" for h in row]


def _sheet_kind(title: str, head_row) -> str:
    """'values' (organization|street, field, self…: one row per value), 'records' (organization,
    date…: one row per record) or 'wide' (organization, then a column per field)."""
    cols = set(_col_names(head_row))
    if title == "values" or ("field" in cols and cols & {"self", "verified"}):
        return "values"
    if "date" in cols or "organization" not in cols:
        return "records"                 # (a sheet of neither is refused as records were)
    return "wide"


def _round_headers(c) -> RoundHeaders | None:
    """The header spellings of the round's standards (None: the collector was given none)."""
    headers = c.__dict__.get("_workbook_headers")    # made once per collector, for all its workbooks
    if headers is None and getattr(c, "standards", None):
        headers = c._workbook_headers = RoundHeaders(c.standards)
    return headers


def _registry(c) -> dict[str, Organization]:
    """The collector's registry by id (empty without one)."""
    by_id = c.__dict__.get("_workbook_registry")
    if by_id is None:
        by_id = c._workbook_registry = {o.id: o for o in getattr(c, "organizations", None) or ()}
    return by_id


def _named_fields(c, rows: list[list], file: str, sheet: str) -> list[list]:
    """A long sheet's field column may name a field by its label (记录类别 支部委员会会议记录):
    each is read by its organization's standard (a street's row: by the round's standards) and
    replaced by the field id. A name no standard knows is refused at its cell (the row is left out)."""
    names = _col_names(rows[0])
    headers = _round_headers(c)
    if "field" not in names or headers is None:
        return rows
    i_field = names.index("field")
    i_org = names.index("organization") if "organization" in names else None
    orgs = _registry(c)
    # (organization cell, field cell) -> the field id (None: the cell is left as it is): a
    # sheet repeats the same few labels for each organization, so most rows are one look-up
    known: dict[tuple, str | None] = {}
    out = [rows[0]]
    for n, row in enumerate(rows[1:], start=2):
        raw = row[i_field] if i_field < len(row) else None
        org_cell = row[i_org] if i_org is not None and i_org < len(row) else None
        key = (org_cell, raw)
        if key in known:
            fid = known[key]
            if fid is not None:
                row[i_field] = fid       # (read_xlsx's rows are this reading's own lists)
            out.append(row)
            continue
        text = _cell_text(raw)
        if not text or is_field_id(text):
            known[key] = None
            out.append(row)
            continue
        org = orgs.get(_cell_text(org_cell))
        h = headers.of_type(org.type) if org is not None else None
        w = _at(file, sheet, n, i_field + 1, "field")
        try:
            fid = h.field(text) if h is not None else headers.field(text)
        except AmbiguousHeader as e:
            c.issues.append(Issue(w.file, w.line, w.col, w.path, f"“{text}”对应多个指标（{'、'.join(e.ids)}）：请写明单位或指标编号"))
            out.append([None] * len(row))
            continue
        if fid is None:
            whose = f"组织 {org.id} 所用标准“{h.standard.title}”" if h is not None else "本轮考评标准"
            c.issues.append(Issue(w.file, w.line, w.col, w.path, f"“{text}”不是{whose}的指标{_hint(headers, text)}"))
            out.append([None] * len(row))
            continue
        known[key] = fid
        row[i_field] = fid
        out.append(row)
    return out


def _hint(headers: RoundHeaders, text: str) -> str:
    got = headers.hint(text)
    return f"；是否应为“{got}”？" if got else ""


# a wide sheet's own columns (the rest are fields); 名称 names the organization here, not a record
_WIDE_META = {"organization", "name", "inspector", "verified_on", "note", "district", "street", "type"}
_WIDE_ZH = {"名称": "name", "组织名称": "name", "类型": "type", "区县": "district"}


_MARKS = frozenset({"自评", "自评值", "核查", "核查值"})


def _two_row_header(rows: list[list]) -> list[str] | None:
    """A wide header on two rows, as departments draw it — a label merged over its 自评 and 核查
    columns, the marks on the row below — as one row ('label' + line break + mark; a merged
    cell's text is in its first cell only). None when the second row is not only marks."""
    if len(rows) < 2:
        return None
    marks = [_cell_text(x) for x in rows[1]]
    if not any(marks) or not all(m in _MARKS or m == "" for m in marks):
        return None
    head, last = [], ""
    for j in range(max(len(rows[0]), len(marks))):
        text = _cell_text(rows[0][j]) if j < len(rows[0]) else ""
        last = text or last
        mark = marks[j] if j < len(marks) else ""
        head.append(f"{last}\n{mark}" if mark else text)
    return head


def _rows_wide(c, rows: list[list], file: str, sheet: str, seen: dict, first: int = 2) -> None:
    """A wide sheet (the template's 社区, 村 …): one row per organization, a column per field
    and source; its rows are numbered from `first` (3 below a two-row header). A row's 核查人 and 核查日期 go with its 核查 cells; an empty cell is no value
    (write 无 in a 核查 cell for the inspector's "nothing found")."""
    head, columns = _wide_head(c, rows[0], file, sheet)
    if "organization" not in head:
        w = _at(file, sheet, 1, 1, "header")
        c.issues.append(Issue(w.file, w.line, w.col, w.path, "missing column organization (组织编号); "
                              "a sheet with a column per field needs one row per organization"))
        return
    headers = _round_headers(c)
    orgs = _registry(c)
    i_org, i_name = head["organization"], head.get("name")
    by_standard: dict[str, list] = {}    # standard id -> each column's field as that standard reads it
    i_insp, i_on = head.get("inspector"), head.get("verified_on")
    for n, row in _padded(enumerate(rows[1:], start=first), len(rows[0])):
        org_id = _cell_text(row[i_org])
        if not org_id:
            if any(_cell_text(x) for x in row):
                w = _at(file, sheet, n, i_org + 1, "organization")
                c.issues.append(Issue(w.file, w.line, w.col, w.path, "组织编号不能为空"))
            continue
        where = _cell(Cell, (file, n, i_org + 1, sheet, "organization"))
        first = seen.get(org_id)
        if first is not None:
            c.issues.append(Issue(file, n, i_org + 1, where.path,
                                  f"组织 {org_id} 重复出现（首次在 {first.path}）：每个组织只填一行，请合并后删除重复行"))
            continue
        seen[org_id] = where
        c.named(org_id, file, where)
        org = orgs.get(org_id)
        if org is not None and i_name is not None:
            name = _cell_text(row[i_name])
            if name and name != org.name:
                w = _at(file, sheet, n, i_name + 1, "name")
                c.issues.append(Issue(w.file, w.line, w.col, w.path, f"组织名称“{name}”与名册中 {org_id} 的名称“{org.name}”"
                                      "不一致：请核对该行是否错位"))
                continue
        h = headers.of_type(org.type) if headers is not None and org is not None else None
        fids = by_standard.get(h.standard.id) if h is not None else None
        if h is not None and fids is None:
            fids = by_standard[h.standard.id] = _wide_fields(c, h, columns, file, sheet)
        inspector = (_cell_text(row[i_insp]) or None) if i_insp is not None else None
        on = row[i_on] if i_on is not None and _cell_text(row[i_on]) else None
        on_where = _at(file, sheet, n, i_on + 1, "verified_on") if on is not None else None
        for k, (j, text, fid, source) in enumerate(columns):
            v = row[j]
            if v is None or _cell_text(v) == "":
                continue
            w = _cell(Cell, (file, n, j + 1, sheet, source))
            if fids is not None:
                fid = fids[k]
                if fid is None:
                    c.issues.append(Issue(w.file, w.line, w.col, w.path,
                                          f"“{_one_line(text)}”不是组织 {org_id}（{ORG_TYPES.get(org.type, org.type)}）所用标准"
                                          f"“{h.standard.title}”的指标：请把该组织的数据填在对应领域的工作表中"))
                    continue
                if fid is _AMBIGUOUS:
                    continue             # refused at its header
            if source == "verified":
                c.put(org_id, fid, source, v, w, inspector, on, verified_on_where=on_where)
            else:
                c.put(org_id, fid, source, v, w)


_AMBIGUOUS = object()


def _wide_fields(c, h: FieldHeaders, columns: list, file: str, sheet: str) -> list:
    """Each field column's field id as one standard reads its header (None: not its field;
    _AMBIGUOUS: refused at the header cell — a label several of its fields share, or a field and
    source a column before gives). Two standards may each read a column as theirs (社区常住户数,
    村常住户数: households of each), so this is asked of each standard the rows belong to."""
    fids = []
    first: dict[tuple[str, str], int] = {}
    for j, text, _, source in columns:
        w = _at(file, sheet, 1, j + 1, "header")
        try:
            got = h.column(text)
        except AmbiguousHeader as e:
            c.issues.append(Issue(w.file, w.line, w.col, w.path, f"表头“{_one_line(text)}”在标准“{h.standard.title}”中"
                                  f"对应多个指标（{'、'.join(e.ids)}）：请在表头写明单位或指标编号"))
            fids.append(_AMBIGUOUS)
            continue
        if got is not None and got in first:
            c.issues.append(Issue(w.file, w.line, w.col, w.path, f"表头“{_one_line(text)}”与 {column_letter(first[got] + 1)} "
                                  f"列是同一指标的同一来源（{SOURCE_MARK[got[1]]}）"))
            fids.append(_AMBIGUOUS)
            continue
        if got is not None:
            first[got] = j
        fids.append(got[0] if got is not None else None)
    return fids


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _wide_head(c, row, file: str, sheet: str) -> tuple[dict, list]:
    """A wide sheet's header: its own columns (name -> index) and its field columns as
    (index, header, field id as the round's standards read it, source). A header that is no
    field of the round, or a field and source given twice, is refused at its cell."""
    headers = _round_headers(c)
    head: dict[str, int] = {}
    columns: list[tuple[int, str, str, str]] = []
    for j, h in enumerate(row):
        text = _cell_text(h)
        if not text:
            continue
        name = _WIDE_ZH.get(text) or _HEADER_ZH.get(text, text.lower())
        w = _at(file, sheet, 1, j + 1, "header")
        if name in _WIDE_META:
            if name in head:
                c.issues.append(Issue(w.file, w.line, w.col, w.path,
                                      f"表头“{text}”与 {column_letter(head[name] + 1)} 列重复"))
            head.setdefault(name, j)
            continue
        try:
            got = headers.column(text) if headers is not None else (
                (text.strip(), "self") if is_field_id(text) else None)
        except AmbiguousHeader as e:
            c.issues.append(Issue(w.file, w.line, w.col, w.path,
                                  f"表头“{_one_line(text)}”对应多个指标（{'、'.join(e.ids)}）：请在表头写明单位或指标编号"))
            continue
        if got is None:
            if headers is None:
                why = "只有随考评轮次读取时（agrade validate round.yaml）才能识别中文表头；单独读取时表头须为指标编号"
            else:
                why = "不是本轮考评标准的指标，也不是 组织编号、组织名称、核查人、核查日期、备注" + _hint(headers, text)
            c.issues.append(Issue(w.file, w.line, w.col, w.path, f"表头“{_one_line(text)}”{why}"))
            continue
        columns.append((j, text, got[0], got[1]))    # a field given twice: refused per standard (_wide_fields)
    return head, columns


def read_xlsx(path: Path, data: bytes | None = None, first_only: bool = False,
              fast: bool = True) -> tuple[list[tuple[str, list[list]]], list[str]]:
    """The visible sheets of a workbook as (title, rows), and the titles of the hidden ones.

    Cells are read as Excel shows them, so nothing is misread: a date-formatted cell is a
    datetime, a percent-formatted number is the text '55.8%' (the cell holds 0.558), an error
    cell its text (#N/A); a formula whose value was never saved, or a control character, is
    refused at its cell. first_only: only the first sheet (the organization registry), which
    must be visible. A workbook without formulas is read by python-calamine (intake.xlsxcells,
    about five times faster); one with formulas, or one calamine's reading is not sure of, by openpyxl
    (fast=False: always), which reads every formula's text and names what is wrong with a
    broken file."""
    name = str(path)
    if data is None:
        data = read_limited(path, name)
    if fast:
        try:                             # (Unsure also when a visible sheet holds a formula)
            got = read_cells(data, first_only)
        except Unsure:
            pass
        else:
            sheets, hidden = _visible(name, [(title, rows) for title, rows, _ in got], first_only)
            issues = [_control_issue(name, title, n, j, v) for title, _, controls in got for n, j, v in controls]
            if issues:
                raise InputError(issues)
            return sheets, hidden
    return _read_openpyxl(name, data, first_only)


def _visible(name: str, sheets: list, first_only: bool) -> tuple[list, list[str]]:
    """(title, rows) of the visible sheets and the hidden sheets' titles (rows None: hidden);
    with first_only, a hidden first sheet is refused."""
    shown, hidden = [], []
    for title, rows in sheets:
        if rows is None:
            if first_only:
                raise InputError(Issue(name, 0, 0, "$", f"the first sheet '{title}' is hidden; "
                                                        "unhide it, or put the registry on the first sheet"))
            hidden.append(title)
            continue
        shown.append((title, rows))
    return shown, hidden


def _control_issue(name: str, sheet: str, n: int, col: int, text: str) -> Issue:
    w = _at(name, sheet, n, col)
    return Issue(w.file, w.line, w.col, w.path, control_message(find_control(text).group(), f"the cell {w.path}"))


def _read_openpyxl(name: str, data: bytes, first_only: bool) -> tuple[list[tuple[str, list[list]]], list[str]]:
    """read_xlsx by openpyxl: slower (it parses ~100,000 cells a second), but it reads formulas."""
    import openpyxl
    try:
        shown = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        # the cells are parsed again for the formulas only when the file holds one
        formulas = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False) if _has_formulas(data) else None
    except Exception as e:          # openpyxl raises many kinds for a broken file
        raise InputError(Issue(name, 0, 0, "$", f"cannot read as XLSX: {e}")) from None
    sheets, issues = [], []
    try:
        pairs = list(zip(shown.worksheets, formulas.worksheets if formulas is not None else [None] * len(shown.worksheets)))
        for ws, wf in pairs[:1] if first_only else pairs:
            if ws.sheet_state != "visible":
                sheets.append((ws.title, None))
                continue
            sheets.append((ws.title, _sheet_rows(name, ws, wf, issues)))
    finally:
        shown.close()
        if formulas is not None:
            formulas.close()
    if issues:
        raise InputError(issues)
    return _visible(name, sheets, first_only)


_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")      # a cell's <f> element (not <filterColumn …>)


def _has_formulas(data: bytes) -> bool:
    """Whether a worksheet of the file holds a formula, scanned in pieces (a sheet's XML may be
    large); an unreadable file says True, and openpyxl says what is wrong with it."""
    import zipfile
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for info in z.infolist():
                if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
                    continue
                with z.open(info) as f:
                    tail = b""
                    while chunk := f.read(1 << 20):
                        if _FORMULA.search(tail + chunk):
                            return True
                        tail = chunk[-16:]
    except Exception:                    # a broken zip: the readers refuse it precisely
        return True
    return False


def _sheet_rows(name: str, ws, wf, issues: list[Issue]) -> list[list]:
    # Read-only sheets trust the size the file declares; some writers declare it wrong, which
    # would cut off cells silently.
    ws.reset_dimensions()
    if wf is not None:
        wf.reset_dimensions()
    rows = []
    for n, (row, frow) in enumerate(zip_longest(ws.iter_rows(), wf.iter_rows() if wf is not None else (), fillvalue=()), start=1):
        values = []
        for j, cell in enumerate(row):
            values.append(_cell_value(name, ws.title, n, j + 1, cell, frow[j] if j < len(frow) else None, issues))
        rows.append(values)
    return rows


def _cell_value(name, sheet, n, col, cell, fcell, issues):
    v = cell.value
    if v is None:
        formula = getattr(fcell, "value", None)
        formula = getattr(formula, "text", formula)      # array formulas carry their text
        if isinstance(formula, str) and formula.startswith("="):
            w = _at(name, sheet, n, col)
            issues.append(Issue(w.file, w.line, w.col, w.path,
                                f"{w.path}: the formula {formula[:80]} has no saved value (the file was written by a "
                                "program that does not calculate formulas); open and save it in Excel or WPS, "
                                "or type the value itself"))
        return None
    if isinstance(v, str):
        if find_control(v):
            issues.append(_control_issue(name, sheet, n, col, v))
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool) and "%" in (cell.number_format or ""):
        return percent_text(v, cell.number_format)
    return v
