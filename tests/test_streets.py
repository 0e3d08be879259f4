"""Streets (街道/镇) as a level of their own: a street's evidence entered once and seen by its
organizations' criteria, with provenance, however the round is partitioned."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli

STANDARD = """\
id: streetstd
version: "1"
title: 街道测试标准
issuer: 测试组织部
effective: {from: 2026-01-01, to: 2026-12-31}
applies_to: [community]
fields:
  members_full: {type: integer, label: 正式党员人数, unit: 人, min: 0}
  street_staff: {type: integer, label: 街道机关工作人员数, unit: 人, min: 0}
  big_committee: {type: boolean, label: 是否建立街道大工委}
sections:
  - id: S1
    title: 街道与社区
    criteria:
      - {id: S1.1, title: 支部设置, points: 40, method: check, condition: "members_full >= 3", rectification: 调整设置}
      - {id: S1.2, title: 街道力量配备, points: 30, method: check, condition: "street_staff >= 50", rectification: 配强街道力量}
      - {id: S1.3, title: 街道大工委, points: 30, method: check, condition: "big_committee", rectification: 建立大工委}
grading:
  base: 100
  min_reviewed_share: 10%
  tiers: [{id: A, name: A档, min: 90}, {id: B, name: B档, min: 0}]
  tie_breaks: [total desc]
"""

ROUND = """\
id: streets-2026
title: 街道证据测试
issuer: 测试组织部
period: {from: 2026-01-01, to: 2026-12-31}
standards: {community: streetstd.yaml}
organizations: orgs.csv
evidence: evidence/
"""

# 一街道 of 东区 has five organizations spread over the registry (so over partitions), 西区 has a
# street of the same name, 二街道 gives no street evidence
ORGS = """id,name,type,district,street,parent
C1,甲社区党委,社区,东区,一街道,
C2,乙社区党委,社区,东区,二街道,
C3,丙社区党委,社区,东区,一街道,
C4,丁社区党委,社区,西区,一街道,
C5,戊社区党委,社区,东区,一街道,
C6,己社区党委,社区,东区,二街道,
C7,庚社区党委,社区,东区,一街道,
C8,辛社区党委,社区,东区,一街道,
"""

STREET_DOC = """\
street: 东区/一街道
values:
  street_staff: 62
  big_committee: {self: 是, verified: 是, inspector: 督导一组-陈立, verified_on: 2026-10-09}
