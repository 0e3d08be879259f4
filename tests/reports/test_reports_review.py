"""What a district organization department checks before it signs (issue 9, "Layout a person
signs"): found by reading the demo's documents page by page, each pinned here so it stays fixed.

- a section's heading row in the scorecard never ends a page without its first criterion;
- a tier named at length (一星级党组织) stays on one line in the scorecard's tier box;
- the 通报's columns of totals, averages and shares carry fixed decimals (102.00, 27.0%), and its
  text says what its tables say;
- a round with one district prints no 区县 column in the ranking or the lists;
- the .html 通报's ranking filter finds an organization by its id, with nothing fetched;
- a scorecard re-issued after an appeal is signed on the day of the review;
- a bulletin's movement is measured against the bulletin before it (较上期), also in the exports.
"""
from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from evaluator.reports import model, render_reports
from evaluator.reports.html import render_html
from evaluator.reports.labels import fixed, share, zh_numeral
from evaluator.reports.pdf import PdfRenderer

from tests.reports.conftest import (FIXTURES, ROUND, box_classes, box_text, boxes, card_file, load_round,
                                    pdf_text, squash)


@pytest.fixture(scope="module")
def results():
    return load_round()


@pytest.fixture(scope="module")
def ctx(results):
    return model.context(results, public=False, has_previous=False)


@pytest.fixture(scope="module")
def renderer():
    return PdfRenderer()


# ------------------------------------------------------------------ scorecard layout

def test_a_section_heading_row_never_ends_a_page(results, ctx, renderer):
    """The demo's 光景社区党委 ended page 1 with the row 'G4 阵地与保障' and its criteria on page 2.
    Grow the first section row by row so the next section's heading passes every position at
    the foot of page 1: on no page is the last table row a section heading."""
    org = next(o for o in results["organizations"] if o["id"] == "HD-001")
    card = model.scorecard(org, ctx, None, model.rank_counts(results))
    assert len(card["sections"]) >= 2
    first = card["sections"][0]
    seen_heading_near_foot = 0
    for n in range(14, 34):
        rows = [{**first["rows"][0], "id": f"X{i}", "title": f"填充指标{i:02d}"} for i in range(n)]
        sections = [{**first, "rows": rows}] + card["sections"][1:]
        doc = renderer.document(render_html("scorecard", {**card, "sections": sections}, standalone=False))
        for page in doc.pages[:-1]:
            rows = [b for b in boxes(page._page_box, "tr") if box_text(b).strip()]
            assert rows and "sub" not in box_classes(rows[-1]), (n, box_text(rows[-1]))
            if any("sub" in box_classes(b) for b in rows[-3:]):
                seen_heading_near_foot += 1
    assert seen_heading_near_foot, "the range never brought a section heading to the foot of a page"


def test_a_long_tier_name_stays_on_one_line(results, ctx, renderer):
    org = next(o for o in results["organizations"] if o["id"] == "HD-003")
    card = model.scorecard(org, ctx, None, model.rank_counts(results))
    for name in ("一星级党组织", "A档"):
        html = render_html("scorecard", {**card, "score": {**card["score"], "tier_name": name}}, standalone=False)
        page = renderer.document(html).pages[0]
        big = [b for b in boxes(page._page_box, "div")
               if type(b).__name__ == "BlockBox" and "big" in box_classes(b) and name in box_text(b)]
        assert len(big) == 1, name
        lines = [b for b in boxes(big[0]) if type(b).__name__ == "LineBox"]
        assert len(lines) == 1, (name, [box_text(l) for l in lines])


def test_a_reissued_scorecard_is_signed_on_the_day_of_the_review(tmp_path):
    review = {"no": 7, "date": "2027年2月3日", "reason": "补齐材料后重新核定", "before": {"total": "70", "tier": "C档"}}
    render_reports(ROUND, tmp_path, kinds=("scorecards",), formats=("pdf",), only=["HD-003"],
                   reviews={"HD-003": review}, workers=1)
    text = squash(pdf_text(card_file(tmp_path, "HD-003")))
    assert "复核决定第7号" in text and "（复核前总得分70，定档C档）" in text
    # the stamp block carries the review's date, not the round's issue date
    stamp = text[text.index("（盖章）"):]
    assert stamp.startswith("（盖章）2027年2月3日"), stamp[:40]
    assert "2026年12月31日" not in stamp[:20]


# ------------------------------------------------------------------ numbers in the 通报

def test_fixed_decimals_for_columns():
    assert [fixed(v) for v in (102, Decimal("101.5"), Decimal("97.125"), None)] == ["102.00", "101.50", "97.13", "—"]
    assert [share(v) for v in (Decimal("0.27"), Decimal("0.32766"), 1, 0)] == ["27.0%", "32.8%", "100.0%", "0.0%"]


