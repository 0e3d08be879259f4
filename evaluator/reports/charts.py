"""Geometry of the documents' line and column charts (a scorecard's trend over the bulletins, the
通报's tier movement per bulletin), as plain data in SVG user units.

The templates draw them as inline SVG (`reports/_macros.html.j2`, beside the 通报's bar charts and
with their colours: a series or a point carries `i`, the position the macros' colour list is
indexed by). Nothing is fetched and no script runs: the PDF and the .html file show the same
drawing. A chart is WIDTH units wide and scaled to its column, so the font sizes below are
relative to that width (10 units read as about 8 pt on an A4 page's text column at WIDTH).
"""
from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Sequence

from ..terms import num

WIDTH = 640
FONT = 10            # label size in user units
LEFT, RIGHT = 56, 12  # room for the y axis's numbers and its rotated title


def _ticks(lo: float, hi: float, n: int = 4, whole: bool = False) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering lo..hi;
    `whole`: steps of at least 1 (counts of organizations)."""
    if hi <= lo:
        lo, hi = lo - 1, hi + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(m * mag for m in steps if m * mag >= raw)
    step = max(step, 1) if whole else step
    first = math.floor(lo / step + 1e-9) * step
    count = math.ceil((hi - first) / step - 1e-9)
    return [round(first + k * step, 6) for k in range(count + 1)]


def text_width(text: str, font: float = FONT) -> float:
    """About how wide `text` is drawn: a CJK character one em, a digit or Latin letter about half."""
    return font * sum(1.0 if ord(c) >= 0x2E80 else 0.56 for c in text)


def date_labels(dates: Sequence[dt.date], room: float) -> tuple[list[str], str]:
    """Axis labels for as-of dates, each at most `room` wide when that can be, and the axis
    title carrying the year they share: 2月28日, or just 2月 when days do not fit and the months
    are distinct; over several years the year is named (2025年12月31日), or only at the first
    month of each year (2025年12月, 1月, 2月)."""
    years = sorted({d.year for d in dates})
    title = f"通报截止日期（{years[0]}年）" if len(years) == 1 else "通报截止日期"
    full = [f"{d.month}月{d.day}日" if len(years) == 1 else f"{d.year}年{d.month}月{d.day}日" for d in dates]
    months = [f"{d.year}年{d.month}月" if len(years) > 1 and (k == 0 or dates[k - 1].year != d.year)
              else f"{d.month}月" for k, d in enumerate(dates)]
    fits = max(text_width(t) for t in full) <= room
    distinct = len({(d.year, d.month) for d in dates}) == len(dates)
    return (full if fits or not distinct else months), title


def label_font(labels: Sequence[str], room: float) -> float:
    """The label size at which the widest of `labels` fits in `room` (never under 6 units)."""
    widest = max((text_width(t) for t in labels), default=0.0)
    return FONT if widest <= room else max(6.0, round(FONT * room / widest, 1))


def _y_scale(ticks: list[float], top: float, bottom: float):
    lo, hi = ticks[0], ticks[-1]
    return lambda v: round(bottom - (v - lo) / ((hi - lo) or 1) * (bottom - top), 2)


TREND_WIDTH = 560     # narrower than WIDTH: the scorecard's chart is short, its labels read larger
MIN_SPAN = 5.0        # the trend's y axis spans at least this many points


def trend(points: Sequence[dict]) -> dict | None:
    """A line of an organization's total over the bulletins, each point coloured by its tier
    and labelled with its total; under the axis each bulletin's date and tier name.
    `points`: [{date (datetime.date), tier (name), i (tier position or None), total (number
    or None: not graded then, the line breaks)}], oldest first. None without history."""
    if len(points) < 2:
        return None
    values = [float(p["total"]) for p in points if p.get("total") is not None]
    if not values:
        return None
    top, bottom = 22, 92                        # room above for the topmost point's total
    height = bottom + 3 * FONT + 18             # date, tier name, axis title
    lo, hi = min(values), max(values)
    lo -= max((hi - lo) * 0.1, 0.5)             # the lowest point clear of the axis
    if hi - lo < MIN_SPAN:                      # a point or two of change looks like one, not a cliff
        mid = (hi + lo) / 2
        lo, hi = mid - MIN_SPAN / 2, mid + MIN_SPAN / 2
    ticks = _ticks(lo, hi, 3)
    y_of = _y_scale(ticks, top, bottom)
    step = (TREND_WIDTH - LEFT - RIGHT) / len(points)
    labels, x_title = date_labels([p["date"] for p in points], step * 0.9)
    out, lines, run = [], [], []
    for k, (p, label) in enumerate(zip(points, labels)):
        x = round(LEFT + step * (k + 0.5), 2)
        total = p.get("total")
        y = y_of(float(total)) if total is not None else None
        out.append({"x": x, "y": y, "date": label, "tier": p["tier"], "i": p.get("i"),
                    "total": num(total) if total is not None else ""})
        if y is None:
            if len(run) > 1:
                lines.append(run)
            run = []
        else:
            run.append(f"{x},{y}")
    if len(run) > 1:
        lines.append(run)
    return {"w": TREND_WIDTH, "h": height, "font": FONT, "left": LEFT, "right": TREND_WIDTH - RIGHT, "top": top,
            "x_font": label_font(labels + [p["tier"] for p in out] + [p["total"] for p in out], step * 0.9),
            "bottom": bottom, "yticks": [{"y": y_of(t), "label": num(Decimal(str(t)))} for t in ticks],
            "points": out, "lines": [" ".join(r) for r in lines],
            "y_title": "得分（分）", "x_title": x_title, "mid_y": round((top + bottom) / 2, 2)}


def columns(periods: Sequence[dict], series: Sequence[dict]) -> dict | None:
    """Grouped columns: one group per bulletin (date), one column per series, each with its
    count above it; the legend drawn inside the chart so it cannot be parted from it.
    `periods`: [{date, counts: {series label: n}}]; `series`: [{label, i (colour position),
    fill (a colour of its own, optional)}]."""
    if not periods or not series:
        return None
    legend_y, top, bottom = 12, 34, 134
    height = bottom + 2 * FONT + 16
    biggest = max([p["counts"].get(s["label"], 0) for p in periods for s in series] + [1])
    ticks = _ticks(0, biggest, 4, whole=True)
    y_of = _y_scale(ticks, top, bottom)
    group = (WIDTH - LEFT - RIGHT) / len(periods)
    bar = min(30.0, group * 0.75 / len(series))
    labels, x_title = date_labels([p["date"] for p in periods], group * 0.9)
    groups = []
    for k, (p, label) in enumerate(zip(periods, labels)):
        centre = LEFT + group * (k + 0.5)
        first = centre - bar * len(series) / 2
        bars = []
        for j, s in enumerate(series):
            n = p["counts"].get(s["label"], 0)
            y = y_of(n)
            bars.append({"x": round(first + j * bar + 1, 2), "w": round(bar - 2, 2), "y": y,
                         "h": round(bottom - y, 2), "n": n, "i": s["i"], "label": s["label"],
                         "fill": s.get("fill")})
        groups.append({"x": round(centre, 2), "label": label, "bars": bars})
    legend, x = [], float(LEFT)
    for s in series:                       # each entry as wide as its text (CJK: one em a character)
        legend.append({"x": round(x, 2), "label": s["label"], "i": s["i"], "fill": s.get("fill")})
        x += 14 + text_width(s["label"]) + 14
    return {"w": WIDTH, "h": height, "font": FONT, "left": LEFT, "right": WIDTH - RIGHT, "top": top, "bottom": bottom,
            "x_font": label_font(labels, group * 0.9),
            "bar_font": label_font([str(b["n"]) for g in groups for b in g["bars"]], bar),
            "legend_y": legend_y, "legend": legend,
            "yticks": [{"y": y_of(t), "label": num(Decimal(str(t)))} for t in ticks],
            "groups": groups, "y_title": "组织数（个）", "x_title": x_title, "mid_y": round((top + bottom) / 2, 2)}

