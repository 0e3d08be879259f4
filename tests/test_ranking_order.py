"""Rank order is declared: tier first (the default) or score first (grading: {ranking:
score_first} in round.yaml), shown in results.json and on every list whose places depend on it."""
from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from evaluator.errors import InputError
from evaluator.intake.rounds import load_round
from evaluator.scoring.rescore import RoundState
from evaluator.scoring.run import RoundScorer, ScoredRound, evaluate_round, score_organizations

from conftest import run_cli
from roundkit import MINI, make_round
from test_engine import PERIOD, full_evidence
from test_grading import STD, run
from test_rescore import EVIDENCE_CHANGES, ORGS as MANY, evidence_for

NO_QUOTA = MINI.replace("  quotas:\n    - {tier: A, max_share: 50%, scope: district}\n", "")
# P1 100 (A); P2 100 but vetoed to C (serious violation); P3 92 (area 350: 12 of 20 points, A);
# P4 80 (area 10: 0 of 20, B)
ORGS = [("P1", "东区", "一街道", {}), ("P2", "东区", "一街道", {"serious_violation": "是"}),
        ("P3", "东区", "一街道", {"centre_area": 350}), ("P4", "东区", "一街道", {"centre_area": 10})]


def _ranks(payload):
    return [(o["id"], o["tier"], o["rank"]["round"]) for o in payload["organizations"]]


def test_tier_first_is_the_default_and_says_so(tmp_path):
    payload = evaluate_round(load_round(make_round(tmp_path, ORGS, NO_QUOTA)))
    assert _ranks(payload) == [("P1", "A", 1), ("P3", "A", 2), ("P4", "B", 3), ("P2", "C", 4)]
    assert payload["ranking"] == {"order": "tier_first", "tie_breaks": ["total desc", "base desc"],
                                  "description": "排名方式：先比档次（高档在前），档次相同再比总分高者在前、基础得分高者在前；"
                                                 "各项均相同者名次并列"}


def test_score_first_ranks_a_capped_organization_by_its_score(tmp_path):
    payload = evaluate_round(load_round(make_round(tmp_path, ORGS, NO_QUOTA, "grading: {ranking: score_first}\n")))
    # P1 and P2 both 100 on total and base: the tier decides between them, and only then
    assert _ranks(payload) == [("P1", "A", 1), ("P2", "C", 2), ("P3", "A", 3), ("P4", "B", 4)]
    assert payload["ranking"]["order"] == "score_first"
    assert payload["ranking"]["description"].startswith("排名方式：先比总分高者在前、基础得分高者在前，均相同再比档次")
    # the black list's last place follows the declared order, and the list prints it
    black = payload["lists"]["black"]
    assert black["description"][-1] == payload["ranking"]["description"]
    red = payload["lists"]["red"]          # top n per district: its places depend on the order too
    assert [e["organization"] for e in red["entries"]] == ["P1", "P3"] and red["description"][-1].startswith("排名方式")


def test_an_unknown_ranking_is_refused_with_its_line(tmp_path):
    rnd = make_round(tmp_path, ORGS, NO_QUOTA, "grading:\n  ranking: points_first\n")
    with pytest.raises(InputError) as e:
        load_round(rnd)
    msg = str(e.value)
    assert "round.yaml:9" in msg and "points_first" in msg and "score_first" in msg


def test_the_command_line_writes_the_chosen_order(tmp_path):
    rnd = make_round(tmp_path / "r", ORGS, NO_QUOTA, "grading: {ranking: score_first}\n")
    code, _, err = run_cli("evaluate", rnd, "--out", tmp_path / "out", "-q")
    assert code == 0, err
    payload = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert _ranks(payload)[:2] == [("P1", "A", 1), ("P2", "C", 2)] and payload["ranking"]["order"] == "score_first"


def test_an_ascending_tie_break_puts_the_lower_value_first():
    # O1 loses G1.1's 10 points (组织设置), O2 G2.3's 10 (组织生活): both 90, A. Ranked on
    # 组织生活 ascending, O2 (70 there against 80) comes first; descending, O1 does
    orgs = {"O1": full_evidence("O1", members_full=Decimal(2)), "O2": full_evidence("O2", secretary_rating="差")}
    for order, first in (("asc", "O2"), ("desc", "O1")):
        std = dataclasses.replace(STD, grading=dataclasses.replace(
            STD.grading, tie_breaks=(("total", True), ("section:G2", order == "desc"))))
        r, _ = run(orgs, std)
        assert {o: (r[o]["total"], r[o]["tier"]) for o in r} == {"O1": (90, "A"), "O2": (90, "A")}
        second = ({"O1", "O2"} - {first}).pop()
        assert (r[first]["rank"]["round"], r[second]["rank"]["round"]) == (1, 2), order


# ---------------------------------------------------------------- re-scoring keeps the declared order

BY_COUNT = {"red": {"include": "top_tier and veto_count == 0", "top": {"n": 1, "scope": "street"}},
            "black": {"include": "veto_count > 0", "bottom": {"n": 1, "scope": "street"}},
            "near": {"include": "rank <= 4"}}
SCORE_FIRST = {"community": dataclasses.replace(STD, grading=dataclasses.replace(STD.grading, ranking="score_first"))}


def _full(evidence) -> bytes:
    rows, spill = score_organizations(MANY, evidence.get, SCORE_FIRST, PERIOD)
    scored = ScoredRound(rows, spill, SCORE_FIRST, {})
    scored.add_lists(BY_COUNT)
    out: list[bytes] = []
    scored.write_json(out.append)
    scored.close()
    return b"".join(out)


@settings(max_examples=30)
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=13), EVIDENCE_CHANGES), min_size=1, max_size=3))
def test_rescoring_score_first_with_lists_by_count_equals_evaluating_again(steps):
    evidence = {o.id: evidence_for(i) for i, o in enumerate(MANY)}
    rows, spill = score_organizations(MANY, evidence.get, SCORE_FIRST, PERIOD)
    live = RoundState(ScoredRound(rows, spill, SCORE_FIRST, {}), RoundScorer(SCORE_FIRST, PERIOD), BY_COUNT)
    try:
        for i, change in steps:
            evidence[MANY[i].id] = evidence_for(i, change)
            live.rescore(MANY[i], evidence[MANY[i].id])
            out: list[bytes] = []
            live.scored.write_json(out.append)
            assert b"".join(out) == _full(evidence)
    finally:
        live.scored.close()
