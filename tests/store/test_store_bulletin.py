"""`agrade round bulletin`: a stored round evaluated as of a date, the same as-of evaluation
`agrade bulletin` makes of the round's folder, kept with the bulletin (issue 9)."""
from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

from .helpers_store import mini_round, scored  # noqa: F401


@pytest.fixture
def db(db_url, monkeypatch):
    monkeypatch.setenv("AGRADE_DB", db_url)
    monkeypatch.setenv("AGRADE_USER", "区委组织部-张三")
    return db_url


def ok(*argv):
    code, out, err = run_cli(*argv)
    assert code == 0, (argv, out, err)
    return out


def outcomes(folder) -> dict:
    data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    return {o["id"]: (o["tier"], o["total"], [(c["id"], c["outcome"], c["points"], c["reason"]) for c in o["criteria"]])
            for o in data["organizations"]}


def yearly(mini_round):
    """The round's 述职评议 (G2.3) made a year-end item, as the secretaries report once a year."""
    std = mini_round.parent / "mini.yaml"
    text = std.read_text(encoding="utf-8")
    std.write_text(text.replace("method: bands, field: secretary_rating,", "method: bands, field: secretary_rating, due: period_end,"),
                   encoding="utf-8")
    assert std.read_text(encoding="utf-8") != text
    return mini_round


def test_a_stored_bulletin_is_the_folder_bulletin_of_its_export(db, mini_round, tmp_path):
    mini_round = yearly(mini_round)
    ok("round", "import", mini_round)
    ok("round", "evaluate", "mini-2026")
    ok("round", "export", "mini-2026", "--out", tmp_path / "exported")
    for as_of in ("2026-01-31", "2026-10-11", "2026-12-31"):
        ok("round", "bulletin", "mini-2026", "--as-of", as_of, "--out", tmp_path / "store" / as_of)
        # the store compares with its earlier bulletins; the folder with those named
        earlier = ["--previous", tmp_path / "folder"] if (tmp_path / "folder").exists() else []
        ok("bulletin", tmp_path / "exported" / "round.yaml", "--as-of", as_of, "--out", tmp_path / "folder" / as_of, *earlier, "-q")
        assert outcomes(tmp_path / "store" / as_of) == outcomes(tmp_path / "folder" / as_of)
        store, folder = scored(tmp_path / "store" / as_of), scored(tmp_path / "folder" / as_of)
        assert store["round"]["as_of"] == as_of and store == folder
    g23 = {day: {oid: next(c for c in o[2] if c[0] == "G2.3")[1] for oid, o in outcomes(tmp_path / "store" / day).items()}
           for day in ("2026-01-31", "2026-12-31")}
    # 述职评议 is 未到期 in January and scored at the period's end
    assert set(g23["2026-01-31"].values()) == {"not_due"} and "not_due" not in g23["2026-12-31"].values()
    # C1's floor area was verified (480 m²) on 2026-10-12: the day before, its own 520 m² counts
    c1 = {day: next(c for c in outcomes(tmp_path / "store" / day)["C1"][2] if c[0] == "G1.2") for day in ("2026-10-11", "2026-12-31")}
    assert c1["2026-10-11"][2] == 20 and "晚于通报截止日" in c1["2026-10-11"][3] and c1["2026-12-31"][2] == 12


def test_the_bulletin_is_kept_with_its_own_evaluation_and_moves_against_the_earlier_one(db, mini_round, tmp_path):
    from evaluator.store.base import Store
    from evaluator.store.scoring import latest_evaluation
    from evaluator.store.tables import bulletins, evaluations
    from sqlalchemy import select
    ok("round", "import", mini_round)
    ok("round", "evaluate", "mini-2026")
    ok("round", "bulletin", "mini-2026", "--as-of", "2026-01-31")
    out = ok("round", "bulletin", "mini-2026", "--as-of", "2026-06-30")
    assert "与2026年1月31日通报相比：" in out
    store = Store(db)
    with store.read() as c:
        rows = c.execute(select(bulletins.c.as_of, evaluations.c.kind, evaluations.c.summary)
                         .join(evaluations, evaluations.c.id == bulletins.c.evaluation).order_by(bulletins.c.as_of)).all()
        current = latest_evaluation(c, "mini-2026")
    assert [r.kind for r in rows] == ["bulletin", "bulletin"]
    jan, jun = (json.loads(r.summary) for r in rows)
    assert jan["as_of"] == "2026-01-31" and set(jan["placements"]) == {"C1", "C2", "C3"}
    assert jun["bulletin"]["previous"][0]["as_of"] == "2026-01-31" and sum(jun["bulletin"]["moves"].values()) == 3
    assert current["kind"] == "full" and not current["stale"]          # the round's standing is untouched


