"""Issue 10, Excel evidence: the workbook `agrade template` writes is read back as people fill
it — Chinese headers, full-width digits, units, percentages, date cells, blanks — and every
mistake is refused at its sheet and cell with the value and what to write instead."""
import datetime as dt
from decimal import Decimal

import openpyxl
import pytest

from evaluator.errors import InputError
from evaluator.intake.evidence import collect
from evaluator.intake.rounds import load_round
from evaluator.reports.template_xlsx import round_template

from evaluator.scoring.run import evaluate_round

from helpers_intake import ORGS, cli_refuses_alike, evidence_of, make_round, refusals

AREA, AREA_V = "党群服务中心面积（平方米）\n自评", "党群服务中心面积（平方米）\n核查"
MEMBERS, SHARE, ELECTION = "正式党员人数（人）\n自评", "网格员中党员占比\n自评", "上次换届日期\n自评"


class Filled:
    """The template of the intake test round, opened for filling like a spreadsheet."""

    def __init__(self, tmp_path, orgs=ORGS):
        self.round = make_round(tmp_path, {}, orgs)
        data, _ = round_template(load_round(self.round))
        self.path = tmp_path / "evidence" / "证据采集表.xlsx"
        self.path.write_bytes(data)
        self.wb = openpyxl.load_workbook(self.path)
        ws = self.wb["社区"]
        self.col = {c.value: c.column for c in ws[1]}
        self.row = {ws.cell(n, 1).value: n for n in range(2, ws.max_row + 1)}

    def put(self, org, header, value):
        self.wb["社区"].cell(self.row[org], self.col[header], value)
        return f"社区!{openpyxl.utils.get_column_letter(self.col[header])}{self.row[org]}"

    def save(self):
        self.wb.save(self.path)
        return self.round


def test_values_typed_as_people_type_them(tmp_path):
    t = Filled(tmp_path)
    t.put("C1", MEMBERS, "２３")                       # full-width digits
    t.put("C1", AREA, "500平方米")                     # with its unit
    t.put("C1", AREA_V, 480)
    t.put("C1", "核查人", "督导一组-王敏")
    t.put("C1", "核查日期", dt.datetime(2026, 10, 12))  # a date cell
    t.put("C1", SHARE, "60%")                          # typed as text
    t.put("C2", SHARE, 0.555)                          # a number in the percent-formatted column
    t.put("C1", ELECTION, dt.datetime(2021, 5, 3))
    t.put("C2", ELECTION, 44319)                       # an Excel day number
    t.put("C1", "是否有常备志愿服务队\n自评", "是")
    ev = evidence_of(t.save())
    c1, c2 = ev["C1"], ev["C2"]
    assert c1.values["members_full"] == 23
    assert c1.values["centre_area"] == 480 and c1.self_values["centre_area"] == 500
    assert c1.provenance["centre_area"] == {"source": "verified", "inspector": "督导一组-王敏", "verified_on": "2026-10-12"}
    assert c1.provenance["members_full"] == {"source": "self"}     # the row's inspector verified only the area
    assert [f.kind for f in c1.findings] == ["self_report_mismatch"]
    assert c1.values["grid_party_share"] == Decimal("0.6") and c2.values["grid_party_share"] == Decimal("0.555")
    assert c1.values["last_election"] == dt.date(2021, 5, 3) == c2.values["last_election"]
    assert c1.values["has_team"] is True
    assert "centre_area" not in c2.values and "members_full" not in c2.values    # blank cells: no evidence
    assert c2.values["awards_city"] == 0                                          # blank: zero, as in any file


def test_an_empty_template_is_no_evidence(tmp_path):
    t = Filled(tmp_path)
    ev = evidence_of(t.save())
    assert set(ev) == {"C1", "C2"}
    assert not ev["C1"].self_values.keys() - {"awards_city", "awards_province", "awards_national", "trainings"}


def test_bad_value_is_refused_at_its_cell_by_validate_and_evaluate(tmp_path):
    t = Filled(tmp_path)
    cell = t.put("C2", AREA, "约500")
    r = t.save()
    [problem] = refusals(r)
    assert problem.startswith(f"{t.path}:3:7: {cell}: 党群服务中心面积（centre_area）: '约500' is not a number")
    assert cell == "社区!G3"
    cli_refuses_alike(r, "社区!G3", "约500")


