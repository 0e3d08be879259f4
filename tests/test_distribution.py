"""Declared tier distributions (grading.distribution): caps, floors and targets with a
tolerance, allocated by rank, each move explained in the tier reasons; re-scoring one
organization gives what evaluating the round again gives. Counts computed by hand in comments."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from evaluator.errors import InputError
from evaluator.model import Evidence
from evaluator.intake.rounds import load_round
from evaluator.scoring.run import evaluate_round
from evaluator.standard.distribution import Share

import test_rescore
from roundkit import MINI, MONTHLY, make_round
from test_grading import child_standard
from test_rescore import EVIDENCE_CHANGES, ORGS, brief, evidence_for, full, resident, state, written

NO_QUOTA = MINI.replace("  quotas:\n    - {tier: A, max_share: 50%, scope: district}\n", "")


def with_distribution(text: str) -> str:
    return NO_QUOTA.replace("  tie_breaks:", text + "  tie_breaks:")


CAPS = with_distribution("""  distribution:
    scope: district
    tiers:
      - {tier: A, max: 20%}
      - {tier: B, target: 40%, tolerance: 10%}
      - {tier: C, min: 20%}
""")

# totals: model 100; awards 2 each (bonus cap 3); 较好 -2, 一般 -5, 差 -10; area 350 -8, area 10 -20
TEN = [("Q01", {"awards": 2}),                                 # 103 A
       ("Q02", {"awards": 1}), ("Q03", {"awards": 1}),         # 102 A, tied on total and base
       ("Q04", {}),                                            # 100 A
       ("Q05", {"secretary_rating": "较好"}),                   # 98 A
       ("Q06", {"secretary_rating": "一般"}),                   # 95 A
       ("Q07", {"centre_area": 350}),                          # 92 A
       ("Q08", {"centre_area": 10}),                           # 80 B
       ("Q09", {"centre_area": 10, "secretary_rating": "一般"}),  # 75 C
       ("Q10", {"centre_area": 10, "secretary_rating": "差"})]    # 70 C


def _evaluate(tmp_path, standard, orgs, district=lambda oid: "东区"):
    rnd = make_round(tmp_path, [(oid, district(oid), "一街道", v) for oid, v in orgs], standard)
    payload = evaluate_round(load_round(rnd))
    return {o["id"]: o for o in payload["organizations"]}, payload


def test_a_cap_then_a_target_move_the_last_by_rank_and_say_why(tmp_path):
    r, payload = _evaluate(tmp_path, CAPS, TEN)
    assert [r[f"Q{i:02d}"]["tier_before_quota"] for i in range(1, 11)] == ["A"] * 7 + ["B", "C", "C"]
    # A at most floor(20% x 10) = 2: Q01, Q02 (Q03 ties Q02 and goes by id); Q03-Q07 go to B.
    # B then holds Q03-Q08 = 6 > floor(50% x 10) = 5: Q08, its last, goes to C. C 3 >= ceil(20% x 10) = 2.
    assert [r[f"Q{i:02d}"]["tier"] for i in range(1, 11)] == ["A", "A", "B", "B", "B", "B", "B", "C", "C", "C"]
    head_a = "区县“东区”档次比例要求A档 不超过 20%（10 个中最多 2 个）"
    tie = "；与其他 1 个组织在排序各项上完全并列，按组织编号先后确定"
    assert f"{head_a}，本组织在该档排第 3，调整为 B档{tie}" in r["Q03"]["tier_reasons"]
    assert f"{head_a}，本组织保留在该档{tie}" in r["Q02"]["tier_reasons"]
    assert f"{head_a}，本组织在该档排第 7，调整为 B档" in r["Q07"]["tier_reasons"]
    assert ("区县“东区”档次比例要求B档 约 40%（±10%）（10 个中应有 3 至 5 个），本组织在该档排第 6，调整为 C档"
            in r["Q08"]["tier_reasons"])
    assert not any("档次比例" in line for line in r["Q01"]["tier_reasons"] + r["Q09"]["tier_reasons"])
    # ranks follow the final tiers
    assert [o["id"] for o in payload["organizations"]][:3] == ["Q01", "Q02", "Q03"]
    met = {(c["tier"], c["rule"]): (c["count"], c["low"], c["high"], c["met"]) for c in payload["distribution"]}
    assert met == {("A", "max"): (2, 0, 2, True), ("B", "target"): (5, 3, 5, True), ("C", "min"): (3, 2, 10, True)}


FLOOR = with_distribution("""  distribution:
    tiers:
      - {tier: A, target: 30%}
