"""Designations (认定, e.g. 软弱涣散党组织) and rules across rounds (`previous:`), through the
command line: who is designated and why, what a rule on the previous round does for an
organization that round did not have, and the errors a user gets for a wrong round file."""
from __future__ import annotations

import json
import shutil

import pytest

from conftest import run_cli

WEAK = """
designations:
  weak:
    title: 软弱涣散党组织
    include_any: ["veto_count > 0", "bottom_tier and previous.bottom_tier"]
  steady:
    title: 连续两年最高档次
    include: "top_tier and previous.top_tier"
"""


@pytest.fixture(scope="module")
def two_rounds(tmp_path_factory):
    """Last year's round evaluated, and this year's: the same organizations and evidence, with
    designations reading last year's results, and five organizations new this year."""
    from evaluator.demo import generate
    base = tmp_path_factory.mktemp("rounds")
    last = generate(base / "last", 80, 11)
    assert run_cli("evaluate", last, "--out", base / "last-results", "-q")[0] == 0
    this_dir = base / "this"
    shutil.copytree(last.parent, this_dir)
    this = this_dir / last.name
    this.write_text(this.read_text(encoding="utf-8") + WEAK + "previous: ../last-results\n", encoding="utf-8")
    # five organizations last year's results do not have
    results = json.loads((base / "last-results" / "results.json").read_text(encoding="utf-8"))
    new = [o["id"] for o in results["organizations"][:5]]
    prev = base / "last-results" / "results.json"
    data = prev.read_bytes()
    for oid in new:
        data = data.replace(f'"id":"{oid}"'.encode(), f'"id":"{oid}-OLD"'.encode())
    edited = base / "last-edited"
    shutil.copytree(base / "last-results", edited)
    (edited / "results.json").write_bytes(data)
    code, _, err = run_cli("evaluate", this, "--out", base / "this-results", "-q")
    assert code == 0, err
    return base, this, results, new


def _designated(payload: dict, did: str) -> dict[str, list[str]]:
    return {e["organization"]: e["reasons"] for e in payload["designations"][did]["entries"]}


def test_designations_follow_their_rules_over_both_rounds(two_rounds):
    base, _, last, _ = two_rounds
    now = json.loads((base / "this-results" / "results.json").read_text(encoding="utf-8"))
    tiers = {sid: [t["id"] for t in s["tiers"]] for sid, s in now["standards"].items()}
    before = {o["id"]: o for o in last["organizations"]}

    def bottom(o):
        return o["status"] == "graded" and o["tier"] == tiers[o["standard"]["id"]][-1]

    def top(o):
        return o["status"] == "graded" and o["tier"] == tiers[o["standard"]["id"]][0]

    weak = _designated(now, "weak")
    expected = {o["id"] for o in now["organizations"] if o["vetoes"] or (bottom(o) and bottom(before[o["id"]]))}
    assert set(weak) == expected and expected, "someone is designated, exactly those the rule names"
    for oid, why in weak.items():
        o = now["organizations"][[x["id"] for x in now["organizations"]].index(oid)]
        assert ("符合条件：触发一票否决" in why) == bool(o["vetoes"])
        assert ("符合条件：处于最低档次且上一轮处于最低档次" in why) == (bottom(o) and bottom(before[oid]))
    steady = set(_designated(now, "steady"))
    assert steady == {o["id"] for o in now["organizations"] if top(o) and top(before[o["id"]])} and steady
    assert now["previous"]["id"] == last["round"]["id"]
    assert now["designations"]["weak"]["title"] == "软弱涣散党组织"


