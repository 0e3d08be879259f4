import datetime as dt
from decimal import Decimal

import pytest

from evaluator.standard import schema as schemacheck
from evaluator.standard.schema import check_with, make_validator, render
from evaluator.standard.yamlsafe import Locator, load_json_text, load_yaml_text

STANDARD = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["id", "sections"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z][a-z0-9_-]*$"},
        "effective": {
            "type": "object", "additionalProperties": False,
            "properties": {"from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"}},
        },
        "fields": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["type", "label"], "additionalProperties": False,
            "properties": {
                "type": {"enum": ["number", "integer", "percentage", "boolean", "enum", "date", "text", "records"]},
                "label": {"type": "string", "minLength": 1},
                "min": {"type": "number"},
                "unit": {"type": "string"},
            },
        }},
        "sections": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["id"], "additionalProperties": False,
            "properties": {
                "id": {"type": "string"},
                "criteria": {"type": "array", "items": {"$ref": "#/$defs/criterion"}},
            },
        }},
    },
    "$defs": {
        "criterion": {
            "type": "object", "required": ["id", "points"], "additionalProperties": False,
            "properties": {
                "id": {"type": "string"},
                "points": {"type": "number", "minimum": 0, "multipleOf": 0.5},
                "count": {"type": "integer"},
                "bands": {"type": "array", "items": {"oneOf": [
                    {"type": "object", "required": ["min", "points"], "additionalProperties": False,
                     "properties": {"min": {"type": "number"}, "points": {"type": "number"}}},
                    {"type": "object", "required": ["equals", "points"], "additionalProperties": False,
                     "properties": {"equals": {"type": "string"}, "points": {"type": "number"}}},
                ]}},
            },
        },
    },
}

V = make_validator(STANDARD)


def run(text, v=V):
    doc, loc = load_yaml_text(text, "std.yaml")
    return check_with(doc, v, loc)


GOOD = """\
id: general
effective: {from: 2026-01-01, to: 2026-12-31}
fields:
  area: {type: number, label: 面积, min: 0.5, unit: m2}
sections:
  - id: G1
    criteria:
      - id: G1.1
        points: 4.5
        count: 3.0
        bands:
          - {min: 500, points: 6}
          - {equals: 好, points: 5}
"""


def test_valid_document_has_no_issues():
    assert run(GOOD) == []


def test_errors_with_lines_sorted():
    text = """\
id: General
sections:
  - id: G1
    criteria:
      - id: G1.1
        points: -1
      - id: G1.2
        points: 1.25
fields:
  area: {type: squaremeters, label: 面积}
"""
    found = run(text)
    assert [str(i) for i in found] == [
        "std.yaml:1:1: $.id: 'General' does not match '^[a-z][a-z0-9_-]*$'",
        "std.yaml:6:9: $.sections[0].criteria[0].points: -1 is less than the minimum of 0",
        "std.yaml:8:9: $.sections[0].criteria[1].points: 1.25 is not a multiple of 0.5",
        "std.yaml:10:10: $.fields.area.type: 'squaremeters' is not one of "
        "['number', 'integer', 'percentage', 'boolean', 'enum', 'date', 'text', 'records']",
    ]


def test_missing_required_points_at_parent():
    found = run("id: g\nsections:\n  - id: G1\n    criteria:\n      - id: G1.1\n")
    assert [(i.line, i.col, i.path, i.message) for i in found] == [
        (5, 9, "$.sections[0].criteria[0]", "missing required key 'points'")]


def test_unknown_key_did_you_mean():
    found = run("id: g\nsections:\n  - id: G1\n    criteria:\n      - id: G1.1\n        points: 2\n        pionts: 3\n")
    assert [(i.line, i.col, i.path, i.message) for i in found] == [
        (7, 9, "$.sections[0].criteria[0].pionts", "unknown key 'pionts' (did you mean 'points'?)")]


def test_unknown_key_without_suggestion():
    (i,) = run("id: g\nsections: [{id: G1}]\nzzz: 1\n")
    assert (i.line, i.message) == (3, "unknown key 'zzz'")


def test_enum_did_you_mean():
    (i,) = run("id: g\nsections: [{id: G1}]\nfields:\n  a: {type: nubmer, label: x}\n")
    assert i.message.endswith("(did you mean 'number'?)")


def test_decimal_and_date_types():
    # Decimal is a number; integral Decimal an integer; date a string of format date.
    assert run(GOOD) == []
    (i,) = run("id: g\nsections:\n  - id: G1\n    criteria:\n      - {id: G1.1, points: 1, count: 2.5}\n")
    assert (i.path, i.message) == ("$.sections[0].criteria[0].count", "2.5 is not of type 'integer'")
    (i,) = run("id: g\nsections: [{id: G1}]\neffective: {from: 2026-01-01, to: 12}\n")
    assert i.message == "12 is not of type 'string'"
    (i,) = run("id: g\nsections: [{id: G1}]\neffective: {from: 2026-01-01, to: 2026-01-01 09:00:00}\n")
    assert i.message == "2026-01-01T09:00:00 is not a valid date"
    (i,) = run("id: g\nsections: [{id: G1}]\neffective: {from: '2026-13-01'}\n")
    assert i.message == "'2026-13-01' is not a valid date"


