"""CSV and XLSX exports, read back; and the render_reports entry point's contract."""
from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from evaluator.errors import InputError
from evaluator.reports import render_reports
from evaluator.reports.render import file_names, safe_name

from tests.reports.conftest import ROUND, load_round, write_round


def test_rankings_xlsx(rendered):
    wb = load_workbook(rendered / "rankings.xlsx")
    assert wb.sheetnames == ["排名"]
    ws = wb["排名"]
    header = [c.value for c in ws[1]]
    assert header[:7] == ["全域排名", "区县内排名", "街道内排名", "领域内排名", "组织编号", "组织名称", "领域"]
    assert header[-1] == "上轮档次"
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}"
    assert all(c.font.bold for c in ws[1])
    rows = [dict(zip(header, (c.value for c in row))) for row in ws.iter_rows(min_row=2)]
    assert len(rows) == 8
    assert rows[0]["组织名称"] == "新华街道三东社区党委" and rows[0]["总分"] == 98 and rows[0]["档次"] == "A档"
    assert rows[2]["总分"] == 97.5 and rows[2]["上轮档次"] == "A档"
    assert rows[-1]["状态"] == "不予定档" and rows[-1]["全域排名"] is None
    assert wb.properties.creator == "中共示例市委组织部"


def test_lists_and_rectification_xlsx(rendered):
    wb = load_workbook(rendered / "lists.xlsx")
    assert wb.sheetnames == ["红榜", "黑榜"]
    assert [r[2] for r in wb["红榜"].iter_rows(min_row=2, values_only=True)] == ["新华街道三东社区党委", "街口街道新村社区党委"]
    assert wb["黑榜"]["J2"].value == "符合条件：触发一票否决；触发一票否决（发生严重违纪违法问题）：是否发生严重违纪违法问题为“是”，档次最高定为 C档"
    rect = load_workbook(rendered / "rectification.xlsx")["整改清单"]
    rows = list(rect.iter_rows(min_row=2, values_only=True))
    assert sum(1 for r in rows if r[0] == "HD-007") == 11
    assert rows[0][:6] == ("HD-001", "新华街道三东社区党委", "花都区", 1, "G2.3", "每月固定主题党日")


def test_csv_has_a_bom_and_the_same_rows(rendered):
    raw = (rendered / "rankings.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:6] == ["全域排名", "区县内排名", "街道内排名", "领域内排名", "组织编号", "组织名称"]
    assert rows[1][5] == "新华街道三东社区党委" and rows[1][10] == "98"
    lists = list(csv.reader(io.StringIO((rendered / "lists.csv").read_bytes().decode("utf-8-sig"))))
    assert lists[0][0] == "榜单" and [r[0] for r in lists[1:]] == ["红榜", "红榜", "黑榜", "黑榜"]


def test_spreadsheet_formulas_in_typed_text_stay_text(tmp_path):
    results = load_round()
    results["organizations"][0]["name"] = '=HYPERLINK("http://example.org","点我")'
    results["organizations"][1]["name"] = "+1+2"
    out = tmp_path / "out"
    render_reports(write_round(results, tmp_path / "round"), out, kinds=("summary",), formats=("xlsx", "csv"))
    ws = load_workbook(out / "rankings.xlsx")["排名"]
    assert ws["F2"].value == "'=HYPERLINK(\"http://example.org\",\"点我\")" and ws["F2"].data_type == "s"
    assert ws["F3"].value == "'+1+2"
    rows = list(csv.reader(io.StringIO((out / "rankings.csv").read_bytes().decode("utf-8-sig"))))
    assert rows[1][5].startswith("'=")


def test_xlsx_bytes_do_not_depend_on_the_clock(tmp_path, monkeypatch):
    import datetime as dt
    from evaluator.reports import tables
    first = tables.to_xlsx([tables.Table("表", [("a", "甲", "text")], [{"a": "值"}])], title="t", author="a",
                           when=dt.date(2026, 12, 31))

    class Later(dt.datetime):          # openpyxl stamps "modified" with the clock on save
        @classmethod
        def utcnow(cls):
            return dt.datetime(2031, 5, 5, 12, 0, 0)

        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2031, 5, 5, 12, 0, 0)
    monkeypatch.setattr(dt, "datetime", Later)
    second = tables.to_xlsx([tables.Table("表", [("a", "甲", "text")], [{"a": "值"}])], title="t", author="a",
                            when=dt.date(2026, 12, 31))
    assert first == second
    z = zipfile.ZipFile(io.BytesIO(first))
    assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert b"2026-12-31T00:00:00Z</dcterms:modified>" in z.read("docProps/core.xml")


# ------------------------------------------------------------------ render_reports contract

