"""Re-scoring one organization (an appeal) in place gives exactly what evaluating the whole
round again gives: the same bytes, and a change report naming everyone who moved."""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from evaluator.model import Evidence, Organization, Record
from evaluator.scoring.previous import Previous, PreviousRound
from evaluator.scoring.rescore import RoundState
from evaluator.scoring.run import RoundScorer, ScoredRound, score_organizations

from test_engine import PERIOD, full_evidence
from test_grading import WITH_QUOTA, child_standard

CASCADE = """id: cascade
version: "1"
title: 两级名额
extends: mini
grading:
  quotas:
    - {tier: A, max_share: 50%, scope: district}
    - {tier: B, max_share: 40%, scope: round}
  gates:
    - {tier: A, condition: "section_points('G2') >= 60", reason: 组织生活不低于60分}
    - {tier: B, condition: "points('G1.2') >= 12", reason: 场所基本达标}
"""
LISTS = {"red": {"include": "top_tier and veto_count == 0", "top": {"n": 2, "scope": "district"}},
         "black": {"include_any": ["veto_count > 0", "bottom_tier"], "bottom": {"share": "20%", "scope": "round"}},
         "near": {"include": "rank <= 3"}}

# designations, one of them across rounds: the previous round is fixed, the current one moves
DESIGNATIONS = {"weak": {"title": "软弱涣散党组织", "include_any": ["veto_count > 0", "bottom_tier and previous.bottom_tier"],
                         "bottom": {"share": "30%", "scope": "district"}},
                "steady": {"title": "连续优秀", "include": "top_tier and previous.top_tier"}}

ORGS = [Organization(f"O{i:02d}", f"组织{i}", "community", "东区" if i % 2 else "西区", f"街{i % 3}") for i in range(14)]

EVIDENCE_CHANGES = st.fixed_dictionaries({
    "centre_area": st.sampled_from([Decimal(100), Decimal(350), Decimal(520)]),
    "awards": st.sampled_from([Decimal(0), Decimal(1), Decimal(3)]),
    "serious_violation": st.booleans(),
    "months": st.integers(min_value=0, max_value=12),
    "grid_staff": st.sampled_from([Decimal(10), None]),
})


def evidence_for(i: int, change: dict | None = None):
    base = {"centre_area": Decimal([520, 350, 100][i % 3]), "awards": Decimal(i % 2), "serious_violation": i == 5,
            "months": 12 - (i % 4), "grid_staff": Decimal(10)}
    base.update(change or {})
    ev = full_evidence(ORGS[i].id, centre_area=base["centre_area"], awards=base["awards"],
                       serious_violation=base["serious_violation"],
                       committee_meetings=tuple(Record(dt.date(2026, m, 9)) for m in range(1, base["months"] + 1)))
    if base["grid_staff"] is None:
        del ev.values["grid_staff"]
    return ev


PREVIOUS = PreviousRound({"id": "2025"}, {o.id: Previous(*[("A", Decimal(95), True, False), ("C", Decimal(60), False, True),
                                                           ("B", Decimal(80), False, False)][i % 3])
                                          for i, o in enumerate(ORGS) if i % 5})


def full(standards, evidence, orgs=None) -> bytes:
    rows, spill = score_organizations(orgs or ORGS, evidence.get, standards, PERIOD)
    scored = ScoredRound(rows, spill, standards, {})
    scored.add_lists(LISTS, DESIGNATIONS, PREVIOUS)
    out: list[bytes] = []
    scored.write_json(out.append)
    scored.close()
    return b"".join(out)


def state(standards, evidence, orgs=None) -> RoundState:
    rows, spill = score_organizations(orgs or ORGS, evidence.get, standards, PERIOD)
    return RoundState(ScoredRound(rows, spill, standards, {}), RoundScorer(standards, PERIOD), LISTS, DESIGNATIONS,
                      PREVIOUS)


