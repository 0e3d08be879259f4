import datetime as dt
import pickle

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
    assert label("half_year", (D(2026, 1, 1), D(2026, 6, 30))) == "2026年上半年"
    assert label("month", (D(2026, 3, 1), D(2026, 3, 31))) == "2026年3月"
    assert label("year", (D(2026, 1, 1), D(2026, 12, 31))) == "2026年"
    assert label("week", (D(2026, 1, 5), D(2026, 1, 11))) == "2026年1月5日至2026年1月11日"
    assert label("quarter", (D(2026, 10, 1), D(2026, 12, 31))) == "2026年第4季度"
    with pytest.raises(ValueError):
        periods("month", D(2026, 2, 1), D(2026, 1, 1))



def test_a_round_that_holds_no_whole_unit_is_named_by_its_dates_not_by_its_first_days_unit():
    # a round from July to June counted every year: no calendar year fits, the round is the period
    fiscal = periods("year", D(2025, 7, 1), D(2026, 6, 30))
    assert fiscal == ((D(2025, 7, 1), D(2026, 6, 30)),)
    assert label("year", fiscal[0]) == "2025年7月1日至2026年6月30日"
    # a round starting mid-month, counted monthly for its only, partial month; a half-year of one
    assert label("month", periods("month", D(2026, 3, 10), D(2026, 3, 31))[0]) == "2026年3月10日至2026年3月31日"
    assert label("half_year", (D(2026, 2, 1), D(2026, 6, 30))) == "2026年2月1日至2026年6月30日"
    # a whole calendar unit keeps its name, whichever round it is in
    assert [label("quarter", q) for q in periods("quarter", D(2025, 7, 1), D(2026, 6, 30))] == [
        "2025年第3季度", "2025年第4季度", "2026年第1季度", "2026年第2季度"]

# A frequency criterion's fixed words and periods are made once per criterion and period
# (methods._frequency_plan, cached): what they depend on must tell two plans apart.

from decimal import Decimal

from evaluator.model import Field, Record
from evaluator.standard.methods import REGISTRY, NotDue
from evaluator.standard.periods import as_of, cut

MEETINGS = Field("meetings", "records", "支部委员会会议记录")
YEAR = (D(2026, 1, 1), D(2026, 12, 31))


def _frequency(period, records, points="3", deduct="0.5", every="month", at_least=1):
    env = {"$period": period, "meetings": tuple(records)}
    return REGISTRY["frequency"].score((MEETINGS, every, at_least, Decimal(deduct)), Decimal(points), env)


def test_bulletins_cut_on_one_day_of_rounds_ending_apart_list_outside_records_by_their_own_round():
    # the same as-of date: a November record lies inside the year's round, outside the half-year's
    records = [Record(dt.date(2026, m, 10)) for m in (1, 2)] + [Record(dt.date(2026, 11, 5), "十一月")]
    year = _frequency(cut((dt.date(2026, 1, 1), dt.date(2026, 12, 31)), dt.date(2026, 2, 28)), records)
    half = _frequency(cut((dt.date(2026, 1, 1), dt.date(2026, 6, 30)), dt.date(2026, 2, 28)), records)
    assert year.outcome == half.outcome == "pass"
    assert "考评期" not in year.reason
    assert "另有 1 条记录在考评期（2026年1月1日至2026年6月30日）外，不计入：2026年11月5日《十一月》" in half.reason


def test_criteria_on_one_records_field_keep_their_own_points_and_deductions():
    period = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    every_month = [Record(dt.date(2026, m, 10)) for m in range(1, 13)]
    assert _frequency(period, every_month).reason.endswith("均已按期开展，得 3 分")
    assert _frequency(period, every_month, points="2").reason.endswith("均已按期开展，得 2 分")
    short = every_month[:10]
    assert "每缺 1 次扣 0.5 分，扣 1 分" in _frequency(period, short).reason
    assert "每缺 1 次扣 1 分，扣 2 分" in _frequency(period, short, deduct="1").reason
    assert "应每季度至少 1 次（共 4 个季度）" in _frequency(period, short, every="quarter").reason


def test_organizations_missing_other_months_are_told_their_own_months():
    # one plan serves every organization; its verdicts are kept per pattern of counts
    period = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    months = lambda *ms: [Record(dt.date(2026, m, 3)) for m in ms]
    no_march = _frequency(period, months(1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12))
    no_july = _frequency(period, months(1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12))
    twice_in_june = _frequency(period, months(1, 2, 4, 5, 6, 6, 7, 8, 9, 10, 11, 12))
    assert "缺 1 次（2026年3月）" in no_march.reason and "缺 1 次（2026年7月）" in no_july.reason
    assert twice_in_june.reason == no_march.reason and twice_in_june.points == Decimal("2.5")
    assert _frequency(period, months(1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12)).reason == no_march.reason


def test_points_equal_in_value_but_written_apart_keep_their_digits():
    # 3 and 3.0 are one value; a section's sum of them is written as text in state.jsonl
    period = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    every_month = [Record(dt.date(2026, m, 10)) for m in range(1, 13)]
    assert str(_frequency(period, every_month, points="3").points) == "3"
    assert str(_frequency(period, every_month, points="3.0").points) == "3.0"
    assert str(_frequency(period, every_month[:11], points="3.0", deduct="0.50").points) == "2.50"
    assert str(_frequency(period, every_month[:11], points="3", deduct="0.5").points) == "2.5"


