"""The monthly bulletin's drawn movement (issue 9): each scorecard's line of totals and tiers over
the bulletins, and the 通报's columns of 升档/保持/降档 per bulletin, drawn as inline SVG.

The fixed bulletin (fixtures/bulletin, built by build_fixture.py) is the fixture round issued as
its December bulletin after September, October and November ones; one test also issues three
real bulletins of a small demo round and checks the chart against what each bulletin said.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

from evaluator.reports import charts, model

from tests.reports.conftest import BULLETIN, ROUND, assert_page_image, card_file, pdf_text, squash

CAPTION = "各期通报档次变动"
TREND_CAPTION = "各期通报得分与档次"


def load(folder: Path) -> dict:
    return json.loads((folder / "results.json").read_text(encoding="utf-8"), parse_float=Decimal)


def context(results: dict) -> dict:
    return model.context(results, public=False, has_previous=True)


def bars(chart: dict) -> list[dict[str, int]]:
    """Each bulletin's counts as the chart draws them, by series label."""
    return [{b["label"]: b["n"] for b in g["bars"]} for g in chart["groups"]]


def summary_pages(folder: Path) -> list[str]:
    return [squash(p) for p in pdf_text(folder / "summary.pdf").split("\f")]


# ------------------------------------------------------------------ the 通报's movement chart

def test_movement_chart_counts_each_bulletin_against_the_one_before():
    results = load(BULLETIN)
    chart = model.move_history(results, context(results))
    assert [g["label"] for g in chart["groups"]] == ["10月31日", "11月30日", "12月31日"]
    assert chart["x_title"] == "通报截止日期（2026年）" and chart["y_title"] == "组织数（个）"
    # 首次定档 (CH-008 in October) and 本期不予定档 (CH-008 since) happen, so they are drawn too
    assert [s["label"] for s in chart["legend"]] == ["升档", "保持", "降档", "首次定档", "本期不予定档"]
    assert bars(chart) == [
        {"升档": 2, "保持": 4, "降档": 1, "首次定档": 1, "本期不予定档": 0},   # HD-001, HD-003 up; HD-007 down
        {"升档": 0, "保持": 6, "降档": 1, "首次定档": 0, "本期不予定档": 1},   # HD-005 down
        {"升档": 2, "保持": 3, "降档": 2, "首次定档": 0, "本期不予定档": 1},   # as results.json states
    ]
    # the latest bulletin's columns agree with the 较上轮 table of the same 通报
    summary = model.summary(results, context(results), model.bulletin_previous(results))
    assert bars(summary["move_history"])[-1] == {m["label"]: m["n"] for m in summary["moves"]}
    # a taller column for a bigger count, every count inside the y axis
    dec = {b["label"]: b for b in chart["groups"][-1]["bars"]}
    assert dec["保持"]["h"] > dec["升档"]["h"] > dec["本期不予定档"]["h"] > 0
    top = max(float(t["label"]) for t in chart["yticks"])
    assert top >= max(b["n"] for g in chart["groups"] for b in g["bars"])


def test_only_up_same_and_down_when_nothing_else_happens():
    results = load(BULLETIN)
    trend = results["bulletin"]["trend"]
    trend["CH-008"] = [{**p, "tier": "B", "total": 80} for p in trend["CH-008"]]
    results["bulletin"]["moves"] = {}            # counted from the trend, as for the earlier bulletins
    chart = model.move_history(results, context(results))
    assert [s["label"] for s in chart["legend"]] == ["升档", "保持", "降档"]
    assert bars(chart)[0] == {"升档": 2, "保持": 5, "降档": 1}


def test_no_movement_chart_without_an_earlier_bulletin():
    results = load(BULLETIN)
    assert model.move_history(load(ROUND), context(results)) is None          # an evaluation, not a bulletin
    first = {**results, "bulletin": {**results["bulletin"], "previous": [], "moves": {},
                                     "trend": {k: v[-1:] for k, v in results["bulletin"]["trend"].items()}}}
    assert model.move_history(first, context(first)) is None                  # the first bulletin
    assert model.bulletin_previous(first) == {}