def test_summary_columns_carry_fixed_decimals_and_the_text_agrees(results, ctx):
    doc = model.summary(results, ctx, {})
    totals = [r["total"] for r in doc["ranking"]]
    assert all(re.fullmatch(r"\d+\.\d\d|—", t) for t in totals), totals
    assert "97.50" in totals                    # HD-003's 97.5, as wide as its neighbours
    for sc in doc["schemes"]:
        assert all(re.fullmatch(r"\d+\.\d%", b["share"]) for b in sc["bars"]), sc["bars"]
        for key in ("by_street", "by_type", "by_district"):
            for row in sc[key]:
                assert re.fullmatch(r"\d+\.\d%|—", row["top_share"]) and re.fullmatch(r"\d+\.\d\d|—", row["avg"]), row
    assert re.fullmatch(r"\d+\.\d\d", doc["overview"]["avg"])
    html = render_html("summary", doc, standalone=False)
    for b in doc["schemes"][0]["bars"]:              # the opening paragraph quotes the table
        assert f"{b['name']} {b['n']} 个（{b['share']}）" in html


# ------------------------------------------------------------------ one district

def _one_district(results: dict) -> dict:
    one = copy.deepcopy(results)
    for o in one["organizations"]:
        o["district"] = "花都区"
    for lst in (one.get("lists") or {}).values():
        for e in lst.get("entries") or []:
            e["district"] = "花都区"
    return one


@pytest.mark.parametrize("many", [True, False])
def test_the_district_column_only_when_there_are_several(results, many):
    res = results if many else _one_district(results)
    ctx = model.context(res, public=False, has_previous=False)
    from evaluator.scoring.lists import derive_lists
    summary = render_html("summary", model.summary(res, ctx, {}), standalone=True)
    lists = render_html("lists", model.lists(res, ctx, derive_lists(res, None)), standalone=False)
    ranking_head = summary[summary.index('<table class="ranking"'):]
    ranking_head = ranking_head[:ranking_head.index("</thead>")]
    list_heads = re.findall(r"<thead>.*?</thead>", lists, re.S)
    assert list_heads
    assert ("区县" in ranking_head) is many
    assert all(("区县" in h) is many for h in list_heads)
    # the filter offers districts only when there is a choice
    assert ('aria-label="区县"' in summary) is many


# ------------------------------------------------------------------ the .html ranking filter

class _Rows(HTMLParser):
    """The ranking table's body rows: their data-* attributes and text, for a stand-in DOM."""

    def __init__(self):
        super().__init__()
        self.rows, self._in, self._row = [], False, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id") == "ranking":
            self._in = True
        elif self._in and tag == "tr" and any(k.startswith("data-") for k in a):
            self._row = {"attrs": {k: v for k, v in a.items() if k.startswith("data-")}, "text": ""}

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "table":
            self._in = False

    def handle_data(self, data):
        if self._row is not None:
            self._row["text"] += data


# A stand-in for the few DOM calls the inline script makes (getElementById, querySelector(All),
# tBodies[0].rows, textContent, getAttribute, classList, addEventListener), then the inputs a
# reader makes; prints how many rows each leaves shown. Nothing here or in the script can reach
# a network: node runs it with no modules loaded.
_HARNESS = r"""
const data = JSON.parse(process.argv[2]);
function cls() { const s = new Set(); return { toggle(c, on) { on ? s.add(c) : s.delete(c); }, add(c) { s.add(c); },
  contains(c) { return s.has(c); } }; }
const rows = data.rows.map(r => ({ textContent: r.text, getAttribute: k => (k in r.attrs ? r.attrs[k] : null), classList: cls() }));
function control(name) { const h = []; return { name, value: "", addEventListener(e, f) { h.push(f); },
  fire() { h.forEach(f => f()); } }; }
const input = control("q"), selects = data.selects.map(control), count = { textContent: "" };
const box = { classList: cls(), querySelector: q => (q === "input" ? input : q === ".count" ? count : null),
  querySelectorAll: q => selects };
const table = { tBodies: [{ rows }] };
global.document = { getElementById: id => (id === "filters" ? box : id === "ranking" ? table : null) };
eval(data.script);
const shown = () => rows.filter(r => !r.classList.contains("hidden")).length;
const out = { on: box.classList.contains("on"), all: shown(), count: count.textContent };
for (const [name, value] of data.inputs) {
  const c = name === "q" ? input : selects.find(s => s.name === name);
  c.value = value; c.fire(); out[name + "=" + value] = shown();
}
console.log(JSON.stringify(out));
"""


