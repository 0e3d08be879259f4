"""The monthly bulletin (每月通报排队): a round as of a date inside its period.

Due dates at their boundaries (first and last day of a month, an as-of exactly on a due date,
a yearly item on the period's last day), records dated on the as-of day (counted) and the day
after (not), 未到期 left out of the total, and `agrade bulletin` end to end: movement against
earlier bulletins, results valid against the schema, byte-identical runs, and earlier
bulletins scored with another version of the standard."""
from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import run_cli
from evaluator.model import Organization, Record
from evaluator.scoring.criteria import score_all
from evaluator.scoring.grading import base_score
from evaluator.standard.periods import cut

from test_engine import full_evidence
from test_grading import child_standard

PERIOD = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))

DUE = """id: due
version: "1"
title: 到期测试标准
extends: mini
fields:
  lectures: {type: records, label: 党课记录}
  reviews: {type: records, label: 民主评议党员记录}
sections:
  - id: G2
    criteria:
      - {id: G2.5, title: 党课, points: 4, method: frequency, records: lectures, every: quarter, deduct: 1, rectification: 按季开展}
      - {id: G2.6, title: 民主评议, points: 3, method: frequency, records: reviews, every: year, deduct: 3, rectification: 每年开展}
override:
  G2.3: {due: period_end}
  G2.4: {due: 2026-06-30}
  G2.2: {points: 13}
"""


@pytest.fixture(scope="module")
def std(tmp_path_factory):
    return child_standard(tmp_path_factory.mktemp("due"), "due", DUE)


def outcomes(std, as_of, **values):
    ev = full_evidence("O1", lectures=(Record(dt.date(2026, 2, 1)),), reviews=(Record(dt.date(2026, 11, 5)),), **values)
    period = cut(PERIOD, as_of) if as_of else PERIOD
    org = Organization("O1", "O1", "community", "东区", "一街道")
    got, _ = score_all(std, org, ev, period)
    return {o.criterion: o for o in got}, got


def meetings(*days):
    return tuple(Record(dt.date.fromisoformat(d)) for d in days)


def test_monthly_meetings_are_pro_rated_to_completed_months(std):
    # 31 March: three months due; a meeting in January and March only -> one missing
    o, _ = outcomes(std, dt.date(2026, 3, 31), committee_meetings=meetings("2026-01-09", "2026-03-09"))
    g = o["G2.1"]
    assert g.outcome == "partial" and g.points == Decimal("27.5")
    assert "截至2026年3月31日，共 3 个月" in g.reason and "2026年2月" in g.reason


def test_first_and_last_day_of_a_month(std):
    # 1 March: February is complete, March is not -> two months due
    o, _ = outcomes(std, dt.date(2026, 3, 1), committee_meetings=meetings("2026-01-09", "2026-02-09"))
    assert o["G2.1"].outcome == "pass" and "共 2 个月" in o["G2.1"].reason
    # 28 February (last day): February is due
    o, _ = outcomes(std, dt.date(2026, 2, 28), committee_meetings=meetings("2026-01-09"))
    assert o["G2.1"].outcome == "partial" and "2026年2月" in o["G2.1"].reason
    # 27 February: only January due
    o, _ = outcomes(std, dt.date(2026, 2, 27), committee_meetings=meetings("2026-01-09"))
    assert o["G2.1"].outcome == "pass" and "共 1 个月" in o["G2.1"].reason


def test_nothing_completed_yet_is_not_due(std):
    # 31 January: no quarter is complete, the year is not -> 未到期, not a missing meeting
    o, _ = outcomes(std, dt.date(2026, 1, 31))
    assert o["G2.5"].outcome == "not_due" and o["G2.5"].reason.startswith("未到期：")
    assert "2026年第1季度" in o["G2.5"].reason and "于2026年3月31日结束" in o["G2.5"].reason
    assert o["G2.6"].outcome == "not_due" and "于2026年12月31日结束" in o["G2.6"].reason
    assert o["G2.3"].outcome == "not_due" and o["G2.4"].outcome == "not_due"


def test_as_of_exactly_on_a_due_date(std):
    # the quarter ends 31 March; G2.4 falls due on 30 June
    o, _ = outcomes(std, dt.date(2026, 3, 31))
    assert o["G2.5"].outcome == "partial" or o["G2.5"].outcome == "pass"
    assert o["G2.5"].outcome != "not_due"
    o, _ = outcomes(std, dt.date(2026, 6, 29))
    assert o["G2.4"].outcome == "not_due"
    o, _ = outcomes(std, dt.date(2026, 6, 30))
    assert o["G2.4"].outcome == "pass"


