"""Documents a person signs and publishes: the signature and the stamp never alone on a page,
the issuer's footer on every page and the tool only in the metadata, scorecard file names and
bundles, the 通报's street section, street ranks, and HTML that works on a phone offline."""
from __future__ import annotations

import copy
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from evaluator.reports import model, render_reports
from evaluator.reports.html import render_html
from evaluator.reports.pdf import PdfRenderer, fixed_datetime
from evaluator.reports.render import NAME_MAX_BYTES, FileNamer, card_stem, file_names

from tests.reports.conftest import ROUND, box_text, boxes, card_file, load_round, pdf_text, squash, write_round

FOOTER = "示例市委组织部组织一科 电话 0000-0000000"
STAMP = "中共示例市委组织部2026年12月31日"          # the issuer and the date, as the stamp prints them


@pytest.fixture(scope="module")
def results():
    return load_round()


@pytest.fixture(scope="module")
def ctx(results):
    c = model.context(results, public=False, has_previous=False)
    c["round"]["footer"] = FOOTER
    return c


@pytest.fixture(scope="module")
def renderer():
    return PdfRenderer()


# ------------------------------------------------------------------ the signature is never alone

def _pages(renderer, html: str) -> int:
    return len(renderer.document(html).pages)


def _rows_that_fit(page, row: str) -> int:
    """How many more rows like the one reading `row` fit below what `page` holds now."""
    area = page._page_box
    content = area.children[0]                   # the document; the other children are margin boxes
    bottom = max(b.position_y + b.margin_height() for b in boxes(content) if hasattr(b, "margin_height"))
    height = next(b for b in boxes(content, "tr") if row in box_text(b)).margin_height()
    return int((area.content_box_y() + area.height - bottom) // height)


def _boundary(renderer, make, lo: int, hi: int, last_row) -> int:
    """The smallest n in (lo, hi] whose document has more pages than with lo rows: where the
    last rows and the closing block reach the bottom of a page. Bisection, which first tries
    the n that the room left under lo rows predicts and the n before it: two layouts instead
    of seven when the prediction holds, the same answer when it does not."""
    pages = renderer.document(make(lo)).pages
    base = len(pages)
    assert _pages(renderer, make(hi)) > base, "widen the range: no page break reached"
    guess = lo + 1 + _rows_that_fit(pages[-1], last_row(lo))
    tries = [guess, guess - 1]
    while hi - lo > 1:
        mid = tries.pop(0) if tries else (lo + hi) // 2
        if not lo < mid < hi:
            continue
        if _pages(renderer, make(mid)) > base:
            hi = mid
        else:
            lo = mid
    return hi


def _page_texts(renderer, html: str, tmp_path: Path) -> list[str]:
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(renderer.pdf(html, identifier=b"layout", created=fixed_datetime("2026-12-31")))
    n = len(PdfReader(pdf).pages)
    return [squash(pdf_text(pdf, i, i)) for i in range(1, n + 1)]


def _check_closing(renderer, make, n: int, closing: str, last_row: str, tmp_path: Path) -> None:
    for k in (n - 1, n, n + 1):          # just before, at and after the page break
        pages = _page_texts(renderer, make(k), tmp_path)
        where = [i for i, t in enumerate(pages) if closing in t]
        assert where == [len(pages) - 1], (k, where)           # on the last page, once
        last = pages[-1]
        assert last_row(k) in last, (k, last[:300])            # with the last row of the table
        assert last.endswith(FOOTER.replace(" ", "")) and "agrade" not in "".join(pages)


def test_signature_stays_with_the_last_rectification_rows(results, ctx, renderer, tmp_path):
    org = next(o for o in results["organizations"] if o["id"] == "HD-007")
    card = model.scorecard(org, ctx, None, model.rank_counts(results))
    first = card["rectification"][0]

    def make(n):
        rows = [{**first, "no": i + 1, "problem": f"整改事项{i + 1:03d}号"} for i in range(n)]
        return render_html("scorecard", {**card, "rectification": rows}, standalone=False)

    def marker(k):
        return f"整改事项{k:03d}号"

    _check_closing(renderer, make, _boundary(renderer, make, 5, 80, marker), "党组织书记签字", marker, tmp_path)


def test_stamp_stays_with_the_last_ranking_rows(results, ctx, renderer, tmp_path):
    doc = model.summary(results, ctx, {})
    row = doc["ranking"][0]

    def make(n):
        rows = [{**row, "rank": i + 1, "name": f"排名组织{i + 1:03d}号"} for i in range(n)]
        return render_html("summary", {**doc, "ranking": rows}, standalone=False)

    def marker(k):
        return f"排名组织{k:03d}号"

    _check_closing(renderer, make, _boundary(renderer, make, 5, 120, marker), STAMP, marker, tmp_path)


def test_stamp_stays_with_the_last_list_entries(results, ctx, renderer, tmp_path):
    from evaluator.scoring.lists import derive_lists
    doc = model.lists(results, ctx, derive_lists(results, None))
    entry = doc["lists"][-1]["entries"][0]

    def make(n):
        lists = copy.deepcopy(doc["lists"])
        lists[-1]["entries"] = [{**entry, "no": i + 1, "name": f"列入组织{i + 1:03d}号"} for i in range(n)]
        return render_html("lists", {**doc, "lists": lists}, standalone=False)

    def marker(k):
        return f"列入组织{k:03d}号"

    _check_closing(renderer, make, _boundary(renderer, make, 5, 120, marker), STAMP, marker, tmp_path)


def test_long_rectification_rows_are_never_split(results, ctx, renderer):
    org = next(o for o in results["organizations"] if o["id"] == "HD-007")
    card = model.scorecard(org, ctx, None, model.rank_counts(results))
    long = "；".join(f"第{k}处问题的说明文字" for k in range(12))
    rows = [{**card["rectification"][0], "no": i + 1, "problem": f"事项{i + 1:02d}：{long}"} for i in range(30)]
    doc = renderer.document(render_html("scorecard", {**card, "rectification": rows}, standalone=False))
    pages = [box_text(p._page_box) for p in doc.pages]
    for i in range(30):
        marker = f"事项{i + 1:02d}："
        holding = [p for p in pages if marker in p]
        assert len(holding) == 1
        assert "第11处问题的说明文字" in holding[0].split(marker, 1)[1]      # the row's end on the same page


# ------------------------------------------------------------------ footer and metadata

def test_footer_from_the_round_on_every_page_and_the_tool_only_in_metadata(tmp_path):
    results = load_round()
    results["round"]["footer"] = FOOTER
    out = tmp_path / "out"
    render_reports(write_round(results, tmp_path / "res"), out, formats=("pdf", "html"), workers=1,
                   only=["HD-007"])
    for pdf in [card_file(out, "HD-007"), out / "summary.pdf", out / "lists.pdf"]:
        reader = PdfReader(pdf)
        for i in range(1, len(reader.pages) + 1):
            page = squash(pdf_text(pdf, i, i))
            assert page.endswith(FOOTER.replace(" ", "")), (pdf.name, i, page[-80:])
        assert "agrade" not in pdf_text(pdf).lower()
        meta = reader.metadata
        assert "agrade" in str(meta.get("/Creator", "")), meta         # who made it: metadata only
    html = (out / "summary.html").read_text(encoding="utf-8")
    assert f'<div class="page-footer">{FOOTER}</div>' in html
    assert "由 agrade" not in html


def test_footer_defaults_to_the_issuer(rendered):
    text = squash(pdf_text(card_file(rendered, "HD-001")))
    assert text.endswith("中共示例市委组织部") and "agrade" not in text.lower()


def test_round_yaml_footer_is_checked_and_carried(tmp_path):
    import shutil
    from evaluator.errors import InputError
    from evaluator.intake.rounds import load_round as load_round_file, published_info
    mini = Path(__file__).resolve().parents[1] / "fixtures" / "mini"
    shutil.copytree(mini, tmp_path / "mini")
    path = tmp_path / "mini" / "round.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "footer: 测试区委组织部组织科 联系电话 12345\nissued_on: 2027-01-15\n", encoding="utf-8")
    info = published_info(load_round_file(path))
    assert info["footer"] == "测试区委组织部组织科 联系电话 12345" and info["issued_on"] == "2027-01-15"
    assert info["issuer"] == "测试区委组织部"
    path.write_text(text + 'footer: "第一行\\n第二行"\n', encoding="utf-8")
    with pytest.raises(InputError, match="footer"):
        load_round_file(path)


# ------------------------------------------------------------------ file names and bundles

def test_scorecard_file_names_are_id_and_name_within_the_byte_limit():
    assert card_stem("HD-001", "新华街道三东社区党委") == "HD-001_新华街道三东社区党委"
    assert card_stem("HD/../1", "a b/c:d*e") == "HD_.._1_a_b_c_d_e"
    assert card_stem("X1", "...") == "X1" and card_stem("X1", None) == "X1"
    long_name = "广州市花都区新华街道" * 40
    stem = card_stem("HD-" + "9" * 300, long_name)
    assert len(stem.encode("utf-8")) <= NAME_MAX_BYTES
    assert len((stem + ".result.json").encode("utf-8")) < 255
    assert stem.startswith("HD-999") and "_广州市花都区" in stem
    names = file_names([{"id": "A1", "name": "甲"}, {"id": "a1", "name": "甲"}, {"id": "A1_", "name": "甲"}])
    assert len({n.lower() for n in names.values()}) == 3
    namer = FileNamer()
    assert namer.add("B2", "乙党支部") == "B2_乙党支部" and namer.add("b2", "乙党支部") == "b2_乙党支部-2"


def test_scorecards_bundled_per_street_and_district(tmp_path):
    out = tmp_path / "out"
    files = render_reports(ROUND, out, kinds=("scorecards",), formats=("html",), workers=1,
                           bundle=("street", "district"))
    rel = sorted(p.relative_to(out).as_posix() for p in files)
    zips = [r for r in rel if r.endswith(".zip")]
    assert zips == ["bundles/区县/从化区.zip", "bundles/区县/花都区.zip", "bundles/街道/从化区_江埔街道.zip",
                    "bundles/街道/从化区_街口街道.zip", "bundles/街道/花都区_新华街道.zip", "bundles/街道/花都区_狮岭镇.zip",
                    "bundles/街道/花都区_秀全街道.zip"]
    with zipfile.ZipFile(out / "bundles/街道/花都区_秀全街道.zip") as z:
        assert z.namelist() == ["HD-003_秀全街道大华村党总支.html", "HD-007_秀全街道马溪村党支部.html"]
        assert all(i.date_time == (2026, 12, 31, 0, 0, 0) for i in z.infolist())   # the round's issue date
        assert z.read("HD-007_秀全街道马溪村党支部.html") == card_file(out, "HD-007", "html").read_bytes()
    with zipfile.ZipFile(out / "bundles/区县/花都区.zip") as z:
        assert [n.split("_")[0] for n in z.namelist()] == ["HD-001", "HD-003", "HD-005", "HD-007"]
    again = tmp_path / "again"
    render_reports(ROUND, again, kinds=("scorecards",), formats=("html",), workers=1, bundle=("district",))
    assert (again / "bundles/区县/花都区.zip").read_bytes() == (out / "bundles/区县/花都区.zip").read_bytes()


def test_bundle_option_on_the_command_line(tmp_path, capsys):
    from evaluator.cli import run
    code = run(["report", str(ROUND), "--out", str(tmp_path / "a"), "--kind", "scorecards", "--format", "html",
                "--workers", "1", "--only", "HD-001,CH-002", "--bundle", "district"])
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "a" / "bundles" / "区县").iterdir()) == ["从化区.zip", "花都区.zip"]
    code = run(["report", str(ROUND), "--out", str(tmp_path / "b"), "--bundle", "town"])
    assert code == 2 and "unknown bundle 'town'" in capsys.readouterr().err
    code = run(["report", str(ROUND), "--out", str(tmp_path / "c"), "--kind", "summary", "--bundle", "street"])
    assert code == 2