def test_a_verified_cell_needs_the_rows_inspector(tmp_path):
    t = Filled(tmp_path)
    cell = t.put("C1", AREA_V, 480)
    assert any(p.startswith(f"{t.path}:2:8: {cell}: 党群服务中心面积（centre_area）: a verified value needs the inspector")
               for p in refusals(t.save()))


def test_verified_none_is_written_as_wu(tmp_path):
    t = Filled(tmp_path)
    t.put("C1", AREA, 520)
    t.put("C1", AREA_V, "无")
    t.put("C1", "核查人", "督导一组-王敏")
    ev = evidence_of(t.save())["C1"]
    assert "centre_area" not in ev.values
    assert ev.provenance["centre_area"]["blank"] is True
    assert [f.kind for f in ev.findings] == ["verified_blank"]


def test_a_duplicated_organization_row_is_refused_naming_both_rows(tmp_path):
    t = Filled(tmp_path)
    t.put("C1", MEMBERS, 23)
    t.wb["社区"].append(["C1", "甲社区党委", None, None, 25])
    [problem] = refusals(t.save())
    assert problem == f"{t.path}:4:1: 社区!A4: 组织 C1 重复出现（首次在 社区!A2）：每个组织只填一行，请合并后删除重复行"


def test_a_row_whose_name_is_not_the_registrys_is_refused(tmp_path):
    t = Filled(tmp_path)
    t.wb["社区"].cell(2, 2, "乙社区党委")                # rows sorted apart: C1 with C2's name
    [problem] = refusals(t.save())
    assert problem == f"{t.path}:2:2: 社区!B2: 组织名称“乙社区党委”与名册中 C1 的名称“甲社区党委”不一致：请核对该行是否错位"


def test_an_unknown_header_is_refused_with_did_you_mean(tmp_path):
    t = Filled(tmp_path)
    t.wb["社区"].cell(1, t.col[AREA], "党群服务中心建筑面积")
    [problem] = refusals(t.save())
    assert problem.startswith(f"{t.path}:1:7: 社区!G1: 表头“党群服务中心建筑面积”不是本轮考评标准的指标")
    assert problem.endswith("是否应为“党群服务中心面积”？")


def test_a_column_given_twice_is_refused(tmp_path):
    t = Filled(tmp_path)
    t.wb["社区"].cell(1, t.col[AREA_V], "党群服务中心面积")      # now a second 自评 column of the area
    [problem] = refusals(t.save())
    assert problem.startswith(f"{t.path}:1:8: 社区!H1: 表头“党群服务中心面积”与 G 列是同一指标的同一来源（自评）")


def test_a_workbook_of_its_own_with_chinese_headers(tmp_path):
    """Headers as a department types them: label only, label with unit (full-width or not,
    spaces), a bracketed source mark; the field id works too."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "社区党组织"
    ws.append(["编号", "名称", "正式党员人数", "党群服务中心面积(㎡)", "党群服务中心面积 （平方米）【核查】", "核查人",
               "grid_party_share", "备注"])
    ws.append(["C1", "甲社区党委", 23, "500", "４８０", "督导一组-王敏", "55%", "书记新任"])
    ws.append(["C2", None, 5, None, None, None, None, None])
    r = make_round(tmp_path, {})
    wb.save(tmp_path / "evidence" / "own.xlsx")
    ev = evidence_of(r)
    assert ev["C1"].values["members_full"] == 23 and ev["C2"].values["members_full"] == 5
    assert ev["C1"].self_values["centre_area"] == 500 and ev["C1"].values["centre_area"] == 480
    assert ev["C1"].values["grid_party_share"] == Decimal("0.55")


def test_a_two_row_header_with_merged_labels(tmp_path):
    """The label merged over its 自评 and 核查 columns, the marks on the row below."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["组织编号", "核查人", "党群服务中心面积（平方米）", None, "正式党员人数", None])
    ws.append([None, None, "自评", "核查", "自评", "核查"])
    ws.merge_cells("A1:A2")
    ws.merge_cells("B1:B2")
    ws.merge_cells("C1:D1")
    ws.merge_cells("E1:F1")
    ws.append(["C1", "督导一组-王敏", 520, 480, 23, None])
    ws.append(["C2", None, "约500", None, 5, None])
    r = make_round(tmp_path, {})
    wb.save(tmp_path / "evidence" / "two.xlsx")
    [problem] = refusals(r)
    assert problem.startswith(f"{tmp_path / 'evidence' / 'two.xlsx'}:4:3: Sheet!C4: 党群服务中心面积（centre_area）: '约500'")
    ws["C4"] = 300
    wb.save(tmp_path / "evidence" / "two.xlsx")
    ev = evidence_of(r)
    assert ev["C1"].self_values["centre_area"] == 520 and ev["C1"].values["centre_area"] == 480
    assert ev["C1"].values["members_full"] == 23 and ev["C2"].values["centre_area"] == 300


