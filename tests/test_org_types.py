"""Organization types declared by the standard set (网格党支部, 小区党支部 …) beside the built-in ones:
registered, typed in the registry by code, name or alias, rated, shown by their Chinese name."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli

STANDARD = """\
id: gridstd
version: "1"
title: 网格与小区党支部标准
issuer: 测试组织部
effective: {from: 2026-01-01, to: 2026-12-31}
applies_to: [grid, estate, community]
types:
  grid: {name: 网格党支部, aliases: [网格支部]}
  estate: {name: 小区党支部}
fields:
  members_full: {type: integer, label: 正式党员人数, unit: 人, min: 0}
  households: {type: integer, label: 网格户数, unit: 户, min: 0}
sections:
  - id: W1
    title: 网格
    criteria:
      - {id: W1.1, title: 支部设置, points: 60, method: check, condition: "members_full >= 3", rectification: 调整设置}
      - id: W1.2
        title: 网格规模
        points: 40
        method: check
        condition: "households <= 300"
        applies_if: "org.type != 'estate'"
        rectification: 调整网格
grading:
  base: 100
  min_reviewed_share: 10%
  tiers: [{id: A, name: A档, min: 90}, {id: B, name: B档, min: 0}]
  tie_breaks: [total desc]
"""

ROUND = """\
id: types-2026
title: 自定义类型测试
issuer: 测试组织部
period: {from: 2026-01-01, to: 2026-12-31}
standards: {grid: gridstd.yaml, estate: gridstd.yaml, community: gridstd.yaml}
organizations: orgs.csv
evidence: evidence/
"""

ORGS = """id,name,type,district,street,parent
W1,一网格党支部,网格党支部,东区,一街道,
W2,二网格党支部,网格支部,东区,一街道,
W3,三网格党支部,grid,东区,一街道,
E1,花园小区党支部,小区党支部,东区,一街道,
C1,甲社区党委,社区,东区,一街道,
"""

EVIDENCE = """\
organizations:
  - {organization: W1, values: {members_full: 5, households: 280}}
  - {organization: W2, values: {members_full: 5, households: 400}}
  - {organization: W3, values: {members_full: 2, households: 100}}
  - {organization: E1, values: {members_full: 9}}
  - {organization: C1, values: {members_full: 30, households: 250}}
"""


def make_round(tmp: Path, standard: str = STANDARD, rnd: str = ROUND, orgs: str = ORGS) -> Path:
    (tmp / "gridstd.yaml").write_text(standard, encoding="utf-8")
    (tmp / "round.yaml").write_text(rnd, encoding="utf-8")
    (tmp / "orgs.csv").write_text(orgs, encoding="utf-8")
    (tmp / "evidence").mkdir(exist_ok=True)
    (tmp / "evidence" / "all.yaml").write_text(EVIDENCE, encoding="utf-8")
    return tmp / "round.yaml"


def test_declared_types_are_registered_rated_and_shown_by_their_chinese_name(tmp_path):
    rnd = make_round(tmp_path)
    code, stdout, stderr = run_cli("evaluate", rnd, "--out", tmp_path / "out", "--workers", "2")
    assert code == 0, stdout + stderr
    orgs = {o["id"]: o for o in json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))["organizations"]}
    assert {o: (orgs[o]["type"], orgs[o]["type_name"]) for o in orgs} == {
        "W1": ("grid", "网格党支部"), "W2": ("grid", "网格党支部"), "W3": ("grid", "网格党支部"),
        "E1": ("estate", "小区党支部"), "C1": ("community", "社区")}
    assert orgs["W1"]["tier"] == "A" and orgs["W2"]["total"] == 60 and orgs["W3"]["total"] == 40
    w12 = next(c for c in orgs["E1"]["criteria"] if c["id"] == "W1.2")
    assert w12["outcome"] == "not_applicable"
    assert "组织类型不为小区党支部" in w12["reason"]                # the condition reads with the declared name
    assert orgs["W1"]["rank"]["type"] == 1 and orgs["E1"]["rank"]["type"] == 1

    code, stdout, stderr = run_cli("explain", tmp_path / "out", "W2")
    assert code == 0 and "网格党支部" in stdout

    code, stdout, stderr = run_cli("report", tmp_path / "out", "--out", tmp_path / "rep", "--kind", "summary,scorecards",
                                   "--format", "html")
    assert code == 0, stdout + stderr
    summary = next((tmp_path / "rep").rglob("summary*.html")).read_text(encoding="utf-8")
    assert "网格党支部" in summary and "小区党支部" in summary
    assert ">grid<" not in summary and ">estate<" not in summary
    card = next(p for p in (tmp_path / "rep").rglob("*.html") if "W1" in p.name).read_text(encoding="utf-8")
    assert "网格党支部" in card


def refusal(tmp_path, **kw) -> str:
    rnd = make_round(tmp_path, **kw)
    code, stdout, stderr = run_cli("evaluate", rnd, "--out", tmp_path / "out")
    assert code == 2, stdout + stderr
    return stdout + stderr


def test_an_unknown_type_in_the_registry_gets_did_you_mean(tmp_path):
    out = refusal(tmp_path, orgs=ORGS.replace("W3,三网格党支部,grid,", "W3,三网格党支部,gird,")
                  .replace("W2,二网格党支部,网格支部,", "W2,二网格党支部,网格党支,"))
    assert "orgs.csv:3:3: row 3.type: unknown organization type '网格党支'; did you mean '网格党支部'?" in out
    assert "orgs.csv:4:3: row 4.type: unknown organization type 'gird'; did you mean 'grid'?" in out


def test_round_and_standard_name_only_known_types(tmp_path):
    out = refusal(tmp_path, rnd=ROUND.replace("grid: gridstd.yaml", "gird: gridstd.yaml"))
    assert "round.yaml:5:13: $.standards.gird:" in out and "unknown organization type 'gird'; did you mean 'grid'?" in out
    out = refusal(tmp_path, standard=STANDARD.replace("applies_to: [grid,", "applies_to: [grdi,"))
    assert "gridstd.yaml:6:" in out and "unknown organization type 'grdi'; did you mean 'grid'?" in out


def test_a_declared_type_may_not_take_a_built_in_code_or_name(tmp_path):
    out = refusal(tmp_path, standard=STANDARD.replace("estate: {name: 小区党支部}", "village: {name: 小区党支部}"))
    assert "'village' is a built-in organization type (村); declare only new types" in out
    out = refusal(tmp_path, standard=STANDARD.replace("estate: {name: 小区党支部}", "estate: {name: 社区}"))
    assert "type 'estate': '社区' already names the type 'community'" in out
