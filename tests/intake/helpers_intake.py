"""Shared by the intake regression tests: a small standard and a round written into tmp_path."""
from __future__ import annotations

from pathlib import Path

import pytest

from evaluator.errors import InputError
from evaluator.intake.rounds import load_round
from evaluator.scoring.run import evaluate_round, load_evidence

# Three honour counts left blank mean "none" (blank: zero); the other fields keep the default.
STANDARD = """\
id: intake
version: "1"
title: 证据读取测试标准
issuer: 测试组织部
effective: {from: 2026-01-01, to: 2026-12-31}
applies_to: [community]
fields:
  members_full: {type: integer, label: 正式党员人数, unit: 人, min: 0}
  centre_area: {type: number, label: 党群服务中心面积, unit: m2, min: 0}
  grid_party_share: {type: percentage, label: 网格员中党员占比}
  last_election: {type: date, label: 上次换届日期}
  has_team: {type: boolean, label: 是否有常备志愿服务队}
  committee_meetings: {type: records, label: 支部委员会会议记录}
  awards_city: {type: integer, label: 市级表彰次数, unit: 次, min: 0, blank: zero}
  awards_province: {type: integer, label: 省级表彰次数, unit: 次, min: 0, blank: zero}
  awards_national: {type: integer, label: 国家级表彰次数, unit: 次, min: 0, blank: zero}
  trainings: {type: records, label: 培训记录, blank: zero}
sections:
  - id: G1
    title: 基础
    criteria:
      - {id: G1.1, title: 支部设置, points: 40, method: check, condition: "members_full >= 3", rectification: 调整设置}
      - {id: G1.2, title: 场所面积, points: 30, method: threshold, field: centre_area, op: ">=", value: 300, rectification: 扩建}
      - {id: G1.3, title: 支委会, points: 30, method: frequency, records: committee_meetings, every: quarter, deduct: 5, rectification: 按季召开}
  - id: G9
    title: 加分
    criteria:
      - id: G9.1
        title: 表彰
        points: 10
        method: bonus
        items:
          - {id: c, label: 市级表彰, count: awards_city, add: 1}
          - {id: p, label: 省级表彰, count: awards_province, add: 2}
          - {id: n, label: 国家级表彰, count: awards_national, add: 3}
        rectification: 争创
grading:
  base: 100
  bonus_cap: 10
  min_reviewed_share: 10%
  tiers:
    - {id: A, name: A档, min: 90}
    - {id: B, name: B档, min: 0}
  tie_breaks: [total desc]
"""

ROUND = """\
id: intake-2026
title: 证据读取测试
issuer: 测试组织部
period: {from: 2026-01-01, to: 2026-12-31}
standards: {community: intake.yaml}
organizations: orgs.csv
evidence: evidence/
"""

ORGS = "id,name,type,district,street,parent\nC1,甲社区党委,社区,东区,一街道,\nC2,乙社区党委,社区,东区,一街道,C1\n"


def make_round(tmp: Path, files: dict[str, str | bytes], orgs: str = ORGS) -> Path:
    """A round in `tmp` whose evidence/ holds `files` (name -> text or bytes)."""
    (tmp / "intake.yaml").write_text(STANDARD, encoding="utf-8")
    (tmp / "round.yaml").write_text(ROUND, encoding="utf-8")
    (tmp / "orgs.csv").write_text(orgs, encoding="utf-8")
    ev = tmp / "evidence"
    ev.mkdir(exist_ok=True)
    for name, content in files.items():
        p = ev / name
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    return tmp / "round.yaml"


def evidence_of(round_path: Path):
    """Resolved evidence by organization (what `evaluate` scores)."""
    return load_evidence(load_round(round_path))[0]


def refusals(round_path: Path) -> list[str]:
    """Every issue `evaluate` would print, as `file:line:col: path: message`."""
    with pytest.raises(InputError) as e:
        load_evidence(load_round(round_path))
    return [str(i) for i in e.value.issues]


def result_of(round_path: Path, org_id: str) -> dict:
    payload = evaluate_round(load_round(round_path))
    return next(o for o in payload["organizations"] if o["id"] == org_id)


def cli_refuses_alike(round_path: Path, *expected: str) -> str:
    """`validate` and `evaluate` both exit 2 with the same problems and no traceback; each
    `expected` text is among them. Returns the printed problems."""
    from conftest import run_cli
    code_v, _, err_v = run_cli("validate", round_path)
    code_e, _, err_e = run_cli("evaluate", round_path, "--out", round_path.parent / "out")
    assert (code_v, code_e) == (2, 2), (err_v, err_e)
    assert "Traceback" not in err_v + err_e
    problems_v = [line for line in err_v.splitlines() if not line.endswith(("file(s).", "written."))]
    problems_e = [line for line in err_e.splitlines() if not line.endswith(("file(s).", "written."))]
    assert problems_v == problems_e
    for text in expected:
        assert any(text in line for line in problems_v), (text, problems_v)
    assert not (round_path.parent / "out").exists()
    return "\n".join(problems_v)
