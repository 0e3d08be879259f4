"""Rounds across years in the store: a round reading its previous round (designations such as
软弱涣散 from two consecutive years), and an organization's history over both."""
from __future__ import annotations

import re
import shutil

import pytest

from evaluator.store import rounds, scoring
from evaluator.store.base import Refused, Store
from evaluator.store.history import history

from .helpers_store import evaluate_folder, scored

WEAK = """
designations:
  weak:
    title: 软弱涣散党组织
    include_any: ["veto_count > 0", "bottom_tier and previous.bottom_tier"]
previous: ../last-results
"""


@pytest.fixture(scope="module")
def years(tmp_path_factory):
    from evaluator.demo import generate
    base = tmp_path_factory.mktemp("years")
    last = generate(base / "last", 60, 11)
    last.write_text(re.sub(r"(?m)^id: .*$", "id: shiliqu-2025", last.read_text(encoding="utf-8"), count=1),
                    encoding="utf-8")
    this_dir = base / "this"
    shutil.copytree(last.parent, this_dir)
    this = this_dir / last.name
    this.write_text(re.sub(r"(?m)^id: .*$", "id: shiliqu-2026", this.read_text(encoding="utf-8"), count=1) + WEAK,
                    encoding="utf-8")
    return base, last, this


def test_a_round_reads_its_previous_round_from_the_store(db_url, years, tmp_path):
    base, last, this = years
    store = Store(db_url)
    shutil.rmtree(base / "last-results", ignore_errors=True)
    evaluate_folder(last, base / "last-results")            # what round.yaml's previous: names on disk
    with pytest.raises(Refused, match="import it first"):
        rounds.import_round(store, this, "组织部")
    rounds.import_round(store, last, "组织部")
    scoring.evaluate(store, "shiliqu-2025", "组织部")
    rounds.import_round(store, this, "组织部")
    scoring.evaluate(store, "shiliqu-2026", "组织部")
    with store.read() as c:
        scoring.write_results(c, "shiliqu-2026", tmp_path / "store")
    got = scored(tmp_path / "store")
    assert got == evaluate_folder(this, tmp_path / "folder")   # the previous round read from the store
    assert got["designations"]["weak"]["entries"], "someone is designated 软弱涣散"
    weak = got["designations"]["weak"]["entries"][0]["organization"]
    with store.read() as c:
        h = history(c, weak)
    assert [r["round"] for r in h] == ["shiliqu-2025", "shiliqu-2026"]
    assert "designation:weak" in h[1]["steps"][-1]["lists"] and h[1]["titles"]["designation:weak"] == "软弱涣散党组织"


def test_history_on_the_command_line_names_each_year_and_its_standard(db_url, years, monkeypatch):
    from tests.conftest import run_cli
    base, last, this = years
    monkeypatch.setenv("AGRADE_DB", db_url)
    store = Store(db_url)
    shutil.rmtree(base / "last-results", ignore_errors=True)
    evaluate_folder(last, base / "last-results")
    for rid, path in (("shiliqu-2025", last), ("shiliqu-2026", this)):
        rounds.import_round(store, path, "组织部")
        scoring.evaluate(store, rid, "组织部")
    code, out, err = run_cli("history", "SL-0001")
    assert code == 0, err
    assert "shiliqu-2025" in out and "shiliqu-2026" in out and "考评标准" in out and "与上一轮相比" in out
