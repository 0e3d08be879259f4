"""Calendar periods inside a round's period, for frequency criteria.

A round from 2026-01-01 to 2026-12-31 has 12 months, 4 quarters, 2 half-years and
1 year. Only periods that lie wholly inside the round count, so a round that starts on
15 January does not demand a January meeting; when no whole period fits (a round
shorter than the unit) the round itself is the one period.
"""
from __future__ import annotations

import datetime as dt
import functools

_MONTHS = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}


@functools.lru_cache(maxsize=256)
def periods(unit: str, start: dt.date, end: dt.date) -> tuple[tuple[dt.date, dt.date], ...]:
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
        step = _MONTHS[unit]
        # Periods are aligned to the calendar: quarters start in Jan/Apr/Jul/Oct, and so on.
        m0 = ((start.month - 1) // step) * step
        y, m = start.year, m0
        while True:
            p_start = dt.date(y + m // 12, m % 12 + 1, 1)
            m2 = m + step
            p_end = dt.date(y + m2 // 12, m2 % 12 + 1, 1) - dt.timedelta(days=1)
            if p_start > end:
                break
            if p_start >= start and p_end <= end:
                out.append((p_start, p_end))
            m = m2
    else:
        raise ValueError(f"unknown period unit {unit!r}")
    return tuple(out) or ((start, end),)


def label(unit: str, p: tuple[dt.date, dt.date]) -> str:
    """A Chinese label for one period, used in reasons ("2026年3月", "2026年第2季度")."""
    s = p[0]
    if unit == "month":
        return f"{s.year}年{s.month}月"
    if unit == "quarter":
        return f"{s.year}年第{(s.month - 1) // 3 + 1}季度"
    if unit == "half_year":
        return f"{s.year}年{'上' if s.month <= 6 else '下'}半年"
    if unit == "year":
        return f"{s.year}年"
    return f"{p[0].isoformat()}至{p[1].isoformat()}"