def test_a_bulletin_issued_as_a_snapshot_before_is_compared_as_the_snapshot_it_was(db, mini_round):
    """A bulletin stored before bulletins kept their own evaluation points at a full evaluation:
    a new bulletin moves against the placements that evaluation made."""
    import datetime
    from sqlalchemy import insert, select
    from evaluator.store.base import Store
    from evaluator.store.db import now
    from evaluator.store.publish import issue_bulletin
    from evaluator.store.tables import bulletins, placements
    ok("round", "import", mini_round)
    ok("round", "evaluate", "mini-2026")
    store = Store(db)
    with store.change("甲") as tx:
        full = tx.conn.execute(select(placements.c.evaluation)).scalars().first()
        tx.conn.execute(insert(bulletins).values(round="mini-2026", as_of=datetime.date(2026, 6, 30), issued_at=now(),
                                                 issued_by="甲", evaluation=full))
        then = {p.organization: p.tier for p in tx.conn.execute(select(placements))}
    b = issue_bulletin(store, "mini-2026", datetime.date(2026, 9, 30), "甲")
    trend = b.header["bulletin"]["trend"]
    assert {oid: line[0]["tier"] for oid, line in trend.items()} == then
    assert [p["as_of"] for p in b.header["bulletin"]["previous"]] == ["2026-06-30"]
    assert sum(b.header["bulletin"]["moves"].values()) == 3


def test_history_shows_each_bulletin_as_of_its_date_and_evaluations_count_per_round(db, mini_round, tmp_path):
    """C1's floor area was verified down (480 m²) on 2026-10-12: the October bulletin, scored as
    of the 11th, still counts 20 points for it, and history says so rather than repeating the
    latest full evaluation. Bulletins' as-of evaluations are not counted as the round's
    evaluations (第 N 次评估)."""
    import datetime
    from evaluator.store.base import Store
    from evaluator.store.history import history
    out = ok("round", "import", mini_round)
    first = ok("round", "evaluate", "mini-2026")
    assert "第 1 次评估" in first
    ok("round", "bulletin", "mini-2026", "--as-of", "2026-10-11", "--out", tmp_path / "oct")
    again = ok("round", "evaluate", "mini-2026")
    assert "第 2 次评估" in again, again
    oct_total = next(o["total"] for o in json.loads((tmp_path / "oct" / "results.json").read_text(encoding="utf-8"))["organizations"]
                     if o["id"] == "C1")
    with Store(db).read() as c:
        h = history(c, "C1")[0]
    assert [str(b["as_of"]) for b in h["bulletins"]] == ["2026-10-11"]
    assert all(s["kind"] != "bulletin" for s in h["steps"])
    latest_total = h["steps"][-1]["total"]
    assert str(oct_total) != str(latest_total)          # the verification cost C1 points after the 11th
    assert h["bulletins"][0]["tier"] is not None and h["bulletins"][0]["rank"] is not None
    status = ok("round", "status", "mini-2026")
    assert "评估：第 2 次（评估）" in status, status
    del out, datetime


def test_bulletins_are_numbered_by_their_date_within_their_round(db, mini_round, tmp_path):
    """第 N 期: the place of a bulletin's date among its round's bulletins; one issued again for
    the same date is the same 期 (not the next), whatever ids other rounds' bulletins took."""
    ok("round", "import", mini_round)
    ok("round", "evaluate", "mini-2026")
    assert "第 1 期通报（截至2026年1月31日）" in ok("round", "bulletin", "mini-2026", "--as-of", "2026-01-31")
    assert "第 2 期通报（截至2026年2月28日）" in ok("round", "bulletin", "mini-2026", "--as-of", "2026-02-28")
    assert "第 2 期通报（截至2026年2月28日）" in ok("round", "bulletin", "mini-2026", "--as-of", "2026-02-28")
    assert "第 3 期通报（截至2026年3月31日）" in ok("round", "bulletin", "mini-2026", "--as-of", "2026-03-31")


def test_history_numbers_evaluations_within_the_round(db, mini_round, tmp_path):
    from evaluator.store.base import Store
    from evaluator.store.history import history
    ok("round", "import", mini_round)
    ok("round", "evaluate", "mini-2026")
    ok("round", "bulletin", "mini-2026", "--as-of", "2026-10-11")
    ok("evidence", "submit", "mini-2026", "C1", "centre_area", "100", "--source", "verified", "--inspector", "督导组-李四",
       "--verified-on", "2026-11-01")
    ok("round", "evaluate", "mini-2026")
    with Store(db).read() as c:
        steps = history(c, "C1")[0]["steps"]
    assert [s["number"] for s in steps] == [1, 2]