""")


def test_a_floor_lifts_the_best_below_that_its_vetoes_and_gates_allow(tmp_path):
    orgs = [("R1", {"awards": 2}),                                    # 103 A
            ("R2", {"awards": 1}),                                    # 102 A
            ("R3", {"serious_violation": "是"}),                       # 100, veto: capped at C
            ("R4", {"awards": 2, "committee_meetings": MONTHLY[:7]}), # 90.5, A's gate fails (G2 57.5): B
            ("R5", {"centre_area": 350, "secretary_rating": "一般"}),  # 87 B, nothing stops A
            ("R6", {"centre_area": 10}),                              # 80 B
            ("R7", {"centre_area": 10, "secretary_rating": "一般"}),   # 75 C
            ("R8", {"centre_area": 10, "secretary_rating": "差"}),     # 70 C
            ("R9", {"centre_area": 10, "secretary_rating": "差", "unapproved_tasks": 1}),   # 66 C
            ("R10", {"centre_area": 10, "secretary_rating": "差", "unapproved_tasks": 3,
                     "committee_meetings": MONTHLY[:8]})]             # 50 D
    r, payload = _evaluate(tmp_path, FLOOR, orgs)
    # A exactly 30% of 10 = 3 (no tolerance): R1, R2 and one more; R3 (veto) and R4 (gate) rank
    # higher by score but cannot be in A, so R5 moves up
    assert {oid for oid, o in r.items() if o["tier"] == "A"} == {"R1", "R2", "R5"}
    assert (r["R3"]["tier"], r["R4"]["tier"], r["R5"]["tier_before_quota"]) == ("C", "B", "B")
    assert ("全域档次比例要求A档 约 30%（10 个中应有 3 个），本组织在可调入的组织中排序靠前，由 B档调整为 A档"
            in r["R5"]["tier_reasons"])
    (a,) = payload["distribution"]
    assert (a["count"], a["graded"], a["met"]) == (3, 10, True)


def test_a_floor_that_cannot_be_met_is_reported_unmet(tmp_path):
    std = with_distribution("  distribution:\n    tiers: [{tier: A, min: 50%}]\n")
    r, payload = _evaluate(tmp_path, std, [("V1", {"serious_violation": "是"}), ("V2", {"centre_area": 10})])
    # V1 capped at C by its veto, V2 at 80 (B) is eligible: one of the needed ceil(50% x 2) = 1
    assert (r["V1"]["tier"], r["V2"]["tier"]) == ("C", "A")
    r, payload = _evaluate(tmp_path, std, [("V1", {"serious_violation": "是"}), ("V2", {"serious_violation": "是"})])
    (a,) = payload["distribution"]
    assert (r["V1"]["tier"], a["count"], a["low"], a["met"]) == ("C", 0, 1, False)


def test_quotas_win_over_a_floor(tmp_path):
    std = FLOOR.replace("  tie_breaks:", "  quotas:\n    - {tier: A, max_share: 20%, scope: round}\n  tie_breaks:")
    r, _ = _evaluate(tmp_path, std, [(f"W{i}", {"awards": 1} if i < 2 else {"centre_area": 350, "secretary_rating": "一般"})
                                     for i in range(10)])
    # W0, W1 102 (A); W2-W9 87 (B). The distribution lifts W2 (30% of 10 = 3); the quota (2) sends it back
    assert [r[f"W{i}"]["tier"] for i in range(10)] == ["A", "A"] + ["B"] * 8
    assert any("调整为 A档" in line for line in r["W2"]["tier_reasons"])
    assert any("名额为 20%" in line and "调整为 B档" in line for line in r["W2"]["tier_reasons"])


@pytest.mark.parametrize("share, n, bounds", [
    (Share("A", "max", Decimal("0.1")), 19, (0, 1)), (Share("A", "min", Decimal("0.2")), 11, (3, 11)),
    (Share("A", "target", Decimal("0.3"), Decimal("0.05")), 20, (5, 7)),
    (Share("A", "target", Decimal("0.3")), 7, (2, 2)),            # 2.1 half up; no tolerance: exact
    (Share("A", "target", Decimal("0.25"), Decimal("0.01")), 2, (1, 1)),   # empty range 0.48-0.52 -> 0.5 half up
    (Share("A", "target", Decimal("0.05"), Decimal("0.05")), 10, (0, 1)),  # a tolerance as wide as the share: none is enough
    (Share("A", "target", Decimal("0.3"), Decimal("0.1")), 7, (2, 2)),     # 1.4-2.8: ceil 2, floor 2 (not 2.8 rounded to 3)
])
def test_share_bounds_round_as_documented(share, n, bounds):
    assert share.bounds(n) == bounds


@pytest.mark.parametrize("text, path, words", [
    ("  distribution:\n    tiers: [{tier: X, max: 10%}]\n", "$.grading.distribution.tiers[0].tier", "unknown tier 'X'"),
    ("  distribution:\n    tiers: [{tier: A, max: 10%, min: 5%}]\n", "$.grading.distribution.tiers[0]", "exactly one of"),
    ("  distribution:\n    tiers: [{tier: A, max: 10%, tolerance: 5%}]\n", "$.grading.distribution.tiers[0].tolerance", "target"),
    ("  distribution:\n    tiers: [{tier: A, min: 60%}, {tier: B, min: 50%}]\n", "$.grading.distribution.tiers", "110%"),
    ("  distribution:\n    tiers: [{tier: A, max: 120%}]\n", "$.grading.distribution.tiers[0].max", ""),
    ("  distribution:\n    scope: city\n    tiers: [{tier: A, max: 10%}]\n", "$.grading.distribution.scope", "city"),
])
def test_a_wrong_distribution_is_refused_at_its_key(tmp_path, text, path, words):
    with pytest.raises(InputError) as e:
        child_standard(tmp_path, "mini2", with_distribution(text).replace("id: mini\n", "id: mini2\n"))
    issue = e.value.issues[0]
    assert issue.path.startswith(path) and words in issue.message and issue.line > 0


# ---------------------------------------------------------------- re-scoring one organization

SPREAD = """id: spread
version: "1"
title: 档次比例
extends: mini
grading:
  quotas:
    - {tier: A, max_share: 40%, scope: round}
  distribution:
    scope: district
    tiers:
      - {tier: A, target: 30%, tolerance: 10%}
      - {tier: B, max: 30%}
      - {tier: C, min: 20%}
