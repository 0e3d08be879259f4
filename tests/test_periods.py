import datetime as dt

import pytest

from evaluator.standard.periods import label, periods

D = dt.date


def test_calendar_periods_inside_the_round():
    assert len(periods("month", D(2026, 1, 1), D(2026, 12, 31))) == 12
    assert periods("quarter", D(2026, 1, 1), D(2026, 12, 31))[1] == (D(2026, 4, 1), D(2026, 6, 30))
    assert periods("half_year", D(2026, 1, 1), D(2026, 12, 31)) == ((D(2026, 1, 1), D(2026, 6, 30)), (D(2026, 7, 1), D(2026, 12, 31)))
    assert periods("year", D(2026, 1, 1), D(2026, 12, 31)) == ((D(2026, 1, 1), D(2026, 12, 31)),)


def test_partial_periods_do_not_count_and_short_rounds_are_one_period():
    # a round from 15 January: January is not demanded
    assert periods("month", D(2026, 1, 15), D(2026, 12, 31))[0] == (D(2026, 2, 1), D(2026, 2, 28))
    assert periods("year", D(2026, 3, 1), D(2026, 12, 31)) == ((D(2026, 3, 1), D(2026, 12, 31)),)


def test_rounds_crossing_a_year_and_weeks():
    months = periods("month", D(2025, 7, 1), D(2026, 6, 30))
    assert len(months) == 12 and months[6] == (D(2026, 1, 1), D(2026, 1, 31))
    weeks = periods("week", D(2026, 1, 1), D(2026, 1, 31))      # Thursday start: first Monday is 5 Jan
    assert weeks[0] == (D(2026, 1, 5), D(2026, 1, 11)) and len(weeks) == 3


def test_labels_and_bad_input():
    assert label("quarter", (D(2026, 4, 1), D(2026, 6, 30))) == "2026年第2季度"
    assert label("half_year", (D(2026, 7, 1), D(2026, 12, 31))) == "2026年下半年"
    with pytest.raises(ValueError):
        periods("month", D(2026, 2, 1), D(2026, 1, 1))