# ------------------------------------------------------------------ streets

def test_street_ranks_on_scorecards_and_in_the_rankings(rendered, results):
    text = squash(pdf_text(card_file(rendered, "HD-003")))
    assert "街道内排名第1名/共2个" in text and "区县内排名第2名/共4个" in text
    import csv
    rows = list(csv.DictReader((rendered / "rankings.csv").read_text(encoding="utf-8-sig").splitlines()))
    by_id = {r["组织编号"]: r for r in rows}
    assert by_id["HD-007"]["街道内排名"] == "2" and by_id["HD-003"]["街道内排名"] == "1"
    assert by_id["CH-008"]["街道内排名"] == ""           # not graded: no rank


def test_a_scope_that_is_the_whole_round_is_not_ranked_again(results):
    one = copy.deepcopy(results)
    for o in one["organizations"]:
        o["district"] = "示例区"
        if o.get("rank"):
            o["rank"]["district"] = o["rank"]["round"]
    ctx = model.context(one, public=False, has_previous=False)
    org = one["organizations"][0]
    labels = [r["label"] for r in model.scorecard(org, ctx, None, model.rank_counts(one))["ranks"]]
    assert labels == ["全域排名", "街道内排名", "领域内排名"]        # no 区县内排名 repeating the overall rank
    old = copy.deepcopy(org)
    del old["rank"]["street"]                                     # results from before street ranks
    labels = [r["label"] for r in model.scorecard(old, ctx, None, model.rank_counts(one))["ranks"]]
    assert labels == ["全域排名", "领域内排名"]