"""


def make_round(tmp: Path, files: dict[str, str]) -> Path:
    (tmp / "streetstd.yaml").write_text(STANDARD, encoding="utf-8")
    (tmp / "round.yaml").write_text(ROUND, encoding="utf-8")
    (tmp / "orgs.csv").write_text(ORGS, encoding="utf-8")
    ev = tmp / "evidence"
    ev.mkdir(exist_ok=True)
    for name, text in files.items():
        (ev / name).write_text(text, encoding="utf-8")
    return tmp / "round.yaml"


def own_values() -> dict[str, str]:
    return {f"{o}.yaml": f"organization: {o}\nvalues: {{members_full: 12}}\n" for o in
            ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8")}


def evaluate(round_path: Path, out: Path, *extra) -> dict:
    code, stdout, stderr = run_cli("evaluate", round_path, "--out", out, *extra)
    assert code == 0, stdout + stderr
    return {o["id"]: o for o in json.loads((out / "results.json").read_text(encoding="utf-8"))["organizations"]}


def criterion(org: dict, cid: str) -> dict:
    return next(c for c in org["criteria"] if c["id"] == cid)


@pytest.mark.parametrize("size,workers", [("1", "2"), ("3", "1"), ("500", "1")])
def test_street_values_reach_every_organization_of_the_street_across_partitions(tmp_path, monkeypatch, size, workers):
    monkeypatch.setenv("AGRADE_PARTITION_SIZE", size)
    rnd = make_round(tmp_path, {"street1.yaml": STREET_DOC, **own_values()})
    orgs = evaluate(rnd, tmp_path / "out", "--workers", workers)
    for oid in ("C1", "C3", "C5", "C7", "C8"):            # 东区一街道, wherever the partition cut falls
        o = orgs[oid]
        assert criterion(o, "S1.2")["outcome"] == "pass", oid
        assert criterion(o, "S1.3")["outcome"] == "pass", oid
        assert o["total"] == 100 and o["tier"] == "A"
        assert o["provenance"]["street_staff"] == {"source": "self", "street": "东区/一街道"}
        assert o["provenance"]["big_committee"] == {"source": "verified", "inspector": "督导一组-陈立",
                                                    "verified_on": "2026-10-09", "street": "东区/一街道"}
        assert "街道机关工作人员数由东区一街道统一填报" in criterion(o, "S1.2")["reason"]
        assert "street" not in o["provenance"]["members_full"]
    for oid in ("C2", "C4", "C6"):                         # another street, or 一街道 of another district
        assert criterion(orgs[oid], "S1.2")["outcome"] == "not_reviewed", oid
        assert "street_staff" not in orgs[oid]["provenance"]


def test_partitions_and_workers_write_the_same_bytes_with_street_evidence(tmp_path, monkeypatch):
    rnd = make_round(tmp_path, {"street1.yaml": STREET_DOC, **own_values()})
    outs = []
    for size, workers in (("100", "1"), ("1", "2"), ("2", "2")):
        monkeypatch.setenv("AGRADE_PARTITION_SIZE", size)
        evaluate(rnd, tmp_path / f"out{size}", "--workers", workers)
        outs.append((tmp_path / f"out{size}" / "results.json").read_bytes())
    assert outs[0] == outs[1] == outs[2]


def test_explain_names_the_street_as_the_source(tmp_path):
    rnd = make_round(tmp_path, {"street1.yaml": STREET_DOC, **own_values()})
    evaluate(rnd, tmp_path / "out")
    code, stdout, stderr = run_cli("explain", tmp_path / "out", "C3")
    assert code == 0, stderr
    assert "街道机关工作人员数 62 人" in stdout and "由东区一街道统一填报" in stdout


def test_a_street_in_one_district_only_may_be_named_alone_and_bulk_csv_has_a_street_column(tmp_path, monkeypatch):
    monkeypatch.setenv("AGRADE_PARTITION_SIZE", "2")
    rnd = make_round(tmp_path, {
        "street2.yaml": "street: 二街道\nvalues: {street_staff: 40}\n",
        "street_values.csv": "street,field,self\n东区/一街道,street_staff,55\n东区/一街道,big_committee,否\n",
        **own_values()})
    orgs = evaluate(rnd, tmp_path / "out", "--workers", "2")
    assert criterion(orgs["C2"], "S1.2")["outcome"] == "fail"
    assert orgs["C6"]["provenance"]["street_staff"] == {"source": "self", "street": "东区/二街道"}
    for oid in ("C1", "C8"):
        assert criterion(orgs[oid], "S1.2")["outcome"] == "pass"
        assert criterion(orgs[oid], "S1.3")["outcome"] == "fail"
        assert orgs[oid]["provenance"]["big_committee"]["street"] == "东区/一街道"


MEETINGS = STANDARD.replace(
    "  big_committee: {type: boolean, label: 是否建立街道大工委}\n",
    "  big_committee: {type: boolean, label: 是否建立街道大工委}\n  joint_meetings: {type: records, label: 大工委联席会议记录}\n").replace(
    '      - {id: S1.3, title: 街道大工委, points: 30, method: check, condition: "big_committee", rectification: 建立大工委}\n',
    '      - {id: S1.3, title: 街道大工委, points: 20, method: check, condition: "big_committee", rectification: 建立大工委}\n'
    "      - {id: S1.4, title: 大工委联席会议, points: 10, method: frequency, records: joint_meetings, every: quarter,"
    " deduct: 2.5, rectification: 按季召开}\n")


@pytest.mark.parametrize("size,workers,header", [("2", "2", "street,field,date,title"), ("500", "1", "街道,记录类别,日期,标题")])
def test_a_bulk_records_csv_may_give_a_streets_records(tmp_path, monkeypatch, size, workers, header):
    # a street's 大工委 meetings entered once in records.csv, as a workbook's street records sheet
    # takes them: every organization of 东区一街道 counts them (2 of 4 quarters: 5 of 10 points),
    # its provenance names the street; 二街道 and 西区's 一街道 have none
    monkeypatch.setenv("AGRADE_PARTITION_SIZE", size)
    monkeypatch.setattr("test_streets.STANDARD", MEETINGS)
    rnd = make_round(tmp_path, {
        "street_records.csv": f"{header}\n东区/一街道,joint_meetings,2026-03-20,一季度联席会议\n"
                              "东区/一街道,joint_meetings,2026-06-18,二季度联席会议\n", **own_values()})
    orgs = evaluate(rnd, tmp_path / "out", "--workers", workers)
    for oid in ("C1", "C3", "C5", "C7", "C8"):
        assert criterion(orgs[oid], "S1.4")["points"] == 5
        assert "大工委联席会议记录由东区一街道统一填报" in criterion(orgs[oid], "S1.4")["reason"]
        assert orgs[oid]["provenance"]["joint_meetings"] == {"source": "self", "street": "东区/一街道"}
    for oid in ("C2", "C4", "C6"):
        assert criterion(orgs[oid], "S1.4")["outcome"] == "not_reviewed"


def test_a_bulk_records_csv_naming_an_unknown_street_is_refused_at_its_cell(tmp_path, monkeypatch):
    monkeypatch.setattr("test_streets.STANDARD", MEETINGS)
    out = refusal(tmp_path, {"street_records.csv": "street,field,date\n东区/一街道,joint_meetings,2026-03-20\n"
                                                   "东区/三街道,joint_meetings,2026-06-18\n", **own_values()})
    assert "street_records.csv:3:1: row 3.street: no organization of the registry is in street '东区/三街道'" in out


def refusal(tmp_path, files, *extra) -> str:
    rnd = make_round(tmp_path, files)
    code, stdout, stderr = run_cli("evaluate", rnd, "--out", tmp_path / "out", *extra)
    assert code == 2, stdout + stderr
    assert not (tmp_path / "out" / "results.json").exists()
    return stdout + stderr


@pytest.mark.parametrize("size", ["1", "500"])
def test_an_organization_giving_its_streets_field_too_is_refused(tmp_path, monkeypatch, size):
    monkeypatch.setenv("AGRADE_PARTITION_SIZE", size)
    files = {"street1.yaml": STREET_DOC, **own_values()}
    files["C5.yaml"] = "organization: C5\nvalues: {members_full: 12, street_staff: 70}\n"
    out = refusal(tmp_path, files, "--workers", "2")
    assert "street1.yaml:3:3: $.values.street_staff:" in out       # the later of the two, in reading order
    assert "(first at " in out and "C5.yaml:2)" in out
    assert "field 'street_staff' of organization 'C5' is given both for its street '东区/一街道'" in out
    assert "street1.yaml:3" in out
    assert out.count("is given both") == 1


def test_unknown_or_ambiguous_street_and_a_street_field_given_twice_are_refused(tmp_path):
    out = refusal(tmp_path, {"a.yaml": "street: 东区/一街到\nvalues: {street_staff: 60}\n",
                             "b.yaml": "street: 一街道\nvalues: {street_staff: 60}\n",
                             "c.yaml": "organizations:\n  - street: 东区/二街道\n    values: {street_staff: 60}\n"
                                       "  - street: 东区/二街道\n    values: {street_staff: 61}\n",
                             **own_values()})
    assert "a.yaml:1:1: $.street: no organization of the registry is in street '东区/一街到'; did you mean '东区/一街道'?" in out
    assert "b.yaml:1:1: $.street: street '一街道' is in several districts (东区, 西区)" in out
    assert "c.yaml:5:14: $.organizations[1].values.street_staff: duplicate value for street '东区/二街道' field 'street_staff'" in out


def test_street_document_is_schema_checked(tmp_path):
    out = refusal(tmp_path, {"a.yaml": "street: 东区/一街道\nvalue: {street_staff: 60}\n", **own_values()})
    assert "a.yaml:2:1" in out


def test_a_misspelt_street_field_is_refused_with_did_you_mean(tmp_path):
    out = refusal(tmp_path, {"a.yaml": "street: 东区/一街道\nvalues: {street_staf: 60}\n", **own_values()})
    assert ("a.yaml:2:10: $.values.street_staf: unknown field 'street_staf' for street '东区/一街道': "
            "no standard of the round has it; did you mean 'street_staff'?") in out
    assert out.count("street_staf'") == 1                 # once for the street, not once per organization


def test_a_street_field_only_some_standards_read_is_not_taken_for_a_misspelling(tmp_path):
    """A street's evidence reaches organizations of several standards: a 两新 organization in the
    street whose standard has 街道工作人员党员占比 (street_staff_share) but not street_staff is
    simply not scored on the street's staff; it is not told it misspelt its own field."""
    other = (STANDARD.replace("id: streetstd", "id: twonew").replace("applies_to: [community]", "applies_to: [nonpublic]")
             .replace("street_staff: {type: integer, label: 街道机关工作人员数, unit: 人, min: 0}",
                      "street_staff_share: {type: percentage, label: 街道工作人员党员占比}")
             .replace('condition: "street_staff >= 50"', 'condition: "street_staff_share >= 50%"'))
    rnd = make_round(tmp_path, {"street1.yaml": STREET_DOC, **own_values(), "N1.yaml": "organization: N1\nvalues: {members_full: 5}\n"})
    (tmp_path / "twonew.yaml").write_text(other, encoding="utf-8")
    (tmp_path / "round.yaml").write_text(ROUND.replace("{community: streetstd.yaml}", "{community: streetstd.yaml, nonpublic: twonew.yaml}"),
                                         encoding="utf-8")
    with open(tmp_path / "orgs.csv", "a", encoding="utf-8") as f:
        f.write("N1,某科技公司党支部,两新,东区,一街道,\n")
    orgs = evaluate(rnd, tmp_path / "out")
    n1 = next(c for c in orgs["N1"]["criteria"] if c["id"] == "S1.2")
    assert n1["outcome"] == "not_reviewed"          # no evidence of its own field: not a refusal
    c1 = next(c for c in orgs["C1"]["criteria"] if c["id"] == "S1.2")
    assert c1["outcome"] == "pass"