def test_a_yearly_item_on_the_period_last_day_is_the_round_itself(std):
    end, _ = outcomes(std, dt.date(2026, 12, 31))
    plain, _ = outcomes(std, None)
    assert cut(PERIOD, dt.date(2026, 12, 31)) == PERIOD and type(cut(PERIOD, dt.date(2026, 12, 31))) is tuple
    assert end == plain
    assert end["G2.6"].outcome == "pass" and end["G2.3"].outcome == "pass"
    before, _ = outcomes(std, dt.date(2026, 12, 30))
    assert before["G2.6"].outcome == "not_due" and before["G2.3"].outcome == "not_due"


def test_a_record_on_the_as_of_day_counts_and_the_day_after_does_not(std):
    o, _ = outcomes(std, dt.date(2026, 1, 31), committee_meetings=meetings("2026-01-31"))
    assert o["G2.1"].outcome == "pass" and "晚于通报截止日" not in o["G2.1"].reason
    o, _ = outcomes(std, dt.date(2026, 1, 31), committee_meetings=meetings("2026-02-01"))
    g = o["G2.1"]
    assert g.outcome == "partial" and "2026年1月" in g.reason
    assert "另有 1 条记录晚于通报截止日2026年1月31日，本期不计入：2026年2月1日" in g.reason


def test_not_due_costs_no_points_it_is_left_out_of_the_base(std):
    _, got = outcomes(std, dt.date(2026, 1, 31))
    b = base_score(std, got)
    not_due = sum(o.max_points for o in got if o.outcome == "not_due")
    assert not_due > 0
    assert b.applicable_max == std.grading.base - not_due and b.score == Decimal(100)


def test_prorated_is_for_frequency_criteria_only(tmp_path):
    from evaluator.errors import InputError
    with pytest.raises(InputError, match="prorated is for frequency"):
        child_standard(tmp_path, "due", DUE.replace("G2.3: {due: period_end}", "G2.3: {due: prorated}"))


# ---------------------------------------------------------------- agrade bulletin

@pytest.fixture(scope="module")
def bulletins(tmp_path_factory):
    from evaluator.demo import generate
    base = tmp_path_factory.mktemp("bulletins")
    rnd = generate(base / "round", 80, 7)
    done = []
    for as_of in ("2026-01-31", "2026-02-28", "2026-03-31"):
        out = base / "b" / as_of
        prev = [x for d in done for x in ("--previous", d)]
        code, _, err = run_cli("bulletin", rnd, "--as-of", as_of, "--out", out, *prev, "-q")
        assert code == 0, err
        done.append(out)
    return base, rnd, done


def load(folder):
    return json.loads((folder / "results.json").read_text(encoding="utf-8"), parse_float=Decimal)


def test_bulletin_results_are_a_valid_results_folder_with_the_as_of_date(bulletins):
    from evaluator.standard.schema import check
    base, _, done = bulletins
    for folder in done:
        payload = load(folder)
        assert check(json.loads((folder / "results.json").read_text(encoding="utf-8")), "result", None) == []
        assert payload["round"]["as_of"] == folder.name and payload["round"]["period"] == {"from": "2026-01-01", "to": "2026-12-31"}
    assert run_cli("validate", done[-1])[0] == 0
    january = load(done[0])
    yearly = [c for o in january["organizations"] for c in o["criteria"] if c["id"] == "G2.6"]
    assert yearly and all(c["outcome"] == "not_due" for c in yearly)


def test_movement_against_every_earlier_bulletin(bulletins):
    _, _, done = bulletins
    march = load(done[-1])
    b = march["bulletin"]
    assert [p["as_of"] for p in b["previous"]] == ["2026-01-31", "2026-02-28"]
    assert sum(b["moves"].values()) == march["summary"]["organizations"]
    assert b["moves"]["升档"] + b["moves"]["降档"] > 0            # the demo's meetings really move tiers
    tiers = {o["id"]: o["tier"] for o in march["organizations"]}
    for oid, line in b["trend"].items():
        assert [p["as_of"] for p in line] == ["2026-01-31", "2026-02-28", "2026-03-31"]
        assert line[-1]["tier"] == tiers[oid]
    assert load(done[0])["bulletin"]["moves"] == {}


