"""Generate `schemas/standard.schema.json` from the scoring-method registry.

The method enum and each method's keys come from `evaluator.standard.methods.REGISTRY`, so the
schema and the code cannot drift; `tests/test_schemas.py` fails when the checked-in file
differs from what this produces. Regenerate with `python -m evaluator.standard.schemagen`.
"""
from __future__ import annotations

import json
import sys

from .methods import DUE_SCHEMA, REGISTRY
from ..terms import BLANK_POLICIES, FIELD_TYPES, NA_POLICIES, SCOPES, UNIT_SPELLINGS

ID = r"^[a-z][a-z0-9_-]*$"
TYPE_ID = r"^[a-z][a-z0-9_]*$"           # an organization type
CRITERION_ID = r"^[A-Z][A-Z0-9]*(\.[0-9A-Za-z]+)+$"
SECTION_ID = r"^[A-Z][A-Z0-9]*$"
FIELD_ID = r"^[a-z][a-z0-9_]*$"
PERCENT = r"^\s*-?[0-9]+(\.[0-9]+)?\s*%\s*$"


def build() -> dict:
    common = {
        "id": {"type": "string", "pattern": CRITERION_ID},
        "title": {"type": "string", "minLength": 1},
        "points": {"$ref": "#/$defs/number"},
        "method": {"enum": sorted(REGISTRY)},
        "guidance": {"type": "string"},
        "rectification": {"type": "string", "minLength": 1},
        "applies_if": {"type": "string", "minLength": 1},
        "na_policy": {"enum": list(NA_POLICIES)},
        "due": DUE_SCHEMA,
    }
    # A key may mean different things to different methods (threshold's `value` is a number,
    # bands' `value` an expression): the merged property accepts any of them, and each
    # method's own `then` branch holds it to that method's schema.
    variants: dict[str, list] = {}
    for m in REGISTRY.values():
        for key, sub in m.schema.items():
            if sub not in variants.setdefault(key, []):
                variants[key].append(sub)
    method_props = {k: v[0] if len(v) == 1 else {"anyOf": v} for k, v in variants.items()}
    per_method = [
        {"if": {"properties": {"method": {"const": name}}, "required": ["method"]},
         "then": {"required": list(m.required), "properties": m.schema}}
        for name, m in sorted(REGISTRY.items())
    ]
    criterion = {
        "type": "object",
        "required": ["id", "title", "method", "rectification"],
        "properties": {**common, **method_props},
        "additionalProperties": False,
        "allOf": per_method,
    }
    field = {
        "type": "object", "required": ["type", "label"], "additionalProperties": False,
        "properties": {
            "type": {"enum": list(FIELD_TYPES)}, "label": {"type": "string", "minLength": 1},
            "unit": {"enum": list(UNIT_SPELLINGS)}, "min": {"$ref": "#/$defs/number"}, "max": {"$ref": "#/$defs/number"},
            "values": {"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": True},
            "tolerance": {"$ref": "#/$defs/number_or_percent"},
            "blank": {"enum": list(BLANK_POLICIES)},
        },
    }
    section = {
        "type": "object", "required": ["id"], "additionalProperties": False,
        "properties": {"id": {"type": "string", "pattern": SECTION_ID}, "title": {"type": "string"},
                       "criteria": {"type": "array", "items": {"$ref": "#/$defs/criterion"}}},
    }
    share = {"$ref": "#/$defs/number_or_percent"}
    grading = {
        "type": "object", "additionalProperties": False,
        "properties": {
            "base": {"$ref": "#/$defs/number"}, "bonus_cap": {"$ref": "#/$defs/number"},
            "min_reviewed_share": share,
            "components": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["id", "source", "weight"], "additionalProperties": False,
                "properties": {"id": {"type": "string"}, "label": {"type": "string"},
                               "source": {"enum": ["criteria", "self_assessment", "field"]},
                               "weight": share, "field": {"type": "string"}, "scale": {"$ref": "#/$defs/number"}}}},
            "tiers": {"type": "array", "minItems": 2, "items": {
                "type": "object", "required": ["id", "min"], "additionalProperties": False,
                "properties": {"id": {"type": "string", "minLength": 1}, "name": {"type": "string"},
                               "min": {"$ref": "#/$defs/number"}}}},
            "gates": {"type": "array", "items": {
                "type": "object", "required": ["tier", "condition"], "additionalProperties": False,
                "properties": {"tier": {"type": "string"}, "condition": {"type": "string"}, "reason": {"type": "string"}}}},
            "quotas": {"type": "array", "items": {
                "type": "object", "required": ["tier", "max_share", "scope"], "additionalProperties": False,
                "properties": {"tier": {"type": "string"}, "max_share": share, "scope": {"enum": list(SCOPES)}}}},
            "target": {"type": "object", "required": ["tier", "min_share"], "additionalProperties": False,
                       "properties": {"tier": {"type": "string"}, "min_share": share, "scope": {"enum": list(SCOPES)}}},
            "tie_breaks": {"type": "array", "items": {"type": "string"}},
            # tier shares allocated by rank (evaluator.standard.distribution)
            "distribution": {"type": "object", "required": ["tiers"], "additionalProperties": False, "properties": {
                "scope": {"enum": list(SCOPES)},
                "tiers": {"type": "array", "minItems": 1, "items": {
                    # one of max/min/target is checked when loading, with a message that says so
                    "type": "object", "required": ["tier"], "additionalProperties": False,
                    "properties": {"tier": {"type": "string"}, "max": share, "min": share, "target": share,
                                   "tolerance": share}}}}},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://agrade.example/schemas/standard.schema.json",
        "title": "agrade standard (1+N)",
        "description": "Generated by `python -m evaluator.standard.schemagen` from the scoring-method registry; do not edit by hand.",
        "type": "object",
        "required": ["id", "version", "title"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "pattern": ID},
            "version": {"type": ["string", "number"]},
            "title": {"type": "string", "minLength": 1},
            "issuer": {"type": "string"},
            "effective": {"type": "object", "additionalProperties": False,
                          "properties": {"from": {"type": "string", "format": "date"},
                                         "to": {"type": "string", "format": "date"}}},
            # built-in types (terms.BUILTIN_TYPES) or ones declared under `types` (checked when loading)
            "applies_to": {"type": "array", "items": {"type": "string", "pattern": TYPE_ID}, "uniqueItems": True},
            "types": {"type": "object", "propertyNames": {"pattern": TYPE_ID},
                      "additionalProperties": {"type": "object", "required": ["name"], "additionalProperties": False,
                                               "properties": {"name": {"type": "string", "minLength": 1},
                                                              "aliases": {"type": "array", "uniqueItems": True,
                                                                          "items": {"type": "string", "minLength": 1}}}}},
            "extends": {"type": ["string", "null"], "pattern": ID},
            "fields": {"type": "object", "propertyNames": {"pattern": FIELD_ID},
                       "additionalProperties": {"$ref": "#/$defs/field"}},
            "sections": {"type": "array", "items": {"$ref": "#/$defs/section"}},
            "override": {"type": "object", "propertyNames": {"pattern": CRITERION_ID},
                         "additionalProperties": {"type": "object", "propertyNames": {"not": {"const": "id"}},
                                                  # drop: inherited keys to remove (docs/FORMATS.md, 1+N)
                                                  "properties": {**common, **method_props, "drop": {
                                                      "type": "array", "minItems": 1, "uniqueItems": True,
                                                      "items": {"type": "string", "minLength": 1}}},
                                                  "additionalProperties": False}},
            "remove": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "grading": grading,
        },
        "allOf": [{"if": {"properties": {"extends": {"type": "null"}}},
                   "then": {"required": ["grading", "sections"]}},
                  {"if": {"not": {"required": ["extends"]}}, "then": {"required": ["grading", "sections"]}}],
        "$defs": {
            "number": {"type": "number"},
            "number_or_percent": {"anyOf": [{"type": "number"}, {"type": "string", "pattern": PERCENT}]},
            "field": field, "section": section, "criterion": criterion,
        },
    }


def render() -> str:
    return json.dumps(build(), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    from ..resources import schemas_dir
    out = schemas_dir() / "standard.schema.json"
    out.write_text(render(), encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
