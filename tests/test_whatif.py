"""agrade whatif: the round re-scored with a changed standard, and who changes tier.

The answer must be what evaluating the changed round would give (checked against a full
evaluation of a round whose standard file carries the same change), for edits of a criterion
and of the grading, in one process or in worker processes; bad edits are refused naming the
--set, before anything is scored or written."""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from conftest import run_cli
from roundkit import MINI, make_round
from evaluator.errors import InputError
from evaluator.intake.rounds import load_round
from evaluator.scoring.run import evaluate_round
from evaluator.scoring.whatif import whatif

# area 450 scores 12 of G1.2's 20 points (band 300) until the top band starts at 400; the
# mini standard lets at most half of a district into A (quota)
ORGS = [
    ("w1", "东区", "一街道", {}),                                            # 100: A either way
    ("w2", "东区", "一街道", {"centre_area": 450, "secretary_rating": "一般"}),  # 87 B -> 95, still B: w1 holds 东区's A
    ("w3", "西区", "二街道", {"centre_area": 450}),                          # 92 A -> 100 A
    ("w4", "西区", "二街道", {"centre_area": 320, "secretary_rating": "较好"}),  # 90, B by the quota either way
    ("w5", "南区", "三街道", {"centre_area": 200, "secretary_rating": "差"}),   # 70 C
    ("w6", "南区", "三街道", {"centre_area": 450, "members_full": 2}),         # 82 B -> 90 A
]
BAND = "bands: [{min: 500, points: 20}, {min: 300, points: 12}]"


def _round(tmp_path: Path, standard: str = MINI, name: str = "r") -> Path:
    return make_round(tmp_path / name, ORGS, standard)


def _placed(payload: dict) -> dict:
    return {o["id"]: (o["tier"], o["total"], o["rank"]["round"]) for o in payload["organizations"]}


def test_who_moves_is_what_evaluating_the_changed_standard_gives(tmp_path):
    answer = whatif(load_round(_round(tmp_path)), ["G1.2.bands[0].min=400"], workers=1)
    assert [(m.id, m.direction, m.tier_before, m.tier_after, str(m.total_before), str(m.total_after))
            for m in answer.moves] == [("w6", "up", "B档", "A档", "82.00", "90.00")]
    assert (answer.up, answer.down, answer.totals_changed) == (1, 0, 3)       # w2 and w3 gain points, keep their tier
    assert answer.changes == [{"standard": "mini", "title": "测试用小标准", "path": "G1.2.bands[0].min",
                               "before": 500, "after": 400}]
    changed = _round(tmp_path, MINI.replace(BAND, BAND.replace("min: 500", "min: 400")), "changed")
    assert answer.after == _placed(evaluate_round(load_round(changed)))
    assert answer.before == _placed(evaluate_round(load_round(_round(tmp_path, name="again"))))


def test_a_tier_threshold_moves_organizations_down_and_the_target_share_with_them(tmp_path):
    answer = whatif(load_round(_round(tmp_path)), ["grading.tiers[0].min=95"], workers=1)
    assert [(m.id, m.direction, m.tier_before, m.tier_after) for m in answer.moves] == [("w3", "down", "A档", "B档")]
    [t] = answer.targets                                  # A档 ≥ 20% of the round
    assert (t["tier"], t["count_before"], t["count_after"], t["graded_after"]) == ("A档", 2, 1, 6)
    assert (t["met_before"], t["met_after"]) == (True, False)
    assert answer.tiers_after == {"A档": 1, "B档": 4, "C档": 1}
    changed = _round(tmp_path, MINI.replace("{id: A, name: A档, min: 90}", "{id: A, name: A档, min: 95}"), "changed")
    assert answer.after == _placed(evaluate_round(load_round(changed)))


