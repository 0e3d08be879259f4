"""Red/black list rules against the round's real standards: scopes that tell same-named streets
apart, tier ids that exist, defaults that fit any tier scheme."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from evaluator.errors import InputError
from evaluator.intake.rounds import load_round
from evaluator.scoring.lists import derive_lists
from evaluator.scoring.run import evaluate_round

PASS_FAIL = """id: pf
version: "1"
title: 合格评定标准
extends: mini
grading:
  quotas: []
  gates: []
  target: {tier: P, min_share: 50%, scope: round}
  tiers: [{id: P, name: 合格, min: 60}, {id: F, name: 不合格, min: 0}]
override:
  G9.2: {cap_tier: F}
"""


def org(oid, district, street, tier, rank, total=90, vetoes=()):
    return {"id": oid, "name": oid, "type": "community", "district": district, "street": street,
            "standard": {"id": "mini"}, "status": "graded", "tier": tier, "total": Decimal(total),
            "rank": {"round": rank}, "vetoes": list(vetoes)}


def test_street_scopes_keep_same_named_streets_of_two_districts_apart():
    results = {"standards": {"mini": {"tiers": [{"id": "A"}, {"id": "B"}]}},
               "organizations": [org("E1", "东区", "城关街道", "A", 1), org("W1", "西区", "城关街道", "A", 2),
                                 org("E2", "东区", "城关街道", "A", 3), org("W2", "西区", "城关街道", "B", 4)]}
    red = derive_lists(results, {"red": {"include": "tier == 'A'", "top": {"n": 1, "scope": "street"}}})["red"]
    assert [e["organization"] for e in red["entries"]] == ["E1", "W1"]
    assert red["entries"][0]["reasons"][-1] == "街道“东区城关街道”入选组织中第 1 名"
    assert red["entries"][1]["reasons"][-1] == "街道“西区城关街道”入选组织中第 1 名"
    black = derive_lists(results, {"black": {"bottom": {"share": "50%", "scope": "street"}}})["black"]
    assert [e["organization"] for e in black["entries"]] == ["E2", "W2"]


def test_default_lists_use_each_standards_own_top_and_bottom_tier():
    results = {"standards": {"mini": {"tiers": [{"id": "A"}, {"id": "D"}]},
                             "stars": {"tiers": [{"id": "S5"}, {"id": "S1"}]}},
               "organizations": [org("A1", "东区", "一街道", "A", 1), dict(org("S1", "东区", "一街道", "S5", 2), standard={"id": "stars"}),
                                 org("D1", "东区", "一街道", "D", 3), dict(org("S2", "东区", "一街道", "S1", 4), standard={"id": "stars"})]}
    lists = derive_lists(results, None)
    assert [e["organization"] for e in lists["red"]["entries"]] == ["A1", "S1"]
    assert [e["organization"] for e in lists["black"]["entries"]] == ["D1", "S2"]


def _round_with(mini: Path, standard_text: str | None, lists_yaml: str) -> Path:
    text = (mini / "round.yaml").read_text(encoding="utf-8")
    if standard_text:
        (mini / "pf.yaml").write_text(standard_text, encoding="utf-8")
        text = text.replace("standards: {community: mini.yaml}", "standards: {community: pf.yaml}")
    (mini / "round.yaml").write_text(text + lists_yaml, encoding="utf-8")
    return mini / "round.yaml"


def test_a_tier_no_standard_has_is_refused_at_its_line_with_a_suggestion(mini):
    path = _round_with(mini, PASS_FAIL, "lists:\n  red:\n    include: \"tier == 'p'\"\n")
    with pytest.raises(InputError) as e:
        load_round(path)
    (issue,) = e.value.issues
    assert issue.file.endswith("round.yaml") and issue.line == 10 and issue.path == "$.lists.red.include"
    assert "'p' is not one of P, F" in issue.message and "did you mean 'P'" in issue.message


def test_a_tier_id_of_another_scheme_is_refused(mini):
    path = _round_with(mini, PASS_FAIL, "lists:\n  black:\n    include_any: [\"veto_count > 0\", \"tier in ['C', 'D']\"]\n")
    with pytest.raises(InputError) as e:
        load_round(path)
    assert "'C' is not one of P, F" in str(e.value) and "$.lists.black.include_any[1]" in str(e.value)


def test_default_lists_publish_on_a_pass_fail_standard(mini):
    rnd = load_round(_round_with(mini, PASS_FAIL, ""))
    payload = evaluate_round(rnd)
    red = payload["lists"]["red"]["entries"]
    assert red and all(e["tier"] == "P" for e in red)


def test_a_condition_that_cannot_hold_for_one_standard_is_a_notice(mini):
    # a second field standard with stars beside mini's A-D: tier == 'A' cannot hold for it
    (mini / "stars.yaml").write_text(PASS_FAIL.replace("id: pf", "id: stars").replace("applies_to", "x")
                                     + "applies_to: [village]\n", encoding="utf-8")
    text = (mini / "round.yaml").read_text(encoding="utf-8").replace(
        "standards: {community: mini.yaml}", "standards: {community: mini.yaml, village: stars.yaml}")
    (mini / "round.yaml").write_text(text + "lists:\n  red:\n    include: \"tier == 'A'\"\n", encoding="utf-8")
    rnd = load_round(mini / "round.yaml")
    assert [n.message for n in rnd.notices] == [
        "红榜的条件“档次为A”不适用于按“合格评定标准”考评的组织（其档次为 合格、不合格），这些组织不会因此条件列入"]
