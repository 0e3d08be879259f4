"""A round's life in the store: lifecycle order, finalized rounds closed, appeals, waivers,
publication and corrections, bulletins, history — and the audit log that records it all."""
from __future__ import annotations

import datetime
import json

import pytest
from sqlalchemy import delete, func, insert, select, text, update

from evaluator.errors import InputError
from evaluator.store import appeals, publish, rounds, scoring, submit, waivers
from evaluator.store.audit import verify
from evaluator.store.base import Conflict, Refused, Store
from evaluator.store.history import history
from evaluator.store.tables import audit, audit_head, published_lists

from .helpers_store import mini_round  # noqa: F401

RID = "mini-2026"


@pytest.fixture
def store(db_url, mini_round):
    s = Store(db_url)
    rounds.import_round(s, mini_round, "区委组织部")
    scoring.evaluate(s, RID, "区委组织部")
    return s


def placement(s, org):
    from evaluator.store.scoring import placements_now
    with s.read() as c:
        return placements_now(c, RID)[org]


def test_the_lifecycle_goes_one_step_at_a_time(store):
    with pytest.raises(Refused, match="不能直接进入"):
        rounds.advance(store, RID, "reviewing", "甲")
    for step in ("verifying", "reviewing"):
        rounds.advance(store, RID, step, "甲")
    with pytest.raises(Refused, match="不能直接进入"):
        rounds.advance(store, RID, "collecting", "甲")        # never back


def test_finalizing_needs_a_current_evaluation(store):
    rounds.advance(store, RID, "verifying", "甲")
    submit.submit(store, RID, "C1", "awards", "5", "self", "C1书记", None)
    rounds.advance(store, RID, "reviewing", "甲")
    with pytest.raises(Refused, match="请先运行 agrade round evaluate"):
        rounds.advance(store, RID, "finalized", "甲")
    scoring.evaluate(store, RID, "甲")
    rounds.advance(store, RID, "finalized", "甲")


def finalized(store):
    for step in ("verifying", "reviewing", "finalized"):
        rounds.advance(store, RID, step, "甲")


def test_a_finalized_round_refuses_every_change_but_an_appeal(store, mini_round):
    finalized(store)
    with pytest.raises(Refused, match="已定稿"):
        rounds.import_round(store, mini_round, "甲")
    with pytest.raises(Refused, match="已定稿"):
        submit.submit(store, RID, "C1", "awards", "5", "self", "C1书记", None)
    with pytest.raises(Refused, match="已定稿"):
        scoring.evaluate(store, RID, "甲")
    with pytest.raises(Refused):
        waivers.add_waiver(store, RID, "C1", "G1.2", "场所改造", "区委组织部", datetime.datetime(2027, 1, 1, tzinfo=datetime.timezone.utc), "甲")
    aid = appeals.file_appeal(store, RID, "C2", ["G2.2"], "网格党员统计有误", "C2书记")
    d = appeals.decide(store, aid, "amend", "经核实网格党员 9 人", "复核组-赵六", [("grid_staff_party", "9")])
    assert d["state"] == "amended" and placement(store, "C2")["total"] == "69.00"


def test_optimistic_versions_refuse_a_stale_writer(store):
    v = submit.submit(store, RID, "C1", "awards", "4", "self", "甲", expect=1)
    assert v == 2
    with pytest.raises(Conflict) as e:
        submit.submit(store, RID, "C1", "awards", "5", "self", "乙", expect=1)
    assert e.value.current == 2
    assert submit.submit(store, RID, "C1", "awards", "5", "self", "乙", expect=2) == 3


def test_a_submitted_value_is_checked_like_a_cell(store):
    with pytest.raises(InputError, match="党群服务中心面积"):
        submit.submit(store, RID, "C1", "centre_area", "五百平米", "self", "甲", None)
    with pytest.raises(InputError, match="inspector"):
        submit.submit(store, RID, "C1", "centre_area", "500", "verified", "甲", None)
    assert submit.submit(store, RID, "C1", "centre_area", "５００平方米", "self", "甲", None) == 2


def test_an_appeal_is_decided_by_someone_independent(store):
    aid = appeals.file_appeal(store, RID, "C1", ["G1.2"], "面积测量有误", "C1书记")
    with pytest.raises(Refused, match="申诉提出人"):
        appeals.decide(store, aid, "uphold", "维持", "C1书记")
    with pytest.raises(Refused, match="原核查人"):         # centre_area was verified by 督导组-王敏
        appeals.decide(store, aid, "amend", "复测 520 平方米", "督导组-王敏", [("centre_area", "520")])
    appeals.decide(store, aid, "uphold", "复测仍为 480 平方米", "复核组-赵六")
    with pytest.raises(Refused, match="已于"):
        appeals.decide(store, aid, "uphold", "再次", "复核组-钱七")


