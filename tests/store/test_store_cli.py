"""The store's commands as a district department types them (in-memory streams, exit codes)."""
from __future__ import annotations

import datetime
import re

import pytest

from tests.conftest import run_cli

from .helpers_store import mini_round  # noqa: F401
from .test_inspection import PLAN


@pytest.fixture
def db(db_url, monkeypatch):
    monkeypatch.setenv("AGRADE_DB", db_url)
    monkeypatch.setenv("AGRADE_USER", "区委组织部-张三")
    return db_url


def ok(*argv):
    code, out, err = run_cli(*argv)
    assert code == 0, (argv, out, err)
    return out


def refused(*argv):
    code, out, err = run_cli(*argv)
    assert code == 2, (argv, out, err)
    return err


def test_a_round_through_its_life_on_the_command_line(db, mini_round, tmp_path):
    assert "材料新版本 23 条" in ok("round", "import", mini_round)
    assert "材料新版本 0 条，未变 23 条" in ok("round", "import", mini_round)
    ok("round", "evaluate", "mini-2026", "--out", tmp_path / "r1")
    assert (tmp_path / "r1" / "results.json").is_file()
    ok("evidence", "submit", "mini-2026", "C2", "grid_staff_party", "9", "--expect", "1")
    err = refused("evidence", "submit", "mini-2026", "C2", "grid_staff_party", "8", "--expect", "1")
    assert "已被他人更新为第 2 版" in err
    out = ok("round", "rescore", "mini-2026", "C2")          # only C2 scored again; the others read back
    assert "C2：档次 D档 → C档" in out
    assert "与当前材料一致" in ok("round", "status", "mini-2026")
    for step in ("verify", "review", "finalize"):
        ok("round", step, "mini-2026")
    assert "已定稿" in refused("evidence", "submit", "mini-2026", "C2", "awards", "1")
    ok("round", "publish", "mini-2026", "--on", "2027-01-15")
    out = ok("appeal", "file", "mini-2026", "C3", "--criteria", "G1.2", "--reason", "场所面积复测", "--by", "C3书记")
    assert "第 1 号" in out
    out = ok("appeal", "decide", "1", "--set", "centre_area=520", "--reason", "复测为 520 平方米", "--by", "复核组-赵六",
             "--out", tmp_path / "reissued")
    assert "予以更正" in out and list((tmp_path / "reissued" / "scorecards").glob("C3*.pdf"))
    status = ok("round", "status", "mini-2026")
    assert "【已发布】" in status and "更正第 1 号" in status
    hist = ok("history", "C3")
    assert "申诉复核" in hist and "予以更正" in hist
    assert "审计日志完好" in ok("audit", "verify")
    ok("round", "export", "mini-2026", "--out", tmp_path / "exported", "--results")
    assert (tmp_path / "exported" / "round.yaml").is_file() and (tmp_path / "exported" / "results" / "results.json").is_file()


def test_waivers_on_the_command_line_need_a_time_zone(db, mini_round):
    ok("round", "import", mini_round)
    assert "time zone" in refused("waiver", "add", "mini-2026", "C2", "G2.2", "--justification", "网格调整",
                                  "--approver", "区委组织部", "--expires", "2026-12-31T23:59:59")
    ok("waiver", "add", "mini-2026", "C2", "G2.2", "--justification", "网格调整", "--approver", "区委组织部",
       "--expires", "2099-12-31T23:59:59+08:00")
    assert "有效" in ok("waiver", "list", "mini-2026")


def test_inspection_plan_assignment_and_sample_on_the_command_line(db, mini_round, tmp_path):
    ok("round", "import", mini_round)
    plan = tmp_path / "inspection.yaml"
    plan.write_text(PLAN.format(same_street="false", assigned_only="false"), encoding="utf-8")
    assert "核查人 3 名，考核组 2 个" in ok("round", "plan", plan)
    err = refused("round", "assign", "mini-2026", "T1", "C1", "--on", "2026-03-01")      # 王敏 left C1 in 2023
    assert "王敏" in err
    ok("round", "assign", "mini-2026", "T2", "C1", "C2")
    out = ok("round", "sample", "mini-2026", "--rate", "50%", "--seed", "7", "--out", tmp_path / "抽查名单.xlsx")
    assert "随机种子 7" in out and (tmp_path / "抽查名单.xlsx").is_file()
    assert "自评与核查差异" in ok("round", "discrepancies", "mini-2026")