def test_summary_street_section(results):
    ctx = model.context(results, public=False, has_previous=False)
    doc = model.summary(results, ctx, {})
    sc = doc["schemes"][0]
    assert sc["target"] == {"tier": "A档", "share": "20%"}
    streets = [(r["label"], r["counts"], r["avg"], r["top_share"], r["met"]) for r in sc["by_street"]]
    assert streets[:2] == [("花都区新华街道", [1, 0, 0, 0], "98.00", "100.0%", True),
                           ("从化区街口街道", [1, 0, 0, 0], "96.00", "100.0%", True)]
    assert ("花都区秀全街道", [0, 1, 0, 1], "75.50", "0.0%", False) in streets
    assert all(r["mark"] == 20.0 for r in sc["by_street"])
    assert doc["n_streets"] == 5 and len(doc["streets"]) == 5


def test_summary_pdf_puts_analysis_first_with_legends_in_the_chart_headers(rendered):
    text = squash(pdf_text(rendered / "summary.pdf"))
    assert text.index("分街道（镇）情况") < text.index("档次变动（较上轮）") < text.index("排名情况（通报排队）")
    # each tier chart's legend is in its column header (repeated on every page with the chart)
    assert text.count("档次构成A档B档C档D档") == 3
    assert "查找组织名称或编号" not in text                         # the filter is for the HTML only


