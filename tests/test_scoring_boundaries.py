"""Where published numbers go wrong: thresholds, floors, period edges, ties, and the rules that
interact (veto × gate × quota) in one placement. Every case is computed by hand in its comment."""
import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from evaluator.errors import EvaluationError, InputError
from evaluator.model import Organization, Quota, Record
from evaluator.scoring.criteria import org_env, score_criterion
from evaluator.standard import methods
from evaluator.standard.periods import cut

from test_engine import PERIOD, full_evidence
from test_grading import STD, child_standard, months, review_standard, run


def crit(r, cid):
    return next(c for c in r["criteria"] if c["id"] == cid)


# ---------------------------------------------------------------- the one rounding step

@pytest.mark.parametrize("review, total, tier", [
    ("79.99", "90.00", "A"),     # 50 + 39.995 = 89.995 -> half up to 90.00, exactly the A band's minimum
    ("79.97", "89.99", "B"),     # 89.985 -> 89.99 half up (half-even would give 89.98)
    ("79.98", "89.99", "B"),     # 89.99 exactly, one cent below the band
])
def test_total_is_rounded_half_up_once_before_the_tier_band(tmp_path, review, total, tier):
    std = review_standard(tmp_path, "weighted")
    o = run({"O1": full_evidence("O1", review_score=Decimal(review))}, std)[0]["O1"]
    assert (o["total"], o["tier"]) == (Decimal(total), tier)


@pytest.mark.parametrize("minimum, status", [("90.63%", "graded"), ("90.64%", "not_graded")])
def test_the_reviewed_share_is_rounded_half_up_at_its_fourth_place(tmp_path, minimum, status):
    # base 160 (G1.1 15 points, G2.4 65); members_full missing leaves G1.1's 15 unreviewed:
    # 145 / 160 = 0.90625 -> 0.9063 half up (half-even and truncation give 0.9062, below 90.63%)
    std = child_standard(tmp_path, "odd", 'id: odd\nversion: "1"\ntitle: 奇数分值\nextends: mini\n'
                         f"grading:\n  quotas: []\n  base: 160\n  min_reviewed_share: {minimum}\n"
                         "override:\n  G1.1: {points: 15}\n  G2.4: {points: 65}\n")
    ev = full_evidence("O1")
    del ev.values["members_full"]
    o = run({"O1": ev}, std)[0]["O1"]
    assert (o["reviewed_share"], o["status"]) == (Decimal("0.9063"), status)
    if status == "not_graded":
        assert o["tier_reasons"] == ["不予定档：已核查指标分值占比 90.63%，低于最低要求 90.64%"]


# ---------------------------------------------------------------- floors (扣完为止)

@pytest.mark.parametrize("tasks, points, floored", [(0, 10, False), (2, 2, False), (3, 0, True), (9, 0, True)])
def test_deductions_floor_at_zero_and_say_so(tasks, points, floored):
    # G2.4: 10 points, 4 per unapproved task
    c = crit(run({"O1": full_evidence("O1", unapproved_tasks=Decimal(tasks))})[0]["O1"], "G2.4")
    assert c["points"] == points
    assert ("扣完为止" in c["reason"]) is floored


def test_deduction_exactly_to_zero_is_not_a_floor(tmp_path):
    std = child_standard(tmp_path, "d", """id: d
version: "1"
title: 扣分
extends: mini
override:
  G2.4: {items: [{id: u, label: 未经准入事项, count: unapproved_tasks, deduct: 5}]}
""")
    c = crit(run({"O1": full_evidence("O1", unapproved_tasks=Decimal(2))}, std)[0]["O1"], "G2.4")
    assert c["points"] == 0 and c["outcome"] == "fail" and "扣完为止" not in c["reason"]


ITEMS = """id: items
version: "1"
title: 扣分项
extends: mini
override:
  G2.4: {items: [{id: u, label: 未经准入事项, count: unapproved_tasks, deduct: 4},
                 {id: v, label: 发生违纪, when: serious_violation, deduct: 3}]}
"""


