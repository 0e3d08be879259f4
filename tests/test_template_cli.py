"""Issue 10, Excel evidence: `agrade template ROUND.yaml --out 证据采集表.xlsx` writes the
workbook a department sends out — what it holds and how it looks to the person filling it."""
import re

import openpyxl
import pytest

from conftest import run_cli
from evaluator.intake.rounds import load_round
from evaluator.intake.template import OPTIONS, field_header

WIDE = ["社区", "村", "机关", "国有企业", "两新组织"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("tpl")
    code, _, err = run_cli("demo", "--out", base / "demo", "--orgs", 20, "--no-reports", "--no-store")
    assert code == 0, err
    round_file = base / "demo" / "round" / "round.yaml"
    out = base / "证据采集表.xlsx"
    code, stdout, err = run_cli("template", round_file, "--out", out)
    assert code == 0, err
    return round_file, out, stdout


def test_sheets_rows_and_headers(demo):
    round_file, out, stdout = demo
    rnd = load_round(round_file)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["填表说明", *WIDE, "会议活动记录", "街道统一填报", "街道会议活动记录", OPTIONS]
    assert all(ws.sheet_state == "visible" for ws in wb.worksheets)
    assert "5 个领域工作表" in stdout and f"{len(rnd.organizations)} 个组织" in stdout
    for title, org_type in zip(WIDE, ["community", "village", "agency", "soe", "nonpublic"]):
        ws = wb[title]
        std = rnd.standards[org_type]
        head = [c.value for c in ws[1]]
        assert head[:4] == ["组织编号", "组织名称", "核查人", "核查日期"]
        fields = [f for f in std.fields.values() if f.type != "records"]
        assert head[4:] == [field_header(f, s) for f in fields for s in ("self", "verified")]
        assert [[c.value for c in row] for row in ws.iter_rows(min_row=2, max_col=2)] == \
            [[o.id, o.name] for o in rnd.organizations if o.type == org_type]
        assert ws.freeze_panes == "C2"                           # header row, ids and names stay in view
    area = field_header(rnd.standards["community"].fields["centre_area"], "verified")
    assert area == "党群服务中心（党员活动室）面积（平方米）\n核查"          # label, unit, source


def test_no_formulas_no_field_ids_and_chinese_instructions(demo):
    round_file, out, _ = demo
    rnd = load_round(round_file)
    ids = {fid for s in rnd.standards.values() for fid in s.fields}
    wb = openpyxl.load_workbook(out)
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            for v in row:
                if isinstance(v, str):
                    assert not v.startswith("="), (ws.title, v)
                    assert not (set(re.findall(r"[a-z][a-z0-9_]*_[a-z0-9_]+", v)) & ids), (ws.title, v)
    guide = [r[0] for r in wb["填表说明"].iter_rows(values_only=True) if r[0]]
    assert guide[0].startswith(rnd.title)
    assert any("核查人" in line for line in guide) and any("agrade validate" in line for line in guide)
    assert any(line.startswith("4. “街道会议活动记录”") and "大工委" in line for line in guide)


def test_drop_downs_formats_and_widths(demo):
    round_file, out, _ = demo
    rnd = load_round(round_file)
    wb = openpyxl.load_workbook(out)
    options = wb[OPTIONS]
    lists = {options.cell(1, j).value: [options.cell(n, j).value for n in range(2, options.max_row + 1)
                                        if options.cell(n, j).value is not None]
             for j in range(1, options.max_column + 1)}
    ws = wb["社区"]
    col = {c.value: c.column_letter for c in ws[1]}
    valid = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            valid[rng.coord.split(":")[0].rstrip("0123456789")] = dv
    std = rnd.standards["community"]
    rating = std.fields["secretary_rating"]                                  # an enum
    dv = valid[col[field_header(rating, "self")]]
    assert dv.type == "list" and dv.formula1.startswith(f"'{OPTIONS}'!")
    letter = re.search(r"\$([A-Z]+)\$2", dv.formula1).group(1)
    assert [options[f"{letter}{n}"].value for n in range(2, 2 + len(rating.values))] == list(rating.values)
    boolean = next(f for f in std.fields.values() if f.type == "boolean")
    letter = re.search(r"\$([A-Z]+)\$2", valid[col[field_header(boolean, "verified")]].formula1).group(1)
    assert [options[f"{letter}2"].value, options[f"{letter}3"].value] == ["是", "否"]
    share = next(f for f in std.fields.values() if f.type == "percentage")
    date = next(f for f in std.fields.values() if f.type == "date")
    assert ws.column_dimensions[col[field_header(share, "self")]].number_format.endswith("%")
    assert ws.column_dimensions[col[field_header(date, "self")]].number_format == "yyyy-mm-dd"
    assert ws.column_dimensions[col["核查日期"]].number_format == "yyyy-mm-dd"
    assert all(ws.column_dimensions[letter].width >= 10 for letter in col.values())
    records = wb["会议活动记录"]
    assert [c.value for c in records[1]] == ["组织编号", "组织名称", "记录类别", "日期", "标题", "来源", "核查人", "核查日期"]
    record_labels = {f.label for s in rnd.standards.values() for f in s.fields.values() if f.type == "records"}
    assert set(lists["记录类别"]) == record_labels
    # a street's own records (大工委 meetings): the same columns after 街道, the same drop-downs
    street_records = wb["街道会议活动记录"]
    assert [c.value for c in street_records[1]] == ["街道", "记录类别", "日期", "标题", "来源", "核查人", "核查日期"]
    lists_of = {rng.coord.split(":")[0].rstrip("0123456789"): dv.formula1
                for dv in street_records.data_validations.dataValidation for rng in dv.sqref.ranges}
    assert lists_of["A"] == next(dv.formula1 for dv in wb["街道统一填报"].data_validations.dataValidation
                                 if "A2" in str(dv.sqref))
    assert lists_of["B"] == next(dv.formula1 for dv in records.data_validations.dataValidation if "C2" in str(dv.sqref))
    assert street_records.column_dimensions["C"].number_format == "yyyy-mm-dd"
    assert set(lists["街道"]) == {f"{o.district}/{o.street}" for o in rnd.organizations if o.street}


def test_same_round_same_bytes_and_refusals(demo, tmp_path):
    round_file, out, _ = demo
    again = tmp_path / "again.xlsx"
    assert run_cli("template", round_file, "--out", again)[0] == 0
    assert again.read_bytes() == out.read_bytes()
    before = again.read_bytes()
    code, _, err = run_cli("template", round_file, "--out", again)           # it may hold filled-in evidence
    assert code == 2 and "文件已存在" in err and "Traceback" not in err
    assert again.read_bytes() == before
    assert run_cli("template", round_file, "--out", again, "--force")[0] == 0
    code, _, err = run_cli("template", round_file, "--out", tmp_path / "表.csv")
    assert code == 2 and "须为 .xlsx" in err and not (tmp_path / "表.csv").exists()
    code, _, err = run_cli("template", tmp_path / "none.yaml", "--out", tmp_path / "x.xlsx")
    assert code == 2 and "Traceback" not in err and not (tmp_path / "x.xlsx").exists()
    assert not list(tmp_path.glob(".agrade-template-*"))


def test_validate_points_a_workbook_given_alone_to_its_round(demo):
    _, out, _ = demo
    code, _, err = run_cli("validate", out)
    assert code == 2 and "Traceback" not in err
    assert "agrade validate ROUND.yaml" in err and str(out) in err


def test_a_streets_self_assessment_form_and_the_inspectors_workbook_read_together(demo, tmp_path):
    """As departments hand them out: each street gets the self-assessment form of its own
    organizations; the inspection team fills the 核查 columns of another workbook."""
    import shutil
    from evaluator.scoring.run import load_evidence
    round_file, _, _ = demo
    rnd = load_round(round_file)
    folder = tmp_path / "round"
    shutil.copytree(round_file.parent, folder, ignore=shutil.ignore_patterns("evidence"))
    (folder / "evidence").mkdir()
    district, street = next((o.district, o.street) for o in rnd.organizations if o.type == "community")
    mine = [o for o in rnd.organizations if (o.district, o.street) == (district, street)]
    form = folder / "evidence" / f"{street}自评.xlsx"
    code, stdout, err = run_cli("template", folder / "round.yaml", "--out", form, "--street", f"{district}/{street}", "--self-only")
    assert code == 0, err
    assert f"{len(mine)} 个组织" in stdout
    wb = openpyxl.load_workbook(form)
    assert wb["填表说明"]["A1"].value.endswith(f"（{district}{street}）　证据采集表（自评）")
    heads = [c.value for ws in wb.worksheets[1:-1] for c in ws[1]]
    assert not [h for h in heads if h and ("核查" in h or h == "来源")]
    ids = [ws.cell(n, 1).value for ws in wb.worksheets[1:-3] for n in range(2, ws.max_row + 1)]
    assert sorted(ids) == sorted(o.id for o in mine)

    org = next(o for o in mine if o.type == "community")
    area = rnd.standards["community"].fields["centre_area"]
    ws = wb["社区"]
    col = {c.value: c.column for c in ws[1]}
    row = ids.index(org.id) + 2
    ws.cell(row, col[field_header(area, "self")], "520平方米")
    wb.save(form)
    checks = folder / "evidence" / "核查.xlsx"
    assert run_cli("template", folder / "round.yaml", "--out", checks)[0] == 0
    wb = openpyxl.load_workbook(checks)
    ws = wb["社区"]
    col = {c.value: c.column for c in ws[1]}
    row = next(n for n in range(2, ws.max_row + 1) if ws.cell(n, 1).value == org.id)
    ws.cell(row, col[field_header(area, "verified")], 480)
    ws.cell(row, col["核查人"], "督导一组-王敏")
    wb.save(checks)
    ev = load_evidence(load_round(folder / "round.yaml"))[0][org.id]
    assert ev.self_values["centre_area"] == 520 and ev.values["centre_area"] == 480
    assert [f.kind for f in ev.findings if f.field == "centre_area"] == ["self_report_mismatch"]

    code, _, err = run_cli("template", folder / "round.yaml", "--out", tmp_path / "x.xlsx", "--street", "无此街道")
    assert code == 2 and "无此街道" in err and not (tmp_path / "x.xlsx").exists()
