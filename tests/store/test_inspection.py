"""The inspection workflow as a department runs it, on SQLite and PostgreSQL: an inspection plan
loaded from YAML, teams assigned organizations, conflicts of interest refused (at assignment,
at submission) to the day, spot-check samples drawn reproducibly, exported for the teams, and
self-report vs verified discrepancies listed per organization and per inspector."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, ROUND_HALF_UP
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from evaluator.errors import InputError
from evaluator.store import inspection as insp
from evaluator.store.audit import verify
from evaluator.store.base import Refused, Store
from evaluator.store.rounds import advance, import_round, round_members
from evaluator.store.tables import audit
from evaluator.terms import date_text

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "mini" / "round.yaml"
RID = "mini-2026"
D = dt.date.fromisoformat

# mini: C1 甲社区党委 and C2 乙社区党委 in 东区一街道, C3 丙社区党委 in 西区二街道
PLAN = """\
round: mini-2026
title: 2026年度核查安排
rules:
  former_unit_years: 3
  same_street: {same_street}
  assigned_only: {assigned_only}
inspectors:
  - id: 王敏
    aliases: [督导组-王敏]
    units:
      - {{organization: C1, from: 2015-01-01, to: 2023-06-30}}
  - id: 李强
    units:
      - {{street: 西区/二街道, from: 2020-01-01}}
  - id: 赵六
teams:
  - id: T1
    name: 第一督导组
    leader: 王敏
    members: [王敏]
  - id: T2
    name: 第二督导组
    members: [李强, 赵六]
