"""The JSON Schemas: valid Draft 2020-12, generated from the registry, and matching real output."""
import json

from jsonschema import Draft202012Validator

from evaluator.standard import schemagen
from evaluator.cli import run
from evaluator.standard.methods import REGISTRY
from evaluator.resources import schemas_dir


def test_all_schemas_are_valid_draft_2020_12():
    names = sorted(p.name for p in schemas_dir().glob("*.schema.json"))
    assert names == ["cases.schema.json", "evidence.schema.json", "inspection.schema.json", "result.schema.json",
                     "round.schema.json", "standard.schema.json"]
    for p in schemas_dir().glob("*.schema.json"):
        Draft202012Validator.check_schema(json.loads(p.read_text(encoding="utf-8")))


def test_standard_schema_is_generated_from_the_method_registry():
    on_disk = (schemas_dir() / "standard.schema.json").read_text(encoding="utf-8")
    assert on_disk == schemagen.render(), "run `python -m evaluator.standard.schemagen` to regenerate"
    enum = json.loads(on_disk)["$defs"]["criterion"]["properties"]["method"]["enum"]
    assert enum == sorted(REGISTRY)


def test_results_json_matches_the_result_schema(mini, tmp_path):
    assert run(["evaluate", str(mini / "round.yaml"), "--out", str(tmp_path), "-q"]) == 0
    schema = json.loads((schemas_dir() / "result.schema.json").read_text(encoding="utf-8"))
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    errors = list(Draft202012Validator(schema).iter_errors(data))
    assert errors == []
    data["organizations"][0]["criteria"][0]["outcome"] = "passed"
    assert list(Draft202012Validator(schema).iter_errors(data))
