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
    assert red["entries"][0]["reasons"][-1] == "城关街道（东区）入选组织中第 1 名"
    assert red["entries"][1]["reasons"][-1] == "城关街道（西区）入选组织中第 1 名"
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
        "红榜的条件“档次为 A档”不适用于按“合格评定标准”考评的组织（其档次为 合格、不合格），这些组织不会因此条件列入"]


# ---------------------------------------------------------------- every name a rule may use

from evaluator.standard.listrules import compile_rule_expr, describe_expr, describe_rules, normalize_rules, share, tier_literals


def _payload():
    def o(oid, **kw):
        base = {"id": oid, "name": f"{oid}党支部", "type": "community", "district": "东区", "street": "一街道",
                "standard": {"id": "mini"}, "status": "graded", "tier": "B", "tier_name": "B档",
                "total": Decimal(80), "base": Decimal(80), "bonus": Decimal(0), "vetoes": [],
                "rank": {"round": 5, "district": 3, "type": 4}}
        base.update(kw)
        return base
    orgs = [o("O1", tier="A", tier_name="A档", total=Decimal(95), base=Decimal(92), bonus=Decimal(3),
              rank={"round": 1, "district": 1, "type": 1}),
            o("O2", type="village", district="西区", street="二街道", rank={"round": 2, "district": 1, "type": 1}),
            o("O3", tier="D", tier_name="D档", total=Decimal("55.5"), base=Decimal("55.5"), vetoes=[{"criterion": "G9.2"}],
              rank={"round": 3, "district": 2, "type": 2}),
            o("O4", status="not_graded", tier=None, tier_name=None, total=None, base=Decimal(40),
              rank={"round": None, "district": None, "type": None})]
    return {"standards": {"mini": {"tiers": [{"id": "A"}, {"id": "B"}, {"id": "D"}]}}, "organizations": orgs}


@pytest.mark.parametrize("expr, expected", [
    ("tier == 'A'", ["O1"]), ("top_tier", ["O1"]), ("bottom_tier", ["O3"]), ("not top_tier", ["O2", "O3"]),
    ("total >= 80", ["O1", "O2"]), ("base > 91", ["O1"]), ("bonus > 0", ["O1"]), ("veto_count > 0", ["O3"]),
    ("rank <= 2", ["O1", "O2"]), ("rank_district == 1", ["O1", "O2"]), ("rank_type == 2", ["O3"]),
    ("org.type == 'village'", ["O2"]), ("org.district == '西区'", ["O2"]), ("org.street == '一街道'", ["O1", "O3", "O4"]),
    ("status == 'not_graded'", ["O4"]), ("base < 50", ["O4"]),
])
def test_every_name_a_list_rule_may_use_selects_what_it_says(expr, expected):
    lst = derive_lists(_payload(), {"x": {"include": expr}})["x"]
    assert [e["organization"] for e in lst["entries"]] == expected        # ranked first, then the ungraded


def test_include_and_include_any_together_give_both_reasons():
    lst = derive_lists(_payload(), {"x": {"include": "total > 50", "include_any": ["veto_count > 0", "tier == 'A'"]}})["x"]
    assert {e["organization"]: e["reasons"] for e in lst["entries"]} == {
        "O1": ["符合条件：总分高于 50 分", "符合条件：档次为 A档"],
        "O3": ["符合条件：总分高于 50 分", "符合条件：触发一票否决"]}


def test_an_entry_carries_what_the_published_list_prints():
    (e,) = derive_lists(_payload(), {"x": {"include": "tier == 'A'"}})["x"]["entries"]
    assert e == {"organization": "O1", "name": "O1党支部", "district": "东区", "street": "一街道", "type": "community",
                 "tier": "A", "tier_name": "A档", "total": Decimal(95), "rank": 1, "reasons": ["符合条件：档次为 A档"]}
    assert derive_lists(_payload(), {"x": {"include": "tier == 'A'"}})["x"]["description"] == ["列入条件：档次为 A档"]