def test_long_sheets_name_fields_by_label(tmp_path):
    """The long layout (one row per value or record) with Chinese headers and labels."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "指标数据"
    ws.append(["组织编号", "指标", "自评", "核查", "核查人", "核查日期"])
    ws.append(["C1", "党群服务中心面积", "500平方米", 480, "督导一组-王敏", "2026/10/12"])
    ws.append(["C1", "正式党员人数（人）", 23])
    rec = wb.create_sheet("记录")
    rec.append(["组织编号", "组织名称", "记录类别", "日期", "标题", "来源"])
    rec.append(["C1", "甲社区党委", "支部委员会会议记录", dt.datetime(2026, 1, 5), "一月支委会", None])
    rec.append(["C1", "甲社区党委", "支部委员会会议记录", "2026年4月8日", None, "自评"])
    rec.append(["C2", "乙社区党委", "支部委员会会议记录", "无", None, None])
    r = make_round(tmp_path, {})
    wb.save(tmp_path / "evidence" / "long.xlsx")
    ev = evidence_of(r)
    assert ev["C1"].values["centre_area"] == 480 and ev["C1"].values["members_full"] == 23
    assert [x.date for x in ev["C1"].values["committee_meetings"]] == [dt.date(2026, 1, 5), dt.date(2026, 4, 8)]
    assert ev["C2"].values["committee_meetings"] == ()             # 无: reported none, not "no evidence"


def test_an_unknown_label_in_a_field_column_is_refused_with_did_you_mean(tmp_path):
    t = Filled(tmp_path)
    t.wb["会议活动记录"].append(["C1", "甲社区党委", "支委会会议记录", "2026-01-05"])
    [problem] = refusals(t.save())
    assert problem == (f"{t.path}:2:3: 会议活动记录!C2: “支委会会议记录”不是组织 C1 所用标准“证据读取测试标准”的指标"
                       "；是否应为“支部委员会会议记录”？")


def test_none_beside_records_is_refused(tmp_path):
    t = Filled(tmp_path)
    t.wb["会议活动记录"].append(["C1", "甲社区党委", "支部委员会会议记录", "无"])
    t.wb["会议活动记录"].append(["C1", "甲社区党委", "支部委员会会议记录", "2026-01-05"])
    [problem] = refusals(t.save())
    assert problem.startswith(f"{t.path}:2:4: 会议活动记录!D2: 支部委员会会议记录（committee_meetings）: 这一行写“无”")


def test_the_street_sheet_gives_each_organization_of_the_street_its_value(tmp_path):
    t = Filled(tmp_path)
    t.wb["街道统一填报"].append(["东区/一街道", "是否有常备志愿服务队", "是", None, None, None])
    ev = evidence_of(t.save())
    for org in ("C1", "C2"):
        assert ev[org].values["has_team"] is True
        assert ev[org].provenance["has_team"] == {"source": "self", "street": "东区/一街道"}


def test_an_organization_on_another_standards_sheet_is_refused_at_the_cell(tmp_path):
    """A village's row on the community sheet: its standard has no such field."""
    r = _with_village(tmp_path)
    data, sheets = round_template(load_round(r))
    assert [s.title for s in sheets][1:3] == ["社区", "村"]
    path = tmp_path / "evidence" / "证据采集表.xlsx"
    path.write_bytes(data)
    wb = openpyxl.load_workbook(path)
    wb["村"].delete_rows(2)                             # the village's row moved to the community sheet
    wb["社区"].append(["V1", "丙村党委", None, None, None, None, 900])
    wb.save(path)
    problems = refusals(r)
    assert problems == [f"{path}:4:7: 社区!G4: “党群服务中心面积（平方米） 自评”不是组织 V1（村）所用标准“村测试标准”的指标："
                        "请把该组织的数据填在对应领域的工作表中"]


def _with_village(tmp_path):
    r = make_round(tmp_path, {}, ORGS + "V1,丙村党委,村,东区,一街道,\n")
    (tmp_path / "village.yaml").write_text(STANDARD_VILLAGE, encoding="utf-8")
    (tmp_path / "round.yaml").write_text((tmp_path / "round.yaml").read_text(encoding="utf-8").replace(
        "standards: {community: intake.yaml}", "standards: {community: intake.yaml, village: village.yaml}"), encoding="utf-8")
    return r