@contextlib.contextmanager
def resident(standards):
    """(the RoundState of ORGS with their first evidence, that evidence): the test changes the
    evidence as it re-scores, and the round is closed after it, whatever happened."""
    evidence = {o.id: evidence_for(i) for i, o in enumerate(ORGS)}
    live = state(standards, evidence)
    try:
        yield live, evidence
    finally:
        live.scored.close()


def written(st: RoundState) -> bytes:
    out: list[bytes] = []
    st.scored.write_json(out.append)
    return b"".join(out)


def brief(payload: bytes) -> dict:
    """id -> (tier, ranks, lists and designations it is on: 'list:red', 'designation:weak')."""
    data = json.loads(payload)
    lists = {f"{kind}:{lid}": {e["organization"] for e in lst["entries"]}
             for key, kind in (("lists", "list"), ("designations", "designation"))
             for lid, lst in data[key].items()}
    return {o["id"]: (o["tier"], tuple(sorted(o["rank"].items())),
                      tuple(sorted(lid for lid, m in lists.items() if o["id"] in m)))
            for o in data["organizations"]}


@pytest.fixture(scope="module")
def standards(tmp_path_factory):
    return {"community": child_standard(tmp_path_factory.mktemp("std"), "cascade", CASCADE)}


@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=13), EVIDENCE_CHANGES), min_size=1, max_size=4))
def test_rescoring_in_place_equals_evaluating_the_round_again(standards, steps):
    with resident(standards) as (live, evidence):
        for i, change in steps:
            before = brief(full(standards, evidence))
            evidence[ORGS[i].id] = evidence_for(i, change)
            report = live.rescore(ORGS[i], evidence[ORGS[i].id])
            expected = full(standards, evidence)
            assert written(live) == expected
            after = brief(expected)
            moved = sorted(k for k in after if after[k] != before[k])
            assert sorted(report.changed) == moved, (report, moved)
            for rid, diff in report.others.items():        # each list entry and exit, the right way round
                for what, (was, now) in diff.items():
                    if what.startswith(("list:", "designation:")):
                        assert (was, now) == (what in before[rid][2], what in after[rid][2])
            mine = after[ORGS[i].id][2]
            assert report.after["lists"] == [x[5:] for x in mine if x.startswith("list:")]
            assert report.after["designations"] == [x[12:] for x in mine if x.startswith("designation:")]


def test_a_rescore_reports_who_else_moved(standards):
    with resident(standards) as (live, evidence):
        worst = min(range(14), key=lambda i: json.loads(full(standards, evidence))["organizations"][-1]["id"] == ORGS[i].id)
        evidence[ORGS[worst].id] = evidence_for(worst, {"centre_area": Decimal(520), "awards": Decimal(3),
                                                        "serious_violation": False, "months": 12})
        report = live.rescore(ORGS[worst], evidence[ORGS[worst].id])
        assert report.before != report.after
        assert report.others, "climbing to the top moves others down"
        assert all({"tier", "rank"} & set(d) or any(k.startswith(("list:", "designation:")) for k in d)
                   for d in report.others.values())


def _base_of(j: int) -> dict:
    """Organization j's evidence values (evidence_for): given to another, it scores the same."""
    return {"centre_area": Decimal([520, 350, 100][j % 3]), "awards": Decimal(j % 2), "serious_violation": j == 5,
            "months": 12 - (j % 4), "grid_staff": Decimal(10)}


BEST = {"centre_area": Decimal(520), "awards": Decimal(3), "serious_violation": False, "months": 12}
WORST = {"centre_area": Decimal(100), "awards": Decimal(0), "serious_violation": True, "months": 0, "grid_staff": None}