def test_top_tier_is_unknown_without_the_standards_tiers():
    payload = _payload()
    del payload["standards"]
    assert derive_lists(payload, {"x": {"include": "top_tier"}})["x"]["entries"] == []


def test_bottom_share_per_scope_when_a_small_scope_has_no_place():
    payload = _payload()          # 东区: O1, O3 (2 graded, 50% -> 1); 西区: O2 (1 graded, 50% -> 0)
    lst = derive_lists(payload, {"b": {"bottom": {"share": "50%", "scope": "district"}}})["b"]
    assert [e["organization"] for e in lst["entries"]] == ["O3"]
    # the best-ranked organization alone in its district: its scope has no place, the others still do
    payload["organizations"][0]["district"] = "甲区"
    payload["organizations"][1]["district"] = "东区"      # 东区 now O2, O3 -> 1 place
    lst = derive_lists(payload, {"b": {"bottom": {"share": "50%", "scope": "district"}}})["b"]
    assert [e["organization"] for e in lst["entries"]] == ["O3"]


def test_top_n_ties_and_scopes_without_a_name_read_plainly():
    orgs = [org("T1", "", "", "A", 1), org("T2", "", "", "A", 1), org("T3", "", "", "A", 3)]
    lst = derive_lists({"organizations": orgs}, {"r": {"top": {"n": 1, "scope": "district"}}})["r"]
    assert [e["organization"] for e in lst["entries"]] == ["T1", "T2"]
    assert lst["entries"][0]["reasons"] == ["区县入选组织中第 1 名（并列）"]


@pytest.mark.parametrize("value, expected", [("5%", "0.05"), (Decimal("0.1"), "0.1"), (0.05, "0.05"), ("100%", "1"), (1, "1")])
def test_shares_that_are_accepted(value, expected):
    assert share(value) == Decimal(expected)


@pytest.mark.parametrize("value", [True, "0%", "150%", Decimal("1.5"), "五成", None, -0.1])
def test_shares_that_are_refused(value):
    with pytest.raises(InputError):
        share(value)


@pytest.mark.parametrize("rules, path, words", [
    ([], "$.lists", "expected a mapping of list ids"),
    ({"Red": {}}, "$.lists", "a list id must match"),
    ({"red": "tier == 'A'"}, "$.lists.red", "expected a mapping with title, include/include_any, top, bottom"),
    ({"red": {"inclde": "x"}}, "$.lists.red.inclde", "unknown key (allowed: bottom, include, include_any, rectification_deadline, title, top)"),
    ({"red": {"title": " "}}, "$.lists.red.title", "expected a title"),
    ({"red": {"include": ""}}, "$.lists.red.include", "expected an expression, got ''"),
    ({"red": {"include_any": []}}, "$.lists.red.include_any", "expected a non-empty list of expressions"),
    ({"red": {"top": {"scope": "district"}}}, "$.lists.red.top", "expected {n: <count>, scope: round|district|street|type}"),
    ({"red": {"top": {"n": 1, "size": 2}}}, "$.lists.red.top", "expected {n: <count>"),
    ({"red": {"top": {"n": True}}}, "$.lists.red.top.n", "expected a whole number of at least 1"),
    ({"red": {"top": {"n": Decimal("1.5")}}}, "$.lists.red.top.n", "expected a whole number of at least 1"),
    ({"red": {"top": {"n": 0}}}, "$.lists.red.top.n", "expected a whole number of at least 1"),
    ({"red": {"top": {"n": 1, "scope": "town"}}}, "$.lists.red.top.scope", "unknown scope 'town' (one of round, district, street, type)"),
    ({"b": {"bottom": {"scope": "round"}}}, "$.lists.b.bottom", "expected {share: '5%', scope: round|district|street|type}"),
    ({"b": {"bottom": {"share": "5%", "n": 1}}}, "$.lists.b.bottom", "expected {share: '5%'"),
    ({"b": {"bottom": {"share": "5%", "scope": "town"}}}, "$.lists.b.bottom.scope", "unknown scope 'town'"),
])
def test_rule_errors_name_their_path_and_what_to_write(rules, path, words):
    with pytest.raises(InputError) as e:
        normalize_rules(rules)
    (issue,) = e.value.issues
    assert issue.path == path and words in issue.message


