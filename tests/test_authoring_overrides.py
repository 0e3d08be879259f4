"""Field standards changing what they inherit (issue 10, overrides): `drop:` removes an inherited
key, an error a child's change causes is reported at the child's line (naming the parent's), a
file whose id is not its name still has its other errors reported, and a threshold written
`50人` gets the message the same text gets in evidence."""
from __future__ import annotations

import pytest

from evaluator.errors import InputError
from evaluator.intake.normalize import NormalizeError, normalize
from evaluator.standard.loader import load_standard

from conftest import FIXTURES

MINI = FIXTURES / "mini" / "mini.yaml"
HEAD = 'id: child\nversion: "1"\ntitle: 子标准\nextends: mini\n'


def write(tmp_path, body, name="child"):
    (tmp_path / "mini.yaml").write_text(MINI.read_text(encoding="utf-8"), encoding="utf-8")
    p = tmp_path / f"{name}.yaml"
    p.write_text(HEAD + body, encoding="utf-8")
    return p


def errors(path):
    with pytest.raises(InputError) as e:
        load_standard(path)
    return [str(i) for i in e.value.issues]


def mini_line(text):
    return next(n for n, line in enumerate(MINI.read_text(encoding="utf-8").splitlines(), 1) if text in line)


# ---------------------------------------------------------------- drop

def test_drop_removes_inherited_keys(tmp_path):
    (tmp_path / "mini.yaml").write_text(MINI.read_text(encoding="utf-8").replace(
        'condition: "members_full >= 3",', 'condition: "members_full >= 3", applies_if: "org.type == \'village\'", '
                                          'requirement: 正式党员不少于3人,'), encoding="utf-8")
    parent = load_standard(tmp_path / "mini.yaml")
    assert parent.criteria["G1.1"].applies_if is not None
    p = tmp_path / "child.yaml"
    p.write_text(HEAD + "override:\n  G1.1: {drop: [applies_if, requirement]}\n", encoding="utf-8")
    std = load_standard(p)
    assert std.criteria["G1.1"].applies_if is None                       # applies to every organization
    assert std.criteria["G1.1"].params.plain == "正式党员人数不少于 3 人"   # the generated text again


def test_a_method_changed_by_a_child_drops_the_keys_it_does_not_use(tmp_path):
    body = "override:\n  G1.2: {method: check, condition: \"centre_area >= 300\"}\n"
    p = write(tmp_path, body)
    msgs = errors(p)
    assert msgs == [f"{p}:6:10: $.override[\"G1.2\"].method: G1.2: method 'check' does not use the inherited key "
                    f"'value' (mini.yaml:{mini_line('id: G1.2')}); drop it: drop: [value]"]
    p = write(tmp_path, "override:\n  G1.2: {method: check, condition: \"centre_area >= 300\", drop: [value, bands]}\n")
    std = load_standard(p)
    assert std.criteria["G1.2"].method == "check" and std.criteria["G1.2"].params.plain == "党群服务中心面积不少于 300 平方米"


@pytest.mark.parametrize("drop, column, message", [
    ("[condition]", 17, "G1.1: method 'check' needs 'condition'; it cannot be dropped"),
    ("[title]", 17, "G1.1: 'title' cannot be dropped: every criterion needs it (override it instead)"),
    ("[aplies_if]", 17, "G1.1 has no key 'aplies_if' to drop (its keys: points, condition)"),
    ("[condtion]", 17, "G1.1 has no key 'condtion' to drop; did you mean 'condition'?"),
])
def test_a_bad_drop_is_reported_at_the_childs_line(tmp_path, drop, column, message):
    p = write(tmp_path, f"override:\n  G1.1: {{drop: {drop}}}\n")
    (err,) = errors(p)
    assert err.startswith(f"{p}:6:{column}: $.override[\"G1.1\"].drop[0]: ") and err.endswith(message)


def test_setting_and_dropping_one_key_is_refused(tmp_path):
    p = write(tmp_path, "override:\n  G1.1: {points: 10, drop: [points]}\n")
    assert errors(p) == [f"{p}:6:29: $.override[\"G1.1\"].drop[0]: G1.1: 'points' is both set and dropped by this override"]


# ---------------------------------------------------------------- the child's line, not the parent's

def test_band_points_above_a_childs_new_points_are_the_childs_error(tmp_path):
    p = write(tmp_path, "override:\n  G1.2: {points: 10}\n  G1.1: {points: 20}\n")
    assert errors(p) == [f"{p}:6:10: $.override[\"G1.2\"].points: G1.2: band points 20 exceed the criterion's 10 points"]


def test_a_base_sum_broken_by_a_childs_removal_points_at_the_removal(tmp_path):
    p = write(tmp_path, "override:\n  G1.1: {points: 5}\nremove: [G2.3]\n")
    msgs = errors(p)
    base = mini_line("base: 100")
    assert msgs == [f"{p}:6:10: $.override[\"G1.1\"].points: base criteria points sum to 85, but grading.base is 100 "
                    f"(mini.yaml:{base}); this standard overrides G1.1, removes G2.3: adjust the points or set grading.base"]
    # the child setting grading.base itself is then the place to look
    p = write(tmp_path, "remove: [G2.3]\ngrading: {base: 95}\n")
    assert errors(p) == [f"{p}:6:11: $.grading.base: base criteria points sum to 90, but grading.base is 95"]


