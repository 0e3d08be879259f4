"""Issue 6, item 2: an inspector named, the verified value blank-like: a verified "no value".
The organization's own figure is not used, and the result says so."""
import openpyxl
import pytest

from helpers_intake import evidence_of, make_round, result_of

INSPECTOR = "督导组-王敏"


@pytest.mark.parametrize("blank", ["无", "-", "/", "未填", "N/A", "''", "null", "", "—", "Ｎ／Ａ"])
def test_yaml_verified_blank_gives_no_value_and_a_finding(tmp_path, blank):
    text = ("organization: C1\nvalues:\n  members_full: 5\n"
            f"  centre_area: {{self: 520平方米, verified: {blank}, inspector: {INSPECTOR}, verified_on: 2026-10-12}}\n")
    r = make_round(tmp_path, {"c1.yaml": text})
    ev = evidence_of(r)["C1"]
    assert "centre_area" not in ev.values
    assert ev.self_values["centre_area"] == 520                     # the self-assessment still sees its own figure
    assert ev.provenance["centre_area"] == {"source": "verified", "inspector": INSPECTOR, "verified_on": "2026-10-12",
                                           "blank": True}
    [f] = ev.findings
    assert (f.kind, f.field, f.self_value, f.verified_value) == ("verified_blank", "centre_area", 520, None)
    assert f.message == f"党群服务中心面积：核查值为空（核查人 {INSPECTOR}），未采用自报值 520 平方米"
    assert ev.notes["centre_area"] == f"核查值为空（核查人：{INSPECTOR}），未采用自报值"
    # the criterion reading the field is not reviewed, and its reason carries the note
    result = result_of(r, "C1")
    g12 = next(c for c in result["criteria"] if c["id"] == "G1.2")
    assert g12["outcome"] == "not_reviewed"
    assert f"核查值为空（核查人：{INSPECTOR}），未采用自报值" in g12["reason"]
    assert {"kind": "verified_blank", "field": "centre_area", "self": 520, "verified": None,
            "message": f.message} in result["findings"]


def test_boolean_wu_is_a_verified_false(tmp_path):
    text = f"organization: C1\nvalues:\n  has_team: {{self: 是, verified: 无, inspector: {INSPECTOR}}}\n"
    ev = evidence_of(make_round(tmp_path, {"c1.yaml": text}))["C1"]
    assert ev.values["has_team"] is False
    assert "blank" not in ev.provenance["has_team"]
    assert [f.kind for f in ev.findings] == ["self_report_mismatch"]


def test_boolean_dash_is_a_verified_blank(tmp_path):
    text = f"organization: C1\nvalues:\n  has_team: {{self: 是, verified: '-', inspector: {INSPECTOR}}}\n"
    ev = evidence_of(make_round(tmp_path, {"c1.yaml": text}))["C1"]
    assert "has_team" not in ev.values
    assert ev.findings[0].message == f"是否有常备志愿服务队：核查值为空（核查人 {INSPECTOR}），未采用自报值 是"


def test_csv_row_with_inspector_and_empty_verified_is_seen(tmp_path):
    csv_text = ("organization,field,self,verified,inspector,verified_on\n"
                f"C1,members_full,5,,{INSPECTOR},2026-10-12\n"
                "C1,centre_area,480,,,\n")                               # nobody named: simply not verified
    ev = evidence_of(make_round(tmp_path, {"values.csv": csv_text}))["C1"]
    assert "members_full" not in ev.values
    assert ev.provenance["members_full"]["blank"] is True
    assert ev.findings[0].message == f"正式党员人数：核查值为空（核查人 {INSPECTOR}），未采用自报值 5 人"
    assert ev.values["centre_area"] == 480 and ev.provenance["centre_area"] == {"source": "self"}
    assert len(ev.findings) == 1


def test_csv_blank_like_token_with_inspector(tmp_path):
    csv_text = f"organization,field,self,verified,inspector\nC1,grid_party_share,55%,未填,{INSPECTOR}\n"
    ev = evidence_of(make_round(tmp_path, {"values.csv": csv_text}))["C1"]
    assert "grid_party_share" not in ev.values
    assert ev.findings[0].message == f"网格员中党员占比：核查值为空（核查人 {INSPECTOR}），未采用自报值 55%"


def test_xlsx_row_with_inspector_and_empty_verified_is_seen(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "values"
    ws.append(["organization", "field", "self", "verified", "inspector"])
    ws.append(["C1", "centre_area", 520, None, INSPECTOR])
    ws.append(["C1", "members_full", 5, None, None])
    wb.save(tmp_path / "e.xlsx")
    ev = evidence_of(make_round(tmp_path, {"e.xlsx": (tmp_path / "e.xlsx").read_bytes()}))["C1"]
    assert "centre_area" not in ev.values and ev.provenance["centre_area"]["blank"] is True
    assert ev.values["members_full"] == 5


def test_verified_blank_without_self_value(tmp_path):
    text = f"organization: C1\nvalues:\n  centre_area: {{verified: 无, inspector: {INSPECTOR}}}\n"
    ev = evidence_of(make_round(tmp_path, {"c1.yaml": text}))["C1"]
    assert "centre_area" not in ev.values
    assert ev.findings[0].message == f"党群服务中心面积：核查值为空（核查人 {INSPECTOR}），无自报值"


def test_verified_blank_records(tmp_path):
    text = (f"organization: C1\nrecords:\n  committee_meetings: {{self: [2026-01-05, 2026-04-05], verified: 无, "
            f"inspector: {INSPECTOR}}}\n")
    ev = evidence_of(make_round(tmp_path, {"c1.yaml": text}))["C1"]
    assert "committee_meetings" not in ev.values
    assert ev.findings[0].message == f"支部委员会会议记录：核查值为空（核查人 {INSPECTOR}），未采用自报值 2 条记录"


def test_verified_empty_list_is_verified_zero_records_not_blank(tmp_path):
    text = f"organization: C1\nrecords:\n  committee_meetings: {{self: [2026-01-05], verified: [], inspector: {INSPECTOR}}}\n"
    ev = evidence_of(make_round(tmp_path, {"c1.yaml": text}))["C1"]
    assert ev.values["committee_meetings"] == ()
    assert [f.kind for f in ev.findings] == ["self_report_mismatch"]


def test_verified_blank_on_a_blank_zero_field_counts_zero(tmp_path):
    text = f"organization: C1\nvalues:\n  awards_city: {{self: 3, verified: 无, inspector: {INSPECTOR}}}\n"
    ev = evidence_of(make_round(tmp_path, {"c1.yaml": text}))["C1"]
    assert ev.values["awards_city"] == 0 and ev.self_values["awards_city"] == 3
    assert ev.provenance["awards_city"]["blank"] is True
    assert ev.notes["awards_city"] == f"核查值为空（核查人：{INSPECTOR}），按 0 计，未采用自报值"
    assert ev.findings[0].kind == "verified_blank"