def test_an_expression_error_carries_its_column():
    with pytest.raises(InputError) as e:
        normalize_rules({"red": {"include": "tier == 'A' and totl > 3"}})
    (issue,) = e.value.issues
    assert issue.col == 17 and "totl" in issue.message


def test_titles_default_to_the_known_lists_and_to_the_id():
    norm = normalize_rules({"red": {"include": "top_tier"}, "watch": {"include": "veto_count > 0"}})
    assert (norm["red"]["title"], norm["watch"]["title"]) == ("红榜", "watch")


@pytest.mark.parametrize("expr, tiers", [
    ("tier == 'A'", {"A"}), ("'B' == tier", {"B"}), ("tier != 'C'", {"C"}), ("tier in ['A', 'B']", {"A", "B"}),
    ("tier not in ['D']", {"D"}), ("not (tier == 'A') or total > 1", {"A"}), ("veto_count > 0", set()),
    ("abs(total) > 1 and tier == 'S5'", {"S5"}), ("tier == org.type", set()),
])
def test_tier_literals_are_found_wherever_tier_is_compared(expr, tiers):
    assert tier_literals(compile_rule_expr(expr)) == tiers


def test_rules_print_scopes_and_connectives_plainly():
    assert describe_expr("tier == 'A' or total >= 90", {"A": "A档"}) == "档次为 A档或总分不低于 90 分"
    assert describe_expr("tier in ['D', 'S1'] and veto_count == 0", {"D": "D档", "S1": "一星级"}) == \
        "（档次为 D档或一星级）且未触发一票否决"
    assert describe_expr("rank_district <= 3 and not bottom_tier") == "区县内排名在前 3 名且不处于最低档次"
    assert describe_expr("unknown_name > 1") == "unknown_name > 1"        # not a rule: printed as written
    assert describe_expr("tier == 'A' # 备注") == "tier == 'A' # 备注"          # unusual text: printed as written
    assert describe_rules({"top": {"n": 2, "scope": "round"}}) == ["全域按排名取前 2 名（并列者同时列入）"]
    assert describe_rules({"top": {"n": 2, "scope": "street"}}) == ["每个街道按排名取前 2 名（并列者同时列入）"]


def test_a_notice_for_each_expression_that_cannot_hold():
    from evaluator.standard.listrules import check_against_standards
    norm = normalize_rules({"red": {"include": "total > 1", "include_any": ["tier == 'A'", "tier == 'S5'"]}})
    notices = check_against_standards(norm, {"mini": ("甲", [("A", "A档"), ("B", "B档")]),
                                             "stars": ("乙", [("S5", "五星"), ("S1", "一星")])})
    assert len(notices) == 2
    assert "“档次为 A档”不适用于按“乙”考评" in notices[0] and "“档次为五星”不适用于按“甲”考评" in notices[1]


def test_shares_are_read_as_standards_read_percentages_full_width_included():
    """A list's share and a declared distribution's share are read by the one reader of shares
    in standards (quantity.read_share): full-width digits and ％ as people type them."""
    from decimal import Decimal
    from evaluator.standard.distribution import compile_distribution
    from evaluator.standard.listrules import share

    def fail(path, message):
        raise AssertionError((path, message))
    assert share("１０％") == Decimal("0.1") == share(0.1) == share("10%")
    d = compile_distribution({"scope": "round", "tiers": [{"tier": "A", "max": "１０％"}]}, ["A", "B"], fail)
    assert d.shares[0].share == Decimal("0.1")


