"""Veto × gate × quota × distribution in one round, with a flag-only veto, lists by count and
a designation: every organization's tier, ranks and list membership computed by hand below,
and the documents of the round read without program text."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from conftest import run_cli
from roundkit import MINI, MONTHLY, make_round

# mini (tiers A ≥ 90, B ≥ 80, C ≥ 60, D; A's gate: 组织生活 G2 ≥ 60; G9.2 严重违纪 caps at C) with
# a flag-only veto, a round quota on A and a distribution on A, B and C
STANDARD = (MINI.replace("id: mini\n", "id: combo\n")
            .replace("  serious_violation: {type: boolean, label: 是否发生严重违纪违法问题}\n",
                     "  serious_violation: {type: boolean, label: 是否发生严重违纪违法问题}\n"
                     "  lax: {type: boolean, label: 是否存在软弱涣散情形}\n")
            .replace("cap_tier: C, rectification: 严肃整改}\n",
                     "cap_tier: C, rectification: 严肃整改}\n"
                     "      - {id: G9.3, title: 软弱涣散, method: veto, when: lax, mark: 软弱涣散党组织, rectification: 限期整顿}\n")
            .replace("    - {tier: A, max_share: 50%, scope: district}\n", "    - {tier: A, max_share: 30%, scope: round}\n")
            .replace("  tie_breaks:", "  distribution:\n    tiers:\n      - {tier: A, max: 40%}\n"
                                      "      - {tier: B, max: 30%}\n      - {tier: C, min: 20%}\n  tie_breaks:"))
LISTS = """lists:
  red: {title: 红榜, include: "top_tier and veto_count == 0", top: {n: 3, scope: district}}
  black: {title: 黑榜, include_any: ["veto_count > 0", "bottom_tier"], bottom: {n: 1, scope: street}}
designations:
  weak: {title: 软弱涣散党组织, include: "marked"}