@pytest.mark.parametrize("moves", [
    # to the first rank, to the last (a place under its district's A quota frees: another
    # organization moves up a tier), and back (that one moves down again)
    [(9, BEST), (9, WORST), (9, {})],
    # to the last rank of every scope, then into a tie with another organization, then out of it
    [(0, WORST), (0, _base_of(6)), (6, _base_of(3)), (0, BEST)],
    # several of one district to the top one after another, across the quota line, then one to the last
    [(1, BEST), (3, BEST), (5, BEST), (7, BEST), (1, WORST)],
])
def test_the_change_report_gives_each_moved_organization_its_new_ranks(standards, moves):
    with resident(standards) as (live, evidence):
        def placed(payload: bytes) -> dict:
            return {o["id"]: (o["tier"], o["rank"]) for o in json.loads(payload)["organizations"]}
        for i, change in moves:
            before = placed(full(standards, evidence))
            evidence[ORGS[i].id] = evidence_for(i, change)
            report = live.rescore(ORGS[i], evidence[ORGS[i].id])
            expected = full(standards, evidence)
            assert written(live) == expected
            after = placed(expected)
            assert report.after["rank"] == after[ORGS[i].id][1]
            # exactly the others whose rank or tier moved, each with where it is now
            assert {rid for rid, d in report.others.items() if "rank" in d} == \
                {rid for rid in after if rid != ORGS[i].id and after[rid][1] != before[rid][1]}
            assert {rid for rid, d in report.others.items() if "tier" in d} == \
                {rid for rid in after if rid != ORGS[i].id and after[rid][0] != before[rid][0]}
            for rid, d in report.others.items():
                if "rank" in d:
                    assert d["rank"] == (None, after[rid][1])
                if "tier" in d:
                    assert d["tier"] == (None, after[rid][0])


def test_a_report_keeps_the_ranks_of_its_rescore_when_later_ones_move_them(standards):
    # a batch of appeals reads its reports after all of them: each says where the others were
    # placed by its own rescore
    with resident(standards) as (live, evidence):
        evidence[ORGS[2].id] = evidence_for(2, BEST)
        first = live.rescore(ORGS[2], evidence[ORGS[2].id])
        then = {o["id"]: o["rank"] for o in json.loads(full(standards, evidence))["organizations"]}
        evidence[ORGS[4].id] = evidence_for(4, BEST)
        live.rescore(ORGS[4], evidence[ORGS[4].id])
        ranked = {rid: d["rank"][1] for rid, d in first.others.items() if "rank" in d}
        assert ranked and all(then[rid] == rank for rid, rank in ranked.items())


def test_the_collector_waits_while_a_rescore_works(standards, monkeypatch):
    # a collection landing in a rescore walked the thousands of rows a tier move shifts: the
    # collector is paused from scoring to the change report, and running again afterwards
    import gc
    with resident(standards) as (live, evidence):
        seen: list[bool] = []
        for name, obj in (("score", live.scorer), ("replace", live.scored.quotas), ("refresh", live.states["lists"])):
            def spy(*a, _f=getattr(obj, name), **k):
                seen.append(gc.isenabled())
                return _f(*a, **k)
            monkeypatch.setattr(obj, name, spy)
        evidence[ORGS[3].id] = evidence_for(3, BEST)
        report = live.rescore(ORGS[3], evidence[ORGS[3].id])
        assert seen == [False, False, False]
        assert gc.isenabled()
        assert written(live) == full(standards, evidence)
    assert report.others and set(report.phases) == {"score", "quotas", "ranks", "lists", "report"}


def test_a_round_kept_resident_is_out_of_the_collectors_way_and_rescores_the_same(standards):
    # a full garbage-collector pass over a large round's rows once landed on a rescore (222 ms);
    # kept resident, the rows are no longer among the objects a pass traverses
    import gc
    evidence = {o.id: evidence_for(i) for i, o in enumerate(ORGS)}
    live = state(standards, evidence)
    try:
        live.keep_resident()
        rows = {id(r) for r in live.scored.rows}
        assert not rows & {id(x) for x in gc.get_objects()}
        evidence[ORGS[3].id] = evidence_for(3, {"centre_area": Decimal(520)})
        live.rescore(ORGS[3], evidence[ORGS[3].id])
        assert written(live) == full(standards, evidence)
    finally:
        live.release_resident()
        live.scored.close()
    assert {id(r) for r in live.scored.rows} <= {id(x) for x in gc.get_objects()}