@pytest.mark.parametrize("tasks, violation, outcome, points, reason", [
    (0, False, "pass", 10, "无扣分情形，得 10 分"),
    (1, False, "partial", 6, "存在扣分情形：未经准入事项 1 项，扣 4 分"),
    (1, True, "partial", 3, "存在扣分情形：未经准入事项 1 项；发生违纪，扣 7 分"),          # 4 x 1 + 3, each named
    (2, True, "fail", 0, "存在扣分情形：未经准入事项 2 项；发生违纪，扣 10 分（扣完为止）"),   # 8 + 3 = 11 > 10
    (-1, False, "error", 0, "无法计算：未经准入事项：次数 -1 不能为负"),
])
def test_deduction_items_counted_and_yes_no_add_up_and_are_named(tmp_path, tasks, violation, outcome, points, reason):
    std = child_standard(tmp_path, "items", ITEMS)
    ev = full_evidence("O1", unapproved_tasks=Decimal(tasks), serious_violation=violation)
    c = crit(run({"O1": ev}, std)[0]["O1"], "G2.4")
    assert (c["outcome"], c["points"], c["reason"]) == (outcome, points, reason)


# ---------------------------------------------------------------- period edges

def test_records_on_the_first_and_last_day_count_and_those_outside_are_listed():
    recs = tuple(Record(dt.date(2026, m, 15)) for m in range(2, 12)) + (
        Record(dt.date(2026, 1, 1)), Record(dt.date(2026, 12, 31)),
        Record(dt.date(2025, 12, 31), "去年支委会"), Record(dt.date(2027, 1, 1)))
    c = crit(run({"O1": full_evidence("O1", committee_meetings=tuple(sorted(recs)))})[0]["O1"], "G2.1")
    assert (c["outcome"], c["points"]) == ("pass", 30)
    assert "另有 2 条记录在考评期（2026年1月1日至2026年12月31日）外，不计入：2025年12月31日《去年支委会》、2027年1月1日" in c["reason"]


def test_a_record_the_day_after_the_period_does_not_fill_december():
    recs = months(*range(1, 12)) + (Record(dt.date(2027, 1, 1)),)
    c = crit(run({"O1": full_evidence("O1", committee_meetings=recs)})[0]["O1"], "G2.1")
    assert c["points"] == Decimal("27.5") and "2026年12月" in c["reason"] and "考评期" in c["reason"]


# ---------------------------------------------------------------- ratios

# 20 x 0.5 / 0.6 is kept exact until the total's rounding; results.json carries it as a JSON number
@pytest.mark.parametrize("party, outcome, points", [(6, "pass", 20), (5, "partial", Decimal("16.666666666666668"))])
def test_ratio_exactly_at_its_target_passes(party, outcome, points):
    c = crit(run({"O1": full_evidence("O1", grid_staff=Decimal(10), grid_staff_party=Decimal(party))})[0]["O1"], "G2.2")
    assert (c["outcome"], c["points"]) == (outcome, points)


def test_a_negative_count_is_an_error_never_negative_points():
    # -100 would have given 20 x -10 / 0.6 = -333 points before
    r = run({"O1": full_evidence("O1", grid_staff=Decimal(10), grid_staff_party=Decimal(-100))})[0]["O1"]
    c = crit(r, "G2.2")
    assert (c["outcome"], c["points"]) == ("error", 0)
    assert c["reason"] == "无法计算：分子或分母为负数（-100 / 10），无法计算比例"
    assert r["status"] == "not_graded"


SHARE = "网格员中党员人数占网格员人数的比例"


@pytest.mark.parametrize("staff, party, outcome, reason", [
    (10, 6, "pass", f"{SHARE} 60%，达到目标 60%，得 20 分"),
    (10, 3, "partial", f"{SHARE} 30%，未达目标 60%，按比例得 10 分（20 × 30% ÷ 60%，满分 20 分）"),
    (10, 5, "partial", f"{SHARE} 50%，未达目标 60%，按比例约得 16.67 分（20 × 50% ÷ 60%，满分 20 分）"),
    # 11997 / 20000 = 0.59985: 59.99% half up (half even would give 59.98%); 20 x 0.5999 / 0.6 = 19.9967
    (20000, 11997, "partial", f"{SHARE} 59.99%，未达目标 60%，按比例约得 20 分（20 × 59.99% ÷ 60%，满分 20 分）"),
])
def test_a_ratios_reason_shows_its_share_its_target_and_how_the_points_follow(staff, party, outcome, reason):
    c = crit(run({"O1": full_evidence("O1", grid_staff=Decimal(staff), grid_staff_party=Decimal(party))})[0]["O1"], "G2.2")
    assert (c["outcome"], c["reason"]) == (outcome, reason)
    assert c["evidence"] == {"grid_staff": staff, "grid_staff_party": party}


