"""A standard's author sees every independent problem of a file in one run (issue 10 follow-up):
a merge-stage error (a bad `drop:`, an override or removal of an unknown criterion, a field
redeclared with another type, a refused type, a criterion defined twice) no longer hides the
compile-stage errors (a bad expression, base points not summing), each at its own file:line;
what is only a consequence of a reported error is not reported again."""
from __future__ import annotations

import pytest

from evaluator.errors import InputError
from evaluator.standard.loader import load_standard

from conftest import FIXTURES

MINI = FIXTURES / "mini" / "mini.yaml"
HEAD = 'id: child\nversion: "1"\ntitle: 子标准\nextends: mini\n'
NEW_G13 = ("sections:\n  - id: G1\n    criteria:\n"
           "      - {id: G1.3, title: 门槛, points: 10, method: check, condition: \"members_full >= 3\", rectification: 改进}\n")


def problems(tmp_path, body):
    """(line, message) of every problem the load reports, in file order."""
    (tmp_path / "mini.yaml").write_text(MINI.read_text(encoding="utf-8"), encoding="utf-8")
    p = tmp_path / "child.yaml"
    p.write_text(HEAD + body, encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_standard(p)
    assert all(i.file == str(p) for i in e.value.issues)
    return [(i.line, i.message) for i in e.value.issues]


def test_a_bad_drop_and_an_unknown_override_do_not_hide_a_bad_expression(tmp_path):
    body = ("override:\n  G1.1: {drop: [condtion]}\n  G1.9: {title: 新标题}\n"
            "sections:\n  - id: G1\n    criteria:\n"
            "      - {id: G1.3, title: 门槛, points: 0, method: check, condition: \"members_full >== 3\", rectification: 改进}\n")
    assert problems(tmp_path, body) == [
        (6, "G1.1 has no key 'condtion' to drop; did you mean 'condition'?"),
        (7, "override of unknown criterion 'G1.9'; did you mean 'G1.3'?"),
        (11, "G1.3: '=' is not an operator; use '==' to compare (column 16 of 'members_full >== 3')"),
    ]


def test_a_criterion_with_a_bad_condition_still_counts_its_points_in_the_base_sum(tmp_path):
    msgs = problems(tmp_path, NEW_G13.replace("members_full >= 3", "members_full >== 3"))
    assert [m[0] for m in msgs] == [8, 8]
    assert msgs[0][1].startswith("base criteria points sum to 110") and "'=' is not an operator" in msgs[1][1]


def test_a_bad_drop_does_not_hide_base_points_that_do_not_sum(tmp_path):
    msgs = problems(tmp_path, "override:\n  G1.1: {drop: [aplies_if]}\n" + NEW_G13)
    assert msgs[0] == (6, "G1.1 has no key 'aplies_if' to drop (its keys: points, condition)")
    # the new criterion's 10 points are the change that broke the sum, not the failed drop
    assert msgs[1][0] == 10 and msgs[1][1].startswith("base criteria points sum to 110, but grading.base is 100")
    assert msgs[1][1].endswith("this standard adds G1.3: adjust the points or set grading.base")
    assert len(msgs) == 2


def test_a_mistyped_drop_is_not_reported_again_as_a_key_the_method_does_not_use(tmp_path):
    # without `value` dropped, the new method would also complain about the inherited `value`
    body = "override:\n  G1.2: {method: check, condition: \"centre_area >= 300\", drop: [valeu, bands]}\n"
    assert problems(tmp_path, body) == [(6, "G1.2 has no key 'valeu' to drop; did you mean 'value'?")]


@pytest.mark.parametrize("merge_error, line", [
    ("remove: [G2.9]\n", 5),                                  # the removal meant may have fixed the sum
    ("override:\n  G2.9: {points: 0}\n", 6),                  # so may the override meant
])
def test_a_base_sum_that_a_failed_change_may_explain_is_not_reported(tmp_path, merge_error, line):
    msgs = problems(tmp_path, merge_error + NEW_G13)
    assert [m[0] for m in msgs] == [line] and "unknown criterion" in msgs[0][1]


def test_a_criterion_defined_twice_is_one_problem(tmp_path):
    body = NEW_G13 + ("      - {id: G1.1, title: 重复, points: 10, method: check, condition: \"centre_area >= 3\", rectification: 改进}\n"
                      "      - {id: G1.4, title: 面积, points: 0, method: check, condition: \"centre_aera >= 3\", rectification: 改进}\n")
    msgs = problems(tmp_path, body)
    assert [m[0] for m in msgs] == [9, 10]
    assert msgs[0][1] == "criterion id 'G1.1' is already defined (in section G1); use 'override' to change it"
    assert "unknown name 'centre_aera'; did you mean 'centre_area'?" in msgs[1][1]


def test_a_field_redeclared_with_another_type_is_reported_once(tmp_path):
    # G1.1 (mini's) and G1.3 read members_full as a number; the conflict is the one problem, and
    # the bad expression of G1.4, which does not read it, is still reported
    body = ("fields:\n  members_full: {type: boolean, label: 是否有党员}\n" + NEW_G13
            + "      - {id: G1.4, title: 面积, points: 0, method: check, condition: \"centre_area > = 3\", rectification: 改进}\n")
    msgs = problems(tmp_path, body)
    assert msgs[0] == (6, "field 'members_full' is already declared as integer by a parent standard")
    assert [m[0] for m in msgs] == [6, 10, 11] and "G1.4: '=' is not an operator" in msgs[2][1]
    assert msgs[1][1].startswith("base criteria points sum to 110")     # G1.3's 10 points: a problem of its own


def test_a_refused_type_is_not_reported_again_where_it_is_used(tmp_path):
    body = ("types:\n  grid: {name: 社区}\napplies_to: [grid]\n"
            + NEW_G13.replace("members_full >= 3", "org.type == 'grid'").replace("points: 10", "points: 0")
            + "      - {id: G1.4, title: 面积, points: 0, method: check, condition: \"centre_area >= '3'\", rectification: 改进}\n")
    msgs = problems(tmp_path, body)
    assert msgs[0] == (6, "type 'grid': '社区' already names the type 'community'")
    assert [m[0] for m in msgs] == [6, 12] and "G1.4: cannot compare number with text" in msgs[1][1]


def test_every_problem_of_the_grading_block_is_reported(tmp_path):
    body = ("grading:\n"
            "  tiers: [{id: A, name: A档, min: 90}, {id: B, name: B档, min: 95}, {id: C, name: C档, min: 60}, {id: D, name: D档, min: 0}]\n"
            "  components: [{id: verified, source: criteria, weight: 0.7}]\n"
            "  gates: [{tier: A, condition: \"veto_count = 0\"}, {tier: E, condition: \"total > 1\"}]\n"
            "  tie_breaks: [total desc, score desc]\n")
    msgs = problems(tmp_path, body)
    assert msgs == [
        (6, "tier 'B' min 95 must be below 'A' min 90 (list tiers best first)"),
        (7, "component weights sum to 0.7, expected 1"),
        (8, "'=' is not an operator; use '==' to compare (column 12 of 'veto_count = 0')"),
        (8, "unknown tier 'E' (tiers: A, B, C, D)"),
        (9, "unknown tie-break key 'score' (use total, base, bonus, veto_count, reviewed_share or section:<id>)"),
    ]


def test_a_gate_reading_a_criterion_with_an_error_is_not_reported_again(tmp_path):
    body = ("override:\n  G1.1: {condition: \"members_full >== 3\"}\n"
            "grading:\n  gates: [{tier: A, condition: \"points('G1.1') >= 10\"}]\n")
    msgs = problems(tmp_path, body)
    assert [m[0] for m in msgs] == [6] and "'=' is not an operator" in msgs[0][1]


def test_a_key_without_a_space_after_its_colon_says_so(tmp_path):
    body = "fields:\n  share:{type: percentage, label: 占比}\n"
    msgs = problems(tmp_path, body)
    assert msgs == [(6, "YAML syntax error: mapping values are not allowed here; "
                        "write a space after the colon of 'share:' (key: value)")]


def test_a_base_sum_broken_by_many_changes_counts_them(tmp_path):
    # seven new base criteria: the message counts them instead of listing seven ids
    body = "sections:\n  - id: G3\n    title: 新增\n    criteria:\n" + "".join(
        f"      - {{id: G3.{i}, title: 新{i}, points: 1, method: check, condition: \"members_full >= {i}\", rectification: 改进}}\n"
        for i in range(1, 8))
    ((line, message),) = problems(tmp_path, body)
    assert line == 9 and message.startswith("base criteria points sum to 107, but grading.base is 100")
    assert "this standard adds 7 base criteria (G3.1 … G3.7): adjust the points or set grading.base" in message


def test_a_schema_problem_inside_a_criterion_or_field_does_not_hide_the_rest(tmp_path):
    body = ("fields:\n  area: {type: number, unit: 亩}\n" + NEW_G13.replace(", rectification: 改进", "")
            + "      - {id: G1.4, title: 人数, points: 0, method: check, condition: \"members_full >== 3\", rectification: 改进}\n"
            + "      - {id: G1.5, title: 面积, points: 0, method: check, condition: \"area >= 3\", rectification: 改进}\n"
            + "grading:\n  gates: [{tier: A, condition: \"points('G1.3') >= 1\"}]\n")
    msgs = problems(tmp_path, body)
    # a unit may be written in any of its spellings (平方米 for m2); 亩 is none of them
    assert msgs[1][0] == 6 and msgs[1][1].startswith("'亩' is not one of ['m2', '人', '户', '个', '次', '元', '天', '名', ")
    msgs[1] = (6, "<unit>")
    assert msgs == [
        (6, "missing required key 'label'"),
        (6, "<unit>"),
        (10, "missing required key 'rectification'"),
        (11, "G1.4: '=' is not an operator; use '==' to compare (column 16 of 'members_full >== 3')"),
    ]   # not reported again: G1.5 reading the set-aside field, the gate reading G1.3, the base sum


def test_a_schema_problem_outside_criteria_and_fields_stops_the_file(tmp_path):
    msgs = problems(tmp_path, "applies_to: community\n" + NEW_G13.replace("members_full >= 3", "members_full >== 3"))
    assert [m[0] for m in msgs] == [5] and "is not of type 'array'" in msgs[0][1]


def test_a_schema_problem_in_an_override_sets_only_that_override_aside(tmp_path):
    body = ("override:\n  G2.1: {every: monthly}\n  G1.1: {condition: \"members_full >== 3\"}\n")
    assert problems(tmp_path, body) == [
        (6, "'monthly' is not one of ['week', 'month', 'quarter', 'half_year', 'year'] (did you mean 'month'?)"),
        (7, "G1.1: '=' is not an operator; use '==' to compare (column 16 of 'members_full >== 3')"),
    ]


def test_removing_what_the_same_file_adds_is_refused(tmp_path):
    # sections merge before remove: `remove: [G9]` would silently take the new G9.5 with it
    body = ("remove: [G9]\nsections:\n  - id: G9\n    criteria:\n"
            "      - {id: G9.5, title: 表彰, points: 2, method: bonus, items: [{id: a, label: 表彰, count: awards, add: 1}], "
            "rectification: 争创}\n")
    assert problems(tmp_path, body) == [
        (5, "remove: G9 would also remove G9.5, which this standard defines (a file's sections are merged before "
            "its remove); give the new criteria another section id, or remove only the parent's criteria")]