def test_worker_processes_give_the_same_answer(tmp_path, monkeypatch):
    rnd = _round(tmp_path)
    one = whatif(load_round(rnd), ["G1.2.bands[0].min=400", "G2.3.bands[1].points=9"], workers=1)
    monkeypatch.setenv("AGRADE_PARTITION_SIZE", "2")          # three partitions, scored by two processes
    two = whatif(load_round(rnd), ["G1.2.bands[0].min=400", "G2.3.bands[1].points=9"], workers=2)
    assert (one.moves, one.before, one.after) == (two.moves, two.before, two.after)
    assert one.after["w4"][1] == one.before["w4"][1] + 1      # 较好 now 9 points


@pytest.mark.parametrize("edit, where, says", [
    ("G1.2.bandz[0].min=400", "G1.2.bandz", "has no 'bandz' (it has: id, title, points, method, value, bands, "
                                            "rectification); did you mean 'bands'?"),
    ("G1.2.bands[5].min=400", "G1.2.bands[5]", "G1.2.bands has 2 item(s), [0] to [1]"),
    ("G1.2.bands[0].min=四百", "G1.2.bands[0].min", "expected a number like the standard's 500, got '四百' (text)"),
    ("G1.2.bands[0].min.x=4", "G1.2.bands[0].min", "is a number, not a mapping"),
    ("G7.7.points=3", "G7.7.points", "names no criterion of mini (nor grading)"),
    ("G1.2.bands[0]", "$", "expected PATH=VALUE"),
    ("G1.2=3", "G1.2", "expected .key or [index] steps"),
    ("grading.tiers[0].min=true", "grading.tiers[0].min", "expected a number like the standard's 90, got True"),
    ("other:G1.2.points=3", "$", "no standard or organization type 'other'"),
    ("G1.2.bands[0]={min: 400}", "G1.2.bands[0]", "points"),                  # the schema: a band needs its points
    ("G1.2.method=threshold", "G1.2", "missing required key 'field'"),
    ("G1.2.bands[0].points=25", "G1.2.bands[0].points", "band points 25 exceed the criterion's 20 points"),  # the loader's
    ("G1.1.condition=members_ful >= 3", "G1.1.condition", "unknown name 'members_ful'; did you mean 'members_full'?"),
])
def test_a_bad_edit_is_refused_naming_the_set_and_what_was_expected(tmp_path, edit, where, says):
    with pytest.raises(InputError) as e:
        whatif(load_round(_round(tmp_path)), [edit], workers=1)
    issue = e.value.issues[0]
    assert issue.file == f"--set {edit}"
    assert issue.path.startswith(where), issue
    assert says in issue.message, issue


def test_an_edit_that_breaks_the_standard_elsewhere_says_after_which_set(tmp_path):
    with pytest.raises(InputError) as e:
        whatif(load_round(_round(tmp_path)), ["G1.1.points=15"], workers=1)
    [issue] = e.value.issues
    assert "base criteria points sum to 105" in issue.message and issue.message.endswith("(after --set G1.1.points=15)")


def test_cli_prints_the_moves_and_writes_the_workbook(tmp_path):
    code, out, err = run_cli("whatif", _round(tmp_path), "--set", "G1.2.bands[0].min=400", "--out", tmp_path / "out")
    assert code == 0, err
    assert "测试用小标准：G1.2.bands[0].min 500 → 400" in out
    assert "升档 1 个，降档 0 个" in out
    assert "w6 w6党支部：B档 → A档，总分 82 → 90" in out
    assert "目标 A档占比 ≥ 20%（全域）：2/6 = 33.3%（达标）→ 3/6 = 50%（达标）" in out
    wb = openpyxl.load_workbook(tmp_path / "out" / "whatif.xlsx")
    rows = [[c.value for c in r] for r in wb["档次变化"].iter_rows()]
    assert rows[0][:7] == ["组织编号", "组织名称", "区县", "街道", "变化", "原档次", "新档次"]
    assert rows[1:] == [["w6", "w6党支部", "南区", "三街道", "升档", "B档", "A档", 82, 90]]
    assert ["假设调整", "测试用小标准：G1.2.bands[0].min 500 → 400"] in [[c.value for c in r] for r in wb["假设分析"].iter_rows()]