def test_kinds_and_formats_select_the_files(tmp_path):
    files = render_reports(ROUND, tmp_path, kinds=("lists",), formats=("csv", "html"))
    assert sorted(p.relative_to(tmp_path).as_posix() for p in files) == ["lists.csv", "lists.html"]
    files = render_reports(ROUND, tmp_path / "b", kinds="summary", formats="xlsx")
    assert [p.name for p in files] == ["rankings.xlsx"]


@pytest.mark.parametrize("kwargs, words", [
    ({"kinds": ("scorecard",)}, "unknown kind 'scorecard'"),
    ({"formats": ("pdf", "docx")}, "unknown format 'docx'"),
    ({"formats": ()}, "(none given)"),
])
def test_bad_choices(kwargs, words, tmp_path):
    with pytest.raises(InputError) as info:
        render_reports(ROUND, tmp_path / "out", **kwargs)
    assert words in str(info.value)
    assert not (tmp_path / "out").exists()


def test_missing_required_keys_are_reported_with_paths(tmp_path):
    results = load_round()
    del results["round"]["issuer"]
    del results["organizations"][2]["criteria"][0]["points"]
    results["organizations"][3]["status"] = "graded?"
    results["organizations"][4]["extra_key"] = {"is": "fine"}
    with pytest.raises(InputError) as info:
        render_reports(write_round(results, tmp_path / "round"), tmp_path / "out")
    paths = [i.path for i in info.value.issues]
    assert paths == ["$.round.issuer", "$.organizations[2].criteria[0].points", "$.organizations[3].status"]
    assert not (tmp_path / "out").exists()


def test_a_failure_leaves_nothing_behind(tmp_path, monkeypatch):
    from evaluator.reports import model
    real = model.scorecard

    def broken(org, *args):
        if org["id"] == "HD-005":
            raise ValueError("boom")
        return real(org, *args)
    monkeypatch.setattr(model, "scorecard", broken)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="organization HD-005.*boom"):
        render_reports(ROUND, out, kinds=("scorecards",), formats=("html",), workers=1)
    assert list(out.iterdir()) == []


def test_file_names_from_typed_ids():
    assert safe_name("../../etc/passwd") == "_.._etc_passwd"
    assert safe_name("花都/001") == "花都_001"
    assert safe_name(".hidden") == "hidden"
    names = file_names([{"id": "A/1"}, {"id": "A_1"}, {"id": "a_1"}])
    assert names == {"A/1": "A_1", "A_1": "A_1-2", "a_1": "a_1-3"}
    assert all("/" not in n and not n.startswith(".") for n in names.values())


def test_reports_from_results_written_by_the_evaluator(tmp_path):
    """results.json as evaluator.scoring.run writes it (tests/fixtures/mini), not only our fixture."""
    from evaluator.intake.rounds import load_round as load_round_file
    from evaluator.scoring.run import evaluate_round
    from evaluator.scoring.results import dumps
    here = Path(__file__).resolve().parents[1] / "fixtures" / "mini" / "round.yaml"
    payload = evaluate_round(load_round_file(here))
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "results.json").write_text(dumps(payload), encoding="utf-8")
    files = render_reports(tmp_path / "results", tmp_path / "out", formats=("html", "csv"), workers=1)
    names = sorted(p.relative_to(tmp_path / "out").as_posix() for p in files)
    assert "summary.html" in names and "lists.html" in names and "scorecards/C1_甲社区党委.html" in names


def test_results_json_export_is_redacted_in_public_mode(tmp_path):
    import json
    files = render_reports(ROUND, tmp_path / "pub", kinds=("summary",), formats=("json",), public=True)
    assert [p.name for p in files] == ["results.json"]
    text = files[0].read_text(encoding="utf-8")
    for secret in ("王敏", "张建国", "provenance", '"evidence"', "自报 520"):
        assert secret not in text, secret
    data = json.loads(text)
    assert [o["id"] for o in data["organizations"]] == [o["id"] for o in load_round()["organizations"]]
    internal = render_reports(ROUND, tmp_path / "int", kinds=("summary",), formats=("json",))
    assert json.loads(internal[0].read_text(encoding="utf-8")) == json.loads((ROUND / "results.json").read_text())
    with pytest.raises(InputError, match="overwrite"):
        render_reports(ROUND, ROUND, kinds=("summary",), formats=("json",))


# ------------------------------------------------------------------ issue 6: typed text in exports

