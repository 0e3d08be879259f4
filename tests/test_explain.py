"""`agrade explain`: the total as the arithmetic the standard does, numbers as the standard
rounds them, tier reasons (quota ties included), and organizations found by name too."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from conftest import run_cli
from evaluator.scoring.explain import explain_text


def weighted(mini: Path) -> None:
    """mini with a 70/30 weighting of the inspectors' score and the self-assessment."""
    p = mini / "mini.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("  base: 100\n", (
        "  base: 100\n  components:\n"
        "    - {id: verified, label: 考核组评分, source: criteria, weight: 0.7}\n"
        "    - {id: self, label: 自评得分, source: self_assessment, weight: 0.3}\n")), encoding="utf-8")


def evaluate(mini: Path, out: Path) -> None:
    code, _, err = run_cli("evaluate", mini / "round.yaml", "--out", out, "-q")
    assert code == 0, err


def test_weighted_total_shows_its_arithmetic(mini, tmp_path):
    weighted(mini)
    evaluate(mini, tmp_path / "out")
    code, text, _ = run_cli("explain", tmp_path / "out", "C1")
    assert code == 0
    lines = text.splitlines()
    # 92 × 0.7 + 100 × 0.3 + 3 = 97.4 (the self-report of 520 m² would have earned full points)
    assert lines[2].startswith("总分 97.4 = 考核组评分 92 × 70% + 自评得分 100 × 30% + 加分 3  档次 A档  排名：全域第 1")
    assert lines[3] == "（加分项合计 5 分，超过加分上限 3 分，按 3 分计入）"
    assert "构成：" not in text


def test_single_component_total(mini, tmp_path):
    evaluate(mini, tmp_path / "out")
    code, text, _ = run_cli("explain", tmp_path / "out", "C2")
    assert code == 0
    assert text.splitlines()[2].startswith("总分 59 = 基础得分 59 + 加分 0  档次 D档")


def payload(components, values, total, bonus=0, base=100, points=Decimal("9.711333333333334")) -> tuple[dict, dict]:
    org = {"id": "X1", "name": "某社区党委", "type_name": "社区", "district": "东区", "street": "一街道",
           "standard": {"id": "s", "version": "1"}, "status": "graded", "total": total, "base": base, "bonus": bonus,
           "components": values, "tier_name": "A档", "rank": {"round": 1, "district": 1, "type": 1},
           "tier_reasons": ["总分 91，达到 A档（≥ 90）"], "sections": [{"id": "G1", "title": "组织设置", "points": points,
                                                                     "max_points": 11}],
           "criteria": [{"id": "G1.1", "section": "G1", "title": "支部设置", "kind": "base", "outcome": "partial",
                         "points": points, "max_points": 11, "reason": "按比例得分", "rectification": "补齐"}],
           "vetoes": [], "findings": []}
    return {"round": {"title": "某轮"}, "standards": {"s": {"base": 100, "bonus_cap": 10, "components": components}},
            "organizations": [org]}, org


def test_weights_show_as_percentages_and_numbers_as_the_standard_rounds_them():
    comps = [{"id": "team", "label": "考核组评分", "source": "criteria", "weight": Decimal("0.7")},
             {"id": "self", "label": "自评得分", "source": "self_assessment", "weight": Decimal("0.3")}]
    data, org = payload(comps, {"team": 100, "self": 70}, 91)
    text = explain_text(data, org)
    assert "总分 91 = 考核组评分 100 × 70% + 自评得分 70 × 30% + 加分 0  档次 A档" in text
    assert "（基础得分" not in text
    assert "【G1 组织设置】 9.71/11 分" in text and "G1.1 支部设置  9.71/11  （部分符合）" in text
    assert "9.7113" not in text
    comps = [{"id": "a", "label": "甲", "source": "criteria", "weight": Decimal("0.3333")},
             {"id": "b", "label": "乙", "source": "field", "weight": Decimal("0.6667")}]
    data, org = payload(comps, {"a": Decimal("90.005"), "b": Decimal("80.125")}, Decimal("83.42"))
    assert "总分 83.42 = 甲 90.01 × 33.33% + 乙 80.13 × 66.67% + 加分 0" in explain_text(data, org)


def tie_in_one_district(mini: Path) -> None:
    """C2 gets exactly C1's evidence; both are in 东区, whose tier-A quota is 50% (one place)."""
    c1 = (mini / "evidence" / "c1.yaml").read_text(encoding="utf-8")
    (mini / "evidence" / "c2.yaml").write_text(c1.replace("organization: C1", "organization: C2"), encoding="utf-8")
    for name in ("bulk_values.csv", "bulk_records.csv"):
        p = mini / "evidence" / name
        p.write_text("".join(line for line in p.read_text(encoding="utf-8").splitlines(keepends=True)
                             if not line.startswith("C2,")), encoding="utf-8")


def test_a_quota_tie_broken_by_id_is_shown(mini, tmp_path):
    tie_in_one_district(mini)
    evaluate(mini, tmp_path / "out")
    code, text, _ = run_cli("explain", tmp_path / "out", "C2")
    assert code == 0
    reasons = text.split("定档依据：\n", 1)[1].split("\n\n", 1)[0]
    assert "总分 95，达到 A档（≥ 90）" in reasons
    assert "按组织编号先后确定名额" in reasons
    assert "档次 B档" in text


def test_organizations_are_found_by_exact_name(mini, tmp_path):
    evaluate(mini, tmp_path / "out")
    code, text, _ = run_cli("explain", tmp_path / "out", "乙社区党委")
    assert code == 0 and text.startswith("乙社区党委（C2）")
    code, _, err = run_cli("explain", tmp_path / "out", "乙社区")
    assert code == 2 and "no organization '乙社区'; did you mean '乙社区党委'?" in err


def test_an_ambiguous_name_lists_the_ids(mini, tmp_path):
    p = mini / "orgs.csv"
    p.write_text(p.read_text(encoding="utf-8").replace("丙社区党委", "乙社区党委"), encoding="utf-8")
    evaluate(mini, tmp_path / "out")
    code, text, err = run_cli("explain", tmp_path / "out", "乙社区党委")
    assert code == 2 and text == ""
    assert "2 organizations are named '乙社区党委': C2, C3; give one of these ids" in err
    code, text, _ = run_cli("explain", tmp_path / "out", "C3")
    assert code == 0 and text.startswith("乙社区党委（C3）")
