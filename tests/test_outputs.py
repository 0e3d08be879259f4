"""What `agrade evaluate` and `agrade validate` put in files and on the screen (issue 6):
formulas neutralized in results.csv, data never read as console markup, --out naming a file,
notices, percentages rounded half up."""
from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import run_cli
from evaluator.scoring.results import FORMULA_START, neutralize, results_csv


def set_names(mini: Path, names: dict[str, str], districts: dict[str, str] | None = None) -> None:
    """Rename organizations (and their districts) in the mini registry."""
    p = mini / "orgs.csv"
    rows = list(csv.reader(io.StringIO(p.read_text(encoding="utf-8"))))
    for row in rows[1:]:
        row[1] = names.get(row[0], row[1])
        row[3] = (districts or {}).get(row[0], row[3])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    p.write_text(buf.getvalue(), encoding="utf-8")


def set_round_keys(mini: Path, **keys: str) -> None:
    p = mini / "round.yaml"
    lines = [line for line in p.read_text(encoding="utf-8").splitlines()
             if line.split(":", 1)[0] not in keys]
    p.write_text("\n".join(lines + [f"{k}: {v}" for k, v in keys.items()]) + "\n", encoding="utf-8")


def csv_rows(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


# ------------------------------------------------------------------ item 1: formulas in results.csv

@pytest.mark.parametrize("text", ["=1+2", "+1", "-1+2", "@SUM(A1)", "＝1+2", "＋1", "－1", "＠SUM(A1)", "\t=1", "\r=1"])
def test_neutralize_text_that_a_spreadsheet_would_run(text):
    assert neutralize(text) == "'" + text
    assert text.startswith(FORMULA_START)


@pytest.mark.parametrize("value", ["甲社区党委", "1+1", "", " =1", -3.5, -3, Decimal("-2.5"), None])
def test_neutralize_leaves_other_values_alone(value):
    assert neutralize(value) == value          # a negative number is data, not a formula


def test_results_csv_neutralizes_typed_text(mini, tmp_path):
    set_names(mini, {"C1": '=HYPERLINK("http://example.org","点我")', "C2": "＠cmd|' /C calc'!A0", "C3": "-1+2"},
              {"C3": "+西区"})
    out = tmp_path / "out"
    code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", out)
    assert code == 0, err
    rows = {r["组织编号"]: r for r in csv_rows(out / "results.csv")}
    assert rows["C1"]["组织名称"] == "'=HYPERLINK(\"http://example.org\",\"点我\")"
    assert rows["C2"]["组织名称"] == "'＠cmd|' /C calc'!A0"
    assert rows["C3"]["组织名称"] == "'-1+2" and rows["C3"]["区县"] == "'+西区"
    # results.json keeps the names exactly as typed
    orgs = {o["id"]: o for o in json.loads((out / "results.json").read_text(encoding="utf-8"))["organizations"]}
    assert orgs["C3"]["name"] == "-1+2"


def test_results_csv_keeps_negative_numbers(mini):
    from evaluator.intake.rounds import load_round
    from evaluator.scoring.run import evaluate_round
    payload = evaluate_round(load_round(mini / "round.yaml"))
    payload["organizations"][0]["total"] = Decimal("-3.5")
    payload["organizations"][0]["bonus"] = Decimal("-1")
    row = csv_rows_from_text(results_csv(payload))[0]
    assert (row["总分"], row["加分"]) == ("-3.5", "-1")


def csv_rows_from_text(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_report_exports_use_the_same_neutralizing_function():
    from evaluator.reports import tables
    from evaluator.scoring import results
    assert tables.neutralize is results.neutralize
    assert not hasattr(tables, "_FORMULA_START")


# ------------------------------------------------------------------ item 2: data is never markup

MARKUP_TITLE = "测试区[/b]考评[bold]2026[red]x[/red] :smile:"
MARKUP_DISTRICT = "东区[/b][red]"


def test_markup_in_titles_districts_and_names_is_shown_verbatim(mini, tmp_path):
    set_round_keys(mini, title=json.dumps(MARKUP_TITLE, ensure_ascii=False),
                   grading="{target: {tier: A, min_share: 20%, scope: district}}")
    set_names(mini, {"C1": "[red]甲[/red]社区[/b]党委"}, {"C1": MARKUP_DISTRICT, "C2": MARKUP_DISTRICT})
    out = tmp_path / "out"
    code, text, err = run_cli("evaluate", mini / "round.yaml", "--out", out)
    assert code == 0, err
    assert f"{MARKUP_TITLE}：定档结果" in text
    assert f"（区县“{MARKUP_DISTRICT}”）：" in text
    code, text, err = run_cli("explain", out, "C1")
    assert code == 0, err
    assert text.startswith(f"[red]甲[/red]社区[/b]党委（C1）  社区  {MARKUP_DISTRICT} 一街道\n{MARKUP_TITLE}；")
    code, text, err = run_cli("explain", out, "[red]甲[/red]社区[/b]党委")     # by name too
    assert code == 0 and "（C1）" in text
    code, _, err = run_cli("explain", out, "[bold]C9")
    assert code == 2 and "no organization '[bold]C9'" in err


def test_markup_in_an_input_error_is_shown_verbatim(mini, tmp_path):
    p = mini / "evidence" / "c1.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("  grid_staff: 10\n", "  \"[/b]grid[red]\": 10\n"), encoding="utf-8")
    code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", tmp_path / "out")
    assert code == 2 and '$.values["[/b]grid[red]"]: \'[/b]grid[red]\' does not match' in err