def test_one_sheet_for_organizations_of_several_standards(tmp_path):
    """Each row's headers are read by its own organization's standard."""
    r = _with_village(tmp_path)
    wb = openpyxl.Workbook()
    wb.active.append(["组织编号", "正式党员人数（人）", "党群服务中心面积"])
    wb.active.append(["C1", 23, 500])
    wb.active.append(["V1", 9, None])
    wb.save(tmp_path / "evidence" / "all.xlsx")
    ev = evidence_of(r)
    assert ev["C1"].values["members_full"] == 23 and ev["C1"].values["centre_area"] == 500
    assert ev["V1"].values["members_full"] == 9


def test_labels_need_the_round_when_a_workbook_is_read_alone(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["组织编号", "党群服务中心面积"])
    wb.active.append(["C1", 500])
    wb.save(tmp_path / "e.xlsx")
    with pytest.raises(InputError) as e:
        collect([tmp_path / "e.xlsx"])
    assert "只有随考评轮次读取时" in str(e.value.issues[0])


STANDARD_VILLAGE = """\
id: village
version: "1"
title: 村测试标准
issuer: 测试组织部
effective: {from: 2026-01-01, to: 2026-12-31}
applies_to: [village]
fields:
  members_full: {type: integer, label: 正式党员人数, unit: 人, min: 0}
sections:
  - id: V1
    title: 基础
    criteria:
      - {id: V1.1, title: 支部设置, points: 100, method: check, condition: "members_full >= 3", rectification: 调整设置}
grading:
  base: 100
  tiers:
    - {id: A, name: A档, min: 90}
    - {id: B, name: B档, min: 0}
  tie_breaks: [total desc]
"""


# ------------------------------------------------------------------ a street's dated records

STREET_DOC = ("street: 东区/一街道\nrecords:\n"
              "  committee_meetings: [{date: 2026-03-20, title: 一季度联席会议}, 2026-06-18, 2026-09-17, 2026-12-10]\n")


def _street_records(t: Filled, *rows):
    for row in rows:
        t.wb["街道会议活动记录"].append(list(row))
    return t.save()


def test_a_streets_records_read_back_as_its_yaml_document_gives_them(tmp_path, monkeypatch):
    """The 街道会议活动记录 sheet: each row is the street's record, every organization of the
    street is scored on it, its provenance and reason naming the street — exactly as the same
    records in a street's YAML document, however the round is partitioned."""
    (tmp_path / "yaml").mkdir()
    (tmp_path / "xlsx").mkdir()
    by_yaml = evaluate_round(load_round(make_round(tmp_path / "yaml", {"street.yaml": STREET_DOC})))
    t = Filled(tmp_path / "xlsx")
    by_book = evaluate_round(load_round(_street_records(
        t, ["东区/一街道", "支部委员会会议记录", dt.datetime(2026, 3, 20), "一季度联席会议"],
        ["一街道", "支部委员会会议记录", "2026-06-18"],          # a street name one district has
        ["东区/一街道", "支部委员会会议记录", dt.datetime(2026, 9, 17), None, "自评"],
        ["东区/一街道", "支部委员会会议记录", "2026年12月10日"])))
    assert by_book["organizations"] == by_yaml["organizations"]
    for org in by_book["organizations"]:
        assert org["provenance"]["committee_meetings"] == {"source": "self", "street": "东区/一街道"}
        g13 = next(c for c in org["criteria"] if c["id"] == "G1.3")
        assert g13["points"] == 30 and "由东区一街道统一填报" in g13["reason"]
    from conftest import run_cli
    code, _, err = run_cli("evaluate", tmp_path / "xlsx" / "round.yaml", "--out", tmp_path / "one")
    assert code == 0, err
    monkeypatch.setenv("AGRADE_PARTITION_SIZE", "1")      # each organization a partition of its own
    code, _, err = run_cli("evaluate", tmp_path / "xlsx" / "round.yaml", "--out", tmp_path / "parts", "--workers", 2)
    assert code == 0, err
    assert (tmp_path / "parts" / "results.json").read_bytes() == (tmp_path / "one" / "results.json").read_bytes()


