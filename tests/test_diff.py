"""`agrade diff OLD NEW`: what changed between two versions of a standard, in plain Chinese,
grouped by section (issue 10, "Rules published from the rules").

Two versions of a small standard are written here: the second changes points, a requirement,
a deduction, a band's threshold, a title, removes one criterion, adds one, renumbers a veto
and changes its cap, moves the tier lines, adds a tier, rewrites a gate, lowers a quota and
adds a target. A child standard extending each version shows that a parent's changes reach
the merged child.
"""
from __future__ import annotations

import json

import pytest
from conftest import run_cli

from test_plain_language import program_text

V1 = """\
id: pilot
version: "2026.1"
title: 试点街道党组织考评标准
issuer: 中共试点区委组织部
effective: {from: 2026-01-01, to: 2026-12-31}
applies_to: [community]
fields:
  members_full: {type: integer, label: 正式党员人数, unit: 人, min: 0}
  centre_area: {type: number, label: 党群服务中心面积, unit: m2, min: 0}
  meetings: {type: records, label: 支部委员会会议记录}
  violation: {type: boolean, label: 班子成员发生严重违纪问题}
  platform: {type: boolean, label: 使用智慧党建平台}
  criticized: {type: integer, label: 被上级通报批评次数, unit: 次, min: 0}
  volunteers: {type: integer, label: 党员志愿者人数, unit: 人, min: 0}
sections:
  - id: P1
    title: 组织建设
    criteria:
      - {id: P1.1, title: 党员人数达标, points: 20, method: check, condition: "members_full >= 3", rectification: 按要求整改}
      - {id: P1.2, title: 支委会每月召开, points: 30, method: frequency, records: meetings, every: month, deduct: 0.5, rectification: 按要求整改}
  - id: P2
    title: 阵地建设
    criteria:
      - id: P2.1
        title: 党群服务中心面积
        points: 30
        method: bands
        rectification: 按要求整改
        value: centre_area
        bands: [{min: 500, points: 30}, {min: 300, points: 20}]
      - {id: P2.2, title: 智慧党建平台, points: 10, method: check, condition: "platform", rectification: 按要求整改}
      - id: P2.3
        title: 通报批评
        points: 10
        method: deduction
        rectification: 按要求整改
        items: [{id: c, label: 被上级通报批评, count: criticized, deduct: 2}]
  - id: P9
    title: 一票否决项
    criteria:
      - {id: P9.1, title: 严重违纪, method: veto, when: "violation", cap_tier: C, rectification: 按要求整改}
grading:
  base: 100
  tiers: [{id: A, name: A档, min: 90}, {id: B, name: B档, min: 75}, {id: C, name: C档, min: 0}]
  gates: [{tier: A, condition: "veto_count == 0"}]
  quotas: [{tier: A, max_share: 30%, scope: district}]
"""

V2 = """\
id: pilot
version: "2026.2"
title: 试点街道党组织考评标准
issuer: 中共试点区委组织部
effective: {from: 2027-01-01, to: 2027-12-31}
applies_to: [community]
fields:
  members_full: {type: integer, label: 正式党员人数, unit: 人, min: 0}
  centre_area: {type: number, label: 党群服务中心面积, unit: m2, min: 0}
  meetings: {type: records, label: 支部委员会会议记录}
  violation: {type: boolean, label: 班子成员发生严重违纪问题}
  platform: {type: boolean, label: 使用智慧党建平台}
  criticized: {type: integer, label: 被上级通报批评次数, unit: 次, min: 0}
  volunteers: {type: integer, label: 党员志愿者人数, unit: 人, min: 0}
sections:
  - id: P1
    title: 组织建设
    criteria:
      - {id: P1.1, title: 党员人数达标, points: 15, method: check, condition: "members_full >= 5", rectification: 按要求整改}
      - {id: P1.2, title: 支委会每月召开, points: 30, method: frequency, records: meetings, every: month, deduct: 1, rectification: 按要求整改}
  - id: P2
    title: 阵地建设
    criteria:
      - id: P2.1
        title: 党群服务中心面积达标
        points: 30
        method: bands
        rectification: 按要求整改
        value: centre_area
        bands: [{min: 400, points: 30}, {min: 300, points: 20}]
      - id: P2.3
        title: 通报批评
        points: 15
        method: deduction
        rectification: 按要求整改
        items: [{id: c, label: 被上级通报批评, count: criticized, deduct: 2}]
      - {id: P2.4, title: 党员志愿服务, points: 10, method: threshold, field: volunteers, op: ">=", value: 5, rectification: 按要求整改}
  - id: P9
    title: 一票否决项
    criteria:
      - {id: P9.2, title: 严重违纪, method: veto, when: "violation", cap_tier: D, rectification: 按要求整改}
grading:
  base: 100
  tiers: [{id: A, name: A档, min: 92}, {id: B, name: B档, min: 75}, {id: C, name: C档, min: 60}, {id: D, name: D档, min: 0}]
  gates: [{tier: A, condition: "veto_count == 0 and section_points('P1') >= 40"}]
  quotas: [{tier: A, max_share: 25%, scope: district}]
  target: {tier: A, min_share: 20%, scope: type}
"""

