"""Differential check of the vectorized baseline (bench/vectorized, issue 7) against agrade.

The baseline re-implements scoring, grading, placement, quotas, ranks and lists over whole
columns; these tests keep it honest: on demo rounds, on the mini fixture and on a round built
to hit the edges (a standard with unusual expressions, methods, components, gates and quotas;
evidence with odd cells, verified blanks, duplicate records, records outside the period, zero
denominators), every organization's outcomes, points, scores, tiers, ranks and every list
entry must equal what `agrade evaluate` wrote.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import shutil
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

pytest.importorskip("numpy")
pytest.importorskip("polars")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402

from evaluator.cli import run  # noqa: E402
from evaluator.demo import generate  # noqa: E402
from evaluator.standard.expr import _unit_key  # noqa: E402
from evaluator.terms import UNITS  # noqa: E402
from vectorized import Setup, compare, read_round, score_round  # noqa: E402
from vectorized.expr import record_unit_keys  # noqa: E402
from vectorized.intake import ymd_days  # noqa: E402
from vectorized.rational import Frac, round_half_up  # noqa: E402


def _agrade(round_yaml: Path, out: Path) -> Path:
    assert run(["evaluate", str(round_yaml), "--out", str(out), "-q"]) == 0
    return out / "results.json"


def _vectorized(round_yaml: Path, results: Path):
    setup = Setup(round_yaml)
    piv = read_round(setup)
    res = score_round(setup, piv)
    problems, n_orgs, n_outcomes = compare(setup, piv, res, results)
    return setup, piv, res, problems, n_orgs, n_outcomes


@pytest.fixture(scope="module", params=[2026, 7])
def demo300(request, tmp_path_factory):
    base = tmp_path_factory.mktemp(f"vec{request.param}")
    round_yaml = generate(base / "round", 300, request.param)
    return round_yaml, _agrade(round_yaml, base / "results")


def test_demo_round_agrees_completely(demo300):
    round_yaml, results = demo300
    _, piv, res, problems, n_orgs, n_outcomes = _vectorized(round_yaml, results)
    assert problems == []
    assert n_orgs == piv.n == 300
    assert n_outcomes > 300 * 40
    assert piv.fallback == 0            # the demo's odd cells (５００, 500平方米, 2026年3月5日) are read by columns


def test_the_comparison_is_not_vacuous(demo300):
    round_yaml, results = demo300
    setup, piv, res, problems, _, _ = _vectorized(round_yaml, results)
    assert problems == []
    s = res.stds[0]
    s.num[0, 0] += 1                    # one criterion's points
    res.rank["district"][int(np.flatnonzero(res.rank["district"])[0])] += 1
    res.lists["black"] = res.lists["black"][1:]
    problems, _, _ = compare(setup, piv, res, results)
    assert any(".criteria[0].points" in p for p in problems)
    assert any(".rank.district" in p for p in problems)
    assert any(p.startswith("list black") for p in problems)


def test_the_baseline_as_a_command_computes_the_whole_round(demo300):
    """bench_scale.py measures the baseline end to end through this command, as it measures
    agrade's: it must compute every organization's outcomes, not start and stop."""
    round_yaml, results = demo300
    _, piv, res, problems, _, _ = _vectorized(round_yaml, results)
    assert problems == []
    outcomes = sum(s.code.shape[0] * s.code.shape[1] for s in res.stds)
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "vectorized_command.py"), str(round_yaml)],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"300 organizations, {outcomes} criterion outcomes"
    assert outcomes > 300 * 40
    missing = subprocess.run([sys.executable, str(ROOT / "bench" / "vectorized_command.py")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "round" in missing.stderr


def test_mini_fixture_agrees(tmp_path):
    shutil.copytree(ROOT / "tests" / "fixtures" / "mini", tmp_path / "round")
    results = _agrade(tmp_path / "round" / "round.yaml", tmp_path / "results")
    *_, problems, n_orgs, _ = _vectorized(tmp_path / "round" / "round.yaml", results)
    assert problems == [] and n_orgs == 3


# ------------------------------------------------------------------ a round built to hit the edges

EDGE_STANDARD = """
id: village_x
version: "2026.x"
title: 村党组织边界测试标准
issuer: 测试
effective: {from: 2026-01-01, to: 2026-12-31}
applies_to: [village]
extends: village
fields:
  honors_city: {type: integer, label: 获市级表彰数, unit: 个, min: 0, blank: zero}
  democratic_score: {type: number, label: 民主测评得分, min: 0, max: 100}
  lectures_extra: {type: records, label: 专题党课记录, blank: zero}