SHARE_STD = """id: share
version: "1"
title: 占比
extends: mini
grading: {base: 105}
fields:
  party_share: {type: percentage, label: 网格党员占比}
sections:
  - id: G1
    criteria:
      - {id: G1.3, title: 党员占比, points: 5, method: ratio, value: party_share, target: 66.67%, rectification: 吸纳党员}
"""


@pytest.mark.parametrize("share, outcome, reason", [
    ("0.6667", "pass", "网格党员占比 66.67%，达到目标 66.67%，得 5 分"),
    ("0.6666", "fail", "网格党员占比 66.66%，未达目标 66.67%，不得分"),
    ("0", "fail", "网格党员占比 0%，未达目标 66.67%，不得分"),           # no share is a share, not an error
    ("-0.1", "error", "无法计算：比例为负数（-0.1），无法计分"),
])
def test_a_share_read_from_a_percentage_field_is_all_or_nothing_from_zero(tmp_path, share, outcome, reason):
    std = child_standard(tmp_path, "share", SHARE_STD)
    c = crit(run({"O1": full_evidence("O1", party_share=Decimal(share))}, std)[0]["O1"], "G1.3")
    assert (c["outcome"], c["reason"]) == (outcome, reason)


def test_every_method_stays_within_zero_and_its_points(monkeypatch):
    bad = dataclasses.replace(methods.REGISTRY["check"], score=lambda p, pts, env: methods.Scored("pass", pts + 1, "x", {}))
    monkeypatch.setitem(methods.REGISTRY, "check", bad)
    org = Organization("O1", "O1", "community")
    env = org_env(org, full_evidence("O1").values, (dt.date(2026, 1, 1), dt.date(2026, 12, 31)))
    with pytest.raises(EvaluationError, match="outside 0..10"):
        score_criterion(STD.criteria["G1.1"], env)


# ---------------------------------------------------------------- bands

@pytest.mark.parametrize("area, outcome, points, reason", [
    ("500", "pass", 20, "党群服务中心面积 500 平方米，达到“≥ 500 平方米”档，得 20 分（满分 20 分）"),
    ("499.99", "partial", 12, "党群服务中心面积 499.99 平方米，达到“≥ 300 平方米”档，得 12 分（满分 20 分）"),
    ("299.99", "fail", 0, "党群服务中心面积 299.99 平方米，低于最低档（≥ 300 平方米），不得分"),
])
def test_a_band_is_met_from_its_minimum_and_the_reason_names_it(area, outcome, points, reason):
    c = crit(run({"O1": full_evidence("O1", centre_area=Decimal(area))})[0]["O1"], "G1.2")
    assert (c["outcome"], c["points"], c["reason"]) == (outcome, points, reason)
    assert c["evidence"] == {"centre_area": Decimal(area)}


@pytest.mark.parametrize("rating, outcome, points, reason", [
    ("较好", "partial", 8, "书记述职评议等次为“较好”，得 8 分（满分 10 分）"),
    ("差", "fail", 0, "书记述职评议等次为“差”，不在计分档次内，不得分"),
])
def test_an_enum_band_scores_its_value_and_a_value_without_a_band_scores_nothing(rating, outcome, points, reason):
    c = crit(run({"O1": full_evidence("O1", secretary_rating=rating)})[0]["O1"], "G2.3")
    assert (c["outcome"], c["points"], c["reason"]) == (outcome, points, reason)
    assert c["evidence"] == {"secretary_rating": rating}


EXPR_BANDS = """id: gap
version: "1"
title: 差额分档
extends: mini
grading: {base: 103}
sections:
  - id: G1
    criteria:
      - {id: G1.3, title: 非党员网格员, points: 3, method: bands, value: "grid_staff - grid_staff_party",
         bands: [{min: 1, points: 1}, {min: 5.5, points: 3}, {min: 3, points: 2}], rectification: 吸纳党员}
"""
GAP = "网格员人数与网格员中党员人数之差"


