"""Issue 6, item 1: a bare number is a date only where Excel stored it as one (an .xlsx cell);
years, year-months and day numbers typed anywhere else are refused where they stand."""
import datetime as dt

import openpyxl
import pytest

from evaluator.intake.normalize import NormalizeError, normalize
from evaluator.model import Field, Record

from helpers_intake import cli_refuses_alike, evidence_of, make_round, refusals

WHEN = Field("last_election", "date", label="上次换届日期")
MEETINGS = Field("committee_meetings", "records", label="支部委员会会议记录")


def values_csv(cell: str) -> dict:
    return {"values.csv": f"organization,field,self\nC1,last_election,{cell}\n"}


# ------------------------------------------------------------------ bare numbers, by file type

@pytest.mark.parametrize("cell, words", [
    ("2023", ["2023 is a year, not a date", "2023-03-05"]),
    ("202603", ["202603 is a year and month (2026-03), not a date", "2026-03-05"]),
    ("46000", ["46000 is a number, not a date", "only from .xlsx", "2025-12-09"]),
    ("45000.5", ["not a date"]),
    ("2026-03", ["is a year and month", "2026-03-05"]),
    ("2023年", ["is a year, not a date"]),
])
def test_csv_value_numbers_are_not_dates(tmp_path, cell, words):
    [problem] = refusals(make_round(tmp_path, values_csv(cell)))
    where = f"{tmp_path / 'evidence' / 'values.csv'}:2:3: row 2.self: 上次换届日期（last_election）: "
    assert problem.startswith(where)
    for w in words:
        assert w in problem


def test_csv_records_date_46000_is_refused_at_its_cell(tmp_path):
    csv_text = "organization,field,date,title\nC1,committee_meetings,2026-01-05,\nC1,committee_meetings,46000,\n"
    [problem] = refusals(make_round(tmp_path, {"records.csv": csv_text}))
    assert problem.startswith(f"{tmp_path / 'evidence' / 'records.csv'}:3:3: row 3.date: 支部委员会会议记录（committee_meetings）: ")
    assert "46000 is a number, not a date" in problem and "2025-12-09" in problem


def test_yaml_year_and_records_number_refused_with_line_and_column(tmp_path):
    text = ("organization: C1\nvalues:\n  last_election: 2023\nrecords:\n"
            "  committee_meetings: [2026-01-05, 46000]\n")
    problems = refusals(make_round(tmp_path, {"c1.yaml": text}))
    f = tmp_path / "evidence" / "c1.yaml"
    assert problems[0].startswith(f"{f}:3:3: $.values.last_election: 上次换届日期（last_election）: 2023 is a year, not a date")
    assert problems[1].startswith(f"{f}:5:3: $.records.committee_meetings: ")
    assert "46000 is a number, not a date" in problems[1]


def test_json_year_month_refused_with_line_and_column(tmp_path):
    text = '{\n  "organization": "C1",\n  "values": {\n    "last_election": 202603\n  }\n}\n'
    [problem] = refusals(make_round(tmp_path, {"c1.json": text}))
    assert problem.startswith(f"{tmp_path / 'evidence' / 'c1.json'}:4:5: $.values.last_election: ")
    assert "202603 is a year and month (2026-03), not a date; write the full date such as 2026-03-05" in problem


def test_verified_on_day_number_refused_outside_xlsx(tmp_path):
    text = "organization,field,self,verified,inspector,verified_on\nC1,members_full,5,5,督导组-王敏,46000\n"
    [problem] = refusals(make_round(tmp_path, {"values.csv": text}))
    assert problem.startswith(f"{tmp_path / 'evidence' / 'values.csv'}:2:6: row 2.verified_on: verified_on: 46000 is a number")


def test_cli_refuses_a_year_alike_in_validate_and_evaluate(tmp_path):
    cli_refuses_alike(make_round(tmp_path, values_csv("2023")), "values.csv:2:3:", "2023 is a year, not a date")


# ------------------------------------------------------------------ XLSX: day numbers are legitimate