def test_results_csv_and_the_xlsx_export_carry_the_street_rank_beside_the_district_rank(tmp_path):
    import csv
    import openpyxl
    # 东区 一街道 (C1 C3 C5 C7 C8) scores 100 but C3, which has too few members; 二街道 (C2 C6) 40
    values = own_values()
    values["C3.yaml"] = "organization: C3\nvalues: {members_full: 2}\n"
    rnd = make_round(tmp_path, {"street1.yaml": STREET_DOC, **values})
    orgs = evaluate(rnd, tmp_path / "out")
    with open(tmp_path / "out" / "results.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    assert head[head.index("区县内排名") + 1] == "街道内排名"
    by_id = {r[head.index("组织编号")]: r for r in rows[1:]}
    for oid, o in orgs.items():
        assert by_id[oid][head.index("街道内排名")] == str(o["rank"]["street"]), oid
        assert by_id[oid][head.index("区县内排名")] == str(o["rank"]["district"]), oid
    # C3 is last of 一街道's five, but not of 东区's seven (二街道's two score less)
    assert by_id["C3"][head.index("街道内排名")] == "5" and by_id["C3"][head.index("区县内排名")] == "5"
    assert by_id["C2"][head.index("街道内排名")] == "1" and by_id["C2"][head.index("区县内排名")] == "6"
    code, out, err = run_cli("report", tmp_path / "out", "--out", tmp_path / "rep", "--kind", "summary", "--format", "xlsx")
    assert code == 0, out + err
    book = openpyxl.load_workbook(next((tmp_path / "rep").rglob("*.xlsx")))
    sheet = book["排名"]
    cells = [[c.value for c in r] for r in sheet.iter_rows()]
    col = cells[0].index("街道内排名")
    assert cells[0][col - 1] == "区县内排名"
    got = {r[cells[0].index("组织编号")]: r[col] for r in cells[1:]}
    assert got == {oid: o["rank"]["street"] for oid, o in orgs.items()}