def test_an_amended_appeal_moves_others_and_says_so(store, tmp_path):
    before = {o: placement(store, o) for o in ("C1", "C2", "C3")}
    aid = appeals.file_appeal(store, RID, "C3", ["G1.2", "G2.2"], "材料漏报", "C3书记")
    d = appeals.decide(store, aid, "amend", "补齐材料", "复核组-赵六",
                       [("centre_area", "900"), ("grid_staff_party", "10"), ("grid_staff", "10")])
    after = {o: placement(store, o) for o in ("C1", "C2", "C3")}
    moved = {o for o in after if after[o]["rank"] != before[o]["rank"]}
    assert "C3" in d["changed"] and moved - {"C3"} <= set(d["changed"]) and moved - {"C3"}
    # the re-issued scorecard is stamped 复核 with the decision
    from evaluator.store.reissue import reissue
    files = reissue(store, aid, tmp_path / "out", formats=("html",))
    html = files[0].read_text(encoding="utf-8")
    assert "复核" in html and "补齐材料" in html and f"复核决定第 {aid} 号" in html
    assert "None" not in html and "复核前总得分" in html


def test_published_lists_are_corrected_by_a_new_version(store):
    finalized(store)
    first = publish.publish(store, RID, "区委组织部", datetime.date(2027, 1, 15))
    with store.read() as c:
        assert "black" in json.loads(c.execute(select(published_lists.c.lists)).scalar_one())["lists"]
    aid = appeals.file_appeal(store, RID, "C2", ["G2.2"], "网格党员统计有误", "C2书记")
    appeals.decide(store, aid, "amend", "经核实网格党员 9 人", "复核组-赵六", [("grid_staff_party", "9")])
    with store.read() as c:
        rows = c.execute(select(published_lists).order_by(published_lists.c.id)).mappings().all()
    assert [r["id"] for r in rows][0] == first and len(rows) == 2
    assert rows[1]["supersedes"] == first and "申诉" in rows[1]["reason"]
    assert json.loads(rows[0]["lists"]) != json.loads(rows[1]["lists"])      # the first is untouched


def test_waivers_need_a_time_zone_and_expire(store):
    with pytest.raises(InputError, match="time zone"):
        waivers.parse_expiry("2026-12-31T23:59:59")
    tz8 = datetime.timezone(datetime.timedelta(hours=8))
    soon = datetime.datetime.now(tz8) + datetime.timedelta(days=30)
    past = datetime.datetime.now(tz8) - datetime.timedelta(minutes=1)
    waivers.add_waiver(store, RID, "C2", "G2.2", "网格调整", "区委组织部", soon, "甲")
    waivers.add_waiver(store, RID, "C3", "G1.2", "场所改造", "区委组织部", past, "甲")
    ev = scoring.evaluate(store, RID, "甲")
    assert [w["organization"] for w in ev.expired] == ["C3"]
    from evaluator.store.scoring import write_results
    with store.read() as c:
        import tempfile, pathlib
        out = pathlib.Path(tempfile.mkdtemp())
        write_results(c, RID, out)
    res = {o["id"]: o for o in json.loads((out / "results.json").read_text())["organizations"]}
    by = lambda o, c: next(x for x in res[o]["criteria"] if x["id"] == c)   # noqa: E731
    assert by("C2", "G2.2")["outcome"] == "waived" and "网格调整" in by("C2", "G2.2")["reason"]
    assert by("C3", "G1.2")["outcome"] != "waived"


def test_history_tells_each_step_and_bulletin(store):
    submit.submit(store, RID, "C2", "grid_staff_party", "9", "self", "C2书记", None)
    scoring.evaluate(store, RID, "甲")
    publish.bulletin(store, RID, datetime.date(2026, 6, 30), "甲")
    with pytest.raises(Refused, match="不在轮次考评期内"):
        publish.bulletin(store, RID, datetime.date(2027, 1, 1), "甲")
    with store.read() as c:
        h = history(c, "C2")
    assert [s["tier"] for s in h[0]["steps"]] == ["D", "C"]
    # the bulletin is the round as of 30 June: 支部委员会 meetings pro-rated to six months cost
    # C2 fewer points than the full year's shortfall does, so it stood one tier higher then
    assert h[0]["bulletins"][0]["tier"] == "B"