def test_cli_limit_shortens_the_list_and_names_where_the_rest_is(tmp_path):
    code, out, _ = run_cli("whatif", _round(tmp_path), "--set", "grading.tiers[0].min=95", "--set", "grading.tiers[1].min=85",
                           "--limit", "1")
    assert code == 0
    assert "降档（2）：" in out and "w3 w3党支部：A档 → B档" in out and "w6 w6党支部" not in out
    assert "……另有 1 个，用 --limit 0 或 --out 查看全部" in out


def test_cli_bad_edit_exits_2_and_writes_nothing(tmp_path):
    code, out, err = run_cli("whatif", _round(tmp_path), "--set", "G1.2.bands[0].min=四百", "--out", tmp_path / "out")
    assert code == 2
    assert "--set G1.2.bands[0].min=四百: G1.2.bands[0].min: expected a number" in err
    assert "Traceback" not in err + out
    assert not (tmp_path / "out" / "whatif.xlsx").exists()


def _evaluated(tmp_path: Path) -> tuple[Path, Path]:
    from evaluator.cli import evaluate_to
    rnd = _round(tmp_path)
    evaluate_to(rnd, tmp_path / "results", quiet=True)
    return rnd, tmp_path / "results"


@pytest.mark.parametrize("sets, moved", [
    (["grading.tiers[2].min=75", "grading.quotas[0].max_share=100%"],
     {("w4", "B档", "A档"), ("w5", "C档", "D档")}),                          # w4 (90): the quota no longer holds it back
    (["grading.distribution={scope: round, tiers: [{tier: A, max: 20%}, {tier: B, min: 50%}]}"],
     {("w3", "A档", "B档")}),                                                 # one A of six at most: w1 keeps it
])
def test_tier_lines_quotas_and_distributions_are_placed_again_from_an_evaluations_rows_without_reading_evidence(
        tmp_path, monkeypatch, sets, moved):
    rnd, results = _evaluated(tmp_path)
    scored = whatif(load_round(rnd), sets, workers=1)
    from evaluator.scoring import pipeline
    monkeypatch.setattr(pipeline, "route", None)             # reading evidence would fail now
    rows = whatif(load_round(rnd), sets, workers=1, results=results)
    assert (rows.method, scored.method, rows.notes) == ("rows", "scored", [])
    assert (rows.moves, rows.before, rows.after, rows.targets) == (scored.moves, scored.before, scored.after, scored.targets)
    assert {(m.id, m.tier_before, m.tier_after) for m in rows.moves} == moved


def test_with_results_only_the_edited_criteria_are_scored_and_the_answer_is_the_same(tmp_path, monkeypatch):
    rnd, results = _evaluated(tmp_path)
    sets = ["G1.2.bands[0].min=400", "G2.3.bands[1].points=9"]
    scored = whatif(load_round(rnd), sets, workers=1)
    from evaluator.scoring.run import RoundScorer
    graded = []
    real = RoundScorer.grade_row
    monkeypatch.setattr(RoundScorer, "grade_row", lambda self, org, *a: graded.append(org.id) or real(self, org, *a))
    edited = whatif(load_round(rnd), sets, workers=1, results=results)
    assert (edited.method, edited.notes) == ("edited", [])
    assert (edited.moves, edited.before, edited.after) == (scored.moves, scored.before, scored.after)
    assert sorted(graded) == ["w2", "w3", "w4", "w6"]        # w1 and w5 score as before: their rows stand


def test_results_are_not_used_when_the_evidence_changed_since(tmp_path):
    rnd, results = _evaluated(tmp_path)
    ev = rnd.parent / "evidence" / "w5.yaml"
    ev.write_text(ev.read_text(encoding="utf-8").replace("centre_area: 200", "centre_area: 600"), encoding="utf-8")
    answer = whatif(load_round(rnd), ["grading.tiers[0].min=95"], workers=1, results=results)
    assert answer.method == "scored" and "证据在" in answer.notes[0]
    assert answer.before["w5"][1] == 90                      # the evidence as it is now: 600 m² scores 20 more


WAIVER = "waivers:\n  - {organization: w6, criterion: G1.2, reason: 服务中心改建，经批准本年度免于考核}\n"


