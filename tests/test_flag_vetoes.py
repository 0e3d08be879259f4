"""Flag-only vetoes (一票否决 that marks, 软弱涣散党组织, without capping the tier) and lists by
count (`bottom: {n: 1, scope: street}`): what a department sees on results, scorecards and lists."""
from __future__ import annotations

from decimal import Decimal

import pytest

from evaluator.errors import InputError
from evaluator.reports.model import context, rank_counts, scorecard
from evaluator.scoring.lists import derive_lists

from conftest import FIXTURES
from test_engine import full_evidence
from test_grading import child_standard, run

MINI = (FIXTURES / "mini" / "mini.yaml").read_text(encoding="utf-8")
# mini with a flag-only veto: 软弱涣散情形 marks the organization and leaves its tier alone
FLAGGED = MINI.replace("id: mini\n", "id: flagged\n").replace(
    "  serious_violation: {type: boolean, label: 是否发生严重违纪违法问题}\n",
    "  serious_violation: {type: boolean, label: 是否发生严重违纪违法问题}\n"
    "  lax: {type: boolean, label: 是否存在软弱涣散情形}\n").replace(
    "cap_tier: C, rectification: 严肃整改}\n",
    "cap_tier: C, rectification: 严肃整改}\n"
    "      - {id: G9.3, title: 软弱涣散, method: veto, when: lax, mark: 软弱涣散党组织, rectification: 限期整顿}\n").replace(
    "  quotas:\n    - {tier: A, max_share: 50%, scope: district}\n", "")


@pytest.fixture()
def flagged(tmp_path):
    std = child_standard(tmp_path, "flagged", FLAGGED)
    # O1 and O2 score 100 (O2 marked), O3 92 (area 350: 12 of 20), O4 80 (area 10: 0 of 20)
    ev = {"O1": full_evidence("O1", lax=False), "O2": full_evidence("O2", lax=True),
          "O3": full_evidence("O3", lax=False, centre_area=Decimal(350)),
          "O4": full_evidence("O4", lax=False, centre_area=Decimal(10))}
    return run(ev, std)


def test_a_flag_only_veto_marks_without_capping_and_keeps_rank_order(flagged):
    r, payload = flagged
    o2 = r["O2"]
    assert (o2["total"], o2["tier"], o2["tier_before_quota"]) == (Decimal(100), "A", "A")
    assert o2["vetoes"] == [{"criterion": "G9.3", "cap_tier": None, "mark": "软弱涣散党组织",
                             "reason": "触发一票否决（存在软弱涣散情形）：是否存在软弱涣散情形为“是”，认定为软弱涣散党组织，不限定档次"}]
    assert "触发一票否决（G9.3），认定为软弱涣散党组织，不限定档次" in o2["tier_reasons"]
    # tied with O1 on every tie-break: the same rank; a capping veto would have put it last (C)
    assert [(o["id"], o["rank"]["round"]) for o in payload["organizations"]] == [("O1", 1), ("O2", 1), ("O3", 3), ("O4", 4)]


def test_a_marked_organization_lands_on_the_black_list_and_its_designation(flagged):
    _, payload = flagged
    lists = derive_lists(payload, None)              # the default lists: black takes veto_count > 0
    black = {e["organization"]: e for e in lists["black"]["entries"]}
    assert list(black) == ["O2"]
    assert black["O2"]["marks"] == ["软弱涣散党组织"]
    assert black["O2"]["reasons"] == ["符合条件：触发一票否决", "触发一票否决，认定为软弱涣散党组织"]
    assert [e["organization"] for e in lists["red"]["entries"]] == ["O1", "O3"]     # red needs no veto
    weak = derive_lists(payload, {"weak": {"title": "软弱涣散党组织", "include": "marked"}})["weak"]
    assert [e["organization"] for e in weak["entries"]] == ["O2"]
    assert weak["entries"][0]["reasons"] == ["符合条件：因一票否决被认定"]        # the title says the rest
    assert weak["description"] == ["列入条件：因一票否决被认定"]