def test_date_as_string_for_string_keywords():
    v = make_validator({"type": "object", "properties": {
        "d": {"type": "string", "pattern": "^2026-", "maxLength": 10, "minLength": 10, "format": "date"},
        "e": {"type": "string", "pattern": "^2025-"}}})
    doc = {"d": dt.date(2026, 3, 1), "e": dt.date(2026, 3, 1)}
    (i,) = check_with(doc, v, Locator("x"))
    assert (i.path, i.message) == ("$.e", "2026-03-01 does not match '^2025-'")


def test_decimal_bounds_against_float_schema():
    v = make_validator({"type": "number", "minimum": 0.5, "exclusiveMaximum": 1, "multipleOf": 0.25})
    assert check_with(Decimal("0.75"), v, Locator("x")) == []
    assert [i.message for i in check_with(Decimal("0.30"), v, Locator("x"))] == [
        "0.30 is less than the minimum of 0.5", "0.30 is not a multiple of 0.25"]
    assert check_with(Decimal("1.0"), v, Locator("x"))[0].message == "1.0 must be less than 1"
    assert check_with(True, v, Locator("x"))[0].message == "true is not of type 'number'"


def test_best_match_on_one_of():
    found = run("id: g\nsections:\n  - id: G1\n    criteria:\n      - id: G1.1\n        points: 6\n"
                "        bands:\n          - {min: 500, points: 六}\n")
    assert [(i.line, i.col, i.path, i.message) for i in found] == [
        (8, 24, "$.sections[0].criteria[0].bands[0].points", "'六' is not of type 'number'")]


def test_one_of_missing_key_best_match():
    (i,) = run("id: g\nsections:\n  - id: G1\n    criteria:\n      - id: G1.1\n        points: 6\n"
               "        bands:\n          - {equals: 好}\n")
    assert i.path == "$.sections[0].criteria[0].bands[0]" and i.message == "missing required key 'points'"


ONE_OF = make_validator({"type": "object", "properties": {
    "evidence": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
    "rec": {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"self": {"oneOf": [
        {"type": "string"}, {"type": "array", "items": {"type": "string", "format": "date"}}]}}}]}}})


def test_one_of_all_types_wrong_is_one_message():
    (i,) = run("evidence: 5\n", ONE_OF)
    assert (i.path, i.message) == ("$.evidence", "5 is not of type 'string', 'array'")


def test_one_of_picks_matching_type():
    (i,) = run("evidence: []\n", ONE_OF)
    assert (i.path, i.message) == ("$.evidence", "should be non-empty")
    (i,) = run("evidence:\n  - a\n  - 7\n", ONE_OF)
    assert (i.line, i.path, i.message) == (3, "$.evidence[1]", "7 is not of type 'string'")


def test_nested_any_of_one_of():
    (i,) = run("rec:\n  self:\n    - 2026-01-01\n    - '2026-13-01'\n", ONE_OF)
    assert (i.line, i.path, i.message) == (4, "$.rec.self[1]", "'2026-13-01' is not a valid date")


def test_json_document_lines():
    doc, loc = load_json_text('{"id": "g",\n "sections": [\n  {"id": "G1", "criteria": [{"id": "x", "points": -2.0}]}]}',
                              "std.json")
    (i,) = check_with(doc, V, loc)
    assert str(i) == "std.json:3:41: $.sections[0].criteria[0].points: -2.0 is less than the minimum of 0"


def test_render():
    assert render(Decimal("1.50")) == "1.50"
    assert render(dt.date(2026, 1, 2)) == "2026-01-02"
    assert render(["好", None, True]) == "['好', null, true]"
    assert render("x" * 200).endswith(" ...") and len(render("x" * 200)) == 80


def test_property_names_points_at_key():
    v = make_validator({"type": "object", "propertyNames": {"enum": ["community", "village"]}})
    doc, loc = load_yaml_text("village: v\ncomunity: c\n", "round.yaml")
    (i,) = check_with(doc, v, loc)
    assert (i.line, i.path) == (2, "$.comunity")
    assert i.message == "'comunity' is not one of ['community', 'village'] (did you mean 'community'?)"


def test_validator_built_once(tmp_path, monkeypatch):
    import json
    import sys
    import types
    (tmp_path / "demo.schema.json").write_text(json.dumps({"type": "object", "required": ["id"]}))
    fake = types.ModuleType("evaluator.resources")
    fake.schemas_dir = lambda: tmp_path
    monkeypatch.setitem(sys.modules, "evaluator.resources", fake)
    schemacheck.schema.cache_clear()
    schemacheck.validator.cache_clear()
    try:
        assert schemacheck.validator("demo") is schemacheck.validator("demo")
        doc, loc = load_yaml_text("x: 1\n", "d.yaml")
        assert [str(i) for i in schemacheck.check(doc, "demo", loc)] == ["d.yaml:1:1: $: missing required key 'id'"]
    finally:
        schemacheck.schema.cache_clear()
        schemacheck.validator.cache_clear()


@pytest.mark.parametrize("name", ["round", "evidence", "standard", "result", "cases", "inspection"])
def test_shipped_schemas_compile(name):
    from evaluator.resources import schemas_dir
    if not (schemas_dir() / f"{name}.schema.json").exists():
        pytest.skip("schema not written yet")
    assert schemacheck.validator(name) is schemacheck.validator(name)
    # validator() trusts the shipped schemas (no check_schema at run time): this is the check
    from jsonschema import Draft202012Validator
    Draft202012Validator.check_schema(schemacheck.schema(name))