def test_results_are_not_used_when_a_waiver_was_approved_or_withdrawn_since(tmp_path):
    rnd, results = _evaluated(tmp_path)                        # evaluated without waivers
    text = rnd.read_text(encoding="utf-8")
    rnd.write_text(text + WAIVER, encoding="utf-8")            # then w6's G1.2 is waived: 82 -> 90, B -> A
    sets = ["grading.tiers[0].min=95"]
    answer = whatif(load_round(rnd), sets, workers=1, results=results)
    assert answer.method == "scored" and answer.notes == [f"免考核事项与 {results} 评估时不同，已重新读取证据并评分"]
    assert answer.before["w6"][:2] == ("A", 90)
    assert [(m.id, m.tier_before, m.tier_after) for m in answer.moves] == [("w3", "A档", "B档"), ("w6", "A档", "B档")]
    assert (answer.moves, answer.before, answer.after) == (lambda w: (w.moves, w.before, w.after))(
        whatif(load_round(rnd), sets, workers=1))
    # evaluated with the waiver, which is then withdrawn: w6 is back at 82
    from evaluator.cli import evaluate_to
    evaluate_to(rnd, tmp_path / "waived", quiet=True)
    assert whatif(load_round(rnd), sets, workers=1, results=tmp_path / "waived").method == "rows"
    rnd.write_text(text, encoding="utf-8")
    answer = whatif(load_round(rnd), sets, workers=1, results=tmp_path / "waived")
    assert answer.method == "scored" and answer.before["w6"][:2] == ("B", 82)


def test_cli_results_option_says_how_it_answered(tmp_path):
    rnd, results = _evaluated(tmp_path)
    code, out, err = run_cli("whatif", rnd, "--set", "grading.tiers[0].min=95", "--results", results)
    assert code == 0 and "重新定档 6 个组织，0 个总分变化；升档 0 个，降档 1 个" in out
    assert "由已有评估结果的压缩行重新定档，未重读证据" in out and err == ""
    code, out, err = run_cli("whatif", rnd, "--set", "G1.2.bands[0].min=400", "--results", results)
    assert code == 0 and "只重算所改指标，其余沿用已有评估结果" in out and err == ""
    # a gate: every organization graded again as edited, the evaluation standing for the round as it is
    code, out, err = run_cli("whatif", rnd, "--set", "grading.gates[0].condition=section_points('G2') >= 75",
                             "--results", results)
    assert code == 0 and "升档 0 个，降档 2 个" in out and "（调整前沿用已有评估结果；" in out


def test_how_grading_reads_an_edited_criterion_counts_even_where_its_outcome_is_the_same(tmp_path):
    # w7 is vetoed (capped at C); moving the cap changes no outcome, only the tier
    orgs = ORGS + [("w7", "南区", "三街道", {"serious_violation": "是"})]
    answer = whatif(load_round(make_round(tmp_path / "r", orgs)), ["G9.2.cap_tier=D"], workers=1)
    assert [(m.id, m.tier_before, m.tier_after) for m in answer.moves] == [("w7", "C档", "D档")]
    changed = make_round(tmp_path / "changed", orgs, MINI.replace("cap_tier: C", "cap_tier: D"))
    assert answer.after == _placed(evaluate_round(load_round(changed)))


def test_the_workbook_is_the_same_bytes_for_the_same_answer(tmp_path):
    rnd = _round(tmp_path)
    for out in ("a", "b"):
        assert run_cli("whatif", rnd, "--set", "G1.2.bands[0].min=400", "--out", tmp_path / out, "-q")[0] == 0
    assert (tmp_path / "a" / "whatif.xlsx").read_bytes() == (tmp_path / "b" / "whatif.xlsx").read_bytes()