def test_a_bulletin_can_be_cut_on_the_rounds_first_and_last_day():
    first = cut(YEAR, D(2026, 1, 1))
    assert as_of(first) == D(2026, 1, 1)
    with pytest.raises(NotDue, match="截至2026年1月1日尚无已满的考核周期（首个周期2026年1月于2026年1月31日结束），本期不计分"):
        _frequency(first, [])
    last = cut(YEAR, D(2026, 12, 31))       # the round's last day: no bulletin, the round itself
    assert last == YEAR and as_of(last) is None
    every_month = [Record(D(2026, m, 10)) for m in range(1, 13)]
    assert _frequency(last, every_month).reason == "支部委员会会议记录应每月至少 1 次（共 12 个月），均已按期开展，得 3 分"


def test_a_bulletin_counts_the_months_completed_by_its_date():
    # cut on 28 February: January and February are due; a May record is inside the round, due later
    got = _frequency(cut(YEAR, D(2026, 2, 28)), [Record(D(2026, 1, 10)), Record(D(2026, 5, 10))])
    assert got.reason == ("支部委员会会议记录应每月至少 1 次（截至2026年2月28日，共 2 个月），缺 1 次（2026年2月），"
                          "每缺 1 次扣 0.5 分，扣 0.5 分")


def test_a_period_short_of_two_records_lacks_what_it_misses():
    # two a quarter, 1 point each: Q1 has one (lacks 1), Q2 none (lacks 2), Q3 and Q4 two: 3 missing, 5 - 3 = 2
    records = [Record(D(2026, 2, 1))] + [Record(D(2026, m, d)) for m in (7, 10) for d in (1, 2)]
    got = _frequency(YEAR, records, points="5", deduct="1", every="quarter", at_least=2)
    assert (got.outcome, got.points) == ("partial", Decimal(2))
    assert got.reason == ("支部委员会会议记录应每季度至少 2 次（共 4 个季度），缺 3 次（2026年第1季度、2026年第2季度），"
                          "每缺 1 次扣 1 分，扣 3 分")


@pytest.mark.parametrize("first, shown", [
    (7, "2026年1月、2026年2月、2026年3月、2026年4月、2026年5月、2026年6月"),       # six missing: all named
    (8, "2026年1月、2026年2月、2026年3月、2026年4月、2026年5月、2026年6月等"),     # seven: the first six, 等
])
def test_a_reason_names_six_missing_periods_at_most(first, shown):
    got = _frequency(YEAR, [Record(D(2026, m, 10)) for m in range(first, 13)], points="10")
    assert f"（{shown}），" in got.reason


@pytest.mark.parametrize("months, missing", [
    (range(1, 7), "缺 6 次（2026年7月、2026年8月、2026年9月、2026年10月、2026年11月、2026年12月），每缺 1 次扣 0.5 分，扣 3 分"),
    (range(1, 6), "缺 7 次（2026年6月、2026年7月、2026年8月、2026年9月、2026年10月、2026年11月等），"
                  "每缺 1 次扣 0.5 分，扣 3 分（扣完为止）"),
    ((), "缺 12 次（2026年1月、2026年2月、2026年3月、2026年4月、2026年5月、2026年6月等），每缺 1 次扣 0.5 分，扣 3 分（扣完为止）"),
])
def test_missed_records_floor_at_zero_and_only_a_floor_says_so(months, missing):
    # 3 points, 0.5 a missing month: six missing take exactly the 3 (no floor), seven or more would take more
    got = _frequency(YEAR, [Record(D(2026, m, 10)) for m in months])
    assert (got.outcome, got.points) == ("fail", 0)
    assert got.reason == "支部委员会会议记录应每月至少 1 次（共 12 个月），" + missing


@pytest.mark.parametrize("outside, listed", [
    (5, "2025年12月1日、2025年12月2日、2025年12月3日、2025年12月4日、2025年12月5日"),
    (6, "2025年12月1日、2025年12月2日、2025年12月3日、2025年12月4日、2025年12月5日等"),
])
def test_records_outside_the_round_are_listed_five_at_most_untitled_ones_by_date_alone(outside, listed):
    records = [Record(D(2025, 12, d)) for d in range(1, outside + 1)] + [Record(D(2026, m, 10)) for m in range(1, 13)]
    assert _frequency(YEAR, records).reason == (
        "支部委员会会议记录应每月至少 1 次（共 12 个月），均已按期开展，得 3 分"
        f"；另有 {outside} 条记录在考评期（2026年1月1日至2026年12月31日）外，不计入：{listed}")


def test_a_bulletins_period_reaches_a_worker_whole():
    # pickled to render and scoring workers: the start, the as-of date and the round's end all kept
    period = cut(YEAR, D(2026, 3, 31))
    back = pickle.loads(pickle.dumps(period))
    assert (tuple(back), as_of(back), back.round_end) == ((D(2026, 1, 1), D(2026, 3, 31)), D(2026, 3, 31), D(2026, 12, 31))
    assert repr(period) == "AsOf(datetime.date(2026, 1, 1), datetime.date(2026, 3, 31), round_end=datetime.date(2026, 12, 31))"