def test_a_streets_verified_records_need_the_inspector_and_win(tmp_path):
    ev = evidence_of(_street_records(
        Filled(tmp_path), ["东区/一街道", "支部委员会会议记录", "2026-03-20", None, "自评"],
        ["东区/一街道", "支部委员会会议记录", "2026-03-20", None, "核查", "督导一组-陈立", dt.datetime(2026, 10, 9)]))
    for org in ("C1", "C2"):
        assert [r.date for r in ev[org].values["committee_meetings"]] == [dt.date(2026, 3, 20)]
        assert ev[org].provenance["committee_meetings"] == {"source": "verified", "inspector": "督导一组-陈立",
                                                            "verified_on": "2026-10-09", "street": "东区/一街道"}


def test_a_streets_records_are_refused_at_their_cells(tmp_path):
    t = Filled(tmp_path)
    r = _street_records(t, ["东区/一街", "支部委员会会议记录", "2026-03-20"],
                        [None, "支部委员会会议记录", "2026-03-21"],
                        ["东区/一街道", "支委会会议记录", "2026-03-22"],
                        ["东区/一街道", None, "2026-03-23"])
    problems = refusals(r)
    sheet = f"{t.path}:{{}}: 街道会议活动记录!{{}}: "
    assert problems == [
        sheet.format("4:2", "B4") + "“支委会会议记录”不是本轮考评标准的指标；是否应为“支部委员会会议记录”？",
        sheet.format("2:1", "A2") + "no organization of the registry is in street '东区/一街'; did you mean '东区/一街道'?",
        sheet.format("3:1", "A3") + "street must not be blank",
        sheet.format("5:3", "C5") + "the row's field (记录类别) must not be blank"]


def test_a_streets_records_given_twice_or_also_by_an_organization_are_refused(tmp_path):
    """Given by the sheet and by a street document, or by the street and by one of its
    organizations: one of them would silently not count."""
    t = Filled(tmp_path)
    (tmp_path / "evidence" / "street.yaml").write_text(STREET_DOC, encoding="utf-8")
    [problem] = refusals(_street_records(t, ["东区/一街道", "支部委员会会议记录", "2026-03-20"]))
    assert problem.startswith(f"{t.path}:2:3: 街道会议活动记录!C2: duplicate value for street '东区/一街道' "
                              "field 'committee_meetings' (first given at ")
    (tmp_path / "evidence" / "street.yaml").unlink()
    t.wb["会议活动记录"].append(["C2", "乙社区党委", "支部委员会会议记录", "2026-05-06"])
    [problem] = refusals(t.save())
    assert problem.startswith(f"{t.path}:2:3: 街道会议活动记录!C2: field 'committee_meetings' of organization 'C2' "
                              "is given both for its street '东区/一街道' and for the organization itself")


def test_a_streets_records_go_to_the_organizations_whose_standard_reads_them(tmp_path):
    """A village of the street (its standard has no such records) is not given them; a street
    where no organization reads them, or a field no standard has, is refused: the rows would
    count for nobody."""
    r = _with_village(tmp_path)
    (tmp_path / "orgs.csv").write_text(ORGS + "V1,丙村党委,村,东区,一街道,\nV2,丁村党委,村,东区,二街道,\n", encoding="utf-8")
    data, _ = round_template(load_round(r))
    path = tmp_path / "evidence" / "证据采集表.xlsx"
    path.write_bytes(data)
    wb = openpyxl.load_workbook(path)
    wb["街道会议活动记录"].append(["东区/一街道", "支部委员会会议记录", "2026-03-20"])
    wb.save(path)
    ev = evidence_of(r)
    assert [x.date for x in ev["C1"].values["committee_meetings"]] == [dt.date(2026, 3, 20)]
    assert ev["C2"].provenance["committee_meetings"] == {"source": "self", "street": "东区/一街道"}
    assert "committee_meetings" not in ev["V1"].values and "committee_meetings" not in ev["V1"].provenance
    wb["街道会议活动记录"].append(["东区/二街道", "支部委员会会议记录", "2026-03-20"])
    wb["街道会议活动记录"].append(["东区/一街道", "commitee_meetings", "2026-03-20"])
    wb.save(path)
    assert refusals(r) == [
        f"{path}:3:3: 街道会议活动记录!C3: no organization of street '东区/二街道' is scored on field 'committee_meetings' "
        "(their standards do not have it): enter it for a street whose organizations read it, or delete the row",
        f"{path}:4:3: 街道会议活动记录!C4: unknown field 'commitee_meetings': no standard of the round has it; "
        "did you mean 'committee_meetings'?"]
