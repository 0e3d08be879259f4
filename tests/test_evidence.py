"""Evidence intake: bulk XLSX/CSV, provenance, findings, and what real users type."""
import datetime as dt
from decimal import Decimal

import openpyxl
import pytest

from evaluator.errors import InputError
from evaluator.intake.evidence import collect, resolve
from evaluator.intake.rounds import load_registry, load_round
from evaluator.scoring.run import evaluate_round
from evaluator.standard.loader import load_standard

from conftest import FIXTURES

STD = load_standard(FIXTURES / "mini" / "mini.yaml")


def workbook(path, sheets):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    wb.save(path)


def test_xlsx_evidence_with_excel_dates_and_typed_values(tmp_path):
    p = tmp_path / "evidence.xlsx"
    workbook(p, {
        "values": [["organization", "field", "self", "verified", "inspector", "verified_on"],
                   ["C1", "centre_area", "５２０平方米", 505, "督导二组-李娜", dt.datetime(2026, 10, 20)],
                   ["C1", "members_full", 12, None, None, None],
                   ["C1", "serious_violation", "否", None, None, None],
                   [None, None, None, None, None, None]],
        "committee_meetings": [["organization", "date", "title", "source", "inspector"],
                               ["C1", dt.datetime(2026, 1, 9), "一月支委会", "self", None],
                               ["C1", 46062, "二月支委会", "自评", None],          # an Excel serial date
                               ["C1", "2026年3月9日", None, "核查", "督导二组-李娜"]],
    })
    raw, digest, files, _ = collect([p])
    ev, issues = resolve(raw["C1"], "C1", STD)
    assert issues == []
    assert ev.values["centre_area"] == Decimal(505)                      # verified wins
    assert ev.self_values["centre_area"] == Decimal(520)
    assert ev.provenance["centre_area"] == {"source": "verified", "inspector": "督导二组-李娜", "verified_on": "2026-10-20"}
    # the 3% area gap is within the 5% tolerance; the meeting records are not
    assert [f.message for f in ev.findings] == ["支部委员会会议记录：自报 2 条，核查 1 条，相差 1 条"]
    assert [r.date for r in ev.self_values["committee_meetings"]] == [dt.date(2026, 1, 9), dt.date(2026, 2, 9)]
    assert [r.date for r in ev.values["committee_meetings"]] == [dt.date(2026, 3, 9)]
    assert ev.values["serious_violation"] is False
    assert digest.startswith("sha256:") and files == [str(p)]


def test_xlsx_errors_name_the_sheet_row_and_column(tmp_path):
    p = tmp_path / "evidence.xlsx"
    workbook(p, {"values": [["organization", "field", "self"], ["C1", "centre_area", "NaN"]]})
    raw, _, _, _ = collect([p])
    _, issues = resolve(raw["C1"], "C1", STD)
    assert len(issues) == 1
    assert str(issues[0]).startswith(f"{p}:2:3: values!C2: 党群服务中心面积（centre_area）: 'NaN'")


def test_same_value_given_twice_is_an_error(tmp_path):
    (tmp_path / "values.csv").write_text("organization,field,self\nC1,members_full,3\n", encoding="utf-8")
    (tmp_path / "c1.yaml").write_text("organization: C1\nvalues:\n  members_full: 4\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        collect([tmp_path])
    assert str(e.value.issues[0]) == f"{tmp_path / 'values.csv'}:2:3: row 2.self: duplicate self value for organization 'C1' field 'members_full' (first given at {tmp_path / 'c1.yaml'}:3)"


def test_registry_from_xlsx_with_chinese_headers_and_types(tmp_path):
    p = tmp_path / "orgs.xlsx"
    workbook(p, {"组织": [["编号", "名称", "类型", "区县", "街道", "上级"],
                          ["A1", "区财政局机关党支部", "机关", "东区", "", ""],
                          ["V1", "南岗村党总支", "村", "东区", "南岗镇", ""],
                          [None, None, None, None, None, None]]})
    orgs = load_registry(p)
    assert [(o.id, o.type, o.street) for o in orgs] == [("A1", "agency", ""), ("V1", "village", "南岗镇")]


def test_a_registry_without_optional_columns_ignores_cells_past_its_header(tmp_path):
    # a stray cell after the last column (a note typed beside the row) is no district, street,
    # parent or person responsible: those columns are not in the header
    p = tmp_path / "orgs.csv"
    p.write_text("id,name,type\nC1,一社区党委,社区,第三网格备注\nC2,二社区党委,社区\n,,\n", encoding="utf-8")
    assert [(o.id, o.district, o.street, o.parent, o.responsible) for o in load_registry(p)] == \
        [("C1", "", "", "", ""), ("C2", "", "", "", "")]


def test_evidence_for_an_unknown_organization_stops_the_run(mini):
    (mini / "evidence" / "ghost.yaml").write_text("organization: C99\nvalues: {members_full: 3}\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        evaluate_round(load_round(mini / "round.yaml"))
    assert "evidence for organization 'C99', which is not in the registry" in str(e.value)


def test_a_verified_value_names_its_inspector(tmp_path):
    (tmp_path / "values.csv").write_text("organization,field,self,verified,inspector\nC1,members_full,3,4,\n", encoding="utf-8")
    raw, _, _, _ = collect([tmp_path])
    _, issues = resolve(raw["C1"], "C1", STD)
    assert [str(i) for i in issues] == [f"{tmp_path / 'values.csv'}:2:4: row 2.verified: 正式党员人数（members_full）: "
                                        "a verified value needs the inspector who verified it (inspector)"]


def test_records_from_a_document_and_a_bulk_file_clash_in_either_order(tmp_path):
    rows = "organization,field,date,source\nC1,committee_meetings,2026-01-05,self\n"
    for name in ("a_c1.yaml", "z_c1.yaml"):
        d = tmp_path / name[0]
        d.mkdir()
        (d / "records.csv").write_text(rows, encoding="utf-8")
        (d / name).write_text("organization: C1\nrecords:\n  committee_meetings: [2026-02-05]\n", encoding="utf-8")
        with pytest.raises(InputError) as e:
            collect([d])
        assert "duplicate self value for organization 'C1' field 'committee_meetings'" in str(e.value)


def test_records_rows_read_together_are_put_as_each_alone():
    """evidence.records_as_put (the columnar intake's, a partition's distinct (date, title)
    cells at once) puts what record_as_put puts for each row: the common row as its Record,
    any other as typed, for the general reader."""
    from evaluator.intake.evidence import record_as_put, records_as_put
    days = ["2026-03-05", "2026-03-05", "2026/3/5", "2026年3月5日", "20260305", " 2026-03-05 ", "无", "",
            "2026-02-30", "abc", "2026-03-05", "2026-03-05"]
    titles = ["", "一月", "", "一月", "", "", "", "", "", "", " 一月 ", "一月"]
    for _ in range(2):                   # unseen, then seen before
        got = records_as_put(days, titles)
        assert got == [record_as_put(d, t) for d, t in zip(days, titles)]
        assert [type(r).__name__ for r in got[:3]] == ["Record", "Record", "dict"]
    assert got[1] is records_as_put(["2026-03-05"], ["一月"])[0]     # one Record per spelling