def test_fullwidth_formulas_are_neutralized_but_numbers_are_not(tmp_path):
    results = load_round()
    results["organizations"][0]["name"] = "＝HYPERLINK(\"http://example.org\")"
    results["organizations"][1]["name"] = "＠SUM(A1)"
    results["organizations"][2]["district"] = "\t=1+2"
    out = tmp_path / "out"
    render_reports(write_round(results, tmp_path / "round"), out, kinds=("summary",), formats=("xlsx", "csv"))
    ws = load_workbook(out / "rankings.xlsx")["排名"]
    assert ws["F2"].value == "'＝HYPERLINK(\"http://example.org\")"
    assert ws["F3"].value == "'＠SUM(A1)"
    assert ws["H4"].value == "'\t=1+2"
    rows = list(csv.reader(io.StringIO((out / "rankings.csv").read_bytes().decode("utf-8-sig"))))
    assert rows[1][5] == "'＝HYPERLINK(\"http://example.org\")" and rows[3][7] == "'\t=1+2"


def test_negative_numbers_stay_numbers_in_exports():
    from evaluator.reports import tables
    t = tables.Table("表", [("n", "分", "num"), ("t", "说明", "text")], [{"n": Decimal("-3.5"), "t": -2}, {"n": -1, "t": "-2"}])
    assert list(t.cells()) == [[-3.5, "-2"], [-1, "'-2"]]
    rows = list(csv.reader(io.StringIO(tables.to_csv(t).decode("utf-8-sig"))))
    assert rows[1:] == [["-3.5", "-2"], ["-1", "'-2"]]


def _with_list_titles(titles: dict[str, str]) -> dict:
    from evaluator.scoring.lists import derive_lists
    results = load_round()
    lists = derive_lists(results, None)
    for lid, title in titles.items():
        lists[lid]["title"] = title
    results["lists"] = lists
    return results


@pytest.mark.parametrize("red, black, sheets", [
    ("红榜: 2026/2027", "黑榜 [2026] *初稿*?", ["红榜： 2026／2027", "黑榜 ［2026］ ＊初稿＊？"]),
    ("'红榜'", "黑\\榜'", ["红榜", "黑＼榜"]),
    ("红黑榜" * 12, "红黑榜" * 12, ["红黑榜" * 10 + "红", "红黑榜" * 9 + "红(2)"]),
    ("榜单", "榜单", ["榜单", "榜单(2)"]),
    ("List", "list", ["List", "list(2)"]),
    ("History", "\x01", ["History表", "表"]),
])
def test_list_titles_become_legal_unique_sheet_names(tmp_path, red, black, sheets):
    import warnings
    results = _with_list_titles({"red": red, "black": black})
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # openpyxl warns about titles Excel cannot open
        render_reports(write_round(results, tmp_path / "round"), out, kinds=("lists",), formats=("xlsx", "csv", "html"))
    wb = load_workbook(out / "lists.xlsx")
    assert wb.sheetnames == sheets
    for name in wb.sheetnames:
        assert len(name) <= 31 and not set(name) & set(":/\\?*[]") and not name.startswith("'") and not name.endswith("'")
    # the CSV and the documents keep the titles as written
    rows = list(csv.reader(io.StringIO((out / "lists.csv").read_bytes().decode("utf-8-sig"))))
    assert {r[0] for r in rows[1:]} <= {red, black}


def test_long_cjk_ids_give_short_unique_file_names(tmp_path):
    results = load_round()
    long_a = "花都区新华街道" + "党" * 93                       # 100 characters, 300 bytes of UTF-8
    long_b = long_a[:-1] + "委"                                 # differs only after the cut
    results["organizations"][0]["id"] = long_a
    results["organizations"][1]["id"] = long_b
    out = tmp_path / "out"
    files = render_reports(write_round(results, tmp_path / "round"), out, kinds=("scorecards",), formats=("html",),
                           only=[long_a, long_b], workers=1)
    names = sorted(p.name for p in files)
    assert len(names) == 2 and len(set(names)) == 2
    for name in names:
        stem = name[: -len(".html")]
        assert len(stem.encode("utf-8")) <= 200 and stem.startswith("花都区新华街道党")
        stem.encode("utf-8").decode("utf-8")                     # cut on a character boundary
    assert sorted((out / "scorecards").iterdir()) == sorted(files)
    names = file_names([{"id": long_a}, {"id": long_b}, {"id": long_a + "x"}])
    assert len(set(names.values())) == 3
    assert all(len(n.encode("utf-8")) <= 200 for n in names.values())


def test_control_characters_do_not_break_the_workbook():
    import datetime as dt
    from evaluator.reports import tables
    data = tables.to_xlsx([tables.Table("名单\x01[草稿]", [("a", "甲", "text")], [{"a": "甲\x02乙"}])],
                          title="某轮\x03", author="组织部\x04", when=dt.date(2026, 12, 31))
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["名单［草稿］"]
    assert wb["名单［草稿］"]["A2"].value == "甲\ufffd乙"
    assert wb.properties.title == "某轮" and wb.properties.creator == "组织部"