"""
E, W = ("东区", "一街道"), ("西区", "二街道")
NO = {"lax": "否"}
ORGS = [  # id, where, evidence changes          total  scored tier (bands, vetoes, gates)
    ("K1", E, {**NO, "awards": 2}),              # 103    A
    ("K2", E, {**NO, "awards": 1}),              # 102    A
    ("K3", E, {"lax": "是"}),                     # 100    A: the flag-only veto marks, caps nothing
    ("K4", E, {**NO, "serious_violation": "是"}),  # 100    C: capped by G9.2
    ("K5", E, {**NO, "awards": 2, "committee_meetings": MONTHLY[:7]}),   # 90.5 B: G2 = 57.5 fails A's gate
    ("K6", W, {**NO, "secretary_rating": "较好"}),   # 98     A
    ("K7", W, {**NO, "secretary_rating": "一般"}),   # 95     A
    ("K8", W, {**NO, "centre_area": 350}),          # 92     A
    ("K9", W, {**NO, "centre_area": 10}),           # 80     B
    ("K10", W, {**NO, "centre_area": 10, "secretary_rating": "差"}),     # 70 C
]
# The distribution (round, 10 graded), best tier first, in tie-break order (total, base):
#   A at most 40% = 4 of K1 K2 K3 K6 K7 K8: K7, K8 go to B (no gate or veto stops them there).
#   B at most 30% = 3 of K7 95, K8 92, K5 90.5, K9 80: K9 goes to C.  C at least 20% = 2: C has 3.
# The quota (A at most 30% of the round = 3) then sends K6, A's last, to B.
TIERS = {"K1": "A", "K2": "A", "K3": "A", "K4": "C", "K5": "B", "K6": "B", "K7": "B", "K8": "B", "K9": "C", "K10": "C"}
# tier first: A K1 103, K2 102, K3 100; B K6 98, K7 95, K8 92, K5 90.5; C K4 100, K9 80, K10 70
ROUND_RANK = {"K1": 1, "K2": 2, "K3": 3, "K6": 4, "K7": 5, "K8": 6, "K5": 7, "K4": 8, "K9": 9, "K10": 10}
DISTRICT_RANK = {"K1": 1, "K2": 2, "K3": 3, "K5": 4, "K4": 5, "K6": 1, "K7": 2, "K8": 3, "K9": 4, "K10": 5}
# red: in A with no veto, best 3 per district: K1, K2 (K3's mark is a veto; 西区 has no A left).
# black: a veto (K3 marked, K4 capped) or the last tier (none in D), plus each street's last
# place (一街道 K4, 二街道 K10). weak: the marked K3.
MEMBERS = {"red": ["K1", "K2"], "black": ["K3", "K4", "K10"], "weak": ["K3"]}


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    root = tmp_path_factory.mktemp("interplay")
    rnd = make_round(root / "round", [(oid, d, s, v) for oid, (d, s), v in ORGS], STANDARD, LISTS)
    code, _, err = run_cli("evaluate", rnd, "--out", root / "results", "-q")
    assert code == 0, err
    payload = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    return root, payload, {o["id"]: o for o in payload["organizations"]}


def test_every_organizations_tier_and_ranks(evaluated):
    _, payload, r = evaluated
    assert {oid: o["tier"] for oid, o in r.items()} == TIERS
    assert {oid: o["rank"]["round"] for oid, o in r.items()} == ROUND_RANK
    assert {oid: o["rank"]["district"] for oid, o in r.items()} == DISTRICT_RANK
    assert {oid: o["rank"]["street"] for oid, o in r.items()} == DISTRICT_RANK      # one street per district
    assert [o["id"] for o in payload["organizations"]] == sorted(ROUND_RANK, key=ROUND_RANK.get)
    assert [r[k]["total"] for k in ("K1", "K3", "K4", "K5", "K10")] == [103, 100, 100, Decimal("90.5"), 70]


def test_each_move_says_why(evaluated):
    _, _, r = evaluated
    why = {oid: "\n".join(o["tier_reasons"]) for oid, o in r.items()}
    assert "触发一票否决（G9.3），认定为软弱涣散党组织，不限定档次" in why["K3"]
    assert "触发一票否决（G9.2），档次最高为 C档" in why["K4"]
    assert "未满足 A档条件（组织生活不低于60分），降为 B档" in why["K5"]
    assert "全域档次比例要求A档 不超过 40%（10 个中最多 4 个），本组织在该档排第 5，调整为 B档" in why["K7"]
    assert "全域档次比例要求B档 不超过 30%（10 个中最多 3 个），本组织在该档排第 4，调整为 C档" in why["K9"]
    assert "A档名额为 30%（10 个中最多 3 个），本组织在该档排第 4，调整为 B档" in why["K6"]
    assert "档次比例" not in why["K6"] and "名额" not in why["K1"] + why["K2"] + why["K3"]


def test_list_and_designation_membership(evaluated):
    _, payload, _ = evaluated
    got = {lid: [e["organization"] for e in payload["lists"][lid]["entries"]] for lid in ("red", "black")}
    got["weak"] = [e["organization"] for e in payload["designations"]["weak"]["entries"]]
    assert got == MEMBERS
    black = {e["organization"]: e["reasons"] for e in payload["lists"]["black"]["entries"]}
    assert black["K3"] == ["符合条件：触发一票否决", "触发一票否决，认定为软弱涣散党组织"]     # A, third, and listed
    assert black["K10"] == ["二街道（西区）排名最后 1 名（第 5 名 / 共 5 个，后 1 名列入）"]
    assert black["K4"][-1] == "一街道（东区）排名最后 1 名（第 5 名 / 共 5 个，后 1 名列入）"


def test_the_distribution_report_counts_the_final_tiers(evaluated):
    _, payload, _ = evaluated
    got = {c["tier"]: (c["count"], c["low"], c["high"], c["met"]) for c in payload["distribution"]}
    # the quota moved K6 into B after the distribution: B's cap of 3 is no longer met, and says so
    assert got == {"A": (3, 0, 4, True), "B": (4, 0, 3, False), "C": (3, 2, 10, True)}


def test_the_documents_read_without_program_text(evaluated):
    from test_plain_language import check_documents
    root, _, _ = evaluated
    code, _, err = run_cli("report", root / "results", "--out", root / "docs", "--format", "html", "--workers", "1")
    assert code == 0, err
    count, problems = check_documents(root / "docs")
    assert count >= 12 and problems == []
    k3 = (root / "docs" / "scorecards" / "K3_K3党支部.html").read_text(encoding="utf-8")
    assert "不限定档次（认定为软弱涣散党组织）" in k3 and "认定为软弱涣散党组织，不限定档次" in k3
    k7 = (root / "docs" / "scorecards" / "K7_K7党支部.html").read_text(encoding="utf-8")
    assert "全域档次比例要求A档 不超过 40%（10 个中最多 4 个），本组织在该档排第 5，调整为 B档" in k7
    published = (root / "docs" / "lists.html").read_text(encoding="utf-8")
    assert "排名方式：先比档次（高档在前），档次相同再比总分高者在前、基础得分高者在前" in published
    assert "另将每个街道已定档组织中排名最后 1 名列入（并列者同时列入）" in published
