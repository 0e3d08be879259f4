"""Issue 6, item 4: spreadsheet cells are read as Excel shows them, or refused at their cell."""
import datetime as dt
from decimal import Decimal

import openpyxl
import pytest

from evaluator.errors import InputError
from evaluator.intake.evidence import collect
from evaluator.intake.rounds import load_registry, load_round
from evaluator.scoring.run import load_evidence

from helpers_intake import cli_refuses_alike, evidence_of, make_round, refusals


def workbook(path, sheets, hidden=(), formats=None):
    """sheets: name -> rows; formats: (sheet, cell) -> number format."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
        if name in hidden:
            ws.sheet_state = "hidden"
    for (sheet, cell), fmt in (formats or {}).items():
        wb[sheet][cell].number_format = fmt
    wb.save(path)
    return path.read_bytes()


HEAD = ["organization", "field", "self", "verified", "inspector"]


def test_formula_without_saved_value_is_refused_naming_sheet_cell_and_formula(tmp_path):
    data = workbook(tmp_path / "e.xlsx", {
        "values": [HEAD, ["C1", "members_full", 5], ["C1", "centre_area", 300], ["C1", "awards_city", 1],
                   ["C1", "awards_province", 0], ["C1", "awards_national", 0], ["C1", "grid_party_share", "50%"],
                   ["C1", "centre_area", "=SUM(A1:A3)*2"]],
        "committee_meetings": [["organization", "date"], ["C1", "=DATE(2026,1,5)"]],
    })
    r = make_round(tmp_path, {"e.xlsx": data})
    problems = refusals(r)
    f = tmp_path / "evidence" / "e.xlsx"
    assert problems[0].startswith(f"{f}:8:3: values!C8: values!C8: the formula =SUM(A1:A3)*2 has no saved value")
    assert problems[1].startswith(f"{f}:2:2: committee_meetings!B2: committee_meetings!B2: the formula =DATE(2026,1,5)")
    assert "save it in Excel" in problems[0]
    cli_refuses_alike(r, "values!C8", "=SUM(A1:A3)*2")


def test_formula_with_saved_value_is_read(tmp_path):
    # openpyxl cannot save cached values, so write the sheet XML of a file Excel saved
    import zipfile
    src = tmp_path / "src.xlsx"
    workbook(src, {"values": [HEAD, ["C1", "members_full", "=2+3"]]})
    out = tmp_path / "e.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<f>2+3</f><v />", b"<f>2+3</f><v>5</v>")
                assert b"<v>5</v>" in data
            zout.writestr(item, data)
    ev = evidence_of(make_round(tmp_path, {"e.xlsx": out.read_bytes()}))["C1"]
    assert ev.values["members_full"] == 5


def test_hidden_sheets_are_ignored_with_one_notice(tmp_path):
    data = workbook(tmp_path / "e.xlsx", {
        "values": [HEAD, ["C1", "members_full", 5]],
        "old": [HEAD, ["C1", "members_full", 99]],
        "committee_meetings": [["organization", "date"], ["C1", dt.datetime(2026, 1, 5)]],
        "草稿": [["organization", "date"], ["C1", dt.datetime(2026, 2, 5)]],
    }, hidden=("old", "草稿"))
    r = make_round(tmp_path, {"e.xlsx": data})
    rnd = load_round(r)
    ev = load_evidence(rnd)[0]["C1"]
    assert ev.values["members_full"] == 5
    assert [x.date.month for x in ev.values["committee_meetings"]] == [1]
    notices = [str(n) for n in rnd.notices]
    assert notices == [f"{tmp_path / 'evidence' / 'e.xlsx'}: $: ignored hidden sheet(s): old, 草稿"]


@pytest.mark.parametrize("value, fmt, want", [
    (1, "0%", Decimal("1")), (1.0, "0%", Decimal("1")), (0.558, "0.0%", Decimal("0.558")), (0, "0%", Decimal(0)),
    (0.6, "0.00%", Decimal("0.6")), (60, '0"%"', Decimal("0.6")), (60, "0\\%", Decimal("0.6")),
])
def test_percent_formatted_cells_are_percentages(tmp_path, value, fmt, want):
    data = workbook(tmp_path / "e.xlsx", {"values": [HEAD, ["C1", "grid_party_share", value]]},
                    formats={("values", "C2"): fmt})
    assert evidence_of(make_round(tmp_path, {"e.xlsx": data}))["C1"].values["grid_party_share"] == want


def test_bare_one_in_a_general_cell_is_ambiguous(tmp_path):
    data = workbook(tmp_path / "e.xlsx", {"values": [HEAD, ["C1", "grid_party_share", 1]]})
    [problem] = refusals(make_round(tmp_path, {"e.xlsx": data}))
    assert problem == (f"{tmp_path / 'evidence' / 'e.xlsx'}:2:3: values!C2: 网格员中党员占比（grid_party_share）: "
                       "1 is ambiguous for a percentage: write 1% or 100%")


def test_reading_errors_name_sheet_and_cell(tmp_path):
    workbook(tmp_path / "e.xlsx", {
        "values": [HEAD, ["C1", None, 5]],
        "committee_meetings": [["organization", "date", "source"], ["C1", "2026-01-05", "旁人"]],
    })
    f = tmp_path / "e.xlsx"
    with pytest.raises(InputError) as e:
        collect([f])
    assert [str(i) for i in e.value.issues] == [
        f"{f}:2:2: values!B2: organization and field must not be blank",
        f"{f}:2:3: committee_meetings!C2: source '旁人' must be self or verified (自评/核查)"]


def test_resolve_errors_name_sheet_and_cell(tmp_path):
    data = workbook(tmp_path / "e.xlsx", {
        "values": [HEAD, ["C1", "centre_area", "约500"], ["C1", "members_full", 5, 6, None]],
        "committee_meetings": [["organization", "date"], ["C1", "2026-01-05"], ["C1", "明天"]],
    })
    f = tmp_path / "evidence" / "e.xlsx"
    problems = refusals(make_round(tmp_path, {"e.xlsx": data}))
    assert any(p.startswith(f"{f}:2:3: values!C2: 党群服务中心面积（centre_area）: '约500' is not a number") for p in problems)
    assert any(p.startswith(f"{f}:3:4: values!D3: 正式党员人数（members_full）: a verified value needs the inspector")
               for p in problems)
    assert any(p.startswith(f"{f}:3:2: committee_meetings!B3: 支部委员会会议记录（committee_meetings）: '明天' is not a date")
               for p in problems)


def test_missing_header_names_the_sheet(tmp_path):
    data = workbook(tmp_path / "e.xlsx", {"values": [["organization", "self"], ["C1", 5]]})
    with pytest.raises(InputError) as e:
        collect([tmp_path / "e.xlsx"])
    assert str(e.value.issues[0]).startswith(f"{tmp_path / 'e.xlsx'}:1:1: values!A1: missing column(s) field")
    del data


def test_registry_xlsx_with_hidden_first_sheet_is_refused(tmp_path):
    workbook(tmp_path / "orgs.xlsx", {"old": [["id", "name", "type"], ["X", "x", "社区"]],
                                      "orgs": [["id", "name", "type"], ["C1", "甲", "社区"]]}, hidden=("old",))
    with pytest.raises(InputError) as e:
        load_registry(tmp_path / "orgs.xlsx")
    assert "the first sheet 'old' is hidden" in str(e.value)


def test_registry_xlsx_formula_without_value_is_refused(tmp_path):
    workbook(tmp_path / "orgs.xlsx", {"orgs": [["id", "name", "type"], ["C1", "=UPPER(\"x\")", "社区"]]})
    with pytest.raises(InputError) as e:
        load_registry(tmp_path / "orgs.xlsx")
    assert str(e.value.issues[0]).startswith(f"{tmp_path / 'orgs.xlsx'}:2:2: orgs!B2: orgs!B2: the formula =UPPER")
