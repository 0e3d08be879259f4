"""Generated wording reads as a department writes it: how points, conditions, dates, scopes and
a bulletin's movement are worded, and the standards' own texts spaced the same way."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from evaluator.model import Record
from evaluator.reports.model import problem_text
from evaluator.scoring.bulletin import movement
from evaluator.scoring.lists import derive_lists
from evaluator.standard.listrules import describe_expr
from evaluator.terms import date_text, scope_label, spaced, street_label, value_text

from test_grading import run
from test_engine import full_evidence
from test_list_rules import org

RULES = Path(__file__).resolve().parent.parent / "rules"


def criterion(result: dict, cid: str) -> dict:
    return next(c for c in result["criteria"] if c["id"] == cid)


def test_a_rounded_proportional_score_says_about_before_the_verb():
    # 4 of 9 grid staff are members: 20 x 0.4444 / 0.6 = 14.8133... points, shown rounded
    r, _ = run({"O1": full_evidence("O1", grid_staff=Decimal(9), grid_staff_party=Decimal(4))})
    g = criterion(r["O1"], "G2.2")
    assert "按比例约得 14.81 分" in g["reason"] and "约 " not in g["reason"]
    # the rectification list leaves the points to the 失分明细, rounded or not
    assert problem_text(g["reason"]) == "网格员中党员人数占网格员人数的比例 44.44%，低于目标 60%"


def test_an_exact_proportional_score_is_not_called_about():
    r, _ = run({"O1": full_evidence("O1", grid_staff=Decimal(9), grid_staff_party=Decimal(5))})
    assert "按比例得 18.52 分" in criterion(r["O1"], "G2.2")["reason"]


def test_conditions_join_with_chinese_words_unspaced_and_latin_spaced():
    tiers = {"A": "A档", "S5": "五星级党组织"}
    assert describe_expr("tier in ['A', 'S5'] and veto_count == 0", tiers) == "（档次为 A档或五星级党组织）且未触发一票否决"
    assert describe_expr("tier in ['S5', 'A']", tiers) == "档次为五星级党组织或 A档"
    assert describe_expr("not (total >= 90 or rank <= 3)") == "总分低于 90 分且全域排名在第 3 名之后"
    assert spaced("不少于", "2 人", "且", "达到", "C档") == "不少于 2 人且达到 C档"


def test_dates_in_values_and_reasons_read_as_the_documents_print_them():
    assert value_text(dt.date(2020, 2, 6)) == "2020年2月6日"
    assert date_text("2026-12-31") == "2026年12月31日" and date_text("不是日期") == "不是日期"
    # a meeting record dated before the round counts for nothing, and the reason says when it was
    early = (Record(dt.date(2025, 12, 20), "年末会议"),) + tuple(Record(dt.date(2026, m, 15)) for m in range(1, 13))
    r, payload = run({"O1": full_evidence("O1", committee_meetings=early)})
    reason = criterion(r["O1"], "G2.1")["reason"]
    assert "2025年12月20日《年末会议》" in reason and "（2026年1月1日至2026年12月31日）" in reason
    assert not re.search(r"\d{4}-\d{2}-\d{2}", reason)


@pytest.mark.parametrize("district,street,shown", [
    ("示例区", "文昌街道", "文昌街道（示例区）"),
    ("示例区", "青山镇", "青山镇（示例区）"),
    ("示例区", "区直机关工委", "区直机关工委系统（示例区）"),
    ("示例区", "区国资委", "区国资委系统（示例区）"),
])
def test_a_street_scope_is_named_as_a_department_names_it(district, street, shown):
    assert street_label(district, street) == shown
    assert scope_label("street", f"{district}\x1f{street}") == shown


def test_a_list_names_the_agency_system_not_a_street():
    agency = {**org("J1", "示例区", "区直机关工委", "A", 1), "type": "agency"}
    results = {"standards": {"mini": {"tiers": [{"id": "A"}, {"id": "B"}]}},
               "organizations": [agency, org("W1", "示例区", "文昌街道", "A", 2)]}
    red = derive_lists(results, {"red": {"include": "tier == 'A'", "top": {"n": 1, "scope": "street"}}})["red"]
    reasons = {e["organization"]: e["reasons"][-1] for e in red["entries"]}
    assert reasons == {"J1": "区直机关工委系统（示例区）入选组织中第 1 名", "W1": "文昌街道（示例区）入选组织中第 1 名"}


def test_a_bulletin_speaks_of_this_issue():
    assert movement((None, None, 0), None) == "本期不予定档"
    assert movement(None, 0) == "首次定档"


# a digit or Latin letter touching a Chinese character, except inside a date (2026年3月5日), a tier
# name (A档) and the slogan 创A
_TOUCHING = re.compile(r"[\u4e00-\u9fff][0-9A-Za-z]|[0-9A-Za-z%][\u4e00-\u9fff]")
_WHOLE = re.compile(r"\d{4}年(\d{1,2}月(\d{1,2}日)?)?|(?<![0-9A-Za-z])[A-Z]档|创A")
TEXT_KEYS = ("title", "label", "guidance", "rectification", "requirement", "reason", "name", "description")


def _texts(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, str) and k in TEXT_KEYS:
                yield f"{path}.{k}", v
            else:
                yield from _texts(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _texts(v, f"{path}[{i}]")


@pytest.mark.parametrize("path", sorted(p for p in RULES.glob("*.yaml") if not p.name.endswith(".cases.yaml")),
                         ids=lambda p: p.name)
def test_authored_texts_are_spaced_as_generated_text(path):
    bad = []
    for where, text in _texts(yaml.safe_load(path.read_text(encoding="utf-8"))):
        if _TOUCHING.search(_WHOLE.sub("日", text)):
            bad.append(f"{where}: {text}")
    assert bad == [], "write 不少于 2 人, not 不少于2人 (docs/FORMATS.md):\n" + "\n".join(bad)


def test_scorecard_evidence_prints_dates_in_chinese_and_no_space_between_chinese_words():
    from evaluator.reports.model import show_value
    ctx = {"fields": {"last_election": {"type": "date"}, "meetings": {"type": "records"}, "centre": {"unit": "m2"}}}
    assert show_value(ctx, "last_election", "2019-06-20") == "2019年6月20日"
    assert show_value(ctx, "meetings", [{"date": "2026-01-05"}, {"date": "2026-02-05"}]) == "1月5日、2月5日（共 2 条）"
    assert show_value(ctx, "public", {"self": True, "verified": False}) == "核查否；自报是"
    assert show_value(ctx, "centre", {"self": 520}).startswith("自报 520 ")


def test_a_self_report_mismatch_reads_as_chinese():
    from evaluator.intake.evidence import settle_mismatch
    from evaluator.model import Field
    yes_no = settle_mismatch(Field("public", "boolean", "党务公开按规定落实"), True, False)
    assert yes_no.message == "党务公开按规定落实：自报是，核查否"
    area = settle_mismatch(Field("centre", "number", "党群服务中心面积", unit="m2"), Decimal(520), Decimal(480))
    assert area.message == "党群服务中心面积：自报 520 平方米，核查 480 平方米，超出允许误差"


def test_a_scorecard_ranks_an_agency_within_its_system_not_a_street():
    from evaluator.reports.model import _ranks
    counts = {("round", ""): 9, ("street", "示例区\x1f区直机关工委"): 4, ("street", "示例区\x1f文昌街道"): 5}
    agency = {"district": "示例区", "street": "区直机关工委", "type": "agency", "rank": {"round": 3, "street": 2}}
    community = {**agency, "street": "文昌街道", "type": "community"}
    assert [r["label"] for r in _ranks(agency, counts)] == ["全域排名", "系统内排名"]
    assert [r["label"] for r in _ranks(community, counts)] == ["全域排名", "街道内排名"]


def test_a_date_in_a_condition_reads_as_chinese_without_spaces_around_it():
    assert describe_expr("total >= 90 and tier == 'A'", {"A": "A档"}) == "总分不低于 90 分且档次为 A档"
    assert spaced("不早于", "2026年1月1日", "且", "不少于", "2 人") == "不早于2026年1月1日且不少于 2 人"


def test_a_chinese_tier_name_in_a_tier_reason_has_no_space_before_it(tmp_path):
    from test_grading import child_standard
    from test_list_rules import PASS_FAIL
    std = child_standard(tmp_path, "pf", PASS_FAIL)
    r, _ = run({"O1": full_evidence("O1")}, std=std)
    assert r["O1"]["tier"] == "P" and r["O1"]["tier_reasons"][0].endswith("，达到合格（≥ 60）")
