"""Calendar periods inside a round's period, for frequency criteria.

A round from 2026-01-01 to 2026-12-31 has 12 months, 4 quarters, 2 half-years and
1 year. Only periods that lie wholly inside the round count, so a round that starts on
15 January does not demand a January meeting; when no whole period fits (a round
shorter than the unit) the round itself is the one period.
"""
from __future__ import annotations

import datetime as dt
import functools

from ..terms import date_text

_MONTHS = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}


class AsOf(tuple):
    """A round's period cut at a bulletin's as-of date: the pair (start, as_of), which is what
    expressions (`count`, `days_since`) and frequency criteria count within, carrying the
    round's own last day (`round_end`), so a method can tell a bulletin from the round's end.

    A plain tuple everywhere a period goes (pickled to workers, hashed into the spec key);
    made only by `cut`, which gives the plain period when the as-of date is its last day."""

    round_end: dt.date

    def __new__(cls, start: dt.date, as_of: dt.date, round_end: dt.date):
        self = super().__new__(cls, (start, as_of))
        self.round_end = round_end
        return self

    def __getnewargs__(self):
        return (self[0], self[1], self.round_end)

    def __reduce__(self):
        return (AsOf, (self[0], self[1], self.round_end))

    def __repr__(self):
        return f"AsOf({self[0]!r}, {self[1]!r}, round_end={self.round_end!r})"


def cut(period: tuple[dt.date, dt.date], as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The round's period as seen on `as_of` (a date inside it)."""
    start, end = period
    if not start <= as_of <= end:
        raise ValueError(f"{as_of} is not inside the period {start} to {end}")
    return tuple(period) if as_of == end else AsOf(start, as_of, end)


def as_of(period) -> dt.date | None:
    """The bulletin's as-of date when `period` is cut before the round's end, else None."""
    return period[1] if isinstance(period, AsOf) else None


@functools.lru_cache(maxsize=256)
def periods(unit: str, start: dt.date, end: dt.date) -> tuple[tuple[dt.date, dt.date], ...]:
    return whole_periods(unit, start, end) or ((start, end),)


@functools.lru_cache(maxsize=256)
def whole_periods(unit: str, start: dt.date, end: dt.date) -> tuple[tuple[dt.date, dt.date], ...]:
    """The calendar periods lying wholly inside start..end (possibly none): at a bulletin's
    as-of date, the periods completed so far."""
    if end < start:
        raise ValueError(f"period ends ({end}) before it starts ({start})")
    out: list[tuple[dt.date, dt.date]] = []
    if unit == "week":
        first = start + dt.timedelta(days=(7 - start.weekday()) % 7)   # next Monday (or start itself)
        d = first
        while d + dt.timedelta(days=6) <= end:
            out.append((d, d + dt.timedelta(days=6)))
            d += dt.timedelta(days=7)
    elif unit in _MONTHS:
        # Periods are aligned to the calendar: quarters start in Jan/Apr/Jul/Oct, and so on.
        p = _calendar(unit, start)
        while p[0] <= end:
            if p[0] >= start and p[1] <= end:
                out.append(p)
            p = _calendar(unit, p[1] + dt.timedelta(days=1))
    else:
        raise ValueError(f"unknown period unit {unit!r}")
    return tuple(out)


def label(unit: str, p: tuple[dt.date, dt.date]) -> str:
    """A Chinese label for one period, used in reasons ("2026年3月", "2026年第2季度"). A period
    that is not that calendar unit whole, the round itself when no whole unit fits in it (a
    round from July to June counted `every: year`), is named by its dates: named by the unit
    its first day falls in, it read as "2025年"."""
    s = p[0]
    if unit not in _MONTHS or tuple(p) != _calendar(unit, s):
        return f"{date_text(p[0])}至{date_text(p[1])}"
    if unit == "month":
        return f"{s.year}年{s.month}月"
    if unit == "quarter":
        return f"{s.year}年第{(s.month - 1) // 3 + 1}季度"
    if unit == "half_year":
        return f"{s.year}年{'上' if s.month <= 6 else '下'}半年"
    return f"{s.year}年"


def _calendar(unit: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The calendar month, quarter, half-year or year `day` falls in (whole_periods' periods)."""
    step = _MONTHS[unit]
    m = (day.month - 1) // step * step
    end = dt.date(day.year + (m + step) // 12, (m + step) % 12 + 1, 1) - dt.timedelta(days=1)
    return dt.date(day.year, m + 1, 1), end