"""


def plan_file(tmp_path, text=None, same_street="false", assigned_only="false", name="inspection.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text if text is not None else PLAN.format(same_street=same_street, assigned_only=assigned_only),
                 encoding="utf-8")
    return p


def mini_store(db_url, tmp_path, **plan) -> Store:
    store = Store(db_url)
    import_round(store, MINI, "组织部-导入")
    insp.load_plan(store, plan_file(tmp_path, **plan), "组织部-张三")
    return store


def audit_len(store) -> int:
    with store.read() as c:
        return c.execute(select(func.count()).select_from(audit)).scalar_one()


def actions(store) -> list[str]:
    with store.read() as c:
        return [r.action for r in c.execute(select(audit.c.action).order_by(audit.c.seq))]


# ------------------------------------------------------------------ conflicts of interest

def test_former_unit_refused_at_assignment_until_n_years_after_leaving(db_url, tmp_path):
    store = mini_store(db_url, tmp_path)
    # 王敏 left C1 on 2023-06-30 (her last day); 3 years later, 2026-06-30, is still refused
    for day in ("2026-06-29", "2026-06-30"):
        n = audit_len(store)
        with pytest.raises(insp.ConflictOfInterest) as e:
            insp.assign(store, RID, "T1", ["C1"], "组织部-张三", on=D(day))
        msg = e.value.issues[0].message
        assert msg == (f"核查人 王敏 曾属 甲社区党委（C1）（2015年1月1日至2023年6月30日），离开未满 3 年（回避期至2026年6月30日），"
                       f"不得核查该单位甲社区党委（C1）（核查日期{date_text(day)}）【原单位回避（3 年内）】")
        assert e.value.issues[0].file == "mini-2026/C1"
        with store.read() as c:
            assert insp.assignments_of(c, RID) == {}
        assert audit_len(store) == n                   # refused: nothing written, nothing audited
    report = insp.assign(store, RID, "T1", ["C1", "C2"], "组织部-张三", on=D("2026-07-01"))
    assert report.added == ["C1", "C2"]
    with store.read() as c:
        assert insp.assignments_of(c, RID) == {"C1": "T1", "C2": "T1"}
        assert verify(c).problems == []
    assert actions(store)[-2:] == ["inspection.assign", "inspection.assign"]


def test_former_unit_refused_at_check_verifier_to_the_day(db_url, tmp_path):
    store = mini_store(db_url, tmp_path)
    with store.read() as c:
        for name in ("王敏", "督导组-王敏"):             # the evidence files' spelling is an alias
            for day in ("2026-06-29", "2026-06-30"):
                with pytest.raises(insp.ConflictOfInterest) as e:
                    insp.check_verifier(c, RID, "C1", name, D(day))
                assert "原单位回避（3 年内）" in str(e.value) and f"核查日期{date_text(day)}" in str(e.value)
                assert "回避期至2026年6月30日" in str(e.value)
            assert insp.check_verifier(c, RID, "C1", name, D("2026-07-01")) is None
        # the years counted from the last day: 29 February ends on 28 February (民法典 第二百零三条)
        assert insp.add_years(D("2020-02-29"), 1) == D("2021-02-28")
        assert insp.add_years(D("2020-02-29"), 4) == D("2024-02-29")


def test_own_unit_refused_at_assignment_and_at_submission(db_url, tmp_path):
    from evaluator.store.submit import submit
    store = mini_store(db_url, tmp_path)
    # 李强 belongs to 西区二街道 (since 2020): C3 is in that street
    with pytest.raises(insp.ConflictOfInterest) as e:
        insp.assign(store, RID, "T2", ["C2", "C3"], "组织部-张三", on=D("2026-09-01"))
    assert [i.message for i in e.value.issues] == [
        "核查人 李强 现属 西区二街道（2020年1月1日起），丙社区党委（C3）在该街道，不得核查（核查日期2026年9月1日）【本单位回避】"]
    with store.read() as c:
        assert insp.assignments_of(c, RID) == {}      # all or nothing: C2 was not assigned either
    n = audit_len(store)
    with pytest.raises(Refused, match="本单位回避"):
        submit(store, RID, "C3", "centre_area", 340, "verified", "李强", None, inspector="李强",
               verified_on="2026-09-01")
    assert audit_len(store) == n
    # before 李强 joined the street, no conflict: the value is saved
    assert submit(store, RID, "C3", "centre_area", 340, "verified", "李强", None, inspector="李强",
                  verified_on="2019-12-31") == 1


def test_same_street_only_when_declared(db_url, tmp_path):
    store = mini_store(db_url, tmp_path)
    with store.read() as c:                            # not declared: C2, C1's neighbour, is allowed
        assert insp.check_verifier(c, RID, "C2", "王敏", D("2026-01-05")) is None
    insp.load_plan(store, plan_file(tmp_path, same_street="true"), "组织部-张三")
    with store.read() as c:
        with pytest.raises(insp.ConflictOfInterest) as e:
            insp.check_verifier(c, RID, "C2", "王敏", D("2026-01-05"))
        assert str(e.value).endswith("与乙社区党委（C2）同在东区一街道，不得核查同街道的组织（核查日期2026年1月5日）【同街道回避】")
        assert "曾属 甲社区党委（C1）（2015年1月1日至2023年6月30日）" in str(e.value)
        assert insp.check_verifier(c, RID, "C2", "王敏", D("2026-07-01")) is None   # window over
        assert insp.check_verifier(c, RID, "C3", "王敏", D("2026-01-05")) is None   # another street


def test_unregistered_and_unassigned_verifiers(db_url, tmp_path):
    store = Store(db_url)
    import_round(store, MINI, "组织部-导入")
    with store.read() as c:                            # no plan: the round declares no rules
        assert insp.check_verifier(c, RID, "C1", "谁都行", D("2026-05-01")) is None
    insp.load_plan(store, plan_file(tmp_path, assigned_only="true"), "组织部-张三")
    insp.assign(store, RID, "T2", ["C1"], "组织部-张三", on=D("2026-05-01"))
    with store.read() as c:
        with pytest.raises(Refused) as e:
            insp.check_verifier(c, RID, "C1", "王敏敏", D("2026-05-01"))
        assert str(e.value) == ("mini-2026/C1: $: 核查人“王敏敏”未在轮次 mini-2026 的核查安排中登记（是否为“王敏”？），"
                                "不能提交 C1 的核查值【核查人未登记】")
        with pytest.raises(insp.ConflictOfInterest, match="分派给考核组 第二督导组（T2），核查人不是该组成员【非分派考核组核查】"):
            insp.check_verifier(c, RID, "C1", "王敏", D("2027-01-01"))
        assert insp.check_verifier(c, RID, "C1", "赵六", D("2026-05-01")) is None
        assert insp.check_verifier(c, RID, "C2", "王敏", D("2027-01-01")) is None   # C2 not assigned


def test_assignment_moves_only_when_asked_and_plan_reload_rechecks(db_url, tmp_path):
    store = mini_store(db_url, tmp_path)
    insp.assign(store, RID, "T2", ["C1"], "组织部-张三", on=D("2026-05-01"))
    with pytest.raises(Refused, match=r"C1（第二督导组（T2））已分派给其他考核组：如需改派，请明确要求改派（--move）"):
        insp.assign(store, RID, "T1", ["C1"], "组织部-张三", on=D("2026-08-01"))
    with pytest.raises(Refused, match="轮次 mini-2026 没有考核组“T3”（是否为“T2”？）（考核组：T1、T2）"):
        insp.assign(store, RID, "T3", ["C1"], "组织部-张三")
    with pytest.raises(Refused, match="C9 不是轮次 mini-2026 的参评组织"):
        insp.assign(store, RID, "T1", ["C9"], "组织部-张三")
    report = insp.assign(store, RID, "T1", ["C1"], "组织部-张三", on=D("2026-08-01"), move=True)
    assert report.moved == {"C1": "T2"}
    insp.assign(store, RID, "T2", ["C1"], "组织部-张三", on=D("2026-08-01"), move=True)
    # a new plan that drops T2, which has C1: refused at the file's line
    text = PLAN.format(same_street="false", assigned_only="false").split("  - id: T2")[0]
    with pytest.raises(InputError, match="已分派组织的考核组 T2 不在新的核查安排中（已分派：C1）"):
        insp.load_plan(store, plan_file(tmp_path, text, name="drop.yaml"), "组织部-张三")
    # a new plan in which 赵六 (T2) belongs to C1: C1's assignment is now a conflict
    text = PLAN.format(same_street="false", assigned_only="false").replace(
        "  - id: 赵六\n", "  - id: 赵六\n    units: [{organization: C1, from: 2024-01-01}]\n")
    with pytest.raises(insp.ConflictOfInterest, match="核查人 赵六 现属 甲社区党委（C1）（2024年1月1日起），不得核查该单位"):
        insp.load_plan(store, plan_file(tmp_path, text, name="clash.yaml"), "组织部-张三", on=D("2026-08-01"))
    with store.read() as c:
        assert insp.plan_of(c, RID).inspectors["赵六"].units == ()      # the old plan stands
        assert verify(c).problems == []
    assert actions(store).count("inspection.plan") == 1


def test_plan_file_problems_are_reported_at_their_lines(db_url, tmp_path):
    store = Store(db_url)
    import_round(store, MINI, "组织部-导入")
    bad = """\