KID = """\
id: pilotkid
version: "{version}"
title: 试点社区党组织考评标准
issuer: 中共试点区委组织部
effective: {effective}
applies_to: [community]
extends: pilot
override:
  P1.2: {{title: 支部委员会会议每月召开}}
"""


@pytest.fixture
def versions(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    for folder, text, version, effective in ((old, V1, "2026.1", "{from: 2026-01-01, to: 2026-12-31}"),
                                             (new, V2, "2026.2", "{from: 2027-01-01, to: 2027-12-31}")):
        folder.mkdir()
        (folder / "pilot.yaml").write_text(text, encoding="utf-8")
        (folder / "pilotkid.yaml").write_text(KID.format(version=version, effective=effective), encoding="utf-8")
    return old, new


def _diff(old, new, *more):
    code, out, err = run_cli("diff", old, new, *more)
    assert code == 0, err
    return out


def _groups(text: str) -> dict[str, list[str]]:
    """【group】 headings and the lines under each, in order."""
    groups: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines()[1:]:
        if line.startswith("【"):
            current = groups.setdefault(line.strip("【】"), [])
        else:
            current.append(line.strip().lstrip("· "))
    return groups


def test_every_kind_of_change_is_listed_in_plain_chinese_under_its_section(versions):
    old, new = versions
    out = _diff(old / "pilot.yaml", new / "pilot.yaml")
    groups = _groups(out)
    assert list(groups) == ["基本信息", "P1 组织建设", "P2 阵地建设", "P9 一票否决项", "定档办法"]
    assert out.splitlines()[0] == f"《试点街道党组织考评标准》 2026.1版 → 2026.2版：共 {sum(map(len, groups.values()))} 处变化"
    assert groups["基本信息"] == ["版本：2026.1 → 2026.2", "施行期间：2026年1月1日至2026年12月31日 → 2027年1月1日至2027年12月31日"]
    assert groups["P1 组织建设"] == [
        "基础分值合计：50 分 → 45 分",
        "P1.1 党员人数达标 分值：20 分 → 15 分",
        "P1.1 党员人数达标 要求：正式党员人数不少于 3 人 → 正式党员人数不少于 5 人",
        "P1.2 支委会每月召开 扣分：每缺 1 次扣 0.5 分 → 每缺 1 次扣 1 分",
    ]
    assert groups["P2 阵地建设"] == [
        "基础分值合计：50 分 → 55 分",
        "P2.1 指标名称：“党群服务中心面积” → “党群服务中心面积达标”",
        "P2.1 党群服务中心面积达标 第 1 档：达到 500 平方米得 30 分 → 达到 400 平方米得 30 分",
        "P2.3 通报批评 分值：10 分 → 15 分",
        "新增指标 P2.4 党员志愿服务（10 分）：党员志愿者人数不少于 5 人的得 10 分，否则不得分",
        "删除指标 P2.2 智慧党建平台（10 分）",
    ]
    assert groups["P9 一票否决项"] == ["严重违纪：编号 P9.1 → P9.2", "P9.2 严重违纪 档次上限：C档 → D档"]
    assert groups["定档办法"] == [
        "A档：总分 90 分及以上 → 总分 92 分及以上",
        "B档：总分 75 分及以上、不足 90 分 → 总分 75 分及以上、不足 92 分",
        "C档：总分不足 75 分 → 总分 60 分及以上、不足 75 分",
        "新增档次：D档，总分不足 60 分",
        "评为A档的条件：评为A档须未触发一票否决 → 评为A档须未触发一票否决且组织建设得分不低于 40 分",
        "A档比例上限：A档不超过各区县已定档组织的 30%（名额向下取整，按排名确定；超出名额的依次降档） → "
        "A档不超过各区县已定档组织的 25%（名额向下取整，按排名确定；超出名额的依次降档）",
        "新增目标：A档占比目标，不低于 20%（各领域分别统计，用于通报，不影响定档）",
    ]
    assert not program_text(out), program_text(out)


def test_the_same_version_twice_has_no_changes(versions):
    old, _ = versions
    out = _diff(old / "pilot.yaml", old / "pilot.yaml")
    assert out == "《试点街道党组织考评标准》 2026.1版 → 2026.1版：两个版本的考评内容相同\n"
    assert json.loads(_diff(old / "pilot.yaml", old / "pilot.yaml", "--format", "json"))["changes"] == []


def test_a_parents_changes_reach_the_merged_child(versions):
    """1+N: the child is compared as merged, so the parent's new requirement shows in it, and
    the child's own override (a title) stays the same on both sides."""
    old, new = versions
    groups = _groups(_diff(old / "pilotkid.yaml", new / "pilotkid.yaml"))
    assert "制定依据：《试点街道党组织考评标准》（2026.1版） → 《试点街道党组织考评标准》（2026.2版）" in groups["基本信息"]
    assert "P1.1 党员人数达标 要求：正式党员人数不少于 3 人 → 正式党员人数不少于 5 人" in groups["P1 组织建设"]
    assert "P1.2 支部委员会会议每月召开 扣分：每缺 1 次扣 0.5 分 → 每缺 1 次扣 1 分" in groups["P1 组织建设"]
    assert not any("指标名称" in line for line in groups["P1 组织建设"])


def test_markdown_and_json_carry_the_same_changes(versions):
    old, new = versions
    text = _diff(old / "pilot.yaml", new / "pilot.yaml")
    md = _diff(old / "pilot.yaml", new / "pilot.yaml", "--format", "md")
    data = json.loads(_diff(old / "pilot.yaml", new / "pilot.yaml", "--format", "json"))
    lines = [line.strip().lstrip("· ") for line in text.splitlines()[1:] if not line.startswith("【")]
    assert [c["text"] for c in data["changes"]] == lines
    assert data["count"] == len(lines)
    assert (data["old"]["version"], data["new"]["version"]) == ("2026.1", "2026.2")
    assert data["old"]["digest"] != data["new"]["digest"] and data["new"]["digest"].startswith("sha256:")
    assert {c["kind"] for c in data["changes"]} == {"added", "removed", "changed", "renamed"}
    band = next(c for c in data["changes"] if "第 1 档" in c["text"])
    assert (band["group"], band["old"], band["new"]) == ("P2 阵地建设", "达到 500 平方米得 30 分", "达到 400 平方米得 30 分")
    assert md.splitlines()[0].startswith("# 《试点街道党组织考评标准》 2026.1版 → 2026.2版")
    assert [line[3:] for line in md.splitlines() if line.startswith("## ")] == list(_groups(text))
    assert [line[2:] for line in md.splitlines() if line.startswith("- ")] == lines


def test_bad_input_exits_2_naming_the_file(versions, tmp_path):
    old, _ = versions
    code, out, err = run_cli("diff", old / "pilot.yaml", tmp_path / "nosuch" / "pilot.yaml")
    assert code == 2 and out == ""
    assert "nosuch/pilot.yaml" in err and "no standard" in err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "pilot.yaml").write_text(V2.replace('condition: "members_full >= 5"', 'condition: "member_full >= 5"'),
                                       encoding="utf-8")
    code, _, err = run_cli("diff", old / "pilot.yaml", broken / "pilot.yaml")
    assert code == 2
    assert "pilot.yaml:19:" in err and "did you mean 'members_full'" in err
    code, _, err = run_cli("diff", old / "pilot.yaml", old / "pilot.yaml", "--format", "xml")
    assert code == 2 and "unknown format 'xml'" in err