# ------------------------------------------------------------------ item 3: --out naming a file

def test_evaluate_out_naming_a_file_is_refused(mini, tmp_path):
    target = tmp_path / "results.txt"
    target.write_text("keep me", encoding="utf-8")
    code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", target)
    assert code == 2
    assert f"{target} is a file; --out must name a folder" in err
    assert target.read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mini", "results.txt"]
    code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", target / "sub")
    assert code == 2 and f"is inside {target}, which is a file" in err


def test_report_out_naming_a_file_is_refused(mini, tmp_path):
    results = tmp_path / "results"
    assert run_cli("evaluate", mini / "round.yaml", "--out", results)[0] == 0
    before = sorted(p.name for p in tmp_path.iterdir())
    target = tmp_path / "report.pdf"
    target.write_bytes(b"%PDF keep")
    code, _, err = run_cli("report", results, "--out", target, "--format", "csv")
    assert code == 2 and f"{target} is a file; --out must name a folder" in err
    assert target.read_bytes() == b"%PDF keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before + ["report.pdf"])
    # and the results file itself given as --out
    code, _, err = run_cli("report", results, "--out", results / "results.json", "--format", "csv")
    assert code == 2 and "--out must name a folder" in err
    assert sorted(p.name for p in results.iterdir()) == ["results.csv", "results.json", "run.json", "state.jsonl"]


# ------------------------------------------------------------------ item 5: notices

def with_a_second_standard(mini: Path) -> None:
    """A village standard with star tiers beside mini, and a red list naming tier A: the
    condition cannot hold for the village organizations, which is a notice, not an error."""
    text = (mini / "mini.yaml").read_text(encoding="utf-8")
    for old, new in [("id: mini", "id: ministar"), ("applies_to: [community]", "applies_to: [village]"),
                     ("{id: A, name: A档", "{id: S1, name: 一等"), ("{id: B, name: B档", "{id: S2, name: 二等"),
                     ("{id: C, name: C档", "{id: S3, name: 三等"), ("{id: D, name: D档", "{id: S4, name: 四等"),
                     ("{tier: A,", "{tier: S1,"), ("cap_tier: C", "cap_tier: S3")]:
        text = text.replace(old, new)
    (mini / "ministar.yaml").write_text(text, encoding="utf-8")
    with open(mini / "orgs.csv", "a", encoding="utf-8") as f:
        f.write("V1,丁村党支部,village,北区,三镇,\n")
    p = mini / "round.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("standards: {community: mini.yaml}",
                                                       "standards: {community: mini.yaml, village: ministar.yaml}")
                 + "lists:\n  red:\n    title: 红榜\n    include: \"tier == 'A'\"\n", encoding="utf-8")


