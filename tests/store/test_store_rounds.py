"""A round folder in the store and back: import (idempotent), evaluation, export."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from evaluator.errors import InputError
from evaluator.store import rounds, scoring
from evaluator.store.base import Store
from evaluator.store.tables import audit, members, submissions, units

from .helpers_store import demo_round, evaluate_folder, mini_round, scored  # noqa: F401


def count(store, table, *where):
    with store.read() as c:
        return c.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_import_twice_adds_nothing_and_the_store_scores_as_the_folder(db_url, demo_round, tmp_path):
    store = Store(db_url)
    first = rounds.import_round(store, demo_round, "区委组织部")
    assert first.created and first.organizations == 60 and first.new_versions > 1000
    n_subs, n_audit = count(store, submissions), count(store, audit)
    again = rounds.import_round(store, demo_round, "区委组织部")
    assert (again.created, again.new_versions, again.withdrawn) == (False, 0, 0)
    assert again.unchanged == first.new_versions
    assert (count(store, submissions), count(store, audit)) == (n_subs, n_audit)

    ev = scoring.evaluate(store, first.round, "区委组织部")
    assert ev.organizations == 60 and ev.changed == {}
    with store.read() as c:
        scoring.write_results(c, first.round, tmp_path / "store")
    assert scored(tmp_path / "store") == evaluate_folder(demo_round, tmp_path / "folder")


def test_export_writes_a_folder_that_evaluates_as_the_store(db_url, demo_round, tmp_path):
    store = Store(db_url)
    r = rounds.import_round(store, demo_round, "区委组织部")
    scoring.evaluate(store, r.round, "区委组织部")
    with store.read() as c:
        path = rounds.materialize(c, r.round, tmp_path / "exported", evidence=True)
        scoring.write_results(c, r.round, tmp_path / "store")
    assert evaluate_folder(path, tmp_path / "again") == scored(tmp_path / "store")
    # and the exported folder imports into another store unchanged
    assert (path.parent / "standards").is_dir() and (path.parent / "organizations.csv").is_file()


def test_a_bad_cell_refuses_the_import_and_writes_nothing(db_url, mini_round):
    values = mini_round.parent / "evidence" / "bulk_values.csv"
    values.write_text(values.read_text(encoding="utf-8").replace("\n", "\nC3,centre_area,self,五百平米,,\n", 1),
                      encoding="utf-8")
    store = Store(db_url)
    with pytest.raises(InputError) as e:
        rounds.import_round(store, mini_round, "张三")
    assert "bulk_values.csv:2" in str(e.value) and "centre_area" in str(e.value)
    with store.read() as c:
        assert c.execute(select(func.count()).select_from(members)).scalar_one() == 0
    assert count(store, submissions) == 0


def test_a_changed_value_is_a_new_version_and_a_removed_one_is_withdrawn(db_url, mini_round):
    store = Store(db_url)
    rounds.import_round(store, mini_round, "张三")
    doc = mini_round.parent / "evidence" / "c1.yaml"
    text = doc.read_text(encoding="utf-8")
    assert "awards: 3" in text
    doc.write_text(text.replace("awards: 3", "awards: 4").replace("  unapproved_tasks: 0\n", ""), encoding="utf-8")
    r = rounds.import_round(store, mini_round, "李四")
    assert (r.new_versions, r.withdrawn) == (1, 1)
    from evaluator.store.evidence import current
    with store.read() as c:
        now = {(s.field, s.source): (v, s) for o, v, s in current(c, "mini-2026", "C1")}
    assert now[("awards", "self")][0] == 2 and now[("awards", "self")][1].value == 4
    assert now[("unapproved_tasks", "self")][1].withdrawn
    # the old version is still there (append-only)
    assert count(store, submissions, submissions.c.organization == "C1", submissions.c.field == "awards") == 2


def test_a_renamed_organization_keeps_its_old_name_in_history(db_url, mini_round):
    store = Store(db_url)
    rounds.import_round(store, mini_round, "张三")
    reg = mini_round.parent / "orgs.csv"
    reg.write_text(reg.read_text(encoding="utf-8").replace("乙社区党委", "乙社区党总支"), encoding="utf-8")
    r = rounds.import_round(store, mini_round, "张三")
    assert r.units == {"added": 0, "changed": 1}
    with store.read() as c:
        versions = c.execute(select(units.c.name, units.c.valid_to).where(units.c.code == "C2")
                             .order_by(units.c.id)).all()
        assert [v.name for v in versions] == ["乙社区党委", "乙社区党总支"]
        assert versions[0].valid_to is not None and versions[1].valid_to is None
        assert [o.name for o in rounds.round_members(c, "mini-2026")][1] == "乙社区党总支"


def test_a_round_whose_standard_changed_is_refused(db_url, mini_round):
    store = Store(db_url)
    rounds.import_round(store, mini_round, "张三")
    std = mini_round.parent / "mini.yaml"
    std.write_text(std.read_text(encoding="utf-8").replace("title: 支部设置,", "title: 支部设置规范,"),
                   encoding="utf-8")
    with pytest.raises(InputError, match="固定了考评标准版本"):
        rounds.import_round(store, mini_round, "张三")


def test_every_change_names_who_makes_it(db_url, mini_round):
    store = Store(db_url)
    with pytest.raises(InputError, match="who makes it"):
        rounds.import_round(store, mini_round, " ")


def test_the_kept_evidence_digest_equals_one_computed_from_scratch(db_url, mini_round):
    from evaluator.store import submit
    from evaluator.store.evidence import current_digest, digest_from_scratch
    store = Store(db_url)
    rounds.import_round(store, mini_round, "张三")
    with store.read() as c:
        first = current_digest(c, "mini-2026")
        assert first == digest_from_scratch(c, "mini-2026")
    submit.submit(store, "mini-2026", "C1", "awards", "4", "self", "甲", None)
    submit.submit(store, "mini-2026", "C1", "awards", 3, "self", "甲", None)        # back to what was imported
    with store.read() as c:
        assert current_digest(c, "mini-2026") == digest_from_scratch(c, "mini-2026") == first
    doc = mini_round.parent / "evidence" / "c1.yaml"
    doc.write_text(doc.read_text(encoding="utf-8").replace("  unapproved_tasks: 0\n", ""), encoding="utf-8")
    rounds.import_round(store, mini_round, "张三")                                  # a withdrawal
    with store.read() as c:
        assert current_digest(c, "mini-2026") == digest_from_scratch(c, "mini-2026") != first


def verified_counts(store, rid: str, k: int) -> list:
    """k verified whole-number values, spread over the round: (organization, submission)."""
    from evaluator.store.evidence import current
    with store.read() as c:
        nums = [(o, s) for o, _, s in current(c, rid) if s.source == "verified" and isinstance(s.value, (int, str))
                and str(s.value).isdigit()]
    return nums[::max(1, len(nums) // k)][:k]


def triple(store, rid: str, org: str, sub) -> None:
    """An inspector's correction: the verified count tripled (plus one)."""
    from evaluator.store import submit
    submit.submit(store, rid, org, sub.field, str(int(sub.value) * 3 + 1), "verified", "复核组", None,
                  inspector="复核组-赵六")