sections:
  - id: X1
    title: 边界指标
    criteria:
      - {guidance: g, rectification: r, id: X1.1, title: 季度会议与场所, points: 2, method: check,
         condition: "count(committee_meetings, 'quarter') >= 4 and exists(centre_area)"}
      - {guidance: g, rectification: r, id: X1.2, title: 人数组合, points: 1.5, method: check, na_policy: exclude,
         condition: "min(members_full, 10) + max(0, reserve_cadres) >= 5 or abs(members_full - members_trained) <= 2"}
      - {guidance: g, rectification: r, id: X1.3, title: 培训比例分档, points: 2, method: bands,
         value: "members_trained / (members_full + members_probationary)",
         bands: [{min: 0.9, points: 2}, {min: 0.6667, points: 1.5}, {min: 0.5, points: 0.5}]}
      - {guidance: g, rectification: r, id: X1.4, title: 每周学习, points: 1.5, method: frequency, records: theme_party_days, every: week,
         at_least: 1, deduct: 0.5}
      - {guidance: g, rectification: r, id: X1.5, title: 半年两次党课, points: 1, method: frequency, records: party_lectures, every: half_year,
         at_least: 2, deduct: 0.5, applies_if: "len(party_lectures) > 0 or secretary_rating in ['好', '较好']"}
      - {guidance: g, rectification: r, id: X1.6, title: 诉求办结率, points: 1, method: ratio, value: demands_closed_share, target: 97%,
         na_policy: forbid}
      - id: X1.7
        guidance: g
        rectification: r
        title: 扣分
        points: 1
        method: deduction
        items:
          - {id: a, label: 未轮训, when: "not secretary_trained", deduct: 0.5}
          - {id: b, label: 问题, count: "development_irregularities + criticized", deduct: 0.5}
      - {guidance: g, rectification: r, id: X1.8, title: 书记, points: 0, method: info, value: "days_since(last_election) / 7"}
      - {guidance: g, rectification: r, id: X1.9, title: 专题党课, points: 0.5, method: check, condition: "len(lectures_extra) >= 1 or org.type != 'village'"}
  - id: X2
    title: 边界加分
    criteria:
      - id: X2.1
        guidance: g
        rectification: r
        title: 表彰
        points: 2
        method: bonus
        items:
          - {id: c, label: 市级, count: honors_city, add: 0.5}
          - {id: d, label: 书记好, when: "secretary_rating == '好' and members_full > 20", add: 1}
      - {guidance: g, rectification: r, id: X2.2, title: 超期, points: 0, method: veto, cap_tier: B,
         when: "days_since(last_election) > 2500 and not exists(democratic_score)"}
override:
  G1.1: {points: 1}
  G6.4: {points: 0.5}
  G3.5: {points: 0.5}
  V3.1:
    points: 1.5
    bands: [{min: 500000, points: 1.5}, {min: 100000, points: 1}, {min: 50000, points: 0.5}]
grading:
  base: 100
  bonus_cap: 2.5
  min_reviewed_share: 85%
  components:
    - {id: verified, label: 核查, source: criteria, weight: 0.6}
    - {id: self, label: 自评, source: self_assessment, weight: 0.3}
    - {id: demo, label: 民主测评, source: field, field: democratic_score, weight: 0.1}
  tiers:
    - {id: A, name: A档, min: 88.5}
    - {id: B, name: B档, min: 79.995}
    - {id: C, name: C档, min: 60}
    - {id: D, name: D档, min: 0}
  gates:
    - {tier: A, condition: "veto_count == 0 and section_points('G2') >= 16 and points('G1.2') > 0", reason: a}
    - {tier: A, condition: "outcome('X1.6') == 'pass' or bonus >= 1", reason: b}
    - {tier: B, condition: "total - base < 5 and count(committee_meetings, 'month') >= 8", reason: c}
    - {tier: C, condition: "democratic_score >= 40", reason: d}
  quotas:
    - {tier: A, max_share: 15%, scope: street}
    - {tier: B, max_share: 40%, scope: district}
  tie_breaks: [total desc, base desc, "section:G2 desc", bonus desc, veto_count asc]