def test_the_ranking_filter_finds_by_id_name_street_and_tier_offline(tmp_path):
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("node is not installed: the inline script cannot be run here")
    render_reports(ROUND, tmp_path, kinds=("summary",), formats=("html",), workers=1)
    html = (tmp_path / "summary.html").read_text(encoding="utf-8")
    script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    parser = _Rows()
    parser.feed(html)
    selects = re.findall(r'<select name="(\w+)"', html)
    assert {"d", "s", "t"} <= set(selects)
    ids = [r["attrs"]["data-id"] for r in parser.rows]
    assert "HD-003" in ids and len(ids) == 8
    inputs = [["q", "hd-003"], ["q", "大华村"], ["q", ""], ["t", "A档"], ["d", "从化区"]]
    harness = tmp_path / "harness.js"
    harness.write_text(_HARNESS, encoding="utf-8")
    run = subprocess.run([node, str(harness), json.dumps({"rows": parser.rows, "script": script,
                                                          "selects": selects, "inputs": inputs})],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["on"] and out["all"] == 8 and out["count"] == "显示 8 个，共 8 个"
    assert out["q=hd-003"] == 1                  # the id is not in any cell, only in the row's data
    assert out["q=大华村"] == 1
    a_tier = sum(1 for r in parser.rows if r["attrs"]["data-t"] == "A档")
    assert out["t=A档"] == a_tier
    assert out["d=从化区"] == sum(1 for r in parser.rows if r["attrs"]["data-t"] == "A档"
                                and r["attrs"]["data-d"] == "从化区")


# ------------------------------------------------------------------ bulletins: 较上期

def test_a_bulletin_compares_with_the_bulletin_before_it(tmp_path):
    render_reports(FIXTURES / "bulletin", tmp_path, kinds=("summary", "scorecards"), formats=("html", "csv"),
                   only=["HD-003"], workers=1)
    summary = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert "档次变动（较上期）" in summary and "较上轮" not in summary
    card = card_file(tmp_path, "HD-003", "html").read_text(encoding="utf-8")
    assert "（上期 A档）" in card and "上轮" not in card
    head = (tmp_path / "rankings.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "上期档次" in head and "上轮档次" not in head


def test_headings_after_the_tenth_are_numbered_in_chinese():
    assert [zh_numeral(n) for n in (1, 10, 11, 12, 20, 21, 99)] == ["一", "十", "十一", "十二", "二十", "二十一", "九十九"]


def test_bundled_scorecards_are_dated_the_day_the_round_was_issued(tmp_path):
    """A department opening a street's zip sees the scorecards dated 2026-12-31 (the round's
    issue date), not zip's epoch 1980-01-01; still the same bytes on every run."""
    import zipfile
    render_reports(ROUND, tmp_path, kinds=("scorecards",), formats=("pdf",), only=["HD-001", "HD-003"],
                   bundle=("street",), workers=1)
    zips = sorted((tmp_path / "bundles" / "街道").glob("*.zip"))
    assert zips
    for z in zips:
        with zipfile.ZipFile(z) as zf:
            assert {i.date_time for i in zf.infolist()} == {(2026, 12, 31, 0, 0, 0)}, z.name


@pytest.mark.parametrize("public", [False, True])
def test_the_public_rectification_list_has_no_blank_responsible_column(results, public):
    """Posted publicly, the 整改清单 names no one: no 责任人 column of blank lines, and its
    problem column, which there says only what the item cost, is headed 失分情况."""
    c = model.context(results, public=public, has_previous=False)
    org = next(o for o in results["organizations"] if o["id"] == "HD-007")
    html = render_html("scorecard", model.scorecard(org, c, None, model.rank_counts(results)), standalone=False)
    head = re.search(r"整改清单.*?<thead>(.*?)</thead>", html, re.S).group(1)
    assert ("责任人" in head) is not public
    assert ("失分情况" in head) is public and ("存在问题" in head) is not public
    if public:
        assert 'class="blank"' not in html and "失 " in html


def test_a_bulletins_date_is_in_its_title_and_every_running_header(bulletin_docs):
    from pypdf import PdfReader
    pdf = bulletin_docs / "summary.pdf"            # the bulletin's 通报 (conftest.py: rendered once)
    pages = [squash(pdf_text(pdf, i, i)) for i in range(1, len(PdfReader(pdf).pages) + 1)]
    assert len(pages) > 1
    title = "考评情况通报（截至2026年12月31日）"
    assert pages[0].count(title) == 1 and "考评期间：2026年1月1日至2026年12月31日" in pages[0]
    assert all(title in p for p in pages[1:])        # the running header of every later page