def test_bulletins_folder_and_byte_identical_reruns(bulletins, tmp_path):
    base, rnd, done = bulletins
    shutil.copytree(done[0], tmp_path / "earlier" / "01")
    shutil.copytree(done[1], tmp_path / "earlier" / "02")
    again = tmp_path / "again"
    assert run_cli("bulletin", rnd, "--as-of", "2026-03-31", "--out", again, "--previous", tmp_path / "earlier", "-q")[0] == 0
    assert (again / "results.json").read_bytes() == (done[-1] / "results.json").read_bytes()


def test_refused_previous_and_as_of(bulletins, tmp_path):
    _, rnd, done = bulletins
    code, _, err = run_cli("bulletin", rnd, "--as-of", "2027-01-01", "--out", tmp_path / "x")
    assert code == 2 and "not inside the round's period" in err
    code, _, err = run_cli("bulletin", rnd, "--as-of", "2026-02-28", "--out", tmp_path / "y", "--previous", done[-1])
    assert code == 2 and "not before this one" in err
    assert not (tmp_path / "y").exists()


def test_earlier_bulletins_of_another_standard_version(bulletins, tmp_path):
    """A round whose standard was revised (another version, other tier names) still compares
    with bulletins scored under the old one: places in each version's own tier list."""
    _, rnd, done = bulletins
    old = tmp_path / "old"
    shutil.copytree(done[0], old)
    data = load(old)
    for s in data["standards"].values():
        s["version"] = "2025.9"
    raw = json.dumps(data, ensure_ascii=False, default=str).encode()
    (old / "results.json").write_bytes(raw)
    (old / "run.json").unlink()                     # a results.json alone is read without the digest check
    code, _, err = run_cli("bulletin", rnd, "--as-of", "2026-02-28", "--out", tmp_path / "feb", "--previous", old / "results.json", "-q")
    assert code == 0, err
    assert load(tmp_path / "feb")["bulletin"]["moves"] == load(done[1])["bulletin"]["moves"]


# ---------------------------------------------------------------- what the as-of date hides

MINI = __import__("pathlib").Path(__file__).parent / "fixtures" / "mini"


def scorer_row(std, as_of, **values):
    from evaluator.scoring.run import RoundScorer
    scorer = RoundScorer({"community": std}, cut(PERIOD, as_of))
    try:
        row, _, _ = scorer.score(Organization("O1", "O1", "community", "东区", "一街道"), full_evidence("O1", **values))
    finally:
        scorer.close()
    return row


def test_lost_items_leave_out_what_is_not_due(std):
    # 31 January: G2.3-G2.6 are 未到期 (0 of their points, none lost); of what is due only the
    # bonus G9.1 (no awards) falls short
    _, got = outcomes(std, dt.date(2026, 1, 31))
    assert sum(o.outcome == "not_due" for o in got) == 4
    assert [o.criterion for o in got if o.points < o.max_points and o.outcome != "not_due"] == ["G9.1"]
    assert scorer_row(std, dt.date(2026, 1, 31)).lost == 1
    # a monthly meeting missing in January is lost too; the not-due items still are not
    assert scorer_row(std, dt.date(2026, 1, 31), committee_meetings=meetings("2026-02-09")).lost == 2


def test_gates_see_only_records_dated_up_to_the_as_of_date(tmp_path):
    from evaluator.standard.loader import load_standard
    text = (MINI / "mini.yaml").read_text(encoding="utf-8").replace("id: mini", "id: gated").replace(
        """{tier: A, condition: "section_points('G2') >= 60", reason: 组织生活不低于60分}""",
        """{tier: A, condition: "len(committee_meetings) >= 2", reason: 至少两次支委会记录}""")
    (tmp_path / "gated.yaml").write_text(text, encoding="utf-8")
    std = load_standard(tmp_path / "gated.yaml")
    two = meetings("2026-01-09", "2026-02-09")
    # 31 January: the February meeting has not happened yet, for the gate as for G2.1
    row = scorer_row(std, dt.date(2026, 1, 31), committee_meetings=two)
    assert row.total == 100 and std.grading.tiers[row.tier_index].id == "B"
    assert any("至少两次支委会记录" in r for r in row.reasons)
    row = scorer_row(std, dt.date(2026, 2, 28), committee_meetings=two)
    assert std.grading.tiers[row.tier_index].id == "A"


