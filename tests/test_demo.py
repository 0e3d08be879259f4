"""The demo round generator (`agrade demo`): it evaluates cleanly, is deterministic, and
spreads organizations over the tiers with vetoes and self-report mismatches."""
import csv
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from evaluator.cli import run
from evaluator.demo import generate
from evaluator.demo.names import registry
from evaluator.standard.yamlsafe import load_yaml

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _evaluate(round_yaml: Path, out: Path) -> dict:
    assert run(["evaluate", str(round_yaml), "--out", str(out), "-q"]) == 0
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo300(tmp_path_factory):
    base = tmp_path_factory.mktemp("demo300")
    round_yaml = generate(base / "round", 300, 2026)
    return round_yaml, _evaluate(round_yaml, base / "results")


def test_small_demo_evaluates(tmp_path):
    round_yaml = generate(tmp_path / "round", 60, 2026)
    assert round_yaml == tmp_path / "round" / "round.yaml"
    root = round_yaml.parent
    for name in ("organizations.csv", "evidence/values.csv", "evidence/records.csv"):
        assert (root / name).is_file(), name
    yaml_files = sorted((root / "evidence" / "orgs").glob("*.yaml"))
    assert 1 <= len(yaml_files) <= 20
    doc, _ = load_yaml(yaml_files[0])
    assert any(isinstance(v, dict) and {"self", "verified", "inspector", "verified_on"} <= set(v)
               for v in doc["values"].values())
    data = _evaluate(round_yaml, tmp_path / "out")
    assert data["summary"]["organizations"] == 60
    outcomes = Counter(c["outcome"] for o in data["organizations"] for c in o["criteria"])
    assert outcomes["error"] == 0


def test_round_file(tmp_path):
    round_yaml = generate(tmp_path / "round", 60, 1)
    doc, _ = load_yaml(round_yaml)
    assert doc["issuer"] == "中共示例区委组织部"
    assert "创A" in doc["title"]
    assert set(doc["standards"]) == {"community", "village", "agency", "soe", "nonpublic"}
    assert doc["lists"]["red"]["include"] and doc["lists"]["black"]["include_any"]
    assert doc["waivers"]


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = _files(generate(tmp_path / "a", 60, 7).parent)
    b = _files(generate(tmp_path / "b", 60, 7).parent)
    c = _files(generate(tmp_path / "c", 60, 8).parent)
    assert a == b
    assert a != c


def test_regenerating_into_the_same_folder_leaves_no_stale_evidence(tmp_path):
    generate(tmp_path / "round", 200, 1)
    round_yaml = generate(tmp_path / "round", 40, 2)
    data = _evaluate(round_yaml, tmp_path / "out")
    assert data["summary"]["organizations"] == 40


def test_tiers_vetoes_and_mismatches(demo300):
    _, data = demo300
    orgs = data["organizations"]
    tiers = Counter(o["tier"] for o in orgs if o["status"] == "graded")
    assert len(tiers) > 1
    assert any(o["vetoes"] for o in orgs)
    assert any(f["kind"] == "self_report_mismatch" for o in orgs for f in o["findings"])
    graded = [o for o in orgs if o["status"] == "graded"]
    assert len(graded) >= 0.9 * len(orgs)
    top = Counter(o["tier"] for o in graded if o["tier"] in ("A", "S5"))
    assert 0.05 < sum(top.values()) / len(graded) < 0.5
    assert data["lists"]["red"]["entries"] and data["lists"]["black"]["entries"]


def test_evidence_mix(demo300):
    round_yaml, _ = demo300
    ev = round_yaml.parent / "evidence"
    with (ev / "values.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    verified = [r for r in rows if r["verified"]]
    assert 0.15 < len(verified) / len(rows) < 0.45
    assert all(r["inspector"].startswith("督导") for r in verified)
    assert all("2026-10-01" <= r["verified_on"] <= "2026-11-30" for r in verified)
    cells = [r["self"] for r in rows]
    assert any(any("０" <= ch <= "９" for ch in c) for c in cells)      # full-width digits
    assert any(c.endswith("%") for c in cells)
    assert "是" in cells and "否" in cells
    with (ev / "records.csv").open(encoding="utf-8-sig") as fh:
        recs = list(csv.DictReader(fh))
    dates = [r["date"] for r in recs]
    assert any("年" in d for d in dates) and any("/" in d for d in dates)   # dates as people type them
    assert not any(d.isdigit() and len(d) != 8 for d in dates)   # never an Excel day number in a CSV
    assert {r["source"] for r in recs} == {"self", "verified"}


def test_any_standard_drives_generation(tmp_path):
    types = ("community", "village", "agency", "soe", "nonpublic")
    mini = tmp_path / "mini.yaml"      # the mini standard, declared for every type it is used for here
    mini.write_text((FIXTURES / "mini" / "mini.yaml").read_text(encoding="utf-8").replace(
        "applies_to: [community]", f"applies_to: [{', '.join(types)}]"), encoding="utf-8")
    round_yaml = generate(tmp_path / "round", 120, 3, standards={t: mini for t in types})
    data = _evaluate(round_yaml, tmp_path / "out")
    assert data["summary"]["organizations"] == 120
    assert len({o["tier"] for o in data["organizations"] if o["tier"]}) > 1


def test_registry_shape():
    orgs = registry(2000, random.Random(1))
    assert len(orgs) == 2000
    assert len({o.id for o in orgs}) == 2000 and len({o.name for o in orgs}) == 2000
    assert orgs[0].id == "SL-0001"
    share = Counter(o.type for o in orgs)
    assert share["community"] == 700 and share["village"] == 500 and share["agency"] == 300
    by_id = {o.id: o for o in orgs}
    grids = [o for o in orgs if "网格党支部" in o.name]
    assert grids and all(by_id[g.parent].type == "community" and g.name.startswith(by_id[g.parent].name[:2])
                         for g in grids)
    assert all(o.name.endswith(("党委", "党总支", "党支部")) for o in orgs)