def test_with_results_worker_processes_give_the_same_answer(tmp_path, monkeypatch):
    rnd, results = _evaluated(tmp_path)
    sets = ["G1.2.bands[0].min=400", "G2.3.bands[1].points=9"]
    one = whatif(load_round(rnd), sets, workers=1, results=results)
    monkeypatch.setenv("AGRADE_PARTITION_SIZE", "2")          # three partitions, scored by two processes
    two = whatif(load_round(rnd), sets, workers=2, results=results)
    assert (one.method, two.method) == ("edited", "edited")
    assert (one.moves, one.before, one.after) == (two.moves, two.before, two.after)


def test_a_grading_key_the_round_sets_is_refused_pointing_at_the_round(tmp_path):
    rnd = make_round(tmp_path / "r", ORGS, extra="grading:\n  quotas: [{tier: A, max_share: 30%, scope: round}]\n")
    with pytest.raises(InputError) as e:
        whatif(load_round(rnd), ["grading.quotas[0].max_share=60%"], workers=1)
    [issue] = e.value.issues
    assert (issue.file, issue.path) == ("--set grading.quotas[0].max_share=60%", "grading.quotas[0].max_share")
    assert "sets grading.quotas for every standard; change it there (round.yaml grading:)" in issue.message


BAD_EVIDENCE = {
    "dup.csv": "organization,field,self\nw2,members_full,3\n",              # also in w2.yaml
    "refused.csv": "organization,field,self\nw5,centre_area,五百\n",
    "unknown.yaml": "organization: w99\nvalues:\n  members_full: 3\n",
}


@pytest.mark.parametrize("name", sorted(BAD_EVIDENCE))
@pytest.mark.parametrize("size, workers", [(1000, 1), (2, 2)])
def test_bad_evidence_is_refused_as_an_evaluation_refuses_it(tmp_path, monkeypatch, name, size, workers):
    # what-if reads the round in the evaluation's own partition loop: the same problems, in
    # the same order, however the round is cut and wherever partitions are scored
    from evaluator.scoring.run import check_round
    rnd = _round(tmp_path)
    (rnd.parent / "evidence" / name).write_text(BAD_EVIDENCE[name], encoding="utf-8")
    monkeypatch.setenv("AGRADE_PARTITION_SIZE", str(size))
    with pytest.raises(InputError) as evaluated:
        check_round(load_round(rnd), workers=1)
    with pytest.raises(InputError) as asked:
        whatif(load_round(rnd), ["G1.2.bands[0].min=400"], workers=workers)
    assert [str(i) for i in asked.value.issues] == [str(i) for i in evaluated.value.issues]
    assert name in str(asked.value.issues[0]), asked.value.issues      # the file at fault is named


def test_scoring_partitions_both_ways_leaves_no_reference_cycles_behind(tmp_path):
    # local workers score with the cyclic garbage collector off (pipeline.LocalPool), what-if's
    # partitions too: that is only sound while scoring them leaves nothing reference counting
    # cannot free. What a process makes once for the whole what-if (its scorer, on the first
    # partition) may hold cycles; no partition after it adds any.
    import gc
    from evaluator.intake.partition import route
    from evaluator.scoring.pipeline import Local, PartJob
    from evaluator.scoring.run import with_round_overrides
    from evaluator.scoring.whatif_edits import edited_standards, parse_edit
    from evaluator.scoring.whatif_pairs import _Context, score_pairs
    rnd = load_round(_round(tmp_path))
    before = {t: with_round_overrides(s, rnd.grading_override) for t, s in rnd.standards.items()}
    edits = [parse_edit("G1.2.bands[0].min=400", before), parse_edit("grading.tiers[0].min=95", before)]
    after, _ = edited_standards(rnd, edits)
    router = route(rnd.evidence_paths, rnd.organizations, 2, standards=rnd.standards)
    context = _Context(before, after, edits, rnd.period, rnd.waivers, None)
    left = []
    try:
        gc.collect()
        with Local(router, None, context) as token:
            for k in range(router.count):
                res = score_pairs(PartJob(k, rnd.organizations[router.span(k)], None, True, token))
                assert len(res.rows) == len(res.after) == 2
                left.append(gc.collect())
    finally:
        context.close()
        router.close()
    assert left[1:] == [0] * (router.count - 1), left