"""


@pytest.fixture(scope="module")
def spread(tmp_path_factory):
    return {"community": child_standard(tmp_path_factory.mktemp("std"), "spread", SPREAD)}


@settings(max_examples=40)
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=13), EVIDENCE_CHANGES), min_size=1, max_size=3))
def test_rescoring_with_a_distribution_equals_evaluating_again(spread, steps):
    with resident(spread) as (live, evidence):
        for i, change in steps:
            before = brief(full(spread, evidence))
            evidence[ORGS[i].id] = evidence_for(i, change)
            report = live.rescore(ORGS[i], evidence[ORGS[i].id])
            expected = full(spread, evidence)
            assert written(live) == expected
            after = brief(expected)
            assert sorted(report.changed) == sorted(k for k in after if after[k] != before[k])


def test_the_distribution_reads_in_plain_chinese_for_the_published_rules():
    from evaluator.standard.distribution import ALLOCATION_RULE
    from test_plain_language import program_text
    shares = (Share("S5", "max", Decimal("0.1")), Share("S4", "target", Decimal("0.3"), Decimal("0.05")),
              Share("S3", "min", Decimal("0.4")))
    names = {"S5": "五星级", "S4": "四星级", "S3": "三星级"}
    lines = [s.text(names[s.tier]) for s in shares]
    assert lines == ["五星级 不超过 10%", "四星级 约 30%（±5%）", "三星级 不少于 40%"]
    assert ALLOCATION_RULE.startswith("按排名分配：") and program_text("\n".join(lines + [ALLOCATION_RULE])) == []
    # shares that are not whole percentages are printed to two places (half up), whatever their kind
    assert [Share("S5", "max", Decimal("0.12345")).text("五星级"), Share("S3", "min", Decimal("0.33335")).text("三星级"),
            Share("S4", "target", Decimal("0.02505"), Decimal("0.00125")).text("四星级")] == [
        "五星级 不超过 12.35%", "三星级 不少于 33.34%", "四星级 约 2.51%（±0.13%）"]


def test_the_terminal_summary_shows_each_share_and_the_ranking_order(tmp_path):
    from conftest import run_cli
    rnd = make_round(tmp_path / "r", [(oid, "东区", "一街道", v) for oid, v in TEN], CAPS)
    code, out, err = run_cli("evaluate", rnd, "--out", tmp_path / "out")
    assert code == 0, err
    assert "档次比例 A档 不超过 20%（区县“东区”）：2/10 达标" in out
    assert "档次比例 B档 约 40%（±10%）（区县“东区”）：5/10 达标" in out
    assert "排名方式：先比档次（高档在前）" in out


def test_a_round_may_declare_or_replace_the_distribution(tmp_path):
    rnd = make_round(tmp_path / "r", [(oid, "东区", "一街道", v) for oid, v in TEN], NO_QUOTA,
                     "grading:\n  distribution:\n    tiers: [{tier: A, max: 30%}]\n")
    payload = evaluate_round(load_round(rnd))
    r = {o["id"]: o for o in payload["organizations"]}
    # A at most floor(30% x 10) = 3: Q01, Q02, Q03 (tied with Q02, by id); Q04-Q07 go to B
    assert [r[f"Q{i:02d}"]["tier"] for i in range(1, 8)] == ["A", "A", "A", "B", "B", "B", "B"]
    assert [(c["tier"], c["count"], c["met"]) for c in payload["distribution"]] == [("A", 3, True)]


def test_a_rounds_wrong_distribution_is_refused_at_its_line(tmp_path):
    rnd = make_round(tmp_path / "r", [("Q01", "东区", "一街道", {})], NO_QUOTA,
                     "grading:\n  distribution:\n    tiers:\n      - {tier: S5, max: 10%}\n")
    with pytest.raises(InputError) as e:
        load_round(rnd)
    (issue,) = e.value.issues
    assert (issue.file.endswith("round.yaml"), issue.line, issue.path) == (True, 11, "$.grading.distribution.tiers[0].tier")
    assert "unknown tier 'S5'" in issue.message and "standard 'mini'" in issue.message


# ---------------------------------------------------------------- re-scoring across groups (mutation run)

def test_rescoring_out_of_grading_and_back_with_a_distribution_equals_evaluating_again(spread):
    # O06 is third of 西区's A (7 graded, A exactly 2) and moved to B with a reason; once it
    # cannot be graded its old row must leave the group (6 graded: B at most 1, not 2) and its
    # reason must go; graded again, it is back where it was
    with resident(spread) as (live, evidence):
        for values in (Evidence("O06", values={"members_full": Decimal(5), "serious_violation": False}), evidence_for(6)):
            evidence["O06"] = values
            live.rescore(ORGS[6], values)
            assert written(live) == full(spread, evidence)
        o06 = next(o for o in json.loads(written(live))["organizations"] if o["id"] == "O06")
        assert any("本组织在该档排第 3，调整为 B档" in line for line in o06["tier_reasons"])


def test_rescoring_a_village_and_the_first_graded_organization_of_a_district(tmp_path, spread, monkeypatch):
    # every fourth organization is a village rated by a standard without a distribution: its
    # tier after re-scoring is its own, not left empty by the community standard's allocation.
    # O13 is alone in 北区 and not graded at first; graded on appeal it opens the district's
    # group: A exactly 0 of 1 (30% ± 10% of 1 is empty, 0.3 rounds to 0), B at most 0, so C
    orgs = [dataclasses.replace(o, type="village") if i % 4 == 3 else o for i, o in enumerate(ORGS)]
    orgs[13] = dataclasses.replace(orgs[13], district="北区")
    monkeypatch.setattr(test_rescore, "ORGS", orgs)
    standards = {**spread, "village": child_standard(tmp_path, "plain",
                                                     'id: plain\nversion: "1"\ntitle: 村\nextends: mini\napplies_to: [village]\n')}
    evidence = {o.id: evidence_for(i) for i, o in enumerate(orgs)}
    evidence["O13"] = Evidence("O13", values={"members_full": Decimal(5), "serious_violation": False})
    live = state(standards, evidence)
    try:
        for i, values in ((3, evidence_for(3, {"awards": Decimal(3)})), (13, evidence_for(13))):
            evidence[orgs[i].id] = values
            live.rescore(orgs[i], values)
            assert written(live) == full(standards, evidence)
        tiers = {o["id"]: o["tier"] for o in json.loads(written(live))["organizations"]}
        assert (tiers["O03"], tiers["O13"]) == ("A", "C")
    finally:
        live.scored.close()


def test_a_rescore_does_not_report_an_organization_the_distribution_moved_where_the_quota_had(tmp_path, monkeypatch):
    # one district of four; A at most 50% by the distribution (2), 25% by the quota (1).
    # P1 100 A; X 90.5 (five meetings missed: 组织生活 57.5, under the A gate's 60), B; P2 90
    # (area 350, 较好): the distribution keeps it in A, the quota moves it to B; P4 80, B.
    # X's appeal (98): the distribution now takes P1 and X, moving P2 to B, where the quota had
    # put it, and the quota moves X to B: P2's tier and ranks are what they were, and the
    # change report does not name it
    from evaluator.model import Organization, Record
    from test_engine import full_evidence
    std = child_standard(tmp_path, "halves", """id: halves