def test_the_scorecard_veto_table_says_the_tier_is_not_capped(flagged):
    _, payload = flagged
    payload["round"] = {"id": "t", "title": "测试", "issuer": "测试区委组织部", "period": {"from": "2026-01-01", "to": "2026-12-31"}}
    ctx = context(payload, public=True, has_previous=False)
    o2 = next(o for o in payload["organizations"] if o["id"] == "O2")
    card = scorecard(o2, ctx, None, rank_counts(payload))
    assert [(v["title"], v["cap"]) for v in card["vetoes"]] == [("软弱涣散", "不限定档次（认定为软弱涣散党组织）")]


def test_a_veto_with_neither_cap_nor_mark_is_refused_at_its_line(tmp_path):
    text = FLAGGED.replace("mark: 软弱涣散党组织, ", "")
    with pytest.raises(InputError) as e:
        child_standard(tmp_path, "flagged", text)
    msg = str(e.value)
    assert "flagged.yaml:" in msg and "G9.3" in msg and "cap_tier" in msg and "mark" in msg


# ---------------------------------------------------------------- lists by count

def _org(oid, street, rank, total):
    return {"id": oid, "name": f"{oid}党支部", "type": "community", "district": "东区", "street": street,
            "standard": {"id": "mini"}, "status": "graded", "tier": "B", "tier_name": "B档", "total": Decimal(total),
            "rank": {"round": rank}, "vetoes": []}


def test_last_place_in_each_street_with_ties_listed_and_stated():
    # 一街道: S1 (rank 1), S2 and S3 tied last (rank 2); 二街道: T1 (3), T2 (4); 三街道: U1 alone
    orgs = [_org("S1", "一街道", 1, 95), _org("S2", "一街道", 2, 90), _org("S3", "一街道", 2, 90),
            _org("T1", "二街道", 4, 85), _org("T2", "二街道", 5, 70), _org("U1", "三街道", 6, 60)]
    rule = {"b": {"title": "黑榜", "bottom": {"n": 1, "scope": "street"}}}
    lst = derive_lists({"organizations": orgs}, rule)["b"]
    reasons = {e["organization"]: e["reasons"] for e in lst["entries"]}
    assert list(reasons) == ["S2", "S3", "T2", "U1"]        # a street of one has its last place too
    assert reasons["S2"] == ["一街道（东区）排名最后 1 名（第 2 名 / 共 3 个，后 1 名列入；与其他 1 个组织排名并列，同时列入）"]
    assert reasons["T2"] == ["二街道（东区）排名最后 1 名（第 2 名 / 共 2 个，后 1 名列入）"]
    assert lst["description"] == ["另将每个街道已定档组织中排名最后 1 名列入（并列者同时列入）"]


def test_bottom_by_count_and_by_share_side_by_side_and_refusals():
    orgs = [_org(f"R{i}", "一街道", i, 100 - i) for i in range(1, 11)]
    both = derive_lists({"organizations": orgs}, {"n2": {"bottom": {"n": 2}}, "s": {"bottom": {"share": "20%"}},
                                                  "big": {"bottom": {"n": 50, "scope": "round"}}})
    assert [e["organization"] for e in both["n2"]["entries"]] == ["R9", "R10"]
    assert [e["organization"] for e in both["s"]["entries"]] == ["R9", "R10"]
    assert len(both["big"]["entries"]) == 10                 # n beyond the group: all of it
    for bad, path in [({"n": 1, "share": "5%"}, "$.lists.b.bottom"), ({"n": 0}, "$.lists.b.bottom.n"),
                      ({"n": "一"}, "$.lists.b.bottom.n"), ({"scope": "street"}, "$.lists.b.bottom")]:
        with pytest.raises(InputError) as e:
            derive_lists({"organizations": orgs}, {"b": {"bottom": bad}})
        assert e.value.issues[0].path == path


@pytest.mark.parametrize("bottom", ["{n: 1, share: 5%}", "{scope: street}"])
def test_a_bottom_rule_with_both_or_neither_is_refused_at_its_line(tmp_path, bottom):
    from conftest import run_cli
    from roundkit import make_round
    rnd = make_round(tmp_path, [("A1", "东区", "一街道", {})], extra=f"lists:\n  black: {{title: 黑榜, bottom: {bottom}}}\n")
    code, out, err = run_cli("validate", rnd)
    assert code != 0
    assert ("round.yaml:9:22: $.lists.black.bottom: expected {share: '5%', scope: round|district|street|type} "
            "or {n: <count>, scope: ...} (one of share and n)") in out + err