"""

LISTS = ["""lists:
  red:
    include: "top_tier and veto_count == 0 and rank_type <= 40"
    top: {n: 2, scope: district}
  black:
    include_any: ["veto_count > 0", "bottom_tier", "status == 'graded' and base < 55",
                  "not top_tier and bonus > 0 and org.type in ['village', 'community'] and total - base >= 1"]
    bottom: {share: 7%, scope: type}
""", """lists:
  red:
    top: {n: 1, scope: street}
  black:
    bottom: {share: 12.5%, scope: district}
"""]

_FULL = str.maketrans("0123456789.", "０１２３４５６７８９．")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def _odd(value: str, ftype: str, unit: str | None, rng: random.Random) -> str:
    """What people type instead of a clean cell (all of it readable)."""
    if ftype in ("integer", "number") and re.fullmatch(r"[0-9.]+", value):
        forms = [value.translate(_FULL), f" {value} ", value + "\u3000"] + ([value + ".0"] if ftype == "integer" else [])
        if unit:
            forms += [value + u for u in UNITS.get(unit, (unit,))] + [value + " " + unit]
        return rng.choice(forms)
    if ftype == "date" and _ISO.fullmatch(value):
        y, m, d = value.split("-")
        return rng.choice([f"{y}年{int(m)}月{int(d)}日", y + m + d, f"{y}/{int(m)}/{int(d)}", value + " 09:30", value + "T08:00:00+08:00"])
    if ftype == "boolean":
        return rng.choice({"是": ["√", "有", "TRUE", "Yes", "是 "], "否": ["×", "无", "False", "N", "０"]}.get(value, [value]))
    if ftype == "percentage" and value.endswith("%"):
        return rng.choice([value.translate(_FULL).replace("%", "％"), " " + value])
    return value


def _read(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def _write(path: Path, rows) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def build_edge_round(out: Path, n: int, seed: int) -> Path:
    from evaluator.standard.loader import load_standard
    generate(out, n, seed)
    (out / "stds").mkdir()
    (out / "stds" / "village_x.yaml").write_text(EDGE_STANDARD, encoding="utf-8")
    ry = (out / "round.yaml").read_text(encoding="utf-8")
    ry = ry.replace("  village: village\n", "  village: village_x\n")
    ry = ry.replace("organizations: organizations.csv", "standards_dirs: [stds/]\norganizations: organizations.csv")
    (out / "round.yaml").write_text(re.sub(r"lists:.*", "", ry, flags=re.S) + LISTS[seed % 2], encoding="utf-8")
    rng = random.Random(seed)
    std = load_standard(out / "stds" / "village_x.yaml", [out / "stds"])
    fields = std.fields
    villages = sorted(r[0] for r in _read(out / "organizations.csv")[1:] if r[2] == "村")
    zero_members = set(rng.sample(villages, min(3, len(villages))))
    head, *body = _read(out / "evidence" / "values.csv")
    for r in body:
        f = fields.get(r[1])
        t = f.type if f else None
        x = rng.random()
        if r[1] == "tasks_total" and x < 0.03:
            r[2], r[3] = "0", ("0" if r[3] else "")          # a ratio with a zero denominator: error
        elif r[0] in zero_members and r[1] in ("members_full", "members_probationary"):
            r[2], r[3] = "0", ("0" if r[3] else "")          # a division by zero in an expression
        elif t and r[2] and x < 0.10:
            r[2] = _odd(r[2], t, f.unit, rng)
        elif r[3] and x < 0.14:
            r[3] = rng.choice(["", "-", "无", "/", "N/A"]) if t != "boolean" else ""   # verified blank
        elif r[3] and x < 0.16 and t:
            r[3] = _odd(r[3], t, f.unit, rng)
    for oid in villages:
        x = rng.random()
        if x < 0.9:
            body.append([oid, "democratic_score", str(rng.choice([35, 55.5, 70, 88.25, 99, 100])), "", "", ""])
        if x < 0.3:
            for r in body:
                if r[0] == oid and r[1] == "honors_city":
                    r[2], r[3], r[4] = rng.choice(["", "-", "未填"]), "", ""    # blank: zero
        if 0.3 <= x < 0.4:
            body.append([oid, "lectures_extra", "2026-03-05、2026-04-06", "", "", ""])   # records in a value cell
        if 0.4 <= x < 0.45:
            body.append([oid, "lectures_extra", "", "", "督导一组-张伟", "2026-10-10"])   # verified blank records
    _write(out / "evidence" / "values.csv", [head] + body)
    head, *body = _read(out / "evidence" / "records.csv")
    extra = []
    for r in body:
        x = rng.random()
        if x < 0.03:
            extra.append(list(r))                                                   # listed twice
        elif x < 0.05 and _ISO.fullmatch(r[2]):
            r[2] = _odd(r[2], "date", None, rng)
        elif x < 0.06:
            r[3] = rng.choice(["无", "-", " 会议 "])
        elif x < 0.07:
            extra.append([r[0], r[1], rng.choice(["2025-12-31", "2027-01-01", "2026-12-31", "2026-01-01"]), "",
                          r[4], r[5], r[6]])                                        # at and outside the period's ends
    _write(out / "evidence" / "records.csv", [head] + body + extra)
    return out / "round.yaml"


@pytest.mark.parametrize("seed", [1, 2])
def test_edge_round_agrees_completely(tmp_path, seed):
    round_yaml = build_edge_round(tmp_path / "round", 240, seed)
    results = _agrade(round_yaml, tmp_path / "results")
    _, piv, res, problems, n_orgs, _ = _vectorized(round_yaml, results)
    assert problems == []
    assert n_orgs == 240
    assert piv.fallback > 0              # times of day, ISO zones: agrade's normalize() one cell at a time
    codes = np.concatenate([s.code.ravel() for s in res.stds])
    assert set(np.unique(codes)) == set(range(7))          # every outcome occurs, error and waived included
    assert (res.tier != res.tier_before).any()              # a quota moved someone


# ------------------------------------------------------------------ the vectorized pieces against the definitions

def test_dates_and_calendar_units_match_python():
    rng = random.Random(3)
    days = np.array([rng.randint(-800, 30000) for _ in range(3000)] + list(range(20450, 20460)), np.int64)
    dates = [dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in days]
    ok, back = ymd_days(np.array([d.year for d in dates]), np.array([d.month for d in dates]),
                        np.array([d.day for d in dates]))
    assert ok.all() and (back == days).all()
    bad, _ = ymd_days(np.array([2026, 2025, 2026, 2024]), np.array([2, 2, 13, 2]), np.array([29, 29, 1, 29]))
    assert bad.tolist() == [False, False, False, True]
    for unit in ("week", "month", "quarter", "half_year", "year"):
        keys = record_unit_keys(days, unit)
        py = [_unit_key(d, unit) for d in dates]
        # the same partition of the days: equal keys exactly where agrade's keys are equal
        first = {}
        for k, p in zip(keys.tolist(), py):
            assert first.setdefault(k, p) == p
        assert len(set(keys.tolist())) == len(set(py))


def test_half_up_rounding_of_fractions_matches_decimal():
    rng = random.Random(4)
    nums = np.array([rng.randint(-10 ** 9, 10 ** 9) for _ in range(2000)] + [5, -5, 15, 25, -25, 1, 0], np.int64)
    den = 1000
    got = round_half_up(Frac(nums, den), 100)
    want = [int((Decimal(int(x)) / den * 100).quantize(Decimal(1), ROUND_HALF_UP)) for x in nums]
    assert np.asarray(got).tolist() == want
