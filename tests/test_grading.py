"""Scores, tiers, gates, vetoes, quotas and ranks, to the last half point."""
import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from evaluator.errors import InputError
from evaluator.model import Evidence, Organization, Quota
from evaluator.model import Record
from evaluator.scoring.run import evaluate_organizations
from evaluator.standard.loader import load_standard

from conftest import FIXTURES
from test_engine import PERIOD, full_evidence

WITH_QUOTA = load_standard(FIXTURES / "mini" / "mini.yaml")
# Most tests grade one or two organizations; a 50% quota (rounded down) would demote them.
STD = dataclasses.replace(WITH_QUOTA, grading=dataclasses.replace(WITH_QUOTA.grading, quotas=()))


def child_standard(tmp_path, sid: str, text: str):
    """A field standard extending mini, written beside a copy of mini and loaded."""
    (tmp_path / "mini.yaml").write_text((FIXTURES / "mini" / "mini.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / f"{sid}.yaml").write_text(text, encoding="utf-8")
    return load_standard(tmp_path / f"{sid}.yaml")


def review_standard(tmp_path, sid: str, *, verified="50%", review="50%", label="民主评议", scale=100):
    """A standard extending mini whose total weighs the criteria (考核得分) against a review score
    field (民主评议得分, 0 to `scale`), the component named `label`."""
    return child_standard(tmp_path, sid, f"""id: {sid}
version: "1"
title: 加权标准
extends: mini
fields:
  review_score: {{type: number, label: 民主评议得分, min: 0, max: {scale}}}
grading:
  quotas: []
  components:
    - {{id: verified, label: 考核得分, source: criteria, weight: {verified}}}
    - {{id: review, label: {label}, source: field, field: review_score, scale: {scale}, weight: {review}}}
""")


def run(evidence: dict, std=STD, orgs=None, period=PERIOD):
    orgs = orgs or [Organization(oid, oid, "community", "东区", "一街道") for oid in evidence]
    payload = evaluate_organizations(orgs, evidence, {"community": std}, period)
    return {r["id"]: r for r in payload["organizations"]}, payload


def months(*ms):
    return tuple(Record(dt.date(2026, m, 15)) for m in ms)


def test_model_organization_gets_full_marks_plus_capped_bonus():
    r = run({"O1": full_evidence("O1", awards=Decimal(4))})[0]["O1"]
    assert (r["base"], r["bonus"], r["total"], r["tier"]) == (Decimal(100), Decimal(3), Decimal(103), "A")
    bonus = next(c for c in r["criteria"] if c["id"] == "G9.1")
    assert bonus["points"] == 5 and "本项最多 5 分" in bonus["reason"]     # 4 x 2 = 8, capped at 5, then bonus_cap 3


def test_missing_meetings_deduct_half_points_per_miss_until_nothing_is_left():
    r, _ = run({"O1": full_evidence("O1", committee_meetings=months(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)),
                "O2": full_evidence("O2", committee_meetings=months(1))})
    g21 = next(c for c in r["O1"]["criteria"] if c["id"] == "G2.1")
    assert (g21["outcome"], g21["points"]) == ("partial", Decimal(25))      # 2 missed x 2.5
    assert "2026年11月、2026年12月" in g21["reason"]
    g21 = next(c for c in r["O2"]["criteria"] if c["id"] == "G2.1")
    assert (g21["outcome"], g21["points"]) == ("partial", Decimal("2.5"))   # 11 x 2.5 = 27.5 of 30
    g21 = next(c for c in run({"O3": full_evidence("O3", committee_meetings=())})[0]["O3"]["criteria"] if c["id"] == "G2.1")
    assert (g21["outcome"], g21["points"]) == ("fail", Decimal(0))
    assert "扣完为止" not in g21["reason"]                                   # 12 x 2.5 = 30 exactly


def test_proportional_ratio_and_one_rounding_step():
    # 5/9 = 0.5556 after quantizing; 20 x 0.5556 / 0.6 = 18.52
    r, _ = run({"O1": full_evidence("O1", grid_staff=Decimal(9), grid_staff_party=Decimal(5))})
    g = next(c for c in r["O1"]["criteria"] if c["id"] == "G2.2")
    assert g["points"] == Decimal("18.52") and g["outcome"] == "partial"
    assert r["O1"]["total"] == Decimal("98.52")


def test_excluded_criterion_renormalizes_to_the_base():
    ev = full_evidence("O1", centre_area=Decimal(350))
    del ev.values["grid_staff"]                 # G2.2 (20 points, na_policy exclude) not reviewed
    r, _ = run({"O1": ev})
    # earned 10 + 12 + 30 + 10 + 10 = 72 of 80 counted -> 90.00
    assert r["O1"]["base"] == Decimal(90) and r["O1"]["total"] == Decimal(90)
    # the A gate reads raw section points (G2 = 30 + 0 + 10 + 10 = 50 < 60), so B
    assert r["O1"]["tier"] == "B"


def test_too_little_reviewed_means_not_graded():
    r, _ = run({"O1": Evidence("O1", values={"members_full": Decimal(5), "serious_violation": False})})
    o = r["O1"]
    assert o["status"] == "not_graded" and o["tier"] is None and o["total"] is None and o["rank"]["round"] is None
    assert any("已核查指标分值占比 10%，低于最低要求 50%" in x for x in o["tier_reasons"])


def test_gate_failure_moves_down_one_tier():
    # G2.1: 30 - 5 missed x 2.5 = 17.5; G2 = 17.5+20+10+10 = 57.5 < 60; total 87.5 + bonus 3 (2 x 2, capped at 3)
    r, _ = run({"O1": full_evidence("O1", committee_meetings=months(1, 2, 3, 4, 5, 6, 7), awards=Decimal(2))})
    o = r["O1"]
    assert o["total"] == Decimal("90.5")
    assert o["tier"] == "B"
    assert o["tier_reasons"][1] == "未满足 A档条件（组织生活不低于60分），降为 B档"


def test_veto_caps_the_tier_whatever_the_score():
    r, _ = run({"O1": full_evidence("O1", serious_violation=True)})
    o = r["O1"]
    assert o["total"] == Decimal(100) and o["tier"] == "C"
    assert [v["criterion"] for v in o["vetoes"]] == ["G9.2"]
    assert "触发一票否决（G9.2），档次最高为 C档" in o["tier_reasons"]


def test_quota_demotes_by_rank_and_ranks_follow_tiers():
    ev = {f"O{i}": full_evidence(f"O{i}", awards=Decimal(1 if i < 3 else 0)) for i in range(1, 6)}
    ev["O5"].values["committee_meetings"] = months(*range(1, 12))   # 97.5
    r, payload = run(ev, WITH_QUOTA)
    # 5 in one district, A at most 50% -> 2 places: O1, O2 (102) keep A; O3, O4 (100) and O5 go to B
    assert [r[f"O{i}"]["tier"] for i in range(1, 6)] == ["A", "A", "B", "B", "B"]
    assert r["O3"]["tier_before_quota"] == "A"
    assert "区县“东区”A档名额为 50%（5 个中最多 2 个），本组织在该档排第 3，调整为 B档" in r["O3"]["tier_reasons"]
    assert [r[f"O{i}"]["rank"]["round"] for i in range(1, 6)] == [1, 1, 3, 3, 5]
    assert [o["id"] for o in payload["organizations"]] == ["O1", "O2", "O3", "O4", "O5"]


def test_results_name_the_tier_after_quotas_and_no_tier_when_not_graded():
    # one A place of 50% for two: O1 (102) keeps A, O2 (100) is moved to B; O3 lacks most of
    # its evidence (not graded): the scorecard's 档次 is the tier's name, after the quota
    ev = {"O1": full_evidence("O1", awards=Decimal(1)), "O2": full_evidence("O2"),
          "O3": Evidence("O3", values={"members_full": Decimal(9)})}
    r, _ = run(ev, WITH_QUOTA)
    assert [(r[o]["tier"], r[o]["tier_name"], r[o]["tier_before_quota"]) for o in ("O1", "O2", "O3")] == \
        [("A", "A档", "A"), ("B", "B档", "A"), (None, None, None)]


def test_a_quota_counts_only_the_graded_organizations_of_its_group():
    # two graded (102, 100) and two not graded in one district: A at most 50% of the two
    # graded is one place (of four it would be two), so O2 goes to B
    ev = {"O1": full_evidence("O1", awards=Decimal(1)), "O2": full_evidence("O2"),
          "O3": Evidence("O3", values={"members_full": Decimal(9)}), "O4": Evidence("O4", values={})}
    r, _ = run(ev, WITH_QUOTA)
    assert [r[o]["tier"] for o in ("O1", "O2", "O3", "O4")] == ["A", "B", None, None]
    assert "区县“东区”A档名额为 50%（2 个中最多 1 个），本组织在该档排第 2，调整为 B档" in r["O2"]["tier_reasons"]


def test_quotas_apply_best_tier_first_whatever_the_tiers_ids(tmp_path):
    # star tiers whose ids sort the other way (S3 < S4 < S5), a quarter of four each for S5 and
    # S4: P2 (98) loses S5's one place to P1 (100) and then takes S4's from P3 (85)
    std = child_standard(tmp_path, "stars", """id: stars
version: "1"
title: 星级
extends: mini
grading:
  tiers:
    - {id: S5, name: 五星, min: 90}
    - {id: S4, name: 四星, min: 80}
    - {id: S3, name: 三星, min: 0}
  gates: []
  target: {tier: S5, min_share: 20%, scope: round}
  quotas:
    - {tier: S4, max_share: 25%, scope: round}
    - {tier: S5, max_share: 25%, scope: round}
override:
  G9.2: {cap_tier: S3}
""")
    ev = {"P1": full_evidence("P1"), "P2": full_evidence("P2", secretary_rating="较好"),
          "P3": full_evidence("P3", members_full=Decimal(2), secretary_rating="一般"),
          "P4": full_evidence("P4", centre_area=Decimal(10), secretary_rating="差")}
    r, _ = run(ev, std)
    assert [(r[o]["total"], r[o]["tier"]) for o in ev] == [(100, "S5"), (98, "S4"), (85, "S3"), (70, "S3")]


def _with_quota(share: str, scope: str = "district"):
    return dataclasses.replace(STD, grading=dataclasses.replace(STD.grading, quotas=(Quota("A", Decimal(share), scope),)))


def test_a_quota_tie_note_counts_the_others_tied_at_the_boundary():
    # o0 102, then four identical at 100 (ids in lower case, after any upper-case letter); two
    # A places of five: o1 keeps the second, tied with the three behind it, who are told so too
    ev = {o: full_evidence(o) for o in ("o3", "o1", "o2", "o4")} | {"o0": full_evidence("o0", awards=Decimal(1))}
    r, _ = run(ev, _with_quota("0.5"))
    head = "区县“东区”A档名额为 50%（5 个中最多 2 个），本组织"
    note = "；与其他 3 个组织在排序各项上完全并列，按组织编号先后确定名额"
    assert [r[o]["tier"] for o in ("o0", "o1", "o2", "o3", "o4")] == ["A", "A", "B", "B", "B"]
    assert not any("名额" in line for line in r["o0"]["tier_reasons"])
    assert f"{head}保留在该档{note}" in r["o1"]["tier_reasons"]
    assert f"{head}在该档排第 3，调整为 B档{note}" in r["o2"]["tier_reasons"]
    assert f"{head}在该档排第 5，调整为 B档{note}" in r["o4"]["tier_reasons"]


@pytest.mark.parametrize("share, kept", [("0.5", ["A", "B"]), ("0.12345", ["B", "B"])])
def test_two_identical_organizations_tie_for_one_place_not_for_none(share, kept):
    # 50% of two is one place, O1's by id, and both are told of the tie; 12.345% of two is
    # none, so no one is kept by id: both move, with no tie to speak of. The share is stated
    # to two places, half up
    r, _ = run({"O2": full_evidence("O2"), "O1": full_evidence("O1")}, _with_quota(share))
    assert [r[o]["tier"] for o in ("O1", "O2")] == kept
    places, note = (1, "；与其他 1 个组织在排序各项上完全并列，按组织编号先后确定名额") if kept[0] == "A" else (0, "")
    head = f"区县“东区”A档名额为 {'50%' if places else '12.35%'}（2 个中最多 {places} 个），本组织"
    assert f"{head}在该档排第 2，调整为 B档{note}" in r["O2"]["tier_reasons"]
    assert (f"{head}保留在该档{note}" if places else f"{head}在该档排第 1，调整为 B档") in r["O1"]["tier_reasons"]


def test_an_organization_moved_by_one_quota_is_told_nothing_by_the_next_it_fits(tmp_path):
    # A 25% of four (one place), B 50% (two): P2 (98) moves to B, where it and P3 (85) fill B's
    # two places exactly; only the A quota speaks of P2
    std = child_standard(tmp_path, "ab", 'id: ab\nversion: "1"\ntitle: 两档名额\nextends: mini\ngrading:\n  quotas:\n'
                                         "    - {tier: A, max_share: 25%, scope: round}\n"
                                         "    - {tier: B, max_share: 50%, scope: round}\n")
    ev = {"P1": full_evidence("P1"), "P2": full_evidence("P2", secretary_rating="较好"),
          "P3": full_evidence("P3", members_full=Decimal(2), secretary_rating="一般"),
          "P4": full_evidence("P4", centre_area=Decimal(10), secretary_rating="差")}
    r, _ = run(ev, std)
    assert [r[o]["tier"] for o in ev] == ["A", "B", "B", "C"]
    assert [line for line in r["P2"]["tier_reasons"] if "名额" in line] == [
        "全域A档名额为 25%（4 个中最多 1 个），本组织在该档排第 2，调整为 B档"]


def test_ranks_are_per_district_street_and_type():
    orgs = [Organization("E1", "E1", "community", "东区", "s"), Organization("W1", "W1", "community", "西区", "s"),
            Organization("W2", "W2", "community", "西区", "s"), Organization("W3", "W3", "community", "西区", "t")]
    ev = {"E1": full_evidence("E1", centre_area=Decimal(10)), "W1": full_evidence("W1"), "W2": full_evidence("W2", awards=Decimal(1)),
          "W3": full_evidence("W3", centre_area=Decimal(350))}
    r, _ = run(ev, STD, orgs)
    assert r["W2"]["rank"] == {"round": 1, "district": 1, "street": 1, "type": 1}
    assert r["W1"]["rank"] == {"round": 2, "district": 2, "street": 2, "type": 2}
    assert r["W3"]["rank"] == {"round": 3, "district": 3, "street": 1, "type": 3}      # first in its own street
    assert r["E1"]["rank"] == {"round": 4, "district": 1, "street": 1, "type": 4}      # same-named street, other district


def test_ranks_by_type_count_only_organizations_of_that_type():
    # one standard for both types: V1 (92) is second of the round but first of the villages;
    # C2 (80) third of the round, second of the communities
    orgs = [Organization("C1", "C1", "community", "东区", "s"), Organization("V1", "V1", "village", "东区", "s"),
            Organization("C2", "C2", "community", "东区", "s")]
    ev = {"C1": full_evidence("C1"), "V1": full_evidence("V1", centre_area=Decimal(350)),
          "C2": full_evidence("C2", centre_area=Decimal(10))}
    payload = evaluate_organizations(orgs, ev, {"community": STD, "village": STD}, PERIOD)
    r = {o["id"]: o["rank"] for o in payload["organizations"]}
    assert [(r[o]["round"], r[o]["type"]) for o in ("C1", "V1", "C2")] == [(1, 1), (2, 1), (3, 2)]


def test_target_share_is_reported():
    _, payload = run({"O1": full_evidence("O1"), "O2": full_evidence("O2", centre_area=Decimal(1))})
    (t,) = payload["summary"]["target"]
    assert (t["tier"], t["count"], t["graded"], t["share"], t["met"]) == ("A", 1, 2, Decimal("0.5"), True)


def test_a_quota_is_rounded_down_so_it_is_never_exceeded():
    r, _ = run({"O1": full_evidence("O1")}, WITH_QUOTA)
    assert r["O1"]["tier_before_quota"] == "A" and r["O1"]["tier"] == "B"     # 50% of 1 = 0 places


def test_weighted_components_with_a_review_score_field(tmp_path):
    std = review_standard(tmp_path, "weighted", verified="70%", review="30%")
    r, _ = run({"O1": full_evidence("O1", centre_area=Decimal(350), review_score=Decimal("85.5"))}, std)
    o = r["O1"]
    # criteria 92 x 0.7 = 64.4; review 85.5 x 0.3 = 25.65; total 90.05
    assert o["components"] == {"verified": Decimal(92), "review": Decimal("85.5")}
    assert o["total"] == Decimal("90.05") and o["tier"] == "A"
    r, _ = run({"O2": full_evidence("O2")}, std)
    assert r["O2"]["status"] == "not_graded" and "不予定档：缺少民主评议（民主评议得分）" in r["O2"]["tier_reasons"]


def test_gates_can_use_period_functions(tmp_path):
    g_std = child_standard(tmp_path, "g", """id: g
version: "1"
title: 换届门槛
extends: mini
fields:
  last_election: {type: date, label: 上次换届日期}
grading:
  quotas: []
  gates: [{tier: A, condition: "days_since(last_election) <= 1825", reason: 按期换届}]
""")
    std = g_std
    r, _ = run({"O1": full_evidence("O1", last_election=dt.date(2024, 5, 1)),
                "O2": full_evidence("O2", last_election=dt.date(2020, 5, 1)), "O3": full_evidence("O3")}, std)
    assert (r["O1"]["tier"], r["O2"]["tier"], r["O3"]["tier"]) == ("A", "B", "B")
    assert "未满足 A档条件（按期换届；缺少材料（上次换届日期），无法认定），降为 B档" in r["O3"]["tier_reasons"]


def test_a_gate_on_a_criterions_outcome_reads_that_organizations_outcome(tmp_path):
    # outcome('G1.1') in a gate: O1 passes G1.1 (A); O2 fails it (members_full 2 < 3) and
    # still totals 90, A by the score lines, so the gate alone moves it to B
    std = child_standard(tmp_path, "o", """id: o
version: "1"
title: 支部设置门槛
extends: mini
grading:
  quotas: []
  gates: [{tier: A, condition: "outcome('G1.1') == 'pass'", reason: 支部设置达标}]
""")
    r, _ = run({"O1": full_evidence("O1"), "O2": full_evidence("O2", members_full=Decimal(2))}, std)
    assert (r["O1"]["tier"], r["O2"]["total"], r["O2"]["tier"]) == ("A", Decimal(90), "B")
    assert r["O2"]["tier_reasons"][-1] == "未满足 A档条件（支部设置达标），降为 B档"


def test_a_standard_of_base_criteria_alone_grades_an_organization_reviewed_in_full():
    # mini without its bonus and veto (G9): every outcome is a reviewed base one, so the
    # tally's shared sum is never split -- it is the applicable, reviewed and counted points
    std = dataclasses.replace(STD, sections=STD.sections[:2],
                              criteria={cid: c for cid, c in STD.criteria.items() if c.section != "G9"})
    r = run({"O1": full_evidence("O1"), "O2": full_evidence("O2", centre_area=Decimal(350))}, std)[0]
    assert [(r[o]["total"], r[o]["reviewed_share"], r[o]["tier"]) for o in ("O1", "O2")] == \
        [(Decimal(100), Decimal(1), "A"), (Decimal(92), Decimal(1), "A")]


def test_section_points_leave_bonus_out():
    r, _ = run({"O1": full_evidence("O1", awards=Decimal(2))})
    g9 = next(s for s in r["O1"]["sections"] if s["id"] == "G9")
    assert g9["points"] == 0 and r["O1"]["bonus"] == 3


def test_street_quotas_tell_same_named_streets_apart():
    orgs = [Organization("E1", "E1", "community", "东区", "城关街道"), Organization("E2", "E2", "community", "东区", "城关街道"),
            Organization("W1", "W1", "community", "西区", "城关街道"), Organization("W2", "W2", "community", "西区", "城关街道")]
    ev = {"E1": full_evidence("E1"), "E2": full_evidence("E2", centre_area=Decimal(1), committee_meetings=months(1)),
          "W1": full_evidence("W1", awards=Decimal(1)), "W2": full_evidence("W2")}
    std = dataclasses.replace(STD, grading=dataclasses.replace(STD.grading, quotas=(Quota("A", Decimal("0.5"), "street"),)))
    r, _ = run(ev, std, orgs)
    assert [r[i]["tier"] for i in ("E1", "W1", "W2")] == ["A", "A", "B"]


def test_a_quota_move_checks_the_lower_tiers_gates(tmp_path):
    q_std = child_standard(tmp_path, "q", """id: q
version: "1"
title: B档门槛
extends: mini
grading:
  quotas: [{tier: A, max_share: 0%, scope: round}]
  gates: [{tier: B, condition: "points('G1.2') >= 20", reason: 场所达标}]
""")
    r, _ = run({"O1": full_evidence("O1", centre_area=Decimal(350))}, q_std)
    assert (r["O1"]["tier_before_quota"], r["O1"]["tier"]) == ("A", "C")
    assert r["O1"]["tier_reasons"][-1] == "未满足 B档条件（场所达标），降为 C档"


def test_a_negative_total_lands_in_the_last_tier(tmp_path):
    n_std = child_standard(tmp_path, "n", """id: n
version: "1"
title: 负分
extends: mini
fields:
  review_score: {type: number, label: 评议得分}
grading:
  quotas: []
  components:
    - {id: verified, source: criteria, weight: 0.8}
    - {id: review, source: field, field: review_score, scale: 100, weight: 0.2}
""")
    r, _ = run({"O1": full_evidence("O1", review_score=Decimal(-500))}, n_std)
    assert r["O1"]["total"] == Decimal(-20) and r["O1"]["tier"] == "D"


def test_a_veto_states_its_cap_only_when_it_lowers_the_tier_and_names_no_absent_mark():
    # 100 - 20 (area 10) - 5 (一般) = 75 reaches C by score; G9.2 caps at C: nothing to lower, so
    # no 档次最高为 line; results.json carries `mark` only for a veto that has one (FORMATS §3)
    r, _ = run({"O1": full_evidence("O1", serious_violation=True, centre_area=Decimal(10), secretary_rating="一般")})
    o = r["O1"]
    assert (o["total"], o["tier"]) == (Decimal(75), "C")
    assert not any("档次最高为" in line for line in o["tier_reasons"])
    assert [set(v) for v in o["vetoes"]] == [{"criterion", "cap_tier", "reason"}]


def test_a_gate_on_the_last_tier_is_refused_at_its_line(tmp_path):
    """A failed gate moves an organization one tier down; on the last tier there is none, so such
    a gate could never do anything: the author is told at the gate's tier, with what to do."""
    gate_on_d = """id: lastgate
version: "1"
title: 末档条件
extends: mini
grading:
  quotas: []
  gates:
    - {tier: C, condition: "total >= 70", reason: 总分不低于70分}
    - {tier: D, condition: "total >= 200", reason: 不可能达到的条件}
"""
    with pytest.raises(InputError) as e:
        child_standard(tmp_path, "lastgate", gate_on_d)
    err = str(e.value)
    assert "lastgate.yaml:9:" in err and "$.grading.gates[1].tier" in err
    assert "a gate on the last tier (D档) can never move anyone" in err


def test_the_ranking_sentence_names_a_section_by_its_title_and_each_direction(tmp_path):
    std = child_standard(tmp_path, "bysection", """id: bysection
version: "1"
title: 按组织生活排序
extends: mini
grading:
  quotas: []
  tie_breaks: [total desc, section:G2 asc]
""")
    _, payload = run({"O1": full_evidence("O1")}, std)
    assert payload["ranking"]["description"] == (
        "排名方式：先比档次（高档在前），档次相同再比总分高者在前、组织生活得分低者在前；各项均相同者名次并列")
    assert payload["ranking"]["tie_breaks"] == ["total desc", "section:G2 asc"]


def test_a_criterion_of_any_kind_can_stop_grading_and_is_named_once(tmp_path):
    # a bonus (G9.1) or base (G2.2) criterion that cannot be computed, a veto (G9.2) whose
    # evidence is missing where the standard forbids that: one line each, 无法计算 said once
    forbid = child_standard(tmp_path, "forbid", 'id: forbid\nversion: "1"\ntitle: 必报\nextends: mini\n'
                                                'grading:\n  quotas: []\noverride:\n  G9.2: {na_policy: forbid}\n')
    no_veto_evidence = full_evidence("O1")
    del no_veto_evidence.values["serious_violation"]
    for ev, std, line in [
            (full_evidence("O1", awards=Decimal(-1)), STD, "不予定档：指标 G9.1（表彰）无法计算：市级以上表彰：次数 -1 不能为负"),
            (full_evidence("O1", grid_staff_party=Decimal(-100)), STD,
             "不予定档：指标 G2.2（网格党员占比）无法计算：分子或分母为负数（-100 / 10），无法计算比例"),
            (no_veto_evidence, forbid, "不予定档：指标 G9.2（严重违纪）必须提供材料")]:
        r = run({"O1": ev}, std)[0]["O1"]
        assert (r["status"], r["tier_reasons"]) == ("not_graded", [line])


def test_a_reviewed_share_exactly_at_the_minimum_is_graded():
    # centre area (G1.2, 20 points) and committee records (G2.1, 30) not reviewed: 50 of 100
    # points reviewed, exactly min_reviewed_share 50%, so graded, the two counting as zero
    ev = full_evidence("O1")
    del ev.values["centre_area"], ev.values["committee_meetings"]
    o = run({"O1": ev})[0]["O1"]
    assert (o["status"], o["reviewed_share"], o["total"], o["tier"]) == ("graded", Decimal("0.5"), Decimal(50), "D")


def test_a_reviewed_share_below_the_minimum_names_both_to_two_places(tmp_path):
    std = child_standard(tmp_path, "twothirds", 'id: twothirds\nversion: "1"\ntitle: 三分之二\nextends: mini\n'
                                                'grading:\n  quotas: []\n  min_reviewed_share: 66.666%\n')
    ev = full_evidence("O1")
    del ev.values["centre_area"], ev.values["committee_meetings"]      # 50 of 100 points reviewed
    o = run({"O1": ev}, std)[0]["O1"]
    assert (o["status"], o["tier_reasons"]) == ("not_graded", ["不予定档：已核查指标分值占比 50%，低于最低要求 66.67%"])


def test_a_missing_component_field_is_named_once_when_its_label_is_the_fields(tmp_path):
    std = review_standard(tmp_path, "review", label="民主评议得分")
    o = run({"O1": full_evidence("O1")}, std)[0]["O1"]
    assert (o["status"], o["tier_reasons"]) == ("not_graded", ["不予定档：缺少民主评议得分"])


def test_a_field_component_is_scaled_from_its_own_scale_to_the_base(tmp_path):
    std = review_standard(tmp_path, "tenpoint", scale=10)
    # 8 of 10 is 80 of the base 100: 50% x 100 + 50% x 80 = 90, A's line exactly
    o = run({"O1": full_evidence("O1", review_score=Decimal(8))}, std)[0]["O1"]
    assert (o["components"]["review"], o["total"], o["tier"]) == (Decimal(80), Decimal(90), "A")


def test_an_organization_not_graded_still_shows_its_scores():
    # G2.2 cannot be computed (negative count): not graded, but the scorecard still shows what
    # was earned: 100 - 8 (area 350) - 20 (G2.2 as zero) = 72 base, 2 bonus, no total
    o = run({"O1": full_evidence("O1", centre_area=Decimal(350), awards=Decimal(1), grid_staff_party=Decimal(-1))})[0]["O1"]
    assert (o["status"], o["base"], o["bonus"], o["components"], o["total"]) == (
        "not_graded", Decimal(72), Decimal(2), {"verified": Decimal(72)}, None)
    assert o["reviewed_share"] == Decimal(1)          # an error is reviewed: it counts as zero


def test_gates_read_the_total_base_and_bonus_and_the_first_reason_states_the_band(tmp_path):
    std = child_standard(tmp_path, "baseplus", """id: baseplus
version: "1"
title: 基础分与加分
extends: mini
grading:
  quotas: []
  gates:
    - {tier: A, condition: "total >= 101 and base >= 95 and bonus > 0", reason: 总分不低于101分且有加分}
""")
    r, _ = run({"O1": full_evidence("O1", awards=Decimal(1)), "O2": full_evidence("O2")}, std)
    assert (r["O1"]["tier"], r["O2"]["tier"]) == ("A", "B")
    assert r["O1"]["tier_reasons"] == ["总分 102，达到 A档（≥ 90）"]
    assert r["O2"]["tier_reasons"][0] == "总分 100，达到 A档（≥ 90）"


def test_an_organization_no_base_criterion_applies_to_is_not_graded_and_told_why(tmp_path):
    never = '{applies_if: "members_full > 100"}'
    std = child_standard(tmp_path, "noneapply", 'id: noneapply\nversion: "1"\ntitle: 均不适用\nextends: mini\n'
                         'grading:\n  quotas: []\noverride:\n'
                         + "".join(f"  {cid}: {never}\n" for cid in ("G1.1", "G1.2", "G2.1", "G2.2", "G2.3", "G2.4")))
    o = run({"O1": full_evidence("O1")}, std)[0]["O1"]
    assert (o["status"], o["reviewed_share"], o["tier_reasons"]) == ("not_graded", Decimal(0), ["不予定档：没有适用的计分指标"])


def test_a_reviewed_share_below_the_minimum_is_told_to_two_places(tmp_path):
    # G1.1 (10 points) never applies; centre area (G1.2, 20) and committee records (G2.1, 30)
    # are missing: 40 of 90 applicable points reviewed, 44.44%, below 50%
    std = child_standard(tmp_path, "ninety", 'id: ninety\nversion: "1"\ntitle: 九十分\nextends: mini\n'
                         'grading:\n  quotas: []\noverride:\n  G1.1: {applies_if: "members_full > 100"}\n')
    ev = full_evidence("O1")
    del ev.values["centre_area"], ev.values["committee_meetings"]
    o = run({"O1": ev}, std)[0]["O1"]
    assert (o["status"], o["tier_reasons"]) == ("not_graded", ["不予定档：已核查指标分值占比 44.44%，低于最低要求 50%"])