@pytest.mark.parametrize("party, outcome, points, reason", [
    (0, "pass", 3, f"{GAP} 10，达到“≥ 5.5”档，得 3 分（满分 3 分）"),
    (6, "partial", 2, f"{GAP} 4，达到“≥ 3”档，得 2 分（满分 3 分）"),
    (8, "partial", 1, f"{GAP} 2，达到“≥ 1”档，得 1 分（满分 3 分）"),
    (10, "fail", 0, f"{GAP} 0，低于最低档（≥ 1），不得分"),
])
def test_bands_of_an_expression_are_met_highest_minimum_first_whatever_their_order(tmp_path, party, outcome, points, reason):
    # written 1, 5.5, 3: compiled highest first, and the lowest (1) named when none is met
    std = child_standard(tmp_path, "gap", EXPR_BANDS)
    c = crit(run({"O1": full_evidence("O1", grid_staff=Decimal(10), grid_staff_party=Decimal(party))}, std)[0]["O1"], "G1.3")
    assert (c["outcome"], c["points"], c["reason"]) == (outcome, points, reason)



SHARE_BANDS = """id: sharebands
version: "1"
title: 占比分档
extends: mini
grading: {base: 103}
fields:
  party_share: {type: percentage, label: 网格党员占比}
sections:
  - id: G1
    criteria:
      - {id: G1.3, title: 网格党员占比, points: 3, method: bands, value: party_share,
         bands: [{min: 0.6, points: 2}, {min: 80%, points: 3}], rectification: 吸纳党员}
"""


@pytest.mark.parametrize("share, outcome, points, reason", [
    ("0.8", "pass", 3, "网格党员占比 80%，达到“≥ 80%”档，得 3 分（满分 3 分）"),
    ("0.7999", "partial", 2, "网格党员占比 79.99%，达到“≥ 60%”档，得 2 分（满分 3 分）"),
    ("0.6", "partial", 2, "网格党员占比 60%，达到“≥ 60%”档，得 2 分（满分 3 分）"),
    ("0.5999", "fail", 0, "网格党员占比 59.99%，低于最低档（≥ 60%），不得分"),
])
def test_bands_over_a_percentage_read_their_minimums_as_shares_written_either_way(tmp_path, share, outcome, points, reason):
    # 0.6 and 80% are both shares of the field, compared with its value and printed as percentages
    std = child_standard(tmp_path, "sharebands", SHARE_BANDS)
    c = crit(run({"O1": full_evidence("O1", party_share=Decimal(share))}, std)[0]["O1"], "G1.3")
    assert (c["outcome"], c["points"], c["reason"]) == (outcome, points, reason)


def test_a_bare_whole_number_as_a_percentage_bands_minimum_is_refused_not_read_as_6000_percent(tmp_path):
    # "min: 60" over a percentage could mean 60% or 6000%: refused as evidence refuses a bare 60,
    # rather than a band no share can reach
    with pytest.raises(InputError) as e:
        child_standard(tmp_path, "sharebands", SHARE_BANDS.replace("min: 0.6,", "min: 60,"))
    [issue] = e.value.issues
    assert issue.path == "$.sections[0].criteria[0].bands[0].min"
    assert "60% or 0.6" in issue.message


# ---------------------------------------------------------------- thresholds

THRESHOLDS = """id: thresholds
version: "1"
title: 门槛
extends: mini
grading: {base: 105}
fields:
  party_share: {type: percentage, label: 网格党员占比}
sections:
  - id: G1
    criteria:
      - {id: G1.11, title: 不少于, points: 1, method: threshold, field: members_full, value: 7, rectification: 发展}
      - {id: G1.22, title: 超过, points: 1, method: threshold, field: members_full, op: ">", value: 7人, rectification: 发展}
      - {id: G1.33, title: 不超过, points: 1, method: threshold, field: unapproved_tasks, op: "<=", value: 1, rectification: 准入}
      - {id: G1.44, title: 少于, points: 1, method: threshold, field: unapproved_tasks, op: "<", value: 1, rectification: 准入}
      - {id: G1.55, title: 占比, points: 1, method: threshold, field: party_share, value: 60%, rectification: 吸纳}
"""


