"""Loading standards: 1+N resolution and precise load-time errors."""
import re
from pathlib import Path
from decimal import Decimal

import pytest

from evaluator.errors import InputError
from evaluator.standard.loader import load_standard

from conftest import FIXTURES, ROOT

MINI = FIXTURES / "mini" / "mini.yaml"


def child(tmp_path, text, name="child"):
    (tmp_path / "mini.yaml").write_text(MINI.read_text(encoding="utf-8"), encoding="utf-8")
    p = tmp_path / f"{name}.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def errors(path, *dirs):
    with pytest.raises(InputError) as e:
        load_standard(path, list(dirs))
    return [str(i) for i in e.value.issues]


def test_mini_loads_with_criteria_in_document_order():
    std = load_standard(MINI)
    assert list(std.criteria) == ["G1.1", "G1.2", "G2.1", "G2.2", "G2.3", "G2.4", "G9.1", "G9.2"]
    assert std.grading.base == Decimal(100)
    assert std.criteria["G9.1"].kind == "bonus" and std.criteria["G9.2"].kind == "veto"
    assert std.criteria["G1.2"].reads == ("centre_area",)
    assert std.digest.startswith("sha256:") and std.digest == load_standard(MINI).digest


def test_field_standard_overrides_adds_and_removes(tmp_path):
    p = child(tmp_path, """
id: child
version: "1"
title: 子标准
extends: mini
sections:
  - id: G1
    criteria:
      - {id: G1.3, title: 新增指标, points: 5, method: check, condition: "members_full >= 7", rectification: 设委员会}
override:
  G1.2: {points: 25, bands: [{min: 600, points: 25}, {min: 300, points: 10}]}
remove: [G2.3]
""")
    std = load_standard(p)
    assert std.lineage == ("mini", "child")
    assert "G2.3" not in std.criteria and "G1.3" in std.criteria
    assert std.criteria["G1.2"].points == 25
    assert [c for c in std.sections[0].criteria] == ["G1.1", "G1.2", "G1.3"]


def test_points_must_sum_to_the_base(tmp_path):
    p = child(tmp_path, "id: child\nversion: '1'\ntitle: 子标准\nextends: mini\nremove: [G2.3]\n")
    msgs = errors(p)
    assert any("base criteria points sum to 90, but grading.base is 100" in m for m in msgs)