def test_notices_are_printed_and_kept_in_run_json(mini, tmp_path):
    with_a_second_standard(mini)
    out = tmp_path / "out"
    code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", out, "-q")
    assert code == 0, err
    notices = [line for line in err.splitlines() if line.startswith("注意：")]
    assert len(notices) == 1 and "不适用于按" in notices[0] and str(mini / "round.yaml") in notices[0]
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["notices"] == [notices[0][len("注意："):]]
    code, text, err = run_cli("validate", mini / "round.yaml")
    assert code == 0 and "OK: 1 file(s) valid." in text
    assert [line for line in err.splitlines() if line.startswith("注意：")] == notices


def test_a_hidden_sheet_notice_is_printed_and_kept(mini, tmp_path):
    """A workbook's hidden sheet is ignored (read by intake) with a notice that reaches the
    screen, after loading, and run.json."""
    import openpyxl
    wb = openpyxl.Workbook()
    wb.active.title = "values"
    wb["values"].append(["organization", "field", "self"])
    wb["values"].append(["C3", "awards", 0])
    old = wb.create_sheet("old")
    old.append(["organization", "field", "self"])
    old.append(["C3", "members_full", 99])
    old.sheet_state = "hidden"
    book = mini / "evidence" / "book.xlsx"
    wb.save(book)
    out = tmp_path / "out"
    code, text, err = run_cli("evaluate", mini / "round.yaml", "--out", out)
    assert code == 0, err
    notice = f"{book}: $: ignored hidden sheet(s): old"
    assert err.splitlines() == [f"注意：{notice}"]
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["notices"] == [notice]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    c3 = next(o for o in results["organizations"] if o["id"] == "C3")
    assert next(c for c in c3["criteria"] if c["id"] == "G1.1")["evidence"]["members_full"] == 5
    code, text, err = run_cli("validate", mini / "round.yaml")
    assert code == 0 and err.splitlines() == [f"注意：{notice}"]
    # a round that stops on an error still shows what was noticed, before the errors
    p = mini / "evidence" / "c1.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("members_full: 12", "members_full: -1"), encoding="utf-8")
    code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", tmp_path / "out2")
    assert code == 2 and err.splitlines()[0] == f"注意：{notice}"


# ------------------------------------------------------------------ item 8: percentages half up

def test_summary_percentages_round_half_up(capsys, tmp_path):
    from evaluator import cli
    payload = {"round": {"title": "测试"}, "standards": {"s": {"tiers": [{"id": "A", "name": "A档"}, {"id": "B", "name": "B档"}]}},
               "summary": {
        "organizations": 16, "graded": 16, "tiers": {"A": 5, "B": 11},
        "target": [{"scope": "round", "value": "", "tier": "A", "count": 5, "graded": 16, "share": Decimal("0.3125"),
                    "target": Decimal("0.205"), "met": True},
                   {"scope": "district", "value": "东区", "tier": "A", "count": 1, "graded": 8, "share": Decimal("0.125"),
                    "target": Decimal("0.2"), "met": False}]}}
    cli._print_summary(payload, tmp_path, 1.0)
    text = capsys.readouterr().out
    assert "目标 A档占比 ≥ 20.5%（全域）：5/16 = 31.3% 达标" in text      # float formatting gave 31.2%
    assert "目标 A档占比 ≥ 20%（区县“东区”）：1/8 = 12.5% 未达标" in text