@pytest.mark.parametrize("members, tasks, share, expect", [
    (7, 1, "0.6", {
        "G1.11": ("pass", 1, "正式党员人数 7 人，达到要求（正式党员人数不少于 7 人），得 1 分"),
        "G1.22": ("fail", 0, "正式党员人数 7 人，未达到要求（正式党员人数超过 7 人），不得分"),
        "G1.33": ("pass", 1, "未经准入事项数 1 个，达到要求（未经准入事项数不超过 1 个），得 1 分"),
        "G1.44": ("fail", 0, "未经准入事项数 1 个，未达到要求（未经准入事项数少于 1 个），不得分"),
        "G1.55": ("pass", 1, "网格党员占比 60%，达到要求（网格党员占比不低于 60%），得 1 分")}),
    (8, 0, "0.5999", {
        "G1.11": ("pass", 1, "正式党员人数 8 人，达到要求（正式党员人数不少于 7 人），得 1 分"),
        "G1.22": ("pass", 1, "正式党员人数 8 人，达到要求（正式党员人数超过 7 人），得 1 分"),
        "G1.33": ("pass", 1, "未经准入事项数 0 个，达到要求（未经准入事项数不超过 1 个），得 1 分"),
        "G1.44": ("pass", 1, "未经准入事项数 0 个，达到要求（未经准入事项数少于 1 个），得 1 分"),
        "G1.55": ("fail", 0, "网格党员占比 59.99%，未达到要求（网格党员占比不低于 60%），不得分")}),
])
def test_a_threshold_holds_by_its_operator_at_its_value_and_says_what_it_asked(tmp_path, members, tasks, share, expect):
    std = child_standard(tmp_path, "thresholds", THRESHOLDS)
    r = run({"O1": full_evidence("O1", members_full=Decimal(members), unapproved_tasks=Decimal(tasks),
                                 party_share=Decimal(share))}, std)[0]["O1"]
    assert {cid: (crit(r, cid)["outcome"], crit(r, cid)["points"], crit(r, cid)["reason"]) for cid in expect} == expect
    assert crit(r, "G1.55")["evidence"] == {"party_share": Decimal(share)}


# ---------------------------------------------------------------- checks, bonuses and vetoes say what they read

@pytest.mark.parametrize("members, outcome, points, reason", [
    (9, "pass", 10, "符合要求（正式党员人数不少于 3 人）：正式党员人数 9 人，得 10 分"),
    (2, "fail", 0, "未达到要求（正式党员人数不少于 3 人）：正式党员人数 2 人，不得分"),
])
def test_a_checks_reason_gives_the_rule_and_the_value_read(members, outcome, points, reason):
    c = crit(run({"O1": full_evidence("O1", members_full=Decimal(members))})[0]["O1"], "G1.1")
    assert (c["outcome"], c["points"], c["reason"]) == (outcome, points, reason)


BONUS = """id: bonus
version: "1"
title: 加分项
extends: mini
override:
  G9.1: {items: [{id: a, label: 市级以上表彰, count: awards, add: 2}, {id: b, label: 无违纪, when: "not serious_violation", add: 0.5}]}
"""


@pytest.mark.parametrize("awards, violation, outcome, points, reason", [
    (1, True, "partial", 2, "加分：市级以上表彰 1 项，加 2 分"),
    (2, True, "partial", 4, "加分：市级以上表彰 2 项，加 4 分"),                       # 4 of 5: no cap to name
    (1, False, "partial", Decimal("2.5"), "加分：市级以上表彰 1 项；无违纪，加 2.5 分"),
    (4, False, "pass", 5, "加分：市级以上表彰 4 项；无违纪，加 5 分（本项最多 5 分）"),   # 8.5 capped at 5
])
def test_bonus_items_add_up_to_the_criterions_points_and_name_the_cap(tmp_path, awards, violation, outcome, points, reason):
    std = child_standard(tmp_path, "bonus", BONUS)
    c = crit(run({"O1": full_evidence("O1", awards=Decimal(awards), serious_violation=violation)}, std)[0]["O1"], "G9.1")
    assert (c["outcome"], c["points"], c["reason"]) == (outcome, points, reason)