def test_extends_cycle_is_an_error_with_file_and_line(tmp_path):
    (tmp_path / "a.yaml").write_text("id: a\nversion: '1'\ntitle: A\nextends: b\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("id: b\nversion: '1'\ntitle: B\nextends: a\n", encoding="utf-8")
    msgs = errors(tmp_path / "a.yaml")
    assert msgs == [f"{tmp_path / 'b.yaml'}:4:1: $.extends: 'extends' cycle: a -> b -> a"]


def test_dangling_extends_suggests_a_name(tmp_path):
    p = child(tmp_path, "id: child\nversion: '1'\ntitle: 子标准\nextends: mimi\n")
    msgs = errors(p)
    assert msgs == [f"{p}:4:1: $.extends: extends unknown standard 'mimi'; did you mean 'mini'?"]


def test_override_of_unknown_criterion(tmp_path):
    p = child(tmp_path, "id: child\nversion: '1'\ntitle: 子标准\nextends: mini\noverride:\n  G1.9: {points: 3}\n")
    msgs = errors(p)
    assert len(msgs) == 1 and re.search(r":6:\d+: \$\.override\[\"G1\.9\"\]: override of unknown criterion 'G1.9'; did you mean 'G1.\d'\?", msgs[0])


def test_unknown_name_in_expression_is_reported_at_load_with_did_you_mean(tmp_path):
    p = child(tmp_path, """id: child
version: "1"
title: 子标准
extends: mini
override:
  G1.1: {condition: "member_full >= 3"}
""")
    msgs = errors(p)
    assert len(msgs) == 1
    assert msgs[0].startswith(f"{p}:6:")
    assert "G1.1: unknown name 'member_full'; did you mean 'members_full'?" in msgs[0]


def test_type_error_in_expression(tmp_path):
    p = child(tmp_path, "id: child\nversion: '1'\ntitle: 子标准\nextends: mini\noverride:\n  G1.1: {condition: \"secretary_rating >= 3\"}\n")
    msgs = errors(p)
    assert len(msgs) == 1 and "G1.1:" in msgs[0] and "cannot compare" in msgs[0]


def test_enum_literal_checked(tmp_path):
    p = child(tmp_path, "id: child\nversion: '1'\ntitle: 子标准\nextends: mini\noverride:\n  G1.1: {condition: \"secretary_rating == '优'\"}\n")
    msgs = errors(p)
    assert "'优' is not one of 好, 较好, 一般, 差" in msgs[0]


def test_unknown_field_in_method_key(tmp_path):
    p = child(tmp_path, "id: child\nversion: '1'\ntitle: 子标准\nextends: mini\noverride:\n  G2.1: {records: comittee_meetings}\n")
    msgs = errors(p)
    assert msgs == [f"{p}:6:10: $.override[\"G2.1\"].records: G2.1: unknown field 'comittee_meetings'; did you mean 'committee_meetings'?"]


def test_unknown_key_and_bad_unit_are_schema_errors(tmp_path):
    text = MINI.read_text(encoding="utf-8").replace("title: 支部设置, points: 10", "title: 支部设置, pionts: 10").replace("unit: m2", "unit: 平方公里")
    p = tmp_path / "mini.yaml"
    p.write_text(text, encoding="utf-8")
    msgs = errors(p)
    assert any("unknown key 'pionts' (did you mean 'points'?)" in m for m in msgs)
    assert any("$.fields.centre_area.unit" in m and "平方公里" in m for m in msgs)


def test_veto_cap_must_name_a_tier(tmp_path):
    p = child(tmp_path, "id: child\nversion: '1'\ntitle: 子标准\nextends: mini\noverride:\n  G9.2: {cap_tier: E}\n")
    msgs = errors(p)
    assert msgs == [f"{p}:6:10: $.override[\"G9.2\"].cap_tier: unknown tier 'E' (tiers: A, B, C, D)"]


def test_gate_references_are_checked(tmp_path):
    p = child(tmp_path, "id: child\nversion: '1'\ntitle: 子标准\nextends: mini\ngrading:\n  gates: [{tier: A, condition: \"points('G7.1') > 1\"}]\n")
    msgs = errors(p)
    assert len(msgs) == 1 and "unknown criterion 'G7.1'" in msgs[0]


def test_duplicate_yaml_key_in_a_standard(tmp_path):
    p = tmp_path / "mini.yaml"
    p.write_text(MINI.read_text(encoding="utf-8").replace("version: \"1\"", "version: \"1\"\nversion: \"2\""), encoding="utf-8")
    msgs = errors(p)
    assert msgs == [f"{p}:3:1: $.version: duplicate key 'version' (first defined on line 2)"]


def test_id_must_match_file_name(tmp_path):
    p = tmp_path / "other.yaml"
    p.write_text(MINI.read_text(encoding="utf-8"), encoding="utf-8")
    assert "does not match its file name" in errors(p)[0]


def test_a_key_is_checked_against_its_own_method(tmp_path):
    # threshold's `value` is a number or a percentage; bands' `value` is an expression
    p = child(tmp_path, """id: child
version: "1"
title: 子标准
extends: mini
sections:
  - id: G1
    criteria:
      - {id: G1.3, title: 面积门槛, method: threshold, field: centre_area, value: 很大, rectification: 扩建}
""")
    msgs = errors(p)
    assert len(msgs) == 1 and "$.sections[0].criteria[0].value" in msgs[0] and "很大" in msgs[0]


def test_band_points_may_not_exceed_the_criterion(tmp_path):
    p = child(tmp_path, "id: child\nversion: '1'\ntitle: 子标准\nextends: mini\noverride:\n  G1.2: {points: 10}\n  G1.1: {points: 20}\n")
    msgs = errors(p)
    assert len(msgs) == 1 and "G1.2: band points 20 exceed the criterion's 10 points" in msgs[0]


def test_a_bare_number_threshold_on_a_percentage_field_is_refused(tmp_path):
    p = child(tmp_path, """id: child
version: "1"
title: 子标准
extends: mini
fields:
  grid_party_share: {type: percentage, label: 网格员中党员占比}
sections:
  - id: G1
    criteria:
      - {id: G1.3, title: 党员占比, points: 0, method: threshold, field: grid_party_share, value: 60, rectification: 吸纳党员}
""")
    msgs = errors(p)
    assert len(msgs) == 1 and "60 is ambiguous for a percentage: write 60% or 0.6" in msgs[0]


def test_without_a_bonus_cap_bonus_counts_up_to_the_bonus_criteria_points(tmp_path):
    p = tmp_path / "mini.yaml"
    p.write_text(MINI.read_text(encoding="utf-8").replace("  bonus_cap: 3\n", ""), encoding="utf-8")
    assert load_standard(p).grading.bonus_cap == Decimal(5)


@pytest.mark.parametrize("decl, message", [
    ("{type: records, label: 会议记录, tolerance: 10%}", "a records field tolerates a whole number of records (e.g. tolerance: 1), not '10%'"),
    ("{type: records, label: 会议记录, tolerance: 1.5}", "a records field tolerates a whole number of records"),
    ("{type: enum, label: 等次, values: [好, 差], tolerance: 1}", "enum fields have no tolerance"),
    ("{type: number, label: 面积, tolerance: -1}", "tolerance must not be negative"),
    ("{type: enum, label: 等次, values: [好, 差], blank: zero}", "'blank: zero' needs a number, integer, percentage or records field"),
])
def test_field_declarations_that_cannot_mean_anything_are_refused_at_their_line(tmp_path, decl, message):
    p = child(tmp_path, f"""id: child
version: "1"
title: 子标准
extends: mini
fields:
  extra: {decl}
""")
    (err,) = errors(p)
    assert err.startswith(f"{p}:6:") and message in err


def test_blank_policy_defaults_to_missing_and_zero_is_kept():
    std = load_standard(MINI)
    assert {f.blank for f in std.fields.values()} == {"missing"}


def test_blank_zero_on_a_count_field_loads(tmp_path):
    p = child(tmp_path, """id: child
version: "1"
title: 子标准
extends: mini
fields:
  province_awards: {type: integer, label: 省级表彰次数, unit: 次, min: 0, blank: zero}
""")
    assert load_standard(p).fields["province_awards"].blank == "zero"


def test_a_changed_file_is_never_served_from_the_cache(tmp_path):
    p = child(tmp_path, """id: child
version: "1"
title: 子标准
extends: mini
override:
  G1.1: {points: 10}
""")
    first = load_standard(p)
    assert load_standard(p) is first                       # same bytes: compiled once
    p.write_text(p.read_text(encoding="utf-8").replace('version: "1"', 'version: "2"'), encoding="utf-8")
    second = load_standard(p)
    assert second.version == "2" and second.digest != first.digest
    (tmp_path / "mini.yaml").write_text((tmp_path / "mini.yaml").read_text(encoding="utf-8").replace(
        "title: 支部设置", "title: 支部设置规范"), encoding="utf-8")
    assert load_standard(p).criteria["G1.1"].title == "支部设置规范"   # a parent's change reaches the child


def test_a_standard_found_valid_is_not_schema_checked_again_until_its_bytes_change(tmp_path, monkeypatch):
    # agrade validate rules/ remembers valid files by digest (on disk, across runs); problems
    # are never remembered: an edited file is checked again and its error has its line
    from evaluator.standard import loader, schema
    monkeypatch.setenv("AGRADE_CACHE_DIR", str(tmp_path / "cache"))
    src = Path(__file__).resolve().parents[1] / "rules"
    for f in ("general.yaml", "community.yaml"):
        (tmp_path / f).write_bytes((src / f).read_bytes())
    checked = []
    real = schema.check_with
    monkeypatch.setattr(schema, "check_with", lambda inst, v, loc: checked.append(1) or real(inst, v, loc))
    for _ in range(2):
        loader._DOCS.clear()
        loader._STANDARDS.clear()
        loader.load_standard(tmp_path / "community.yaml", [tmp_path])
    assert len(checked) == 2                  # general and community, the first time only
    text = (tmp_path / "community.yaml").read_text(encoding="utf-8")
    (tmp_path / "community.yaml").write_text(text.replace("version:", "unknown_key: 1\nversion:", 1), encoding="utf-8")
    loader._DOCS.clear()
    loader._STANDARDS.clear()
    with pytest.raises(InputError) as e:
        loader.load_standard(tmp_path / "community.yaml", [tmp_path])
    assert "unknown_key" in str(e.value) and e.value.issues[0].line > 0


def test_a_field_unit_may_be_written_as_people_write_it(tmp_path):
    """`unit: 平方米` is the m2 unit, as 500平方米 is in evidence: the field carries the code and
    documents print 平方米; a unit no one knows is still refused at its line."""
    from conftest import run_cli
    (tmp_path / "x.yaml").write_text(
        "id: x\nversion: '1'\ntitle: 测试标准\nextends: general\n"
        "fields:\n  hall_area: {type: number, label: 活动场所面积, unit: 平方米}\n", encoding="utf-8")
    std = load_standard(tmp_path / "x.yaml")
    assert std.fields["hall_area"].unit == "m2"
    (tmp_path / "y.yaml").write_text((tmp_path / "x.yaml").read_text(encoding="utf-8").replace("平方米", "亩").replace("id: x", "id: y"),
                                     encoding="utf-8")
    code, _, err = run_cli("validate", tmp_path / "y.yaml")
    assert code == 2 and "y.yaml:6:" in err and "'亩'" in err


def test_a_ratio_target_above_all_is_told_as_a_percentage(tmp_path):
    """An author who writes `target: 120%` reads the share back as written, not as 1.2."""
    from conftest import run_cli
    text = (ROOT / "rules" / "community.yaml").read_text(encoding="utf-8").replace("target: 60%", "target: 120%", 1)
    (tmp_path / "community.yaml").write_text(text, encoding="utf-8")
    code, _, err = run_cli("validate", tmp_path / "community.yaml")
    assert code == 2 and "target 120% must be a share above 0% and at most 100%" in err, err
