"""Numbers written with their units inside a standard's expressions (issue 10 follow-up):
`centre_area >= 500平方米`, `members_full >= ５０人`, `share >= 60%` read as the same text reads in
an evidence file; a unit that does not fit the field gets evidence's message at the expression's
file:line, and the plain-language text printed on documents is the same as for the bare number."""
from __future__ import annotations

from decimal import Decimal

import pytest

from evaluator.errors import InputError
from evaluator.intake.normalize import NormalizeError, normalize
from evaluator.model import Field
from evaluator.standard.loader import load_standard

from conftest import FIXTURES

MINI = FIXTURES / "mini" / "mini.yaml"
HEAD = ('id: child\nversion: "1"\ntitle: 子标准\nextends: mini\n'
        "fields:\n  share: {type: percentage, label: 网格员党员占比}\n"
        "sections:\n  - id: G1\n    criteria:\n")
LINE = 10          # the first criterion's line


def standard(tmp_path, *conditions):
    (tmp_path / "mini.yaml").write_text(MINI.read_text(encoding="utf-8"), encoding="utf-8")
    p = tmp_path / "child.yaml"
    p.write_text(HEAD + "".join(f"      - {{id: G1.{i}, title: 条件{i}, points: 0, method: check, "
                                f"condition: \"{c}\", rectification: 改进}}\n"
                                for i, c in enumerate(conditions, 3)), encoding="utf-8")
    return p


def errors(path):
    with pytest.raises(InputError) as e:
        load_standard(path)
    return [(i.file, i.line, i.message) for i in e.value.issues]


def test_numbers_with_units_read_as_evidence_reads_them(tmp_path):
    std = load_standard(standard(tmp_path, "centre_area >= 500平方米 and members_full >= ５０人 and share >= 60％",
                                 "centre_area >= 500 m2 or members_full in [3人, 5 名]"))
    both, listed = std.criteria["G1.3"].params, std.criteria["G1.4"].params
    env = {"centre_area": Decimal(500), "members_full": Decimal(50), "share": Decimal("0.6")}
    assert both.evaluate(env) is True
    assert both.evaluate({**env, "centre_area": Decimal("499.9")}) is False
    assert both.evaluate({**env, "members_full": Decimal(49)}) is False
    assert both.evaluate({**env, "share": Decimal("0.59")}) is False
    assert listed.evaluate({"centre_area": Decimal(10), "members_full": Decimal(5)}) is True
    assert listed.evaluate({"centre_area": Decimal(10), "members_full": Decimal(4)}) is False
    # documents print the condition exactly as for the bare numbers
    assert both.plain == "党群服务中心面积不少于 500 平方米且正式党员人数不少于 50 人且网格员党员占比不低于 60%"
    bare = load_standard(standard(tmp_path, "centre_area >= 500 and members_full >= 50 and share >= 0.6"))
    assert bare.criteria["G1.3"].params.plain == both.plain


@pytest.mark.parametrize("field, text", [
    ("centre_area", "50人"), ("centre_area", "50 平方公里"), ("members_full", "60%"), ("awards", "3人"),
    ("share", "60人"),
])
def test_a_unit_that_does_not_fit_gets_the_evidence_message_at_the_expressions_line(tmp_path, field, text):
    fields = {**load_standard(MINI).fields, "share": Field(id="share", type="percentage", label="占比")}
    with pytest.raises(NormalizeError) as evidence:
        normalize(text, fields[field])
    p = standard(tmp_path, "members_full >= 1", f"{field} >= {text}")
    ((file, line, message),) = errors(p)
    column = len(field) + 5
    assert (file, line) == (str(p), LINE + 1)
    assert message == f"G1.4: {evidence.value.message} (column {column} of '{field} >= {text}')"


def test_a_bare_number_beside_a_percentage_must_be_a_share(tmp_path):
    ((_, line, message),) = errors(standard(tmp_path, "share >= 60"))
    assert line == LINE and message.startswith("G1.3: 60 is ambiguous for a percentage: write 60% or 0.6")
    assert load_standard(standard(tmp_path, "share >= 0.6 and share <= 1")).criteria["G1.3"].params.evaluate(
        {"share": Decimal(1)}) is True


def test_a_unit_not_beside_a_field_is_refused(tmp_path):
    ((_, _, message),) = errors(standard(tmp_path, "members_full * 2 >= 60人"))
    assert message.startswith("G1.3: '60人': a number with a unit is read for the field it is compared with")
    # a percentage or full-width digits need no field: they mean what they say anywhere
    std = load_standard(standard(tmp_path, "members_full / 100 >= 5% and members_full >= ５"))
    assert std.criteria["G1.3"].params.evaluate({"members_full": Decimal(5)}) is True
    assert std.criteria["G1.3"].params.evaluate({"members_full": Decimal(4)}) is False


def test_a_threshold_for_a_percentage_field_gets_the_evidence_unit_message(tmp_path):
    (tmp_path / "mini.yaml").write_text(MINI.read_text(encoding="utf-8"), encoding="utf-8")
    p = tmp_path / "child.yaml"
    p.write_text(HEAD + "      - {id: G1.3, title: 占比, points: 0, method: threshold, field: share, value: 60人, "
                        "rectification: 改进}\n", encoding="utf-8")
    assert errors(p) == [(str(p), LINE, "G1.3: '60人' has unit '人', expected a percentage such as 60% or 0.6")]
    p.write_text(p.read_text(encoding="utf-8").replace("60人", "６０％"), encoding="utf-8")
    assert load_standard(p).criteria["G1.3"].params[2] == Decimal("0.6")


def test_plain_language_reads_a_number_with_a_unit_as_the_bare_number():
    from evaluator.standard.expr import NameSpec, Type, compile_expr
    from evaluator.standard.plain import Vocabulary
    fields = {"centre_area": Field(id="centre_area", type="number", label="党群服务中心面积", unit="m2"),
              "members_full": Field(id="members_full", type="integer", label="正式党员人数", unit="人"),
              "share": Field(id="share", type="percentage", label="网格员党员占比")}
    names = {f.id: NameSpec(Type.NUMBER, field=f) for f in fields.values()}
    vocab = Vocabulary(fields)
    e = compile_expr("centre_area >= ５００㎡ or members_full > 7 名 or share < 60%", names)
    assert vocab.condition(e) == "党群服务中心面积不少于 500 平方米或正式党员人数超过 7 人或网格员党员占比低于 60%"
    assert vocab.negation(e) == "党群服务中心面积少于 500 平方米且正式党员人数不超过 7 人且网格员党员占比不低于 60%"