round: mini-2026
rules: {former_unit_years: 3}
inspectors:
  - id: 王敏
    units:
      - {organization: C1, street: 东区/一街道}
      - {organization: C1, from: 2024-01-01, to: 2023-01-01}
  - id: 李强
    aliases: [王敏]
teams:
  - id: T1
    leader: 赵六
    members: [王民]
"""
    with pytest.raises(InputError) as e:
        insp.load_plan(store, plan_file(tmp_path, bad), "组织部-张三")
    got = [(i.line, i.message) for i in e.value.issues]
    assert got == [
        (6, "每条所属单位须且只须写 organization（组织编号）、street（'区县/街道'）或 district（区县）之一，此处写了 2 个：organization, street"),
        (7, "离开日期2023年1月1日早于进入日期2024年1月1日"),
        (9, "核查人名称“王敏”重复（第 4 行已用作核查人或其别名）：每个名称只能指向一位核查人"),
        (12, "考核组 T1 的组长“赵六”不在其成员（members）中"),
        (13, "考核组 T1 的成员“王民”不是已登记的核查人（是否为“王敏”？）：请先在 inspectors 中登记（别名不能用作成员）"),
    ]
    schema_bad = "round: mini-2026\nrules: {former_unit_years: three}\ninspectors: []\nteams: []\nextra: 1\n"
    with pytest.raises(InputError) as e:
        insp.load_plan(store, plan_file(tmp_path, schema_bad), "组织部-张三")
    assert [str(i).split("inspection.yaml", 1)[1] for i in e.value.issues] == [
        ":2:9: $.rules.former_unit_years: 'three' is not of type 'integer'",
        ":3:1: $.inspectors: should be non-empty",
        ":4:1: $.teams: should be non-empty",
        ":5:1: $.extra: unknown key 'extra'",
    ]
    unknown_unit = PLAN.format(same_street="false", assigned_only="false").replace("street: 西区/二街道", "street: 西区/三街道")
    with pytest.raises(InputError) as e:
        insp.load_plan(store, plan_file(tmp_path, unknown_unit), "组织部-张三")
    (issue,) = e.value.issues
    assert (issue.line, issue.message) == (
        14, "核查人 李强 的所属街道“西区/三街道”不在登记册中（是否为“西区/二街道”？）（与本库各轮次无关的单位无需列出）")
    with store.read() as c:
        assert insp.plan_of(c, RID) is None


def test_a_finalized_round_refuses_inspection_changes(db_url, tmp_path):
    from evaluator.store.scoring import evaluate
    store = mini_store(db_url, tmp_path)
    for state in ("verifying", "reviewing"):
        advance(store, RID, state, "组织部-张三")
    evaluate(store, RID, "组织部-张三")
    advance(store, RID, "finalized", "组织部-张三")
    n = audit_len(store)
    for change in (lambda: insp.assign(store, RID, "T2", ["C2"], "组织部-张三"),
                   lambda: insp.sample(store, RID, "50%", "组织部-张三", seed=1),
                   lambda: insp.load_plan(store, plan_file(tmp_path), "组织部-张三")):
        with pytest.raises(Refused, match="轮次 mini-2026 处于“已定稿”阶段，不能.*（已定稿的轮次只能通过申诉复核更正）"):
            change()
    assert audit_len(store) == n


# ------------------------------------------------------------------ spot-check samples

@pytest.fixture(scope="module")
def demo_round(tmp_path_factory) -> Path:
    from evaluator.demo import generate
    return generate(tmp_path_factory.mktemp("demo"), 200, 7)


def expected_size(n: int, rate: Decimal) -> int:
    return min(n, max(1, int((rate * n).quantize(Decimal(1), rounding=ROUND_HALF_UP))))


def test_rate_rounding_per_stratum():
    assert [insp.stratum_size(n, Decimal("0.25")) for n in (1, 2, 3, 6, 9, 10, 17, 30)] == [1, 1, 1, 2, 2, 3, 4, 8]
    assert [insp.stratum_size(n, Decimal("0.1")) for n in (1, 4, 5, 14, 15, 30)] == [1, 1, 1, 1, 2, 3]
    assert insp.stratum_size(7, Decimal(1)) == 7


def test_sample_is_stratified_reproducible_stored_and_exported(db_url, demo_round, tmp_path):
    store = Store(db_url)
    rid = import_round(store, demo_round, "组织部-导入").round
    with store.read() as c:
        orgs = round_members(c, rid)
    population: dict[tuple, list[str]] = {}
    for o in orgs:
        population.setdefault((o.district, f"{o.district}/{o.street}", o.type), []).append(o.id)
    rate = Decimal("0.1")

    first = insp.sample(store, rid, "10%", "组织部-张三", seed=20260501)
    again = insp.sample(store, rid, 0.1, "组织部-李四", seed=20260501)
    other = insp.sample(store, rid, "0.1", "组织部-张三", seed=20260502)
    assert first.organizations == again.organizations                  # same seed, same list
    assert other.organizations != first.organizations                  # another seed, another list
    for s in (first, other):
        drawn: dict[tuple, list[str]] = {}
        for oid, key, n, k in s.rows:
            drawn.setdefault(key, []).append(oid)
        assert set(drawn) == set(population)                            # every non-empty stratum
        for key, ids in population.items():
            assert len(drawn[key]) == expected_size(len(ids), rate), key
            assert set(drawn[key]) <= set(ids)
        assert len(s.organizations) == len(set(s.organizations)) == sum(expected_size(len(v), rate)
                                                                         for v in population.values())
    assert len(population) == 32 and len(first.organizations) == 38

    with store.read() as c:
        latest = insp.get_sample(c, rid)
        assert latest.id == other.id and latest.rows == other.rows and latest.seed == 20260502
        stored = insp.get_sample(c, rid, first.id)
        assert stored.rows == first.rows and stored.rate == rate and stored.drawn_by == "组织部-张三"
        assert insp.redraw(c, rid, first.id)[1:] == (True, True)
        csv_path = insp.export_sample(c, rid, tmp_path / "抽查名单.csv", first.id)
        xlsx_path = insp.export_sample(c, rid, tmp_path / "抽查名单.xlsx", first.id)
        xlsx_bytes = xlsx_path.read_bytes()
        assert insp.export_sample(c, rid, tmp_path / "again.xlsx", first.id).read_bytes() == xlsx_bytes
        with pytest.raises(Refused, match=r"只能导出为 \.csv 或 \.xlsx"):
            insp.export_sample(c, rid, tmp_path / "x.pdf")
        with pytest.raises(Refused, match="没有编号为 999 的抽查样本"):
            insp.get_sample(c, rid, 999)
        assert verify(c).problems == []
    rows = list(csv.reader(io.StringIO(csv_path.read_bytes().decode("utf-8-sig"))))
    assert rows[0] == ["序号", "组织编号", "组织名称", "领域", "区县", "街道（乡镇）", "负责人", "抽样分层", "层内组织数",
                       "层内抽取数", "考核组"]
    assert [r[1] for r in rows[1:]] == first.organizations
    wb = openpyxl.load_workbook(xlsx_path)
    assert wb.sheetnames == ["抽查名单", "抽样说明"]
    record = {r[0]: r[1] for r in wb["抽样说明"].iter_rows(min_row=2, values_only=True)}
    assert record["随机种子"] == "20260501" and record["抽样比例"] == "0.1（10%）" and record["样本数"] == "38"
    assert record["取整规则"] == insp.ROUNDING_ZH
    assert actions(store).count("inspection.sample") == 3

    # a seed drawn by agrade is recorded, and drawing with it again gives the same list
    drawn = insp.sample(store, rid, "10%", "组织部-张三")
    assert insp.sample(store, rid, "10%", "组织部-张三", seed=drawn.seed).organizations == drawn.organizations
    # other strata: by type alone, or none (a simple random sample)
    by_type = insp.sample(store, rid, "10%", "组织部-张三", seed=1, strata=("type",))
    assert [(k, n, d) for k, n, d in by_type.per_stratum()] == [
        (("agency",), 30, 3), (("community",), 70, 7), (("nonpublic",), 34, 3), (("soe",), 16, 2), (("village",), 50, 5)]
    assert len(insp.sample(store, rid, "0.125", "组织部-张三", seed=1, strata=()).organizations) == 25


def test_sample_arguments_are_checked(db_url):
    store = Store(db_url)
    import_round(store, MINI, "组织部-导入")
    for rate in (0, "0%", "1.5", "abc", -0.1):
        with pytest.raises(Refused, match="抽样比例应大于 0、不超过 1（如 0.1 或 10%）"):
            insp.sample(store, RID, rate, "组织部-张三", seed=1)
    for seed in (-1, "x", 1.5):
        with pytest.raises(Refused, match="随机种子应为非负整数"):
            insp.sample(store, RID, "50%", "组织部-张三", seed=seed)
    with pytest.raises(Refused, match="分层只能是 district, street, type"):
        insp.sample(store, RID, "50%", "组织部-张三", seed=1, strata=("city",))
    s = insp.sample(store, RID, "50%", "组织部-张三", seed=3)
    # 东区一街道 has C1 and C2 (50% of 2 = 1), 西区二街道 has C3 (at least one)
    assert [(k[1], n, d) for k, n, d in s.per_stratum()] == [("东区/一街道", 2, 1), ("西区/二街道", 1, 1)]
    assert s.organizations[-1] == "C3"


# ------------------------------------------------------------------ discrepancies

def test_discrepancies_per_organization_and_per_inspector(db_url, tmp_path):
    from evaluator.store.submit import submit
    store = mini_store(db_url, tmp_path)
    insp.assign(store, RID, "T2", ["C2", "C1"], "组织部-张三", on=D("2026-09-01"))
    # C2 reported ８ members; 赵六 found 6. Grid staff agree. C3's area left blank on inspection.
    submit(store, RID, "C2", "members_full", 6, "verified", "赵六", None, inspector="赵六", verified_on="2026-09-02")
    submit(store, RID, "C2", "grid_staff", 10, "verified", "赵六", None, inspector="赵六", verified_on="2026-09-02")
    submit(store, RID, "C3", "centre_area", "", "verified", "赵六", None, inspector="赵六", verified_on="2026-09-03")
    with store.read() as c:
        d = insp.discrepancies(c, RID)
    per_org = d.by_organization()
    assert list(per_org) == ["C1", "C2", "C3"]
    assert [(x.field, x.kind, x.inspector, x.team) for x in per_org["C1"]] == [
        ("centre_area", "self_report_mismatch", "王敏", "第二督导组（T2）")]       # the alias 督导组-王敏
    assert per_org["C1"][0].message == "党群服务中心面积：自报 520 平方米，核查 480 平方米，超出允许误差"
    assert (per_org["C1"][0].self_value, per_org["C1"][0].verified_value) == (Decimal(520), Decimal(480))
    assert [(x.field, x.message, x.verified_on) for x in per_org["C2"]] == [
        ("members_full", "正式党员人数：自报 8 人，核查 6 人，超出允许误差", "2026-09-02")]
    assert [(x.kind, x.message) for x in per_org["C3"]] == [
        ("verified_blank", "党群服务中心面积：核查值为空（核查人 赵六），未采用自报值 350 平方米")]
    per_insp = d.by_inspector()
    assert {k: [x.organization for x in v] for k, v in per_insp.items()} == {"王敏": ["C1"], "赵六": ["C2", "C3"]}
    zhao = d.inspectors["赵六"]
    assert (zhao.team, zhao.verified_fields, sorted(zhao.organizations), len(zhao.discrepancies)) == \
        ("第二督导组（T2）", 3, ["C2", "C3"], 2)
    assert zhao.share == Decimal("0.667")
    text = "\n".join(d.lines())
    assert text.startswith("轮次 mini-2026：自评与核查差异 3 项，涉及 3 个组织\n甲社区党委（C1）  考核组 第二督导组（T2）\n")
    assert "  - [自评与核查不一致] 正式党员人数：自报 8 人，核查 6 人，超出允许误差（核查人 赵六，2026年9月2日）" in text
    assert text.endswith("按核查人：\n  赵六（第二督导组（T2））：核查 2 个组织 3 项，差异 2 项\n"
                         "  王敏（第一督导组（T1））：核查 1 个组织 1 项，差异 1 项")


def test_district_membership_and_the_bulk_verifier(db_url, tmp_path):
    text = PLAN.format(same_street="false", assigned_only="false").replace(
        "  - id: 赵六\n", "  - id: 赵六\n    units: [{district: 东区, to: 2025-12-31}]\n")
    store = Store(db_url)
    import_round(store, MINI, "组织部-导入")
    insp.load_plan(store, plan_file(tmp_path, text), "组织部-张三")
    with store.read() as c:
        check = insp.verifier(c, RID)                  # one plan read for many values
        with pytest.raises(insp.ConflictOfInterest) as e:
            check("C2", "赵六", D("2028-12-31"))
        assert e.value.issues[0].message == (
            "核查人 赵六 曾属 东区（至2025年12月31日），离开未满 3 年（回避期至2028年12月31日），乙社区党委（C2）在该区县，"
            "不得核查（核查日期2028年12月31日）【原单位回避（3 年内）】")
        assert check("C2", "赵六", D("2029-01-01")) is None
        assert check("C3", "赵六", D("2026-01-01")) is None       # 西区
        with pytest.raises(Refused, match="组织 C9 不在登记册中"):
            check("C9", "赵六", D("2026-01-01"))