def test_xlsx_numbers_in_date_columns_are_excel_day_numbers(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "values"
    ws.append(["organization", "field", "self", "verified", "inspector", "verified_on"])
    ws.append(["C1", "last_election", 46086, None, None, None])
    ws.append(["C1", "members_full", 5, 5, "督导组-王敏", 46310])
    rec = wb.create_sheet("committee_meetings")
    rec.append(["organization", "date", "title"])
    rec.append(["C1", 46062, "二月"])
    rec.append(["C1", dt.datetime(2026, 3, 9), "三月"])
    wb.save(tmp_path / "e.xlsx")
    ev = evidence_of(make_round(tmp_path, {"e.xlsx": (tmp_path / "e.xlsx").read_bytes()}))["C1"]
    assert ev.values["last_election"] == dt.date(2026, 3, 5)
    assert ev.provenance["members_full"]["verified_on"] == "2026-10-15"
    assert ev.values["committee_meetings"] == (Record(dt.date(2026, 2, 9), "二月"), Record(dt.date(2026, 3, 9), "三月"))


@pytest.mark.parametrize("cell, words", [(2023, "2023 is a year, not a date"), ("46086", "46086 is a number, not a date"),
                                         (202603, "202603 is a year and month")])
def test_xlsx_years_and_text_digits_are_still_refused(tmp_path, cell, words):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "values"
    ws.append(["organization", "field", "self"])
    ws.append(["C1", "last_election", cell])
    wb.save(tmp_path / "e.xlsx")
    [problem] = refusals(make_round(tmp_path, {"e.xlsx": (tmp_path / "e.xlsx").read_bytes()}))
    assert problem.startswith(f"{tmp_path / 'evidence' / 'e.xlsx'}:2:3: values!C2: 上次换届日期（last_election）: {words}")


# ------------------------------------------------------------------ what stays accepted

@pytest.mark.parametrize("cell", ["2026-03-05", "2026/3/5", "2026.3.5", "2026年3月5日", "20260305", "2026-03-05 23:59:59",
                                  "2026-03-05T10:30:00+08:00", "2026-03-05T23:30:00Z", "2026-03-05 23:30 -05:00",
                                  "2026-03-05 00:00", "2026年3月5日 10:30"])
def test_date_spellings_accepted_in_csv(tmp_path, cell):
    assert evidence_of(make_round(tmp_path, values_csv(cell)))["C1"].values["last_election"] == dt.date(2026, 3, 5)


def test_yaml_datetimes_keep_the_date_as_written(tmp_path):
    text = ("organization: C1\nvalues:\n  last_election: 2026-03-05T23:30:00+08:00\nrecords:\n"
            "  committee_meetings: [2026-03-05 23:59:59, 2026-03-06T00:30:00-05:00, 20260307]\n")
    ev = evidence_of(make_round(tmp_path, {"c1.yaml": text}))["C1"]
    assert ev.values["last_election"] == dt.date(2026, 3, 5)
    assert [r.date.day for r in ev.values["committee_meetings"]] == [5, 6, 7]


# ------------------------------------------------------------------ times of day and calendar bounds

@pytest.mark.parametrize("cell", ["2026-03-05 25:00", "2026-03-05 24:00", "2026-03-05 23:60", "2026-03-05 23:59:60",
                                  "2026-03-05 10:30 +24:00"])
def test_impossible_times_refused_in_csv(tmp_path, cell):
    [problem] = refusals(make_round(tmp_path, values_csv(cell)))
    assert problem.startswith(f"{tmp_path / 'evidence' / 'values.csv'}:2:3: row 2.self: ")
    assert "impossible time" in problem and repr(cell) in problem


def test_impossible_time_in_yaml_timestamp_refused_at_its_line(tmp_path):
    text = "organization: C1\nvalues:\n  last_election: 2026-03-05 25:00:00\n"
    [problem] = refusals(make_round(tmp_path, {"c1.yaml": text}))
    assert problem.startswith(f"{tmp_path / 'evidence' / 'c1.yaml'}:3:18: $.values.last_election: invalid date "
                              "'2026-03-05 25:00:00': hour must be in 0..23")


def test_time_bounds():
    assert normalize("2026-03-05 23:59:59", WHEN) == dt.date(2026, 3, 5)
    assert normalize("2026-03-05 00:00:00", WHEN) == dt.date(2026, 3, 5)
    for bad in ("2026-03-05 24:00", "2026-03-05 24:00:00", "2026-03-05 25:00"):
        with pytest.raises(NormalizeError, match="hours run 0-23"):
            normalize(bad, WHEN)


_MONTH_ENDS = {1: 31, 2: 28, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}


@pytest.mark.parametrize("month", range(1, 13))
def test_first_and_last_day_of_every_month(month):
    last = _MONTH_ENDS[month]
    for text in (f"2026-{month:02}-01", f"2026/{month}/{last}", f"2026年{month}月{last}日", f"2026{month:02}{last:02}"):
        assert normalize(text, WHEN).month == month
    for text in (f"2026-{month:02}-{last + 1}", f"2026{month:02}{last + 1:02}", f"2026-{month:02}-00"):
        with pytest.raises(NormalizeError, match="not a valid date"):
            normalize(text, WHEN)


@pytest.mark.parametrize("year, leap", [(2024, True), (2026, False), (2000, True), (2100, False)])
def test_29_february(year, leap):
    for text in (f"{year}-02-29", f"{year}0229", int(f"{year}0229")):
        if leap:
            assert normalize(text, WHEN) == dt.date(year, 2, 29)
        else:
            with pytest.raises(NormalizeError, match="day is out of range"):
                normalize(text, WHEN)


def test_records_numbers_need_xlsx():
    with pytest.raises(NormalizeError, match="Excel day numbers are read only from .xlsx"):
        normalize([46062], MEETINGS)
    assert normalize([46062, {"date": 46063}], MEETINGS, excel=True)[0].date == dt.date(2026, 2, 9)
    assert normalize([20260209], MEETINGS)[0].date == dt.date(2026, 2, 9)