def test_lists_by_street(results):
    from evaluator.scoring.lists import derive_lists
    ctx = model.context(results, public=False, has_previous=False)
    lists = derive_lists(results, {"red": {"title": "街道红榜", "include": "status == 'graded'",
                                           "top": {"n": 1, "scope": "street"}}})
    doc = model.lists(results, ctx, lists)
    red = doc["lists"][0]
    assert any("每个街道" in line for line in red["rules"])
    streets = [(e["district"], e["street"]) for e in red["entries"]]
    assert len(streets) == len(set(streets)) == 5                   # the best of each street


# ------------------------------------------------------------------ HTML on a phone, offline

def test_html_fits_a_phone_and_fetches_nothing(rendered):
    import re
    for path in [rendered / "summary.html", rendered / "lists.html", card_file(rendered, "HD-001", "html")]:
        html = path.read_text(encoding="utf-8").replace('xmlns="http://www.w3.org/2000/svg"', "")   # a name, not a fetch
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
        assert "default-src 'none'" in html                        # the browser may fetch nothing
        assert not re.search(r"""\b(src|href)\s*=|url\(|@import|https?://""", html), path.name
        assert "@media screen and (max-width: 640px)" in html
    summary = (rendered / "summary.html").read_text(encoding="utf-8")
    assert summary.count("<script>") == 1 and '<table class="ranking" id="ranking">' in summary
    assert 'placeholder="查找组织名称或编号"' in summary and '<select name="s"' in summary
    assert 'data-s="花都区/秀全街道" data-t="D档"' in summary
    assert "<script" not in card_file(rendered, "HD-001", "html").read_text(encoding="utf-8")