def test_a_resident_round_compiles_no_rules_when_it_rescores(standards, monkeypatch):
    # compiling a standard's concluding rules (a durable-rules ruleset) took 50-100 ms of the
    # first rescore of a process: keep_resident compiles them when the round is loaded
    from evaluator.scoring import engine
    evidence = {o.id: evidence_for(i) for i, o in enumerate(ORGS)}
    live = state(standards, evidence)
    try:
        live.keep_resident()

        def compiling(*a, **k):
            raise AssertionError("a ruleset was compiled during a rescore")
        monkeypatch.setattr(engine, "_OwnedHost", compiling)
        evidence[ORGS[6].id] = evidence_for(6, BEST)
        live.rescore(ORGS[6], evidence[ORGS[6].id])
        monkeypatch.undo()
        assert written(live) == full(standards, evidence)
    finally:
        live.release_resident()
        live.scored.close()


# ---------------------------------------------------------------- agrade rescore

import csv

from conftest import run_cli
from evaluator.demo import generate


def test_agrade_rescore_writes_what_evaluating_again_writes(tmp_path):
    rnd = generate(tmp_path / "round", 160, 5)
    assert run_cli("evaluate", rnd, "--out", tmp_path / "out", "-q", "--workers", "1")[0] == 0
    values = rnd.parent / "evidence" / "values.csv"
    rows = list(csv.reader(values.open(encoding="utf-8-sig")))
    # the organization of the 10th row gains 300 square metres (an appeal found the rest of its centre)
    target = rows[10][0]
    area = next(r for r in rows[1:] if r[0] == target and r[1] == "centre_area")
    area[2], area[3] = "900", ("900" if area[3] else "")
    with values.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    code, out, err = run_cli("rescore", rnd, target, "--results", tmp_path / "out")
    assert code == 0, err
    assert f"{target}：总分" in out
    assert run_cli("evaluate", rnd, "--out", tmp_path / "fresh", "-q", "--workers", "1")[0] == 0
    for name in ("results.json", "results.csv", "state.jsonl"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name
    assert run_cli("explain", tmp_path / "out", target)[0] == 0


def test_agrade_rescore_refuses_results_of_another_standard(tmp_path, mini):
    assert run_cli("evaluate", mini / "round.yaml", "--out", tmp_path / "out", "-q")[0] == 0
    std = mini / "mini.yaml"
    std.write_text(std.read_text(encoding="utf-8").replace('version: "1"', 'version: "2"'), encoding="utf-8")
    code, _, err = run_cli("rescore", mini / "round.yaml", "C1", "--results", tmp_path / "out")
    assert code == 2 and "standards changed since these results were written" in err
    std.write_text(std.read_text(encoding="utf-8").replace('version: "2"', 'version: "1"'), encoding="utf-8")
    code, _, err = run_cli("rescore", mini / "round.yaml", "C4", "--results", tmp_path / "out")
    assert code == 2 and "no organization 'C4' in the registry" in err


def test_a_rescore_reads_the_asked_for_evidence_as_an_evaluation_does_and_refuses_only_its_own(tmp_path):
    # evidence_of reads an organization's partition as an evaluation does (column-wise from the
    # bulk CSV rows): the same evidence as reading the whole round; a value refused for
    # another organization of the partition does not stop it; its own refused value is said
    # as evaluating the round says it
    from evaluator.errors import InputError
    from evaluator.intake.rounds import load_round
    from evaluator.scoring.run import check_round, evidence_of, load_evidence
    from roundkit import make_round
    orgs = [(f"r{i}", "东区", "一街道", {}) for i in range(6)]
    rnd_file = make_round(tmp_path, orgs)
    evidence = rnd_file.parent / "evidence"
    for i in (1, 4):                          # r1's and r4's values in a bulk file instead
        (evidence / f"r{i}.yaml").unlink()
    values = "organization,field,self,verified,inspector\n" + "".join(
        f"r{i},members_full,{7 + i},{7 + i},张三\nr{i},centre_area,{300 + i},,\n" for i in (1, 4))
    (evidence / "values.csv").write_text(values, encoding="utf-8")
    rnd = load_round(rnd_file)
    whole, _, _ = load_evidence(rnd)
    got, digest, files = evidence_of(rnd, ["r4", "r1"], rnd.standards)
    assert list(got) == ["r4", "r1"] and got == {"r4": whole["r4"], "r1": whole["r1"]}
    header = _evaluated_header(rnd_file, tmp_path)
    assert (digest, files) == (header["evidence_digest"], header["evidence_files"]) and files == 5
    (evidence / "values.csv").write_text(values.replace("r1,centre_area,301", "r1,centre_area,三百"), encoding="utf-8")
    assert evidence_of(load_round(rnd_file), ["r4"], rnd.standards)[0]["r4"] == whole["r4"]
    with pytest.raises(InputError) as asked:
        evidence_of(load_round(rnd_file), ["r1", "r4"], rnd.standards)
    with pytest.raises(InputError) as evaluated:
        check_round(load_round(rnd_file))
    assert [str(i) for i in asked.value.issues] == [str(i) for i in evaluated.value.issues]
    assert "values.csv" in str(asked.value.issues[0]) and "三百" in str(asked.value.issues[0])


def _evaluated_header(round_file, tmp_path) -> dict:
    assert run_cli("evaluate", round_file, "--out", tmp_path / "out", "-q", "--workers", "1")[0] == 0
    return json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))


