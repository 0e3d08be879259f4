"""evaluator.scoring.lists: red and black lists from results and the YAML list rules (FORMATS.md §4)."""
from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest

from evaluator.errors import InputError
from evaluator.scoring.lists import derive_lists
from evaluator.standard.listrules import DEFAULT_LISTS, describe_expr, describe_rules, normalize_rules

from tests.reports.conftest import load_round


def ids(lst):
    return [e["organization"] for e in lst["entries"]]


@pytest.fixture(scope="module")
def results():
    return load_round()


def test_default_lists_on_the_fixture_round(results):
    lists = derive_lists(results, None)
    assert list(lists) == ["red", "black"]
    assert lists["red"]["title"] == "红榜" and lists["black"]["title"] == "黑榜"
    # red: tier A without veto (HD-003 and CH-004 were moved to B by the district quota)
    assert ids(lists["red"]) == ["HD-001", "CH-002"]
    # black: the veto (CH-006, tier C) and tier D (HD-007); 5% of 7 graded rounds down to 0
    assert ids(lists["black"]) == ["CH-006", "HD-007"]
    veto = lists["black"]["entries"][0]
    assert veto["reasons"] == ["符合条件：触发一票否决"]
    assert veto["tier"] == "C" and veto["rank"] == 6 and veto["total"] == Decimal("91")
    assert {"organization", "name", "district", "type", "tier", "total", "rank", "reasons"} <= set(veto)
    assert lists["red"]["rules"] == normalize_rules(DEFAULT_LISTS)["red"]


def test_bottom_share_per_district_rounds_down(results):
    rules = {"black": {"title": "黑榜", "bottom": {"share": "50%", "scope": "district"}}}
    lst = derive_lists(results, rules)["black"]
    # 花都区: 4 graded -> 2 places (HD-005 rank 4, HD-007 rank 7); 从化区: 3 graded -> 1 (CH-006)
    assert ids(lst) == ["HD-005", "CH-006", "HD-007"]
    assert "区县“花都区”排名后 50%" in lst["entries"][0]["reasons"][0]
    assert ids(derive_lists(results, {"black": {"bottom": {"share": "25%", "scope": "district"}}})["black"]) == ["HD-007"]


def test_top_n_per_type_after_include(results):
    rules = {"red": {"title": "各领域第一", "include": "status == 'graded'", "top": {"n": 1, "scope": "type"}}}
    lst = derive_lists(results, rules)["red"]
    assert ids(lst) == ["HD-001", "HD-003", "HD-005"]
    assert lst["title"] == "各领域第一"


def test_include_any_and_status_names(results):
    rules = {"watch": {"title": "关注名单", "include_any": ["status == 'not_graded'", "total < 60"]}}
    lst = derive_lists(results, rules)["watch"]
    assert ids(lst) == ["HD-007", "CH-008"]            # ranked first, the unranked one last
    assert lst["entries"][1]["rank"] is None


def test_a_rule_needing_an_absent_value_does_not_select(results):
    # CH-008 has no tier and no rank: `tier == 'D'` and `rank > 5` are simply false for it
    lst = derive_lists(results, {"black": {"include_any": ["tier == 'D'", "rank > 5"]}})["black"]
    assert ids(lst) == ["CH-006", "HD-007"]


def test_ties_at_the_top_boundary_are_all_kept():
    orgs = [{"id": f"O{i}", "name": f"组织{i}", "type": "community", "district": "甲区", "street": "",
             "status": "graded", "tier": "A", "total": Decimal(t), "base": Decimal(t), "bonus": 0,
             "vetoes": [], "rank": {"round": r, "district": r, "type": r}}
            for i, (t, r) in enumerate([(95, 1), (93, 2), (93, 2), (90, 4)], start=1)]
    lst = derive_lists({"organizations": orgs}, {"red": {"top": {"n": 2, "scope": "round"}}})["red"]
    assert ids(lst) == ["O1", "O2", "O3"]
    assert "并列" in lst["entries"][1]["reasons"][-1]
    bottom = derive_lists({"organizations": orgs}, {"black": {"bottom": {"share": "50%", "scope": "round"}}})["black"]
    assert ids(bottom) == ["O2", "O3", "O4"]        # 2 places, and O2 ties with O3


def test_share_may_be_a_fraction_and_is_printed_as_percent():
    norm = normalize_rules({"black": {"bottom": {"share": Decimal("0.1")}}})
    assert norm["black"]["bottom"] == {"share": "10%", "scope": "round"}
    assert norm["black"]["title"] == "黑榜"


@pytest.mark.parametrize("rules, path, words", [
    ({"red": {"include": "tier = 'A'"}}, "$.lists.red.include", "'=' is not an operator"),
    ({"red": {"include": "totl > 90"}}, "$.lists.red.include", "total"),
    ({"red": {"include": "total"}}, "$.lists.red.include", "boolean"),
    ({"red": {"inclde": "total > 90"}}, "$.lists.red.inclde", "unknown key"),
    ({"red": {"top": {"n": 0}}}, "$.lists.red.top.n", "at least 1"),
    ({"red": {"top": {"n": 3, "scope": "city"}}}, "$.lists.red.top.scope", "unknown scope"),
    ({"black": {"bottom": {"share": "abc"}}}, "$.lists.black.bottom.share", "share"),
    ({"black": {"bottom": {"share": "0%"}}}, "$.lists.black.bottom.share", "above 0%"),
    ({"black": {"include_any": []}}, "$.lists.black.include_any", "non-empty"),
    ({"Red": {}}, "$.lists", "list id"),
    ({}, "$.lists", "mapping"),
])
def test_bad_rules_are_input_errors_with_a_path(rules, path, words):
    with pytest.raises(InputError) as info:
        derive_lists({"organizations": []}, rules)
    issue = info.value.issues[0]
    assert issue.path == path
    assert words in issue.message


def test_rules_print_in_chinese():
    assert describe_expr("tier == 'A' and veto_count == 0", {"A": "A档"}) == "档次为 A档且未触发一票否决"
    assert describe_expr("org.type in ['community', 'village'] and total >= 90") == "（领域为社区或村）且总分不低于 90 分"
    red = describe_rules(normalize_rules(None)["red"])
    assert red == ["列入条件：处于最高档次且未触发一票否决", "每个区县按排名取前 3 名（并列者同时列入）"]
    black = describe_rules(normalize_rules(None)["black"])
    assert black[0] == "符合下列任一条件即列入：触发一票否决；处于最低档次"
    assert "全域已定档组织中排名后 5%" in black[1]


def test_lists_module_is_core_and_imports_no_front_end():
    code = ("import sys, evaluator.scoring.lists; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('jinja2', 'weasyprint', 'openpyxl') "
            "or m.startswith('evaluator.reports')]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
