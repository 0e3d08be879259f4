"""Reports read results.json as the evaluator writes it (the round, then one organization per
line) one organization at a time: the same documents as reading the file whole, a round's
organizations never all in memory, and a broken line refused at its line."""
from __future__ import annotations

import json
import tracemalloc
from decimal import Decimal
from pathlib import Path

import pytest

from evaluator.errors import InputError
from evaluator.reports import model, render_reports
from evaluator.reports.render import jsonable
from evaluator.scoring.source import load_results, open_results


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory) -> Path:
    """A 60-organization demo round as `agrade evaluate` writes it (vetoes, ungraded, quotas)."""
    from evaluator.demo import generate
    tmp = tmp_path_factory.mktemp("stream")
    rnd = generate(tmp / "round", 60, 7)
    from evaluator.cli import run
    assert run(["evaluate", str(rnd), "--out", str(tmp / "results"), "-q", "--workers", "1"]) == 0
    return tmp / "results"


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def lines(results: Path) -> list[str]:
    return (results / "results.json").read_text(encoding="utf-8").split("\n")


def test_read_line_by_line_the_documents_are_those_of_the_whole_file(evaluated, tmp_path):
    whole = tmp_path / "whole"          # the same results, indented: read whole, as any JSON layout is
    whole.mkdir()
    data = json.loads((evaluated / "results.json").read_text(encoding="utf-8"), parse_float=Decimal)
    (whole / "results.json").write_text(json.dumps(jsonable(data), ensure_ascii=False, indent=1), encoding="utf-8")
    with open_results(evaluated) as a, open_results(whole) as b:
        assert (a.streamed, b.streamed) == (True, False)
        assert a.ids == b.ids and len(a) == 60
    kw = dict(formats=("html", "csv", "xlsx", "json"), workers=1, previous_results=evaluated)
    render_reports(evaluated, tmp_path / "a", **kw)
    render_reports(whole, tmp_path / "b", **kw)
    streamed, read_whole = files(tmp_path / "a"), files(tmp_path / "b")
    assert len([n for n in streamed if n.startswith("scorecards/")]) == 60
    assert sorted(streamed) == sorted(read_whole)
    assert [n for n in streamed if streamed[n] != read_whole[n]] == []
    # the results.json a report writes is in the same layout, and reads back to the same documents
    again = tmp_path / "again"
    again.mkdir()
    (again / "results.json").write_bytes(streamed["results.json"])
    with open_results(again) as c:
        assert c.streamed and c.ids == [o["id"] for o in data["organizations"]]
    render_reports(again, tmp_path / "c", formats=("html",), kinds=("summary", "lists"), workers=1,
                   previous_results=evaluated)
    assert files(tmp_path / "c") == {n: streamed[n] for n in ("summary.html", "lists.html")}


def held_by(read) -> tuple[object, int]:
    """What `read()` returns and the memory it still holds afterwards."""
    tracemalloc.start()
    try:
        got = read()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return got, held


def test_scorecards_never_hold_the_round_in_memory(evaluated):
    whole, held_whole = held_by(lambda: load_results(evaluated))
    src, held = held_by(lambda: open_results(evaluated, lambda: model.RoundFacts(compact=False)))  # --kind scorecards
    with src:
        assert src.streamed
        assert list(src.organizations()) == whole["organizations"]      # read again one at a time
    # the header (standards, lists) and the ids; not the organizations
    assert held < held_whole / 10, (held, held_whole)


def test_a_broken_line_is_refused_at_its_line(evaluated, tmp_path):
    text = lines(evaluated)
    k = next(i for i, line in enumerate(text) if line.startswith('{"id"')) + 5      # the 6th organization
    text[k] = text[k][: len(text[k]) // 2]
    (tmp_path / "results.json").write_text("\n".join(text), encoding="utf-8")
    with pytest.raises(InputError) as info:
        render_reports(tmp_path / "results.json", tmp_path / "out", kinds=("scorecards",), formats=("html",))
    (issue,) = info.value.issues
    assert issue.line == k + 1 and "not valid JSON" in issue.message
    assert not (tmp_path / "out").exists()


def test_missing_keys_are_refused_with_line_and_path(evaluated, tmp_path):
    text = lines(evaluated)
    first = next(i for i, line in enumerate(text) if line.startswith('{"id"'))
    org = json.loads(text[first + 2].rstrip(","))
    assert org["status"] == "graded"
    del org["tier"]
    text[first + 2] = json.dumps(org, ensure_ascii=False, separators=(",", ":")) + ","
    (tmp_path / "results.json").write_text("\n".join(text), encoding="utf-8")
    with pytest.raises(InputError) as info:
        render_reports(tmp_path / "results.json", tmp_path / "out", kinds=("summary",), formats=("csv",))
    assert [(i.line, i.path, i.message) for i in info.value.issues] == [
        (first + 3, "$.organizations[2].tier", "required key is missing")]
    assert not (tmp_path / "out").exists()