# ------------------------------------------------------------------ audit

def test_the_audit_log_is_whole_after_a_round_life(store):
    appeals.file_appeal(store, RID, "C1", ["G1.2"], "面积测量有误", "C1书记")
    with store.read() as c:
        v = verify(c)
    assert v.problems == [] and v.entries > 5


@pytest.mark.parametrize("tamper", ["edit", "insert", "delete", "cut_tail"])
def test_tampering_with_the_database_is_detected(store, tamper):
    with store.engine.begin() as c:
        n = c.execute(select(func.count()).select_from(audit)).scalar_one()
        if tamper == "edit":
            c.execute(update(audit).where(audit.c.seq == 2).values(actor="某人"))
        elif tamper == "insert":
            row = dict(c.execute(select(audit).where(audit.c.seq == 2)).mappings().one())
            c.execute(update(audit).where(audit.c.seq >= 3).values(seq=audit.c.seq + 1000))
            c.execute(insert(audit).values(**{**row, "seq": 3, "detail": "{}"}))
        elif tamper == "delete":
            c.execute(delete(audit).where(audit.c.seq == 2))
        else:
            c.execute(delete(audit).where(audit.c.seq == n))
    with store.read() as c:
        assert verify(c).problems


def test_a_submission_keeps_its_supporting_files_by_content_hash(store, tmp_path):
    from evaluator.store.evidence import current_digest, digest_from_scratch
    from evaluator.store.tables import attachments
    photo = tmp_path / "党群服务中心平面图.pdf"
    photo.write_bytes(b"%PDF-1.4 floor plan")
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(photo.read_bytes())
    v = submit.submit(store, RID, "C1", "centre_area", "520", "self", "C1书记", None, files=[photo])
    assert v == 2
    # the same value with the same scan again: nothing new; the same bytes under another name: stored once
    assert submit.submit(store, RID, "C1", "centre_area", "520", "self", "C1书记", None, files=[photo]) is None
    assert submit.submit(store, RID, "C1", "centre_area", "520", "self", "C1书记", None) == 3   # without it: a new version
    submit.submit(store, RID, "C2", "centre_area", "600", "self", "C2书记", None, files=[copy])
    with store.read() as c:
        assert c.execute(select(func.count()).select_from(attachments)).scalar_one() == 1
        assert current_digest(c, RID) == digest_from_scratch(c, RID)
        shown = submit.show(c, RID, "C2")
    assert any("附件 党群服务中心平面图.pdf" in line for line in shown)     # kept once, under its first name


def test_a_designation_is_lifted_after_a_passing_re_inspection(db_url, mini_round):
    round_yaml = mini_round
    round_yaml.write_text(round_yaml.read_text(encoding="utf-8") + """
designations:
  weak:
    title: 软弱涣散党组织
    include: "veto_count > 0"
    rectification_deadline: 2027-03-31
""", encoding="utf-8")
    s = Store(db_url)
    rounds.import_round(s, round_yaml, "区委组织部")
    submit.submit(s, RID, "C3", "serious_violation", "是", "self", "C3书记", None)
    scoring.evaluate(s, RID, "区委组织部")
    assert "designation:weak" in placement(s, "C3")["lists"]
    with s.read() as c:                      # designated, with the deadline to rectify by
        import tempfile, pathlib
        out = pathlib.Path(tempfile.mkdtemp())
        scoring.write_results(c, RID, out)
    from evaluator.scoring.explain import designations_of
    payload = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert payload["designations"]["weak"]["rectification_deadline"] == "2027-03-31"
    assert designations_of(payload, "C3")[0][0] == "软弱涣散党组织（整改期限 2027-03-31）"
    # the inspectors' re-inspection finds the violation rectified
    submit.submit(s, RID, "C3", "serious_violation", "否", "verified", "复核组", None, inspector="复核组-赵六",
                  verified_on="2026-11-20")
    ev = scoring.rescore(s, RID, ["C3"], "区委组织部")
    assert "designation:weak" not in placement(s, "C3")["lists"] and "C3" in ev.changed
    from evaluator.store.scoring import describe
    assert "不再认定为软弱涣散党组织" in describe(ev.changed["C3"], ev.titles)
    with s.read() as c:
        steps = history(c, "C3")[0]["steps"]
    assert ["designation:weak" in st["lists"] for st in steps][-2:] == [True, False]