def test_lists_drawn_from_a_results_file_keep_every_mark_and_state_the_ranking_order():
    # what reports draw for results written without lists: an organization marked by two
    # flag-only vetoes carries both marks, and the rank-based rules end with the round's order
    ranking = "排名方式：先比档次（高档在前），档次相同再比总分高者在前；各项均相同者名次并列"
    marked = [{"criterion": "G9.2", "cap_tier": None, "mark": "软弱涣散党组织"},
              {"criterion": "G9.3", "cap_tier": None, "mark": "重点整改对象"}]
    results = {"standards": {"mini": {"tiers": [{"id": "A"}, {"id": "D"}]}},
               "ranking": {"order": "tier_first", "description": ranking},
               "organizations": [org("A1", "东区", "一街道", "A", 1), org("D1", "东区", "一街道", "D", 2, 50, marked)]}
    lists = derive_lists(results, None)
    (entry,) = lists["black"]["entries"]
    assert (entry["organization"], entry["marks"]) == ("D1", ["软弱涣散党组织", "重点整改对象"])
    assert entry["reasons"][-2:] == ["触发一票否决，认定为软弱涣散党组织", "触发一票否决，认定为重点整改对象"]
    assert lists["black"]["description"][-1] == ranking and lists["red"]["description"][-1] == ranking


def test_an_evaluated_rounds_lists_carry_the_mark_of_an_organization_with_two_vetoes(tmp_path):
    # O2 hits the capping veto G9.2 (C) and the marking veto G9.3: its entry on the round's own
    # black list and the `marked` designation name the mark (the row holds both vetoes, "G9.2；G9.3")
    from roundkit import make_round
    from test_flag_vetoes import FLAGGED
    rnd = make_round(tmp_path, [("O1", "东区", "一街道", {"lax": "否"}),
                                ("O2", "东区", "一街道", {"lax": "是", "serious_violation": "是"})], FLAGGED,
                     "designations:\n  weak: {title: 软弱涣散党组织, include: marked}\n")
    payload = evaluate_round(load_round(rnd))
    (black,) = payload["lists"]["black"]["entries"]
    assert (black["organization"], black["tier"], black["marks"]) == ("O2", "C", ["软弱涣散党组织"])
    assert black["reasons"] == ["符合条件：触发一票否决", "触发一票否决，认定为软弱涣散党组织"]
    assert [(e["organization"], e["marks"]) for e in payload["designations"]["weak"]["entries"]] == [("O2", ["软弱涣散党组织"])]


def test_an_evaluated_rounds_bottom_share_takes_the_last_place_and_its_ties_only(tmp_path):
    # 100 - 20 (area 10) - 10 (差) = 70 for L3 and L4, equal on every tie-break; L2 75 is in the
    # same tier (C) but above them. The last 25% of 4 is 1 place: L3 and L4, tied, both listed
    from roundkit import make_round
    orgs = [("L1", "东区", "一街道", {}), ("L2", "东区", "一街道", {"centre_area": 10, "secretary_rating": "一般"}),
            ("L3", "东区", "一街道", {"centre_area": 10, "secretary_rating": "差"}),
            ("L4", "东区", "一街道", {"centre_area": 10, "secretary_rating": "差"})]
    rnd = make_round(tmp_path, orgs, extra="lists:\n  black: {bottom: {share: 25%, scope: round}}\n")
    payload = evaluate_round(load_round(rnd))
    tiers = {o["id"]: (o["tier"], o["total"]) for o in payload["organizations"]}
    assert (tiers["L2"], tiers["L3"], tiers["L4"]) == (("C", 75), ("C", 70), ("C", 70))
    black = payload["lists"]["black"]["entries"]
    assert [e["organization"] for e in black] == ["L3", "L4"]
    assert black[0]["reasons"] == ["全域排名后 25%（第 3 名 / 共 4 个，后 1 名列入；与其他 1 个组织排名并列，同时列入）"]


def test_an_include_any_rule_prints_tiers_by_their_names():
    # as the published black list prints its rule: a tier by its name, never its id
    assert describe_rules({"include_any": ["veto_count > 0", "tier == 'D'"]}, {"D": "D档"}) == [
        "符合下列任一条件即列入：触发一票否决；档次为 D档"]