def test_a_parents_gate_reading_a_removed_criterion_points_at_the_removal(tmp_path):
    (tmp_path / "mini.yaml").write_text(MINI.read_text(encoding="utf-8").replace(
        "condition: \"section_points('G2') >= 60\"", "condition: \"points('G2.3') >= 5\""), encoding="utf-8")
    p = tmp_path / "child.yaml"
    p.write_text(HEAD + "sections:\n  - id: G2\n    criteria:\n"
                        "      - {id: G2.9, title: 新评议, points: 10, method: check, condition: \"members_full >= 5\", rectification: 改进}\n"
                        "remove: [G2.3]\n", encoding="utf-8")
    (err,) = errors(p)
    assert err == (f"{p}:9:10: $.remove[0]: G2.3 is removed, but the gate for tier A "
                   f"(mini.yaml:{mini_line('gates:') + 1}) reads it: override grading.gates as well")


def test_tiers_replaced_by_a_child_are_checked_against_the_parents_gates(tmp_path):
    p = write(tmp_path, "grading:\n  tiers: [{id: P, name: 合格, min: 60}, {id: C, name: 不合格, min: 0}]\n")
    msgs = errors(p)
    # each grading key still naming A is one thing to override; all of them are listed at once
    assert msgs == [f"{p}:6:3: $.grading.tiers: unknown tier 'A' (tiers: P, C): read by grading.{key} "
                    f"(mini.yaml:{mini_line('  ' + key + ':')}); override grading.{key} as well"
                    for key in ("gates", "quotas", "target")]


def test_tiers_replaced_by_a_child_are_checked_against_the_parents_veto_caps(tmp_path):
    p = write(tmp_path, "grading:\n  tiers: [{id: A, name: 合格, min: 60}, {id: F, name: 不合格, min: 0}]\n")
    assert errors(p) == [f"{p}:6:3: $.grading.tiers: unknown tier 'C' (tiers: A, F): the cap of veto G9.2 "
                         f"(mini.yaml:{mini_line('id: G9.2')}); override G9.2: {{cap_tier: ...}} as well"]
    p = write(tmp_path, "grading:\n  tiers: [{id: A, name: 合格, min: 60}, {id: F, name: 不合格, min: 0}]\n"
                        "override:\n  G9.2: {cap_tier: F}\n")
    assert load_standard(p).criteria["G9.2"].params[1] == "F"


# ---------------------------------------------------------------- id and file name

def test_an_id_file_name_mismatch_is_reported_with_the_files_other_errors(tmp_path):
    p = write(tmp_path, "override:\n  G1.1: {condition: \"member_full >= 3\"}\n", name="other")
    msgs = errors(p)
    assert len(msgs) == 2
    assert msgs[0] == f"{p}:1:1: $.id: standard id 'child' does not match its file name 'other.yaml' (expected 'other')"
    assert msgs[1].startswith(f"{p}:6:10:") and "unknown name 'member_full'; did you mean 'members_full'?" in msgs[1]


def test_an_id_mismatch_is_reported_beside_schema_errors_too(tmp_path):
    p = write(tmp_path, "pionts: 3\n", name="other")
    msgs = errors(p)
    assert any("does not match its file name" in m for m in msgs) and any("'pionts'" in m for m in msgs)


# ---------------------------------------------------------------- units as in evidence

@pytest.mark.parametrize("field, text", [
    ("centre_area", "50人"), ("centre_area", "50 平方公里"), ("members_full", "约50"), ("awards", "3人"),
])
def test_a_threshold_with_a_wrong_unit_gets_the_evidence_message(tmp_path, field, text):
    std = load_standard(MINI)
    with pytest.raises(NormalizeError) as evidence:
        normalize(text, std.fields[field])
    p = write(tmp_path, "sections:\n  - id: G1\n    criteria:\n"
                        f"      - {{id: G1.3, title: 门槛, points: 0, method: threshold, field: {field}, value: {text}, rectification: 改进}}\n")
    (err,) = errors(p)
    assert err.startswith(f"{p}:8:") and err.endswith(f"$.sections[0].criteria[0].value: G1.3: {evidence.value.message}")


def test_a_threshold_in_the_fields_own_unit_reads_as_evidence_does(tmp_path):
    p = write(tmp_path, "sections:\n  - id: G1\n    criteria:\n"
                        "      - {id: G1.3, title: 门槛, points: 0, method: threshold, field: centre_area, value: ５００平方米, rectification: 扩建}\n"
                        "      - {id: G1.4, title: 人数, points: 0, method: threshold, field: members_full, value: 7人, rectification: 发展}\n")
    std = load_standard(p)
    assert std.criteria["G1.3"].params[2] == 500 and std.criteria["G1.4"].params[2] == 7


def test_a_standard_without_base_criteria_is_refused(tmp_path):
    p = write(tmp_path, "remove: [G1, G2]\ngrading: {base: 0}\n")
    gate, err = errors(p)
    assert err.startswith(f"{p}:6:11: $.grading.base: a standard needs base criteria") and "(got 0)" in err
    # the parent's gate reads the removed section G2: reported too, at the removal
    assert gate == (f"{p}:5:14: $.remove[1]: G2 is removed, but the gate for tier A (mini.yaml:{mini_line('gates:') + 1}) "
                    f"reads it: override grading.gates as well")