def test_a_verification_after_the_as_of_date_is_not_used_and_the_reason_says_so(tmp_path):
    # C1's floor area: 520 m² self-reported, 480 m² verified on 2026-10-12 (a finding)
    def c1(as_of):
        out = tmp_path / as_of
        code, stdout, err = run_cli("bulletin", MINI / "round.yaml", "--as-of", as_of, "--out", out, "-q")
        assert code == 0, stdout + err
        return next(o for o in load(out)["organizations"] if o["id"] == "C1")
    before = c1("2026-10-11")
    g = next(c for c in before["criteria"] if c["id"] == "G1.2")
    assert g["outcome"] == "pass" and g["points"] == 20
    assert "核查日期2026年10月12日晚于通报截止日2026年10月11日，本期不采用核查值，按自评值计" in g["reason"]
    assert before["findings"] == []
    assert before["provenance"]["centre_area"] == {"source": "self", "verified_after_as_of":
                                                   {"inspector": "督导组-王敏", "verified_on": "2026-10-12"}}
    on_the_day = c1("2026-10-12")
    g = next(c for c in on_the_day["criteria"] if c["id"] == "G1.2")
    assert g["points"] == 12 and "晚于通报截止日" not in g["reason"]
    assert [f["field"] for f in on_the_day["findings"]] == ["centre_area"]
    assert on_the_day["provenance"]["centre_area"]["source"] == "verified"


def test_the_round_header_is_the_published_one_footer_included(tmp_path):
    shutil.copytree(MINI, tmp_path / "mini")
    path = tmp_path / "mini" / "round.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "footer: 测试区委组织部组织科 联系电话 12345\n", encoding="utf-8")
    assert run_cli("evaluate", path, "--out", tmp_path / "final", "-q")[0] == 0
    assert run_cli("bulletin", path, "--as-of", "2026-03-31", "--out", tmp_path / "march", "-q")[0] == 0
    for folder in ("final", "march"):
        assert load(tmp_path / folder)["round"]["footer"] == "测试区委组织部组织科 联系电话 12345"


# ---------------------------------------------------------------- year over year, standard revised

V2 = {'version: "1"': 'version: "2"',
      "effective: {from: 2026-01-01, to: 2026-12-31}": "effective: {from: 2027-01-01, to: 2027-12-31}",
      "{min: 500, points: 20}": "{min: 450, points: 20}",                          # a threshold changed
      "id: G2.4\n        title: 准入制度": "id: G2.7\n        title: 社区工作准入制度",   # a criterion renamed
      "{id: A, name: A档, min: 90}": "{id: S, name: 示范档, min: 90}",                # the top tier renamed
      "{tier: A, condition": "{tier: S, condition", "{tier: A, max_share": "{tier: S, max_share",
      "{tier: A, min_share": "{tier: S, min_share"}


def year_round(base, year: int, extra: str = "") -> Path:
    folder = base / str(year)
    shutil.copytree(MINI / "evidence", folder / "evidence")
    shutil.copy(MINI / "orgs.csv", folder / "orgs.csv")
    for f in (folder / "evidence").iterdir():
        f.write_text(f.read_text(encoding="utf-8").replace("2026", str(year)), encoding="utf-8")
    (folder / "round.yaml").write_text(
        f"id: mini-{year}\ntitle: 测试区{year}年度考评\nissuer: 测试区委组织部\n"
        f"period: {{from: {year}-01-01, to: {year}-12-31}}\nstandards: {{community: mini}}\n"
        f"standards_dirs: [../rules]\norganizations: orgs.csv\nevidence: evidence/\n{extra}", encoding="utf-8")
    return folder / "round.yaml"