VETOES = """id: vetoes
version: "1"
title: 否决
extends: mini
override:
  G9.2: {mark: 软弱涣散党组织}
sections:
  - id: G9
    criteria:
      - {id: G9.3, title: 人数不足, method: veto, when: "members_full < 3", mark: 软弱涣散党组织, rectification: 发展党员}
"""
HIT = "触发一票否决（发生严重违纪违法问题）：是否发生严重违纪违法问题为“是”，"


def test_a_vetos_reason_says_what_a_hit_caps_and_marks(tmp_path):
    plain = crit(run({"O1": full_evidence("O1", serious_violation=True)})[0]["O1"], "G9.2")
    assert plain["reason"] == HIT + "档次最高定为 C档"
    std = child_standard(tmp_path, "vetoes", VETOES)
    r = run({"O1": full_evidence("O1", serious_violation=True, members_full=Decimal(2))}, std)[0]["O1"]
    assert crit(r, "G9.2")["reason"] == HIT + "认定为软弱涣散党组织，档次最高定为 C档"
    assert crit(r, "G9.3")["reason"] == "触发一票否决（正式党员人数少于 3 人）：正式党员人数 2 人，认定为软弱涣散党组织，不限定档次"
    assert crit(run({"O1": full_evidence("O1")}, std)[0]["O1"], "G9.3")["reason"] == "未触发一票否决情形"


INFO = """id: info
version: "1"
title: 信息项
extends: mini
sections:
  - id: G9
    criteria:
      - {id: G9.4, title: 党员人数, method: info, value: members_full, rectification: 无}
      - {id: G9.5, title: 非党员网格员, method: info, value: "grid_staff - grid_staff_party", rectification: 无}
"""


def test_an_info_item_shows_its_value_unscored_with_the_evidence_it_read(tmp_path):
    r = run({"O1": full_evidence("O1")}, child_standard(tmp_path, "info", INFO))[0]["O1"]
    shown = {cid: (crit(r, cid)["outcome"], crit(r, cid)["points"], crit(r, cid)["reason"], crit(r, cid)["evidence"])
             for cid in ("G9.4", "G9.5")}
    assert shown == {"G9.4": ("pass", 0, "正式党员人数：9 人（不计分）", {"members_full": 9}),
                     "G9.5": ("pass", 0, "网格员人数与网格员中党员人数之差：4（不计分）", {"grid_staff": 10, "grid_staff_party": 6})}


REQUIREMENT = """id: requirement
version: "1"
title: 要求
extends: mini
override:
  G1.1: {condition: "members_full >= 3 and grid_staff_party > 0", requirement: 正式党员不少于3名且有党员网格员}
"""


def test_a_requirement_in_the_authors_words_replaces_the_generated_rule_and_every_value_read_is_shown(tmp_path):
    r = run({"O1": full_evidence("O1")}, child_standard(tmp_path, "requirement", REQUIREMENT))[0]["O1"]
    assert crit(r, "G1.1")["reason"] == "符合要求（正式党员不少于3名且有党员网格员）：网格员中党员人数 6 人，正式党员人数 9 人，得 10 分"


def test_a_missing_records_or_enum_field_is_named_in_the_not_reviewed_reason():
    ev = full_evidence("O1")
    del ev.values["committee_meetings"], ev.values["secretary_rating"]
    r = run({"O1": ev})[0]["O1"]
    assert [(crit(r, cid)["outcome"], crit(r, cid)["reason"]) for cid in ("G2.1", "G2.3")] == [
        ("not_reviewed", "缺少材料：支部委员会会议记录，按零分计"), ("not_reviewed", "缺少材料：书记述职评议等次，按零分计")]


ORG_TYPE = """id: orgtype
version: "1"
title: 组织类型
extends: mini
override:
  G1.1: {condition: "org.type == 'community' and unapproved_tasks == 0"}
  G9.2: {when: "org.type == 'community'"}
"""


def test_a_rule_on_the_organizations_type_shows_only_the_evidence_values_it_read(tmp_path):
    # org.type sorts before unapproved_tasks: the value after it is still shown; a rule on the type alone shows none
    r = run({"O1": full_evidence("O1")}, child_standard(tmp_path, "orgtype", ORG_TYPE))[0]["O1"]
    assert crit(r, "G1.1")["reason"] == "符合要求（组织类型为社区且未经准入事项数为 0 个）：未经准入事项数 0 个，得 10 分"
    assert crit(r, "G9.2")["reason"] == "触发一票否决（组织类型为社区），档次最高定为 C档"


