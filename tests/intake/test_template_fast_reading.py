"""Issue 10 follow-up: evidence workbooks are read by python-calamine (intake.xlsxcells), many
times faster than openpyxl, and every cell reads as it did: dates only from date cells,
percent-formatted numbers as the percentage shown, error cells refused as Excel errors, control
characters refused at their cell, hidden sheets reported, merged two-row headers. A workbook
with formulas is still read by openpyxl, which sees their text."""
import datetime as dt

import openpyxl
import pytest

from evaluator.errors import InputError
from evaluator.intake.workbook import read_xlsx

from helpers_intake import make_round, refusals


def _book(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "社区"
    ws.append(["组织编号", "党群服务中心面积", None, "网格员中党员占比", "上次换届日期", "备注"])
    ws.merge_cells("B1:C1")                            # a label merged over its two columns
    ws.append([None, "自评", "核查", "自评", "自评", None])
    rows = [["C1", 500, 480.5, 0.558, dt.datetime(2021, 5, 3), "２３人"],
            ["C2", "500平方米", 1e20, 1, 44319, True],
            ["C3", "#N/A", "#DIV/0!", 0.6, dt.time(10, 30), "第一行\n第二行"]]
    for r in rows:
        ws.append(r)
    for n in range(3, 6):
        ws.cell(n, 4).number_format = "0.0%"
    ws.cell(4, 5).number_format = 'yyyy"年"m"月"d"日"'   # a date format as Chinese Excel writes it
    ws.cell(3, 3).number_format = '0"%"'                # a literal percent sign
    far = wb.create_sheet("会议活动记录")
    far["C5"] = "从 C5 开始的表"                          # rows and columns before it are empty
    far["D6"] = dt.datetime(2026, 3, 5)
    old = wb.create_sheet("旧表")
    old["A1"] = "不读"
    old.sheet_state = "hidden"
    wb.save(path)
    return path


def _trimmed(sheets):
    """Rows without trailing empty cells or rows (the readers pad rows differently)."""
    out = []
    for title, rows in sheets:
        rows = [list(r) for r in rows]
        for r in rows:
            while r and r[-1] is None:
                r.pop()
        while rows and not rows[-1]:
            rows.pop()
        out.append((title, rows))
    return out


def test_every_cell_reads_as_openpyxl_reads_it_without_openpyxl(tmp_path, monkeypatch):
    path = _book(tmp_path / "e.xlsx")
    slow = read_xlsx(path, fast=False)
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: pytest.fail("openpyxl read a workbook without formulas"))
    fast = read_xlsx(path)
    assert _trimmed(fast[0]) == _trimmed(slow[0])
    assert fast[1] == slow[1] == ["旧表"]
    sheet = dict(_trimmed(fast[0]))
    assert sheet["社区"][2] == ["C1", 500, "480.5%", "55.8%", dt.datetime(2021, 5, 3), "２３人"]
    assert sheet["社区"][3][1:5] == ["500平方米", 1e20, "100%", dt.datetime(2021, 5, 3)]   # a day number in a date cell
    assert sheet["社区"][4][1:3] == ["#N/A", "#DIV/0!"]
    assert sheet["会议活动记录"][4] == [None, None, "从 C5 开始的表"] and sheet["会议活动记录"][5][3] == dt.datetime(2026, 3, 5)


def test_an_error_cell_is_refused_at_its_cell(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "社区"
    ws.append(["组织编号", "正式党员人数", "党群服务中心面积"])
    ws.append(["C1", "#N/A", 300])
    wb.save(tmp_path / "e.xlsx")
    r = make_round(tmp_path, {"e.xlsx": (tmp_path / "e.xlsx").read_bytes()})
    [problem] = refusals(r)
    assert problem.startswith(f"{tmp_path / 'evidence' / 'e.xlsx'}:2:2: 社区!B2: 正式党员人数（members_full）: ")
    assert "Excel error" in problem


def test_a_control_character_is_refused_at_its_cell_by_both_readers(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "values"
    ws.append(["organization", "field", "self"])
    ws.append(["C1", "members_full", "5"])
    ws.append(["C1", "centre_area", "300\x85"])          # NEL, a C1 control character
    wb.save(tmp_path / "e.xlsx")
    for fast in (True, False):
        with pytest.raises(InputError) as e:
            read_xlsx(tmp_path / "e.xlsx", fast=fast)
        [issue] = e.value.issues
        assert str(issue).startswith(f"{tmp_path / 'e.xlsx'}:3:3: values!C3: ")
        assert "x0085" in str(issue)


def test_dates_of_a_workbook_saved_with_the_1904_calendar(tmp_path):
    """Excel for Mac may count days from 1904: the same cell is the same date."""
    from openpyxl.utils.datetime import CALENDAR_MAC_1904
    wb = openpyxl.Workbook()
    wb.epoch = CALENDAR_MAC_1904
    wb.active.append([dt.datetime(2026, 3, 5), 0.5])
    wb.active["B1"].number_format = "0%"
    wb.save(tmp_path / "mac.xlsx")
    assert read_xlsx(tmp_path / "mac.xlsx")[0][0][1] == [[dt.datetime(2026, 3, 5), "50%"]]