def test_shipped_general_against_its_community_child_reads_without_program_text():
    """Two real standards that differ a lot: every line is plain Chinese."""
    out = _diff("general", "community")
    assert "删除指标 G4.4 智慧党建平台应用（3 分）" in out
    assert not program_text(out), "\n".join(program_text(out)[:20])


def test_a_criterion_moved_to_another_section_is_said_so_under_its_new_section(tmp_path):
    moved = V1.replace('      - {id: P1.1, title: 党员人数达标, points: 20, method: check, condition: "members_full >= 3", '
                       'rectification: 按要求整改}\n', "")
    moved = moved.replace("    title: 阵地建设\n    criteria:\n", "    title: 阵地建设\n    criteria:\n"
                          '      - {id: P1.1, title: 党员人数达标, points: 20, method: check, condition: "members_full >= 3", '
                          'rectification: 按要求整改}\n')
    assert moved != V1
    for name, text in (("a", V1), ("b", moved)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "pilot.yaml").write_text(text, encoding="utf-8")
    groups = _groups(_diff(tmp_path / "a" / "pilot.yaml", tmp_path / "b" / "pilot.yaml"))
    assert groups == {"P1 组织建设": ["基础分值合计：50 分 → 30 分"],
                      "P2 阵地建设": ["基础分值合计：50 分 → 70 分", "P1.1 党员人数达标：由“组织建设”调入本部分"]}