def test_summary_pdf_draws_the_chart_with_its_legend_and_chinese_axes_on_one_page(bulletin_docs):
    pages = [p for p in summary_pages(bulletin_docs) if CAPTION in p]
    assert len(pages) == 1
    page = pages[0]
    for text in ["升档", "保持", "降档", "首次定档", "本期不予定档", "组织数（个）", "通报截止日期（2026年）",
                 "10月31日", "11月30日", "12月31日"]:
        assert text in page, text
    # the chart follows the movement table: a bulletin compares with the bulletin before it (较上期)
    assert page.index("六、档次变动（较上期）") < page.index(CAPTION)
    html = (bulletin_docs / "summary.html").read_text(encoding="utf-8")
    svg = html[html.index(CAPTION):]
    svg = svg[svg.index("<svg"): svg.index("</svg>")]
    assert 'class="chart"' in svg and "href" not in svg and "<script" not in svg   # drawn, nothing fetched or run
    assert len(re.findall(r"<rect [^>]*height=", svg)) >= 3 * 5                 # 3 bulletins x 5 series (+ legend)


def test_summary_page_with_the_movement_chart_matches_the_stored_image(bulletin_docs, tmp_path):
    page = next(i for i, p in enumerate(summary_pages(bulletin_docs), 1) if CAPTION in p)
    assert_page_image(bulletin_docs / "summary.pdf", page, "bulletin-summary-movement.png", tmp_path)


# ------------------------------------------------------------------ the scorecard's trend line

def test_trend_line_names_months_and_tiers_and_draws_higher_totals_higher():
    results = load(BULLETIN)
    ctx = context(results)
    org = next(o for o in results["organizations"] if o["id"] == "HD-003")
    card = model.scorecard(org, ctx, model.bulletin_previous(results)["HD-003"], model.rank_counts(results))
    chart = card["trend"]
    points = chart["points"]
    assert [p["date"] for p in points] == ["9月30日", "10月31日", "11月30日", "12月31日"]
    assert [p["tier"] for p in points] == ["B档", "A档", "A档", "B档"]        # names, never ids
    assert [p["total"] for p in points] == ["86", "92", "94", "97.5"]
    assert [p["i"] for p in points] == [1, 0, 0, 1]                            # coloured as the tier is in the 通报
    ys = [p["y"] for p in points]
    assert ys == sorted(ys, reverse=True) and ys[0] > ys[-1]                   # rising totals climb
    assert len(chart["lines"]) == 1 and chart["lines"][0].count(",") == 4
    ticks = [float(t["label"]) for t in chart["yticks"]]
    assert ticks[0] <= 86 and ticks[-1] >= 97.5
    assert card["movement"]["label"] == "降档" and card["movement"]["before"] == "A档"


def test_trend_names_each_tier_as_its_bulletin_did():
    """An earlier bulletin scored with another version of the standard printed its own tier
    name (B级): the trend shows that name, not this version's."""
    results = load(BULLETIN)
    results["bulletin"]["trend"]["HD-003"][0]["tier_name"] = "B级"
    line = model.bulletin_previous(results)["HD-003"]["trend"]
    assert [p["tier"] for p in line] == ["B级", "A档", "A档", "B档"]


def test_trend_line_breaks_where_the_organization_was_not_graded():
    results = load(BULLETIN)
    org = next(o for o in results["organizations"] if o["id"] == "HD-001")
    line = model.bulletin_previous(results)["HD-001"]["trend"]
    line[1] = {**line[1], "tier_id": None, "tier": "未定档", "value": None}        # October: not graded
    chart = model._trend_chart(org, context(results), line)
    assert [p["y"] is None for p in chart["points"]] == [False, True, False, False]
    assert chart["points"][1]["tier"] == "未定档"
    assert len(chart["lines"]) == 1 and chart["lines"][0].count(",") == 2      # November to December only


def test_a_change_of_a_point_is_drawn_small():
    """The y axis spans at least five points: 90.39 to 91.31 is not drawn as a cliff, and one
    graded bulletin among ungraded ones sits inside its axis."""
    days = [dt.date(2026, 1, 31), dt.date(2026, 2, 28)]
    chart = charts.trend([{"date": d, "tier": "A档", "i": 0, "total": Decimal(t)} for d, t in zip(days, ("90.39", "91.31"))])
    ticks = [float(t["label"]) for t in chart["yticks"]]
    assert ticks[-1] - ticks[0] >= 5 and ticks[0] < 90.39 and ticks[-1] > 91.31
    drop = chart["points"][0]["y"] - chart["points"][1]["y"]
    assert 0 < drop < 0.25 * (chart["bottom"] - chart["top"])
    one = charts.trend([{"date": days[0], "tier": "未定档", "i": None, "total": None},
                        {"date": days[1], "tier": "B档", "i": 1, "total": 82}])
    ticks = [float(t["label"]) for t in one["yticks"]]
    assert ticks[0] < 82 < ticks[-1] and one["lines"] == []