def test_a_rescore_from_stored_outcomes_gives_what_a_full_evaluation_gives(db_url, demo_round, tmp_path):
    store = Store(db_url)
    rid = rounds.import_round(store, demo_round, "组织部").round
    scoring.evaluate(store, rid, "组织部")
    changed = []
    for org, sub in verified_counts(store, rid, 3):          # three organizations' verified counts tripled
        triple(store, rid, org, sub)
        changed.append(org)
    ev = scoring.rescore(store, rid, changed, "组织部")
    assert ev.organizations == len(set(changed)) and ev.changed        # something moved
    with store.read() as c:
        scoring.write_results(c, rid, tmp_path / "rescored")
    scoring.evaluate(store, rid, "组织部")
    with store.read() as c:
        scoring.write_results(c, rid, tmp_path / "full")
    assert scored(tmp_path / "rescored") == scored(tmp_path / "full")


def test_a_live_round_rescores_again_and_again_and_notices_others(db_url, demo_round, tmp_path):
    from evaluator.store.scoring import LiveRound
    store = Store(db_url)
    rid = rounds.import_round(store, demo_round, "组织部").round
    scoring.evaluate(store, rid, "组织部")
    live = LiveRound(store, rid)
    try:
        for n, (org, sub) in enumerate(verified_counts(store, rid, 4)):
            triple(store, rid, org, sub)
            if n == 2:                      # meanwhile another process evaluates the whole round
                scoring.evaluate(Store(db_url), rid, "另一个进程")
            ev = live.rescore([org], "组织部")
            assert ev.organizations == 1
    finally:
        live.close()
    with store.read() as c:
        scoring.write_results(c, rid, tmp_path / "live")
    scoring.evaluate(store, rid, "组织部")
    with store.read() as c:
        scoring.write_results(c, rid, tmp_path / "full")
    assert scored(tmp_path / "live") == scored(tmp_path / "full")


def test_a_streets_own_evidence_is_stored_scored_and_exported_as_the_streets(db_url, tmp_path):
    from tests.test_streets import STREET_DOC, make_round, own_values
    (tmp_path / "r").mkdir()
    round_yaml = make_round(tmp_path / "r", {**own_values(), "street.yaml": STREET_DOC})
    store = Store(db_url)
    rounds.import_round(store, round_yaml, "组织部")
    scoring.evaluate(store, "streets-2026", "组织部")
    with store.read() as c:
        scoring.write_results(c, "streets-2026", tmp_path / "store")
        path = rounds.materialize(c, "streets-2026", tmp_path / "exported", evidence=True)
    folder = evaluate_folder(round_yaml, tmp_path / "folder")
    assert scored(tmp_path / "store") == folder
    assert "统一填报" in json.dumps(folder, ensure_ascii=False)          # the street named in the reasons
    assert (path.parent / "evidence" / "store-streets.yaml").is_file()    # written once, as the street's
    assert evaluate_folder(path, tmp_path / "again") == folder


def test_excel_day_numbers_are_exported_as_the_dates_they_are(db_url, mini_round, tmp_path):
    import openpyxl
    ev = mini_round.parent / "evidence"
    rows = (ev / "bulk_records.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (ev / "bulk_records.csv").write_text("".join(r for r in rows if not r.startswith("C3,")), encoding="utf-8")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "committee_meetings"
    ws.append(["organization", "date", "source"])
    for day in (46027, 46058, 46086):                  # 2026-01-05, 02-05, 03-05 as Excel stores them
        ws.append(["C3", day, "self"])
    wb.save(ev / "meetings.xlsx")
    store = Store(db_url)
    rounds.import_round(store, mini_round, "组织部")
    scoring.evaluate(store, "mini-2026", "组织部")
    with store.read() as c:
        scoring.write_results(c, "mini-2026", tmp_path / "store")
        path = rounds.materialize(c, "mini-2026", tmp_path / "exported", evidence=True)
    folder = evaluate_folder(mini_round, tmp_path / "folder")
    assert scored(tmp_path / "store") == folder
    c3 = next(o for o in folder["organizations"] if o["id"] == "C3")
    assert "2026-03-05" in json.dumps(c3["criteria"], ensure_ascii=False)   # read as dates from the workbook
    assert evaluate_folder(path, tmp_path / "again") == folder               # and still dates once exported