# ---------------------------------------------------------------- notes from intake reach the reason

def test_intake_notes_are_appended_to_every_reason_that_reads_the_field():
    ev = full_evidence("O1", awards=Decimal(0))
    ev.notes["awards"] = "市级以上表彰次数空白，按 0 计"
    ev.notes["centre_area"] = "核查值为空（核查人：王敏），未采用自报值"
    del ev.values["centre_area"]
    r = run({"O1": ev})[0]["O1"]
    assert crit(r, "G9.1")["reason"] == "无加分情形（市级以上表彰次数空白，按 0 计）"
    g12 = crit(r, "G1.2")
    assert g12["outcome"] == "not_reviewed" and "核查值为空（核查人：王敏），未采用自报值" in g12["reason"]
    assert "空白" not in crit(r, "G1.1")["reason"]


# ---------------------------------------------------------------- placement: veto x gate x quota

GATED = """id: gated
version: "1"
title: 各档门槛
extends: mini
grading:
  quotas: [{tier: A, max_share: 25%, scope: district}]
  gates:
    - {tier: A, condition: "section_points('G2') >= 60", reason: 组织生活不低于60分}
    - {tier: B, condition: "points('G1.2') >= 20", reason: 场所达标}
    - {tier: C, condition: "points('G1.1') > 0", reason: 支部设置规范}
"""


def test_a_veto_cap_still_has_to_meet_the_capped_tiers_gates(tmp_path):
    std = child_standard(tmp_path, "gated", GATED)
    std = dataclasses.replace(std, grading=dataclasses.replace(std.grading, quotas=()))
    # 90 points (G1.1 lost) -> A; veto caps at C; C's gate needs G1.1 -> D
    o = run({"O1": full_evidence("O1", members_full=Decimal(1), serious_violation=True)}, std)[0]["O1"]
    assert o["total"] == 90 and o["tier"] == "D"
    assert o["tier_reasons"][-2:] == ["触发一票否决（G9.2），档次最高为 C档", "未满足 C档条件（支部设置规范），降为 D档"]


def test_veto_gate_and_quota_interact_in_one_placement(tmp_path):
    std = child_standard(tmp_path, "gated", GATED)
    ev = {
        "O1": full_evidence("O1", awards=Decimal(1)),               # 102: keeps the one A place (4 x 25%)
        "O2": full_evidence("O2", centre_area=Decimal(350)),        # 92, A; quota -> B; B's gate (G1.2 = 12) -> C
        "O3": full_evidence("O3", serious_violation=True),          # 100, veto -> C
        "O4": full_evidence("O4", committee_meetings=months(1)),    # 72.5 -> C
    }
    r, _ = run(ev, std)
    assert {k: v["tier"] for k, v in r.items()} == {"O1": "A", "O2": "C", "O3": "C", "O4": "C"}
    assert r["O2"]["tier_before_quota"] == "A"
    assert r["O2"]["tier_reasons"][-1] == "未满足 B档条件（场所达标），降为 C档"
    # ranks follow the final tiers: O2 (92) before O4 (72.5) within C, O3 (vetoed 100) first in C
    assert [r[o]["rank"]["round"] for o in ("O1", "O3", "O2", "O4")] == [1, 2, 3, 4]


# ---------------------------------------------------------------- a section's gate in a bulletin

def _as_of(std, as_of, evidence):
    return run(evidence, std, period=cut(PERIOD, as_of))[0]