def test_previous_across_years_reads_each_year_with_its_own_standard_version(tmp_path):
    """One rules folder, the standard revised in place between the years (a criterion renamed,
    a threshold changed, the top tier renamed A -> S): last year's results are read with the
    version they pin, for list rules (agrade evaluate) and for a bulletin's movement."""
    rules = tmp_path / "rules"
    rules.mkdir()
    text = (MINI / "mini.yaml").read_text(encoding="utf-8")
    (rules / "mini.yaml").write_text(text, encoding="utf-8")
    last = year_round(tmp_path, 2026)
    assert run_cli("evaluate", last, "--out", tmp_path / "2026" / "results", "-q")[0] == 0
    for a, b in V2.items():
        assert a in text
        text = text.replace(a, b)
    (rules / "mini.yaml").write_text(text, encoding="utf-8")       # revised in place, no copy kept
    this = year_round(tmp_path, 2027, "previous: ../2026/results\nlists:\n"
                      "  red: {title: 红榜, include: \"top_tier and previous.tier == 'A'\"}\n"
                      "  black: {title: 黑榜, include: \"previous.bottom_tier\"}\n")
    code, out, err = run_cli("evaluate", this, "--out", tmp_path / "2027" / "results", "-q")
    assert code == 0, out + err
    then, now = load(tmp_path / "2026" / "results"), load(tmp_path / "2027" / "results")
    assert {o["id"]: o["tier"] for o in then["organizations"]} == {"C1": "A", "C2": "D", "C3": "D"}
    assert now["previous"]["id"] == "mini-2026"
    assert now["previous"]["standards"]["mini"]["version"] == "1" and now["standards"]["mini"]["version"] == "2"
    assert now["previous"]["standards"]["mini"]["digest"] == then["standards"]["mini"]["digest"]
    assert [e["organization"] for e in now["lists"]["red"]["entries"]] == ["C1"]
    assert now["lists"]["red"]["description"] == ["列入条件：处于最高档次且上一轮档次为 A档"]   # its name then
    assert sorted(e["organization"] for e in now["lists"]["black"]["entries"]) == ["C2", "C3"]
    from evaluator.scoring.previous import load_previous
    before = load_previous(tmp_path / "2026" / "results").organizations
    assert (before["C1"].tier, before["C1"].tier_name, before["C1"].place) == ("A", "A档", 0)
    assert before["C2"].place == 3 and before["C2"].bottom_tier
    # January's bulletin against last year's final results: places in each year's own tiers
    code, out, err = run_cli("bulletin", this, "--as-of", "2027-01-31", "--out", tmp_path / "b01",
                             "--previous", tmp_path / "2026" / "results", "-q")
    assert code == 0, out + err
    b = load(tmp_path / "b01")["bulletin"]
    assert b["previous"] == [{"as_of": "2026-12-31", "round": "mini-2026",
                              "standards": {"mini": {"version": "1", "digest": then["standards"]["mini"]["digest"]}}}]
    tiers = {o["id"]: o["tier"] for o in load(tmp_path / "b01")["organizations"]}
    order = ["S", "B", "C", "D"]
    expect = {"升档": 0, "保持": 0, "降档": 0, "首次定档": 0, "本期不予定档": 0}
    for oid, before in {"C1": 0, "C2": 3, "C3": 3}.items():        # A, D, D: places 0, 3, 3 then
        place = order.index(tiers[oid])
        expect["升档" if place < before else "降档" if place > before else "保持"] += 1
    assert b["moves"] == expect and b["moves"]["升档"] > 0
    assert b["trend"]["C1"][0] == {"as_of": "2026-12-31", "tier": "A", "tier_name": "A档", "total": 95}
    # and February's, against January's and last year's (a folder of this year's bulletins)
    code, out, err = run_cli("bulletin", this, "--as-of", "2027-02-28", "--out", tmp_path / "b02",
                             "--previous", tmp_path / "2026" / "results", "--previous", tmp_path / "b01", "-q")
    assert code == 0, out + err
    assert [p["round"] for p in load(tmp_path / "b02")["bulletin"]["previous"]] == ["mini-2026", "mini-2027"]


def test_previous_of_another_round_that_has_not_ended_is_refused(bulletins, tmp_path):
    _, rnd, done = bulletins
    other = tmp_path / "other"
    shutil.copytree(done[0], other)
    data = load(other)
    data["round"]["id"] = "another-2026"
    (other / "results.json").write_text(json.dumps(data, ensure_ascii=False, default=str), encoding="utf-8")
    (other / "run.json").unlink()
    code, _, err = run_cli("bulletin", rnd, "--as-of", "2026-02-28", "--out", tmp_path / "x", "--previous", other / "results.json")
    assert code == 2 and "results of round 'another-2026' (to 2026-12-31)" in err and "ended before it began (2026-01-01)" in err
    assert not (tmp_path / "x").exists()