def test_a_rescore_scores_again_the_organizations_whose_waivers_changed_since(tmp_path):
    # evaluated without waivers; then w6's G1.2 is waived (82 -> 90) and w2's evidence is
    # rescored: w6 is scored again too, and the results are what evaluating again writes.
    # Then the waiver is withdrawn and w2 rescored again: w6 goes back
    import json
    from test_whatif import WAIVER, _evaluated
    rnd, results = _evaluated(tmp_path)
    text = rnd.read_text(encoding="utf-8")
    for round_text, w6 in ((text + WAIVER, 90), (text, 82)):
        rnd.write_text(round_text, encoding="utf-8")
        code, out, err = run_cli("rescore", rnd, "w2", "--results", results)
        assert code == 0, err
        assert "免考核事项自评估以来有变化，一并重新评分：w6" in out
        fresh = tmp_path / f"fresh{w6}"
        assert run_cli("evaluate", rnd, "--out", fresh, "-q")[0] == 0
        for name in ("results.json", "results.csv", "state.jsonl"):
            assert (results / name).read_bytes() == (fresh / name).read_bytes(), name
        w6_result = next(o for o in json.loads((results / "results.json").read_bytes())["organizations"] if o["id"] == "w6")
        assert w6_result["total"] == w6
    # nothing changed since: only the organization asked for
    code, out, err = run_cli("rescore", rnd, "w2", "--results", results)
    assert code == 0 and "免考核事项" not in out


def test_a_rescore_refuses_results_that_do_not_record_their_waivers(tmp_path):
    from test_whatif import _evaluated
    rnd, results = _evaluated(tmp_path)
    state = results / "state.jsonl"
    lines = state.read_bytes().split(b"\n", 1)
    head = json.loads(lines[0])
    del head["header"]["waivers"]                 # as an earlier agrade wrote it
    data = json.dumps(head).encode() + b"\n" + lines[1]
    state.write_bytes(data)
    run = json.loads((results / "run.json").read_text(encoding="utf-8"))     # and run.json says so
    run["files"]["state.jsonl"] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (results / "run.json").write_text(json.dumps(run), encoding="utf-8")
    code, _, err = run_cli("rescore", rnd, "w2", "--results", results)
    assert code == 2 and "do not record the waivers they were evaluated with" in err, err