def test_a_renamed_part_of_a_rule_is_one_change_and_a_renamed_tier_its_own(tmp_path):
    """A criterion's part keeps its place and says its new label inside its one change; a tier
    is a thing with a name: renaming it is a change of its own, then its lines follow. Parts
    added and removed are said in the words of each (新增扣分情形…, 取消第 2 档, 取消比例控制)."""
    v3 = (V2.replace("{id: B, name: B档, min: 75}", "{id: B, name: 良好档, min: 78}")
          .replace("  quotas: [{tier: A, max_share: 25%, scope: district}]\n", "")
          .replace("items: [{id: c, label: 被上级通报批评, count: criticized, deduct: 2}]",
                   "items: [{id: c, label: 被上级通报批评或约谈, count: criticized, deduct: 2}, "
                   "{id: v, label: 志愿者不足, count: volunteers, deduct: 1}]")
          .replace("bands: [{min: 400, points: 30}, {min: 300, points: 20}]", "bands: [{min: 400, points: 30}]"))
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "old" / "pilot.yaml").write_text(V2, encoding="utf-8")
    (tmp_path / "new" / "pilot.yaml").write_text(v3, encoding="utf-8")
    out = _diff(tmp_path / "old" / "pilot.yaml", tmp_path / "new" / "pilot.yaml")
    assert _groups(out) == {
        "P2 阵地建设": [
            "P2.1 党群服务中心面积达标 取消第 2 档：达到 300 平方米得 20 分",
            "P2.3 通报批评 扣分情形“被上级通报批评”（现为扣分情形“被上级通报批评或约谈”）："
            "被上级通报批评，每次扣 2 分 → 被上级通报批评或约谈，每次扣 2 分",
            "P2.3 通报批评 新增扣分情形“志愿者不足”：志愿者不足，每人扣 1 分"],
        "定档办法": [
            "档次名称：B档 → 良好档",
            "良好档：总分 75 分及以上、不足 92 分 → 总分 78 分及以上、不足 92 分",
            "C档：总分 60 分及以上、不足 75 分 → 总分 60 分及以上、不足 78 分",
            "取消比例控制：A档比例上限，A档不超过各区县已定档组织的 25%（名额向下取整，按排名确定；超出名额的依次降档）"]}
    changes = json.loads(_diff(tmp_path / "old" / "pilot.yaml", tmp_path / "new" / "pilot.yaml", "--format", "json"))["changes"]
    assert [(c["kind"], c["subject"]) for c in changes] == [
        ("removed", "P2.1 党群服务中心面积达标"), ("changed", "P2.3 通报批评"), ("added", "P2.3 通报批评"),
        ("renamed", "良好档"), ("changed", "良好档"), ("changed", "C档"), ("removed", "A档比例上限")]