def test_an_organization_the_previous_round_did_not_have_is_not_designated_on_it(two_rounds):
    base, this, last, new = two_rounds
    text = this.read_text(encoding="utf-8").replace("previous: ../last-results", "previous: ../last-edited")
    this.with_name("round-edited.yaml").write_text(text, encoding="utf-8")
    # the edited folder's results.json no longer matches its run.json: refused, named
    code, _, err = run_cli("evaluate", this.with_name("round-edited.yaml"), "--out", base / "edited-out", "-q")
    assert code == 2 and "last-edited" in err and not (base / "edited-out" / "results.json").exists()
    # made consistent (as an evaluate of a registry without them would write it), it is read
    from evaluator.scoring.results import digest
    run = json.loads((base / "last-edited" / "run.json").read_text(encoding="utf-8"))
    run["files"]["results.json"] = digest((base / "last-edited" / "results.json").read_bytes())
    (base / "last-edited" / "run.json").write_text(json.dumps(run), encoding="utf-8")
    code, _, err = run_cli("evaluate", this.with_name("round-edited.yaml"), "--out", base / "edited-out", "-q")
    assert code == 0, err
    now = json.loads((base / "edited-out" / "results.json").read_text(encoding="utf-8"))
    steady = set(_designated(now, "steady"))
    full = set(_designated(json.loads((base / "this-results" / "results.json").read_text(encoding="utf-8")), "steady"))
    assert steady == full - set(new) and full & set(new), "the new organizations drop out, no one else"


def test_explain_names_the_designation_and_why(two_rounds):
    base, _, _, _ = two_rounds
    now = json.loads((base / "this-results" / "results.json").read_text(encoding="utf-8"))
    oid, why = next(iter(_designated(now, "weak").items()))
    code, out, _ = run_cli("explain", base / "this-results", oid)
    assert code == 0 and "认定：" in out and "软弱涣散党组织" in out and why[0] in out


def test_rescore_reports_designations_gained_and_lost(two_rounds, tmp_path):
    base, this, _, _ = two_rounds
    shutil.copytree(base / "this-results", tmp_path / "res")
    now = json.loads((tmp_path / "res" / "results.json").read_text(encoding="utf-8"))
    values = this.parent / "evidence" / "values.csv"
    original = values.read_text(encoding="utf-8-sig")
    lines = original.splitlines()
    # an organization designated 连续两年最高档次 whose evidence now shows a serious violation (a
    # veto capping it at the lowest tier): it must lose that designation and be designated weak
    at = next(i for i, line in enumerate(lines) if line.split(",")[0] in _designated(now, "steady")
              and line.split(",")[1] == "serious_violation")
    row = lines[at].split(",")
    oid = row[0]
    row[2] = "是"
    if row[3]:
        row[3] = "是"
    lines[at] = ",".join(row)
    try:
        values.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
        code, out, err = run_cli("rescore", this, oid, "--results", tmp_path / "res")
    finally:
        values.write_text(original, encoding="utf-8-sig")
    assert code == 0, err
    after = json.loads((tmp_path / "res" / "results.json").read_text(encoding="utf-8"))
    assert oid in _designated(after, "weak") and oid not in _designated(after, "steady")
    assert "软弱涣散党组织" not in out.split("\n")[0]            # the first line is its own scores
    assert f"{oid}：总分" in out


@pytest.mark.parametrize("extra, path, message", [
    ("previous: ../nowhere\n", "$.previous", "is not a results folder"),
    ("designations:\n  weak: {include: \"bottom_tier and previous.bottom_tier\"}\n", "$.designations.weak",
     "missing required key 'title'"),
    ("designations:\n  weak: {title: 软弱涣散, include: \"previous.bottom_tier\"}\n", "$.designations",
     "names no previous"),
    ("designations:\n  Weak: {title: 软弱涣散, include: \"bottom_tier\"}\n", "$.designations.Weak", "does not match"),
])
def test_a_wrong_round_file_is_refused_at_its_line(tmp_path, extra, path, message):
    from evaluator.demo import generate
    rnd = generate(tmp_path / "r", 12, 2)
    rnd.write_text(rnd.read_text(encoding="utf-8") + extra, encoding="utf-8")
    code, _, err = run_cli("evaluate", rnd, "--out", tmp_path / "out", "-q")
    assert code == 2 and message in err and path in err, err
    assert not (tmp_path / "out").exists()