version: "1"
title: 半数
extends: mini
grading:
  quotas:
    - {tier: A, max_share: 25%, scope: round}
  distribution:
    scope: district
    tiers: [{tier: A, max: 50%}]
""")
    orgs = [Organization(oid, oid, "community", "东区", "一街道") for oid in ("P1", "X", "P2", "P4")]
    monkeypatch.setattr(test_rescore, "ORGS", orgs)
    meetings = lambda n: tuple(Record(dt.date(2026, m, 9)) for m in range(1, n + 1))   # noqa: E731
    evidence = {"P1": full_evidence("P1"), "X": full_evidence("X", awards=Decimal(2), committee_meetings=meetings(7)),
                "P2": full_evidence("P2", centre_area=Decimal(350), secretary_rating="较好"),
                "P4": full_evidence("P4", centre_area=Decimal(10))}
    standards = {"community": std}
    live = state(standards, evidence)
    try:
        before = brief(written(live))
        assert {k: v[:2] for k, v in before.items()} == {
            "P1": ("A", (("district", 1), ("round", 1), ("street", 1), ("type", 1))),
            "X": ("B", (("district", 2), ("round", 2), ("street", 2), ("type", 2))),
            "P2": ("B", (("district", 3), ("round", 3), ("street", 3), ("type", 3))),
            "P4": ("B", (("district", 4), ("round", 4), ("street", 4), ("type", 4)))}
        evidence["X"] = full_evidence("X", secretary_rating="较好")
        report = live.rescore(orgs[1], evidence["X"])
        assert written(live) == full(standards, evidence)
        # X too stays second in B: nobody's tier, ranks or lists moved, and the report says so
        assert brief(written(live)) == before and report.changed == [] and report.others == {}
        p2 = next(o for o in json.loads(written(live))["organizations"] if o["id"] == "P2")
        assert any("档次比例要求" in line for line in p2["tier_reasons"])      # moved by the distribution now
    finally:
        live.scored.close()


def test_rescoring_with_a_distribution_and_no_quota_moves_the_others_it_displaces(tmp_path):
    # CAPS over TEN (no quota): Q10 (70, C) appeals to 103, equal to Q01 on every tie-break
    # and after it by id: A's two places go to Q01 and Q10, and Q02 goes to B
    from evaluator.model import Organization
    from test_engine import full_evidence
    standards = {"community": child_standard(tmp_path, "mini", CAPS)}
    orgs = [Organization(oid, oid, "community", "东区", "一街道") for oid, _ in TEN]
    evidence = {oid: full_evidence(oid, **{k: Decimal(v) if isinstance(v, int) else v for k, v in values.items()})
                for oid, values in TEN}
    live = state(standards, evidence, orgs)
    try:
        evidence["Q10"] = full_evidence("Q10", awards=Decimal(3))
        report = live.rescore(orgs[9], evidence["Q10"])
        expected = full(standards, evidence, orgs)
        assert written(live) == expected
        tiers = {o["id"]: o["tier"] for o in json.loads(expected)["organizations"]}
        assert (tiers["Q01"], tiers["Q10"], tiers["Q02"]) == ("A", "A", "B")
        assert report.others["Q02"]["tier"] == (None, "B")
    finally:
        live.scored.close()


def test_the_terminal_summary_says_when_a_share_is_not_met(tmp_path):
    from conftest import run_cli
    # both capped at C by their veto: A should hold exactly 50% of 2 = 1 (no tolerance) and holds none
    std = with_distribution("  distribution:\n    tiers: [{tier: A, target: 50%}]\n")
    rnd = make_round(tmp_path / "r", [(oid, "东区", "一街道", {"serious_violation": "是"}) for oid in ("V1", "V2")], std)
    code, out, err = run_cli("evaluate", rnd, "--out", tmp_path / "out")
    assert code == 0, err
    assert "档次比例 A档 约 50%（全域）：0/2 未达标" in out


def test_shares_of_exactly_0_and_100_percent_are_accepted_and_applied(tmp_path):
    # A at most 0%: nobody; B at least 100%: everyone the vetoes and gates allow (all four here)
    std = with_distribution("  distribution:\n    tiers: [{tier: A, max: 0%}, {tier: B, min: 100%}]\n")
    r, payload = _evaluate(tmp_path, std, [TEN[0], TEN[7], TEN[8], TEN[9]])
    assert [r[oid]["tier"] for oid in ("Q01", "Q08", "Q09", "Q10")] == ["B"] * 4
    assert [(c["standard"], c["tier"], c["count"], c["met"]) for c in payload["distribution"]] == [
        ("mini", "A", 0, True), ("mini", "B", 4, True)]
    # the one organization A held goes down alone: no tie to speak of
    assert "全域档次比例要求A档 不超过 0%（4 个中最多 0 个），本组织在该档排第 1，调整为 B档" in r["Q01"]["tier_reasons"]


def test_a_tie_between_the_first_and_the_second_is_told_at_a_cut_after_the_first(tmp_path):
    # Q02 and Q03 (102 each) are equal on every tie-break; A at most 50% of 2 = 1 keeps Q02 by id
    std = with_distribution("  distribution:\n    tiers: [{tier: A, max: 50%}]\n")
    r, _ = _evaluate(tmp_path, std, [TEN[1], TEN[2]])
    head, tie = "全域档次比例要求A档 不超过 50%（2 个中最多 1 个），本组织", "；与其他 1 个组织在排序各项上完全并列，按组织编号先后确定"
    assert f"{head}保留在该档{tie}" in r["Q02"]["tier_reasons"]
    assert f"{head}在该档排第 2，调整为 B档{tie}" in r["Q03"]["tier_reasons"]


def test_the_tier_above_the_last_is_enforced_and_the_last_only_reported(tmp_path):
    # TEN: C holds Q09 (75) and Q10 (70); C at most floor(10% x 10) = 1 sends Q10 to D. D at most
    # 0% cannot send it further: the last tier takes whoever is left and its share is reported unmet
    std = with_distribution("  distribution:\n    tiers: [{tier: C, max: 10%}, {tier: D, max: 0%}]\n")
    r, payload = _evaluate(tmp_path, std, TEN)
    assert (r["Q09"]["tier"], r["Q10"]["tier"]) == ("C", "D")
    assert "全域档次比例要求C档 不超过 10%（10 个中最多 1 个），本组织在该档排第 2，调整为 D档" in r["Q10"]["tier_reasons"]
    assert [(c["tier"], c["count"], c["met"]) for c in payload["distribution"]] == [("C", 1, True), ("D", 1, False)]


def test_an_organization_moved_twice_keeps_both_reasons_and_a_failed_gate_says_so(tmp_path):
    # A at most 20% keeps Q01, Q02 and sends Q03-Q07 to B; B asks for a full-size centre
    # (G1.2 all 20 points): Q07 (area 350) fails it and goes on to C, as Q08 (80, area 10) did by
    # score. B at most 20% then keeps Q03, Q04 and sends Q05, Q06 to C: moved twice, told twice
    a_gate = "reason: 组织生活不低于60分}\n"
    std = with_distribution("  distribution:\n    tiers: [{tier: A, max: 20%}, {tier: B, max: 20%}]\n").replace(
        a_gate, a_gate + "    - {tier: B, condition: \"points('G1.2') >= 20\", reason: 场所面积达标}\n")
    r, _ = _evaluate(tmp_path, std, TEN)
    assert [r[f"Q{i:02d}"]["tier"] for i in range(1, 11)] == ["A", "A", "B", "B", "C", "C", "C", "C", "C", "C"]
    head_a, head_b = "全域档次比例要求A档 不超过 20%（10 个中最多 2 个）", "全域档次比例要求B档 不超过 20%（10 个中最多 2 个）"
    assert [line for line in r["Q05"]["tier_reasons"] if "档次比例" in line] == [
        f"{head_a}，本组织在该档排第 5，调整为 B档", f"{head_b}，本组织在该档排第 3，调整为 C档"]
    reasons = r["Q07"]["tier_reasons"]
    assert reasons[reasons.index(f"{head_a}，本组织在该档排第 7，调整为 B档") + 1] == "未满足 B档条件（场所面积达标），降为 C档"


def test_a_floor_already_met_lifts_nobody(tmp_path):
    # A holds 7 of 10, at least ceil(60% x 10) = 6 asked: nobody below moves up
    r, _ = _evaluate(tmp_path, with_distribution("  distribution:\n    tiers: [{tier: A, min: 60%}]\n"), TEN)
    assert [r[f"Q{i:02d}"]["tier"] for i in range(1, 11)] == ["A"] * 7 + ["B", "C", "C"]
    assert not any("档次比例" in line for o in r.values() for line in o["tier_reasons"])


def test_a_floor_lifting_at_a_tie_says_so_only_for_the_tied(tmp_path):
    # A exactly 30% of 10 = 3: R1 (103) and two lifted from B: R2 (88) and, of R3-R6 tied at 87
    # on every tie-break, R3 by id; R4-R6 stay without a word
    orgs = ([("R1", {"awards": 2}), ("R2", {"centre_area": 350, "secretary_rating": "一般", "awards": 1})]
            + [(f"R{i}", {"centre_area": 350, "secretary_rating": "一般"}) for i in range(3, 7)]
            + [(f"R{i}", {"centre_area": 10}) for i in range(7, 11)])
    r, _ = _evaluate(tmp_path, with_distribution("  distribution:\n    tiers: [{tier: A, target: 30%}]\n"), orgs)
    assert [r[f"R{i}"]["tier"] for i in range(1, 7)] == ["A", "A", "A", "B", "B", "B"]
    head = "全域档次比例要求A档 约 30%（10 个中应有 3 个），本组织在可调入的组织中排序靠前，由 B档调整为 A档"
    assert f"{head}" in r["R2"]["tier_reasons"]
    assert f"{head}；与其他 3 个组织在排序各项上完全并列，按组织编号先后确定" in r["R3"]["tier_reasons"]
    assert not any("档次比例" in line for line in r["R4"]["tier_reasons"])


def test_a_floor_lift_states_the_floor_as_a_minimum_count(tmp_path):
    # V1 capped at C by its veto; V2 (80, B) lifted: A at least ceil(50% x 2) = 1
    std = with_distribution("  distribution:\n    tiers: [{tier: A, min: 50%}]\n")
    r, _ = _evaluate(tmp_path, std, [("V1", {"serious_violation": "是"}), ("V2", {"centre_area": 10})])
    assert ("全域档次比例要求A档 不少于 50%（2 个中至少 1 个），本组织在可调入的组织中排序靠前，由 B档调整为 A档"
            in r["V2"]["tier_reasons"])


@pytest.mark.parametrize("text, path, message", [
    ("[{tier: A, max: 10%}, {tier: A, min: 5%}]", "$.grading.distribution.tiers[1].tier", "tier 'A' is given twice"),
    ("[{tier: A}]", "$.grading.distribution.tiers[0]",
     "each tier takes exactly one of max (a cap), min (a floor) or target (with an optional tolerance)"),
    ("[{tier: X, max: 10%}]", "$.grading.distribution.tiers[0].tier", "unknown tier 'X' (tiers: A, B, C, D)"),
    ("[{tier: A, max: 10%, tolerance: 5%}]", "$.grading.distribution.tiers[0].tolerance", "a tolerance belongs to a target share"),
    ("[{tier: A, min: 60.125%}, {tier: B, min: 50%}]", "$.grading.distribution.tiers",
     "the floors (min) add up to 110.13%, more than every organization"),
])
def test_a_wrong_distribution_message_reads_in_full(tmp_path, text, path, message):
    with pytest.raises(InputError) as e:
        child_standard(tmp_path, "mini2", with_distribution(f"  distribution:\n    tiers: {text}\n").replace("id: mini\n", "id: mini2\n"))
    (issue,) = e.value.issues
    assert (issue.path, issue.message) == (path, message)


def test_the_bulletin_states_what_each_share_came_to(tmp_path):
    """The 通报 (round summary) has a table of the declared shares as allocated, in the words a
    department writes: the scope, the share, the count allowed, the count held, met or not; no
    tier ids or rule names."""
    from evaluator.reports import model
    from evaluator.reports.html import render_html
    _, payload = _evaluate(tmp_path, CAPS, TEN)
    payload = json.loads(json.dumps(payload, default=str))       # as read back from results.json
    ctx = model.context(payload, public=False, has_previous=False)
    rows = model.summary(payload, ctx, {})["distributions"]
    assert [(r["scope"], r["rule"], r["range"], r["count"], r["graded"], r["met"]) for r in rows] == [
        ("区县“东区”", "A档 不超过 20%", "最多 2 个", 2, 10, True),
        ("区县“东区”", "B档 约 40%（±10%）", "应有 3 至 5 个", 5, 10, True),
        ("区县“东区”", "C档 不少于 20%", "至少 2 个", 3, 10, True)]
    html = render_html("summary", model.summary(payload, ctx, {}), standalone=False)
    section = html[html.index("档次比例执行情况"):]
    section = section[:section.index("</table>")]
    assert "B档 约 40%（±10%）" in section and "应有 3 至 5 个" in section and "达标" in section
    for word in ("max", "target", "tolerance", "rule"):
        assert word not in section.replace("class=", "")


def test_the_bulletin_says_when_a_share_is_not_met(tmp_path):
    from evaluator.reports import model
    std = with_distribution("  distribution:\n    tiers: [{tier: A, target: 50%}]\n")
    _, payload = _evaluate(tmp_path, std, [(oid, {"serious_violation": "是"}) for oid in ("V1", "V2")])
    payload = json.loads(json.dumps(payload, default=str))
    ctx = model.context(payload, public=False, has_previous=False)
    (row,) = model.summary(payload, ctx, {})["distributions"]
    assert (row["scope"], row["rule"], row["range"], row["count"], row["met"]) == ("全域", "A档 约 50%", "应有 1 个", 0, False)


def test_a_bulletin_without_declared_shares_has_no_such_table(tmp_path):
    from evaluator.reports import model
    from evaluator.reports.html import render_html
    _, payload = _evaluate(tmp_path, NO_QUOTA, TEN[:3])
    payload = json.loads(json.dumps(payload, default=str))
    ctx = model.context(payload, public=False, has_previous=False)
    assert model.summary(payload, ctx, {})["distributions"] == []
    assert "档次比例执行情况" not in render_html("summary", model.summary(payload, ctx, {}), standalone=False)