def test_an_organization_that_leaves_the_ranking_shifts_the_ranks_to_the_last(standards):
    # the round's first has its evidence withdrawn (not graded: no tier, no rank), then given
    # back: the net number of ranked organizations changes, so the ranks behind it shift to the
    # end of each group (the last of the round too), which a move within the ranking never does
    with resident(standards) as (live, evidence):
        placed = json.loads(full(standards, evidence))["organizations"]
        top = min(o["rank"]["round"] for o in placed if o["rank"]["round"])
        first = next(o for o in ORGS if o.id == next(x["id"] for x in placed if x["rank"]["round"] == top))
        last = max((x for x in placed if x["rank"]["round"]), key=lambda x: x["rank"]["round"])["id"]
        i = ORGS.index(first)
        for ev in (Evidence(first.id, values={}, self_values={}), evidence_for(i)):
            before = {o["id"]: o["rank"] for o in json.loads(full(standards, evidence))["organizations"]}
            evidence[first.id] = ev
            report = live.rescore(first, ev)
            expected = full(standards, evidence)
            assert written(live) == expected
            after = {o["id"]: (o["status"], o["rank"]) for o in json.loads(expected)["organizations"]}
            if not ev.values:
                assert after[first.id] == ("not_graded", {"round": None, "district": None, "street": None, "type": None})
            moved = {rid for rid in after if rid != first.id and after[rid][1] != before[rid]}
            assert moved == {rid for rid, d in report.others.items() if "rank" in d}
            assert last in moved                        # the last of the round moved too


# ---------------------------------------------------------------- quotas of several tiers (mutation run)

def _cascade(tmp_path, quotas: str, orgs: list, first: dict, appeal: tuple[str, Evidence], more: str = "") -> tuple:
    """Organizations (id, street) of one district with their first evidence, under `quotas`
    (one round's standard extending mini, `more` of it after them); one appeal re-scored in place.
    The organizations' results by id before and after it, after checking the round re-placed
    equals the round evaluated again, and the appeal's change report."""
    std = {"community": child_standard(tmp_path, "tiers", f'id: tiers\nversion: "1"\ntitle: 多档名额\nextends: mini\n'
                                                          f'grading:\n  quotas:\n{quotas}{more}')}
    orgs = [Organization(oid, oid, "community", "东区", street) for oid, street in orgs]
    evidence = dict(first)
    live = state(std, evidence, orgs)
    try:
        before = {o["id"]: o for o in json.loads(written(live))["organizations"]}
        oid, ev = appeal
        evidence[oid] = ev
        report = live.rescore(next(o for o in orgs if o.id == oid), ev)
        expected = full(std, evidence, orgs)
        assert written(live) == expected
        return before, {o["id"]: o for o in json.loads(expected)["organizations"]}, report
    finally:
        live.scored.close()


def _tiers(results: dict) -> dict:
    return {oid: o["tier"] for oid, o in results.items()}


def test_an_appeal_that_frees_a_place_in_b_gives_it_back_and_the_c_quota_applies_again(tmp_path):
    # A 50%, B 25%, C 25% of five: 2, 1 and 1 places. P 100 A; X 85 and R 82 B, R moved to C;
    # T 75 C, moved to D behind R; S 40 D. X falls to 70 (C): R's place in B is back, T keeps
    # C, and X, behind T in C, goes to D
    ev = full_evidence
    first = {"P": ev("P"), "X": ev("X", members_full=Decimal(2), secretary_rating="一般"),
             "R": ev("R", centre_area=Decimal(10), awards=Decimal(1)),
             "T": ev("T", centre_area=Decimal(10), secretary_rating="一般"),
             "S": ev("S", centre_area=Decimal(10), members_full=Decimal(2), secretary_rating="差",
                     grid_staff_party=Decimal(0))}
    quotas = ("    - {tier: A, max_share: 50%, scope: round}\n    - {tier: B, max_share: 25%, scope: round}\n"
              "    - {tier: C, max_share: 25%, scope: round}\n")
    before, after, _ = _cascade(tmp_path, quotas, [(oid, "一街道") for oid in first], first,
                                ("X", ev("X", centre_area=Decimal(10), secretary_rating="差")))
    assert (_tiers(before), _tiers(after)) == ({"P": "A", "X": "B", "R": "C", "T": "D", "S": "D"},
                                               {"P": "A", "R": "B", "T": "C", "X": "D", "S": "D"})
    assert "全域C档名额为 25%（5 个中最多 1 个），本组织在该档排第 2，调整为 D档" in before["T"]["tier_reasons"]