@pytest.mark.parametrize("meetings, tier", [(months(1), "A"), ((), "B")])
def test_a_section_gate_in_a_bulletin_asks_its_share_of_what_has_fallen_due(tmp_path, meetings, tier):
    # 31 March: G2.3 (10, due at the period's end) and G2.4 (10, due 30 June) are not due, so
    # G2's 70 points have 50 due (G2.1 30 pro-rated to three months, 2.5 a month missed; G2.2
    # 20). The gate 组织生活不低于60分 reads G2's points x 70 / 50: one meeting (45) reads 63,
    # none (42.5) reads 59.5 -- the section's own points (45, 42.5) would fail both, the full 70
    # pass both. Totals 93.75 and 90.63 both reach A by the score lines.
    std = child_standard(tmp_path, "due", 'id: due\nversion: "1"\ntitle: 到期\nextends: mini\n'
                         "grading:\n  quotas: []\n"
                         "override:\n  G2.3: {due: period_end}\n  G2.4: {due: 2026-06-30}\n")
    o = _as_of(std, dt.date(2026, 3, 31), {"O1": full_evidence("O1", committee_meetings=meetings)})["O1"]
    assert o["tier"] == tier and o["total"] >= 90
    assert ("未满足 A档条件（组织生活不低于60分），降为 B档" in o["tier_reasons"]) is (tier == "B")


@pytest.mark.parametrize("party, tier", [(Decimal(6), "A"), (Decimal(0), "B")])
def test_a_section_with_one_point_due_is_read_from_that_point_not_as_full(tmp_path, party, tier):
    # Only G2.2 (1 point) of G2 (G2.1 49, G2.2 1, G2.3 10, G2.4 10: 70) has fallen due on 31
    # March: the gate reads G2.2's points x 70 / 1, 70 when it is earned and 0 when not (only a
    # section nothing of which is due reads as full). Totals 31/31 and 30/31 (96.77) reach A.
    std = child_standard(tmp_path, "one", 'id: one\nversion: "1"\ntitle: 一分到期\nextends: mini\n'
                         "grading:\n  quotas: []\n"
                         "override:\n  G2.1: {points: 49, due: period_end}\n  G2.2: {points: 1}\n"
                         "  G2.3: {due: period_end}\n  G2.4: {due: 2026-06-30}\n")
    o = _as_of(std, dt.date(2026, 3, 31), {"O1": full_evidence("O1", grid_staff_party=party)})["O1"]
    assert o["total"] >= 90 and o["tier"] == tier


def test_a_bulletin_with_one_point_fallen_due_scores_that_point_to_the_base(tmp_path):
    # 31 March, everything but G2.2 (1 point) due later: the base counts that one point, and
    # earning it is 1 / 1 x 100 = 100 (A; G2's gate reads 1 x 70 / 1)
    std = child_standard(tmp_path, "first", 'id: first\nversion: "1"\ntitle: 一分到期\nextends: mini\n'
                         "grading:\n  quotas: []\n"
                         "override:\n  G1.1: {due: period_end}\n  G1.2: {due: period_end}\n"
                         "  G2.1: {points: 49, due: period_end}\n  G2.2: {points: 1}\n"
                         "  G2.3: {due: period_end}\n  G2.4: {due: 2026-06-30}\n")
    o = _as_of(std, dt.date(2026, 3, 31), {"O1": full_evidence("O1")})["O1"]
    assert (o["base"], o["total"], o["tier"]) == (Decimal(100), Decimal(100), "A")


# ---------------------------------------------------------------- quota ties

def test_quota_ties_are_broken_by_id_and_both_sides_are_told():
    std = dataclasses.replace(STD, grading=dataclasses.replace(STD.grading, quotas=(Quota("A", Decimal("0.5"), "district"),)))
    ev = {o: full_evidence(o) for o in ("O3", "O1", "O2", "O4")}      # four identical organizations, 2 A places
    r, _ = run(ev, std)
    assert [r[o]["tier"] for o in ("O1", "O2", "O3", "O4")] == ["A", "A", "B", "B"]
    for o in ("O1", "O2"):
        assert any("保留在该档" in x and "按组织编号先后确定名额" in x for x in r[o]["tier_reasons"]), o
    for o in ("O3", "O4"):
        assert any("调整为 B档" in x and "按组织编号先后确定名额" in x for x in r[o]["tier_reasons"]), o


def test_no_tie_note_when_the_quota_boundary_is_not_a_tie():
    std = dataclasses.replace(STD, grading=dataclasses.replace(STD.grading, quotas=(Quota("A", Decimal("0.5"), "district"),)))
    r, _ = run({"O1": full_evidence("O1", awards=Decimal(1)), "O2": full_evidence("O2")}, std)
    assert (r["O1"]["tier"], r["O2"]["tier"]) == ("A", "B")
    assert not any("并列" in x for o in r.values() for x in o["tier_reasons"])