def test_no_trend_line_without_earlier_bulletins(rendered):
    """An evaluation (here with last year's round for movement) has no bulletins: no chart."""
    html = card_file(rendered, "HD-001", "html").read_text(encoding="utf-8")
    assert TREND_CAPTION not in html and "<svg class=\"chart\"" not in html
    results = load(BULLETIN)
    org = results["organizations"][0]
    assert model.scorecard(org, context(results), None, model.rank_counts(results))["trend"] is None


def test_scorecard_pdf_shows_the_trend_with_dates_and_tier_names(bulletin_docs):
    text = squash(pdf_text(card_file(bulletin_docs, "HD-003"), 1, 1))
    for expected in [TREND_CAPTION, "得分（分）", "通报截止日期（2026年）", "9月30日", "12月31日", "97.5", "94",
                     "降档（上期A档）"]:
        assert expected in text, expected
    # the trend comes before the criteria, on the first page
    assert text.index(TREND_CAPTION) < text.index("一、分项得分")
    html = card_file(bulletin_docs, "HD-003", "html").read_text(encoding="utf-8")
    assert "<script" not in html and html.count('<svg class="chart"') == 1


def test_scorecard_page_with_the_trend_matches_the_stored_image(bulletin_docs, tmp_path):
    assert_page_image(card_file(bulletin_docs, "HD-003"), 1, "bulletin-scorecard-HD-003-p1.png", tmp_path)


def month_ends(first: dt.date, n: int) -> list[dt.date]:
    out, y, m = [], first.year, first.month
    for _ in range(n):
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        out.append(dt.date(y, m, 1) - dt.timedelta(days=1))
    return out


def test_a_year_of_bulletins_keeps_its_labels_apart():
    """Twelve monthly bulletins: the dates shorten to months and no label is wider than its
    slot, tier names such as 五星级党组织 included; across a new year the year is named where it
    starts."""
    dates = month_ends(dt.date(2026, 1, 1), 12)
    chart = charts.trend([{"date": d, "tier": "五星级党组织", "i": 0, "total": 80 + k} for k, d in enumerate(dates)])
    slot = (chart["right"] - chart["left"]) / 12
    assert [p["date"] for p in chart["points"]] == [f"{m}月" for m in range(1, 13)]
    widest = max(charts.text_width(t, chart["x_font"]) for p in chart["points"] for t in (p["date"], p["tier"]))
    assert widest <= slot
    cols = charts.columns([{"date": d, "counts": {"保持": 100}} for d in dates], [{"label": "保持", "i": 5}])
    assert max(charts.text_width(g["label"], cols["x_font"]) for g in cols["groups"]) <= (cols["right"] - cols["left"]) / 12
    across = month_ends(dt.date(2025, 10, 1), 6)              # October 2025 to March 2026
    chart = charts.trend([{"date": d, "tier": "A档", "i": 0, "total": 90} for d in across])
    assert [p["date"] for p in chart["points"]] == ["2025年10月", "11月", "12月", "2026年1月", "2月", "3月"]
    assert chart["x_title"] == "通报截止日期"
    two = charts.trend([{"date": d, "tier": "A档", "i": 0, "total": 90} for d in across[2:4]])
    assert [p["date"] for p in two["points"]] == ["2025年12月31日", "2026年1月31日"]     # room for whole dates


# ------------------------------------------------------------------ real bulletins

def test_earlier_columns_agree_with_what_each_bulletin_said(tmp_path):
    """Three bulletins of a demo round (agrade bulletin): the March 通报's February column,
    counted from the organizations' trend, is what the February bulletin itself reported."""
    from evaluator.cli import bulletin_to
    from evaluator.demo import generate
    round_yaml = generate(tmp_path / "round", n_orgs=60, seed=7)
    done: list[Path] = []
    for as_of in (dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31)):
        folder = tmp_path / as_of.isoformat()
        bulletin_to(round_yaml, as_of, folder, list(done), quiet=True, workers=1)
        done.append(folder)
    february, march = load(done[1]), load(done[2])
    chart = model.move_history(march, context(march))
    assert [g["label"] for g in chart["groups"]] == ["2月28日", "3月31日"]
    said = [{k: v for k, v in b["bulletin"]["moves"].items() if k in bars(chart)[0]} for b in (february, march)]
    assert bars(chart) == [{**dict.fromkeys(bars(chart)[0], 0), **s} for s in said]
    assert sum(bars(chart)[0].values()) == len(march["organizations"])