def test_an_appeal_moves_the_b_places_of_two_streets_at_once(tmp_path):
    # A 25% of the round (1 place), B 50% of each street (1 of 2). 一街道: X 100 A, U 85 B;
    # 二街道: W 95 A moved to B by the A quota, where it takes the place of V 83 (moved to C).
    # X falls to 88 (B): W keeps A, V has 二街道's B place back, and X takes 一街道's from U
    ev = full_evidence
    first = {"X": ev("X"), "U": ev("U", members_full=Decimal(2), secretary_rating="一般"),
             "W": ev("W", secretary_rating="一般"), "V": ev("V", centre_area=Decimal(10), awards=Decimal(2))}
    quotas = "    - {tier: A, max_share: 25%, scope: round}\n    - {tier: B, max_share: 50%, scope: street}\n"
    before, after, _ = _cascade(tmp_path, quotas, [("X", "一街道"), ("U", "一街道"), ("W", "二街道"), ("V", "二街道")], first,
                                ("X", ev("X", members_full=Decimal(2), secretary_rating="较好")))
    assert (_tiers(before), _tiers(after)) == ({"X": "A", "U": "B", "W": "B", "V": "C"},
                                               {"X": "B", "U": "C", "W": "A", "V": "B"})


def test_a_quota_on_the_last_tier_moves_no_one_and_its_changes_are_not_reported(tmp_path):
    # two tiers, B (the last) at most 50% of the round: the quota can move no one. P 100 A;
    # Q 85 and R 80 B, R past B's one place of three graded; N, not graded, appeals to 70: four
    # graded give B two places, R's now and N past them. Nobody but N changes tier (or rank)
    ev = full_evidence
    first = {"P": ev("P"), "Q": ev("Q", members_full=Decimal(2), secretary_rating="一般"),
             "R": ev("R", centre_area=Decimal(10)), "N": Evidence("N", values={}, self_values={})}
    before, after, report = _cascade(
        tmp_path, "    - {tier: B, max_share: 50%, scope: round}\n", [(oid, "一街道") for oid in first], first,
        ("N", ev("N", centre_area=Decimal(10), secretary_rating="差")),
        "  tiers:\n    - {id: A, name: A档, min: 90}\n    - {id: B, name: B档, min: 0}\n"
        "override:\n  G9.2: {cap_tier: B}\n")
    assert (_tiers(before), _tiers(after)) == ({"P": "A", "Q": "B", "R": "B", "N": None},
                                               {"P": "A", "Q": "B", "R": "B", "N": "B"})
    assert report.changed[0] == "N" and not any("tier" in diff for diff in report.others.values())


def test_an_appeal_that_opens_a_districts_quota_group_is_placed():
    # mini's A quota is per district (50%); N is 北区's only organization and not graded at
    # first, so 北区 has no quota group until N's appeal grades it: 100, A, and of one graded
    # organization 50% is no place, so B
    std = {"community": WITH_QUOTA}
    orgs = [Organization("P", "P", "community", "东区", "一街道"), Organization("N", "N", "community", "北区", "二街道")]
    evidence = {"P": full_evidence("P"), "N": Evidence("N", values={}, self_values={})}
    live = state(std, evidence, orgs)
    try:
        evidence["N"] = full_evidence("N")
        live.rescore(orgs[1], evidence["N"])
        expected = full(std, evidence, orgs)
        assert written(live) == expected
        n = next(o for o in json.loads(expected)["organizations"] if o["id"] == "N")
        assert (n["tier_before_quota"], n["tier"]) == ("A", "B")
    finally:
        live.scored.close()