@pytest.mark.parametrize("spelling", ["2026-03-01", "2026/3/1", "2026年3月1日"])
def test_verified_values_in_imported_files_obey_the_inspection_plan(db, mini_round, tmp_path, spelling):
    ok("round", "import", mini_round)
    plan = tmp_path / "inspection.yaml"
    plan.write_text(PLAN.format(same_street="false", assigned_only="false"), encoding="utf-8")
    ok("round", "plan", plan)
    # 王敏 left C1 on 2023-06-30: verifying it on 1 March 2026 (however the date is written) is refused
    values = mini_round.parent / "evidence" / "bulk_values.csv"
    values.write_text(values.read_text(encoding="utf-8") + f"C1,grid_staff,,10,督导组-王敏,{spelling}\n", encoding="utf-8")
    err = refused("round", "import", mini_round)
    assert "bulk_values.csv" in err and "王敏" in err


def test_the_demo_walks_a_round_through_its_life_in_the_database(db, tmp_path):
    out = ok("demo", "--out", tmp_path / "demo", "--orgs", "40", "--no-reports", "--store-orgs", "60")
    steps = ("① 导入轮次", "② 分层抽查", "第 1 期通报", "第 2 期通报", "⑤ 审核、定稿，结果公示", "予以更正",
             "⑦ 重新出具测评报告（复核）", "⑧ 发布")
    assert all(step in out for step in steps), out
    assert [out.index(step) for step in steps] == sorted(out.index(step) for step in steps)
    assert "【已发布】" in ok("round", "status", "demo-2026-60")
    appealed = out.split("⑨ ")[1].split(" ")[0]
    assert "申诉复核" in ok("history", appealed)
    assert "审计日志完好" in ok("audit", "verify")
    assert "已有演示轮次" in ok("demo", "--out", tmp_path / "again", "--orgs", "40", "--no-reports", "--store-orgs", "60")


def _day(line: str) -> datetime.date:
    y, m, d = re.search(r"(\d{4})年(\d{1,2})月(\d{1,2})日", line).groups()
    return datetime.date(int(y), int(m), int(d))


@pytest.mark.parametrize("clock, published", [("2026-11-20T03:00:00+00:00", "2027-01-15"),    # before the simulated day
                                              ("2027-03-01T17:00:00+00:00", "2027-03-02")])   # after it (Beijing: the 2nd)
def test_the_demo_dates_its_steps_in_their_real_order(db, tmp_path, monkeypatch, clock, published):
    """inspection -> 初评 and bulletins -> 公示 -> the appeal's 复核 -> 发布: the review, dated by the
    clock when it is decided, is never dated after the list it corrects is published."""
    from evaluator.store.appeals import get_appeal
    from evaluator.store.base import Store
    from evaluator.store.publish import latest_published
    from evaluator.store.reissue import BEIJING
    monkeypatch.setattr("evaluator.store.appeals.now", lambda: datetime.datetime.fromisoformat(clock))
    out = ok("demo", "--out", tmp_path / "demo", "--orgs", "10", "--no-reports", "--store-orgs", "30")
    line = {ln[0]: ln for ln in out.splitlines() if ln and ln[0] in "④⑤⑥⑦⑧"}
    last_bulletin, reviewed, issued = _day(line["④"]), _day(line["⑥"]), _day(line["⑧"])
    assert last_bulletin < reviewed <= issued == datetime.date.fromisoformat(published), out
    with Store(db).read() as conn:
        appeal, lists = get_appeal(conn, 1), latest_published(conn, "demo-2026-30")
    assert appeal["decided_at"].astimezone(BEIJING).date() == reviewed and lists["issued_on"] == issued
    assert lists["evaluation"] == appeal["evaluation"]        # the published list is the one the review corrected


def test_a_verified_value_in_an_imported_document_obeys_the_inspection_plan(db, mini_round, tmp_path):
    ok("round", "import", mini_round)
    plan = tmp_path / "inspection.yaml"
    plan.write_text(PLAN.format(same_street="false", assigned_only="false"), encoding="utf-8")
    ok("round", "plan", plan)
    doc = mini_round.parent / "evidence" / "c1.yaml"
    doc.write_text(doc.read_text(encoding="utf-8").replace("verified: 480", "verified: 490")
                   .replace("verified_on: 2026-10-12", "verified_on: 2026-03-01"), encoding="utf-8")
    err = refused("round", "import", mini_round)
    assert "c1.yaml:4" in err and "王敏" in err
