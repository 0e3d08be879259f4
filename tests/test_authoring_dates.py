"""Date arithmetic in standards (issue 10): months_since, years_since, months_between,
years_between: whole calendar months, to the round's end (a bulletin's as-of date) as
days_since counts, type-checked when the standard loads and read in plain Chinese."""
from __future__ import annotations

import datetime as dt

import pytest

from evaluator.errors import InputError
from evaluator.model import Organization
from evaluator.scoring.criteria import score_all
from evaluator.standard.expr import Type, compile_expr, whole_months
from evaluator.standard.loader import load_standard
from evaluator.standard.periods import cut

from conftest import FIXTURES
from test_engine import full_evidence

PERIOD = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
D = dt.date


@pytest.mark.parametrize("start, end, months", [
    (D(2026, 9, 30), D(2026, 12, 30), 3),      # exactly 3 months
    (D(2026, 9, 30), D(2026, 12, 29), 2),      # a day short
    (D(2026, 9, 30), D(2026, 12, 31), 3),
    (D(2026, 1, 31), D(2026, 2, 28), 0),       # 31 Jan -> 28 Feb is not a whole month
    (D(2026, 1, 31), D(2026, 3, 1), 1),        # ... it is whole on the following 1st
    (D(2024, 1, 31), D(2024, 2, 29), 0),       # nor to 29 Feb of a leap year
    (D(2026, 2, 28), D(2026, 3, 28), 1),       # from a month's last day to the same day number
    (D(2024, 2, 29), D(2025, 2, 28), 11),      # 29 Feb: a year is whole on 1 March
    (D(2024, 2, 29), D(2025, 3, 1), 12),
    (D(2024, 2, 29), D(2028, 2, 29), 48),
    (D(2026, 12, 31), D(2026, 12, 31), 0),
    (D(2026, 12, 31), D(2026, 9, 30), -3),     # a later date: negative
])
def test_whole_months_boundaries(start, end, months):
    assert whole_months(start, end) == months


NAMES = {"vacant": Type.DATE, "last_dev": Type.DATE, "elected": Type.DATE}


def value(source, period=PERIOD, **env):
    return compile_expr(source, NAMES).evaluate({"$period": period, **env})


@pytest.mark.parametrize("source, dates, expected", [
    ("months_since(vacant) > 3", {"vacant": D(2026, 9, 30)}, False),    # exactly 3 months to 31 Dec
    ("months_since(vacant) > 3", {"vacant": D(2026, 8, 31)}, True),     # 4 months
    ("months_since(vacant) >= 3", {"vacant": D(2026, 10, 1)}, False),   # 2 months and 30 days
    ("years_since(last_dev) >= 2", {"last_dev": D(2024, 12, 31)}, True),
    ("years_since(last_dev) >= 2", {"last_dev": D(2025, 1, 1)}, False),
    ("years_since(last_dev) == 0", {"last_dev": D(2026, 2, 28)}, True),
    ("months_between(elected, vacant) == 11", {"elected": D(2024, 2, 29), "vacant": D(2025, 2, 28)}, True),
    ("years_between(elected, vacant) == 1", {"elected": D(2024, 2, 29), "vacant": D(2025, 3, 1)}, True),
])
def test_functions_count_to_the_rounds_end(source, dates, expected):
    assert value(source, **dates) is expected


def test_a_bulletin_counts_to_its_as_of_date_as_days_since_does():
    as_of = cut(PERIOD, D(2026, 3, 31))
    assert value("months_since(vacant)", as_of, vacant=D(2026, 1, 31)) == 2
    assert value("months_since(vacant)", cut(PERIOD, D(2026, 2, 28)), vacant=D(2026, 1, 31)) == 0
    assert value("days_since(vacant)", as_of, vacant=D(2026, 1, 31)) == 59


# ---------------------------------------------------------------- in a standard

CHILD = """id: child
version: "1"
title: 子标准
extends: mini
fields:
  secretary_vacant_since: {type: date, label: 书记空缺起始日期}
  last_development: {type: date, label: 上次发展党员日期}
sections:
  - id: G9
    criteria:
      - {id: G9.3, title: 书记长期空缺, method: veto, when: "months_since(secretary_vacant_since) > 3", cap_tier: C, rectification: 尽快选配书记}
      - {id: G9.4, title: 长期未发展党员, method: veto, when: "years_since(last_development) >= 2", cap_tier: B, rectification: 制定发展计划}
"""


def write(tmp_path, text):
    (tmp_path / "mini.yaml").write_text((FIXTURES / "mini" / "mini.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    p = tmp_path / "child.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_a_veto_on_a_vacancy_reads_in_plain_chinese_and_counts_whole_months(tmp_path):
    std = load_standard(write(tmp_path, CHILD))
    assert std.criteria["G9.3"].params[0].plain == "书记空缺超过 3 个月"
    assert std.criteria["G9.4"].params[0].plain == "距上次发展党员已满 2 年"
    org = Organization("O1", "O1", "community", "东区", "一街道")

    def outcome(**dates):
        got, _ = score_all(std, org, full_evidence("O1", **dates), PERIOD)
        return {o.criterion: o for o in got}

    hit = outcome(secretary_vacant_since=D(2026, 8, 31), last_development=D(2026, 5, 1))["G9.3"]
    assert hit.outcome == "fail" and hit.reason.startswith("触发一票否决（书记空缺超过 3 个月）")
    assert "C档" in hit.reason
    exactly = outcome(secretary_vacant_since=D(2026, 9, 30), last_development=D(2025, 1, 1))
    assert exactly["G9.3"].outcome == "pass" and exactly["G9.4"].outcome == "pass"
    assert outcome(secretary_vacant_since=D(2026, 9, 30), last_development=D(2024, 12, 31))["G9.4"].outcome == "fail"


@pytest.mark.parametrize("condition, message", [
    ("months_since(members_full) > 3", "argument 1 of months_since() must be date, got number (column 14"),
    ("years_since('2024-01-01') > 1", "argument 1 of years_since() must be date, got text (column 13"),
    ("months_between(secretary_vacant_since) > 1", "months_between() takes 2 arguments, got 1 (column 1"),
    ("months_since(secretary_vacant_since) == '3'", "cannot compare number with text"),
    ("month_since(secretary_vacant_since) > 3", "unknown function 'month_since'; did you mean 'months_since'?"),
])
def test_wrong_arguments_are_refused_at_load_with_file_and_line(tmp_path, condition, message):
    p = write(tmp_path, CHILD.replace('"months_since(secretary_vacant_since) > 3"', f'"{condition}"'))
    with pytest.raises(InputError) as e:
        load_standard(p)
    (err,) = [str(i) for i in e.value.issues]
    assert err.startswith(f"{p}:11:") and "G9.3: " in err and message in err
