"""What `agrade evaluate` puts in files (issue 6): formulas neutralized in results.csv."""
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
