"""Tests for evaluator.standard.expr: the standards' expression language."""
from __future__ import annotations

import datetime as dt
import decimal
import string
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from evaluator.standard.expr import (
    DEFAULT_FUNCTIONS, EvalError, Expr, ExprError, FunctionSpec, MissingValue, NameSpec, Type,
    compile_expr,
)
from evaluator.model import Field

RATINGS = ("好", "较好", "一般", "差")
NAMES = {
    "members_full": Type.NUMBER,
    "centre_area": NameSpec(Type.NUMBER),
    "grid_party_share": Type.NUMBER,
    "has_volunteer_team": Type.BOOL,
    "secretary_rating": NameSpec(Type.TEXT, RATINGS),
    "org.type": NameSpec(Type.TEXT, ("community", "village", "agency")),
    "org.district": Type.TEXT,
    "remarks": Type.TEXT,
    "last_election": Type.DATE,
    "committee_meetings": Type.RECORDS,
    "tags": Type.LIST,
    "anything": Type.ANY,
}
PERIOD = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


@dataclass(frozen=True)
class Rec:
    date: dt.date
    title: str = ""


def env(**values):
    base = {
        "members_full": 23, "centre_area": Decimal("480"), "grid_party_share": Decimal("0.65"),
        "has_volunteer_team": True, "secretary_rating": "较好", "org.type": "community",
        "org.district": "示例区", "remarks": None, "last_election": dt.date(2023, 10, 1),
        "committee_meetings": [Rec(dt.date(2026, 1, 12)), Rec(dt.date(2026, 2, 10))],
        "tags": ["a", "b"], "$period": PERIOD,
    }
    base.update({k.replace("__", "."): v for k, v in values.items()})
    return base


def run(source, names=NAMES, functions=DEFAULT_FUNCTIONS, **values):
    return compile_expr(source, names, functions).evaluate(env(**values))


def error(source, names=NAMES, functions=DEFAULT_FUNCTIONS, **kw) -> ExprError:
    with pytest.raises(ExprError) as info:
        compile_expr(source, names, functions, **kw)
    return info.value


# ------------------------------------------------------------------ literals, parsing, precedence

@pytest.mark.parametrize("source, expected", [
    ("500", Decimal(500)),
    ("0.5", Decimal("0.5")),
    ("60%", Decimal("0.6")),
    ("12.5%", Decimal("0.125")),
    ("'好'", "好"),
    ('"text with \'quote\'"', "text with 'quote'"),
    (r"'it\'s'", "it's"),
    ("true", True),
    ("false", False),
    ("date('2026-06-30')", dt.date(2026, 6, 30)),
    ("['a', 'b']", ("a", "b")),
    ("[1, -2, 3,]", (Decimal(1), Decimal(-2), Decimal(3))),
    ("[]", ()),
    ("1 + 2 * 3", Decimal(7)),
    ("(1 + 2) * 3", Decimal(9)),
    ("10 - 2 - 3", Decimal(5)),
    ("8 / 4 / 2", Decimal(1)),
    ("-2 * 3", Decimal(-6)),
    ("- (2 + 3)", Decimal(-5)),
    ("--2", Decimal(2)),
    ("1 / 3 * 3", Decimal("0.9999999999999999999999999999")),
    ("not true or true", True),                 # (not true) or true
    ("not (true or true)", False),
    ("true or false and false", True),         # and binds tighter than or
    ("(true or false) and false", False),
    ("not 1 == 2", True),                      # not binds looser than comparisons
    ("1 + 1 == 2 and 2 * 2 >= 4", True),
    ("'a' in ['a', 'b']", True),
    ("'c' not in ['a', 'b']", True),
    ("2 in [1, 2]", True),
    ("2 not in [1, 2]", False),
    ("date('2026-01-02') > date('2026-01-01')", True),
    ("members_full >= 3 and has_volunteer_team", True),
    ("org.type in ['community', 'village']", True),
    ("secretary_rating in ['好', '较好']", True),
    ("grid_party_share >= 60%", True),
    ("days_since(last_election) <= 5 * 365", True),
    ("min(members_full, 10) + max(1, 2) + abs(-3)", Decimal(15)),
    ("len(committee_meetings)", Decimal(2)),
    ("len(['x', 'y', 'z'])", Decimal(3)),
    ("len(tags)", Decimal(2)),
    ("count(committee_meetings, 'month')", Decimal(2)),
    ("exists(remarks)", False),
    ("exists(centre_area)", True),
    ("members_full\n  >= 3", True),
])
def test_values(source, expected):
    result = run(source)
    assert result == expected
    assert type(result) is type(expected)


def test_numbers_are_decimals_and_ints_are_accepted():
    assert run("members_full") == Decimal(23)
    assert isinstance(run("members_full"), Decimal)
    assert isinstance(run("members_full * 1.5"), Decimal)
    assert run("members_full * 1.5") == Decimal("34.5")


def test_arithmetic_ignores_the_callers_decimal_context():
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        assert str(run("1 / 3")) == "0." + "3" * 28


def test_expr_attributes_and_repr():
    e = compile_expr("exists(centre_area) and org.type == 'village' or members_full > 3", NAMES)
    assert isinstance(e, Expr)
    assert e.type is Type.BOOL
    assert e.names == frozenset({"centre_area", "org.type", "members_full"})
    assert e.source in repr(e) and repr(e).startswith("Expr(")
    assert compile_expr("1 + 2", NAMES).names == frozenset()


def test_plain_type_and_namespec_are_equivalent():
    a = compile_expr("x > 1", {"x": Type.NUMBER})
    b = compile_expr("x > 1", {"x": NameSpec(Type.NUMBER)})
    assert a.evaluate({"x": 2}) is b.evaluate({"x": 2}) is True


def test_expect():
    assert compile_expr("members_full > 1", NAMES, expect=Type.BOOL).type is Type.BOOL
    assert compile_expr("anything", NAMES, expect=Type.BOOL).type is Type.BOOL
    with pytest.raises(EvalError):   # ANY checked at run time against the expected type
        compile_expr("anything", NAMES, expect=Type.BOOL).evaluate({"anything": 3})
    assert compile_expr("anything", NAMES, expect=Type.BOOL).evaluate({"anything": True}) is True
    assert compile_expr("anything + 1", NAMES).evaluate({"anything": 2}) == 3


# ------------------------------------------------------------------ compile-time errors + columns

@pytest.mark.parametrize("source, message, column", [
    ("", "empty expression", 1),
    ("   ", "empty expression", 1),
    ("centre_aera >= 300", "unknown name 'centre_aera'; did you mean 'centre_area'?", 1),
    ("1 + zzz_qqq", "unknown name 'zzz_qqq'", 5),
    ("True", "unknown name 'True'; did you mean 'true'?", 1),
    ("cout(committee_meetings, 'month') > 1", "unknown function 'cout'; did you mean 'count'?", 1),
    ("members_full(3)", "'members_full' is a name, not a function", 1),
    ("count > 1", "'count' is a function; call it like count(...)", 1),
    ("count(committee_meetings) > 1", "count() takes 2 arguments, got 1", 1),
    ("1 + abs(1, 2)", "abs() takes 1 argument, got 2", 5),
    ("members_full == 'x'", "cannot compare number with text", 14),
    ("last_election < 3", "cannot compare date with number", 15),
    ("members_full and true", "'and' needs booleans, got number", 1),
    ("true or remarks", "'or' needs booleans, got text", 9),
    ("not members_full", "'not' needs a boolean, got number", 5),
    ("remarks + 1", "'+' needs numbers, got text", 1),
    ("-remarks", "'-' needs a number, got text", 2),
    ("remarks < 'b'", "'<' needs numbers or dates, got text", 9),
    ("committee_meetings == committee_meetings",
     "cannot use '==' on records; use len() or count()", 20),
    ("secretary_rating == '优'", "'优' is not one of 好, 较好, 一般, 差", 21),
    ("'优' != secretary_rating", "'优' is not one of 好, 较好, 一般, 差", 1),
    ("secretary_rating in ['好', '优']", "'优' is not one of 好, 较好, 一般, 差", 27),
    ("org.type == 'comunity'",
     "'comunity' is not one of community, village, agency; did you mean 'community'?", 13),
    ("members_full", "expected a boolean expression, got number; a condition must be true or false: compare it, "
                     "e.g. members_full >= 1", 1),
    ("committee_meetings", "expected a boolean expression, got records; a condition must be true or false: "
                           "compare it, e.g. len(committee_meetings) >= 1", 1),
    ("a < b < c", "comparisons cannot be chained; write 'a < b and b < c'", 7),
    ("1 < 2 == true", "comparisons cannot be chained; write 'a < b and b < c'", 7),
    ("1 in [1] in [true]", "comparisons cannot be chained; write 'a < b and b < c'", 10),
    ("members_full >= ", "expected a value but found end of expression", 17),
    ("(1 + 2", "expected ')' but found end of expression", 7),
    ("abs(1 2)", "expected ',' or ')' but found number 2", 7),
    ("1 2", "unexpected number 2", 3),
    ("members_full > 3)", "unexpected ')'", 17),
    ("'abc", "unterminated string", 1),
    ("x = 3", "'=' is not an operator; use '==' to compare", 3),
    ("true && false", "use 'and' instead of '&&'", 6),
    ("true || false", "use 'or' instead of '||'", 6),
    ("!true", "unexpected '!'; use 'not' or '!='", 1),
    ("1 @ 2", "unexpected character '@'", 3),
    ("面积 > 3", "unexpected character '面'; names and operators are ASCII, text must be quoted", 1),
    ("5.", "malformed number '5.'", 1),
    ("5abc", "malformed number '5a'", 1),
    ("5m2abc", "malformed number '5m'", 1),
    ("days_since(last_election) > 3年", "'3年': days_since() gives a number of days; write the number alone "
                                       "(for months or years use months_since() or years_since())", 29),
    ("5人 > 3", "'5人': a number with a unit is read for the field it is compared with (e.g. "
              "centre_area >= 500平方米); here write the number without its unit", 1),
    ("org.", "malformed name 'org.'", 1),
    ("date('2026-02-30')", "invalid date '2026-02-30' (expected YYYY-MM-DD)", 6),
    ("date('2026-2-3')", "invalid date '2026-2-3' (expected YYYY-MM-DD)", 6),
    ("date(20260101)", "date() needs a quoted date, e.g. date('2026-06-30')", 6),
    ("[1, 'a']", "list items must all have the same type; found text after number", 5),
    ("[members_full]", "list items must be literals (numbers, text, true/false, dates)", 2),
    ("true in [true]", "'in' needs text or a number on the left, got boolean", 1),
    ("'a' in remarks", "'in' needs a list on the right, got text", 8),
    ("3 in ['a']", "cannot compare number with a list of text", 3),
    ("'a' not in [1]", "cannot compare text with a list of numbers", 5),
    ("len(3)", "argument 1 of len() must be records or list, got number", 5),
    ("days_since('2026-01-01') > 3", "argument 1 of days_since() must be date, got text", 12),
    ("exists(1 + 2)", "exists() needs a name, e.g. exists(centre_area)", 8),
    ("exists(centre_aera)", "unknown name 'centre_aera'; did you mean 'centre_area'?", 8),
    ("count(committee_meetings, 'months') > 1",
     "unknown period 'months'; did you mean 'month'? "
     "(one of week, month, quarter, half_year, year)", 27),
])
def test_errors(source, message, column):
    e = error(source, expect=Type.BOOL if source in ("members_full", "committee_meetings") else None)
    assert (e.message, e.column) == (message, column)
    assert str(e) == f"{message} (column {column})"


@pytest.mark.parametrize("source, value", [
    ("area >= 500平方米", Decimal(500)), ("area >= ５００．５㎡", Decimal("500.5")), ("area >= 500m2", Decimal(500)),
    ("area >= 500 m²", Decimal(500)), ("area >= -5 平米", Decimal(-5)), ("area in [300平方米, 500]", Decimal(300)),
])
def test_a_number_with_its_fields_unit_reads_as_the_number(source, value):
    area = NameSpec(Type.NUMBER, field=Field(id="area", type="number", label="面积", unit="m2"))
    e = compile_expr(source, {"area": area})
    assert e.evaluate({"area": value}) is True
    assert e.evaluate({"area": value - 1}) is False


def test_deep_nesting_is_an_expr_error():
    assert error("(" * 500 + "1" + ")" * 500).message == "expression is nested too deeply"
    assert error("[" * 500).message == "expression is nested too deeply"
    assert error("not " * 500 + "true").message == "expression is nested too deeply"
    assert "too long" in error(" + ".join(["1"] * 500)).message
    assert run(" + ".join(["1"] * 40)) == 40


# ------------------------------------------------------------------ runtime

def test_missing_value_raises():
    e = compile_expr("centre_area >= 300", NAMES)
    with pytest.raises(MissingValue) as info:
        e.evaluate({})
    assert info.value.name == "centre_area"
    with pytest.raises(MissingValue):
        e.evaluate({"centre_area": None})


def test_short_circuit_with_missing_values():
    assert run("exists(remarks) and remarks == 'x'") is False
    assert run("not exists(remarks) or remarks == 'x'") is True
    assert run("true or remarks == 'x'") is True
    assert run("false and remarks == 'x'") is False
    with pytest.raises(MissingValue):
        run("remarks == 'x' and exists(remarks)")
    with pytest.raises(MissingValue):
        run("true and remarks == 'x'")
    e = compile_expr("exists(x) and x > 3", {"x": Type.NUMBER})
    assert e.evaluate({}) is False
    assert e.evaluate({"x": 4}) is True


def test_both_operands_are_evaluated_before_either_is_checked():
    # (expressions run compiled into closures: the order is the tree walk's) a missing right
    # operand is reported even when the left one has the wrong type, as it always was
    with pytest.raises(MissingValue) as info:
        run("anything + centre_area", anything="x", centre_area=None)
    assert info.value.name == "centre_area"
    with pytest.raises(EvalError, match="expected a number, got str"):
        run("anything + centre_area", anything="x")


def test_division_by_zero():
    with pytest.raises(EvalError, match="division by zero"):
        run("members_full / (members_full - 23)")
    with pytest.raises(EvalError, match="division by zero"):
        run("0 / 0")


def test_runtime_type_mismatch_is_eval_error():
    with pytest.raises(EvalError, match="should be number"):
        run("members_full > 1", members_full="many")
    with pytest.raises(EvalError, match="should be number"):
        run("members_full > 1", members_full=True)
    with pytest.raises(EvalError, match="finite"):
        run("members_full > 1", members_full=Decimal("NaN"))
    with pytest.raises(EvalError, match="cannot compare"):
        run("anything < 3", anything="x")


def test_percentages_and_float_inputs():
    assert run("grid_party_share >= 60%", grid_party_share=Decimal("0.6")) is True
    assert run("grid_party_share >= 60%", grid_party_share=0.6) is True
    assert run("grid_party_share >= 60%", grid_party_share=Decimal("0.5999")) is False


# ------------------------------------------------------------------ count / days_since

def test_count_months_ignores_records_outside_the_period():
    recs = [Rec(dt.date(2025, 12, 31)), Rec(dt.date(2026, 1, 1)), Rec(dt.date(2026, 1, 31)),
            dt.date(2026, 3, 15), {"date": dt.date(2026, 12, 31)}, Rec(dt.date(2027, 1, 1))]
    e = compile_expr("count(committee_meetings, 'month')", NAMES)
    assert e.evaluate({"committee_meetings": recs, "$period": PERIOD}) == 3   # Jan, Mar, Dec


@pytest.mark.parametrize("unit, expected", [
    ("week", 5), ("month", 5), ("quarter", 3), ("half_year", 2), ("year", 1),
])
def test_count_units(unit, expected):
    days = [dt.date(2026, 1, 5), dt.date(2026, 1, 6),       # same ISO week and month
            dt.date(2026, 2, 2), dt.date(2026, 3, 30),      # Q1
            dt.date(2026, 6, 30),                           # Q2
            dt.date(2026, 8, 3),                            # Q3, second half
            dt.date(2025, 6, 1)]                            # outside the period
    e = compile_expr(f"count(committee_meetings, '{unit}')", NAMES)
    assert e.evaluate({"committee_meetings": days, "$period": PERIOD}) == expected


def test_count_with_a_partial_period():
    period = (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    days = [dt.date(2026, 3, 31), dt.date(2026, 4, 1), dt.date(2026, 6, 30), dt.date(2026, 7, 1)]
    e = compile_expr("count(committee_meetings, 'quarter')", NAMES)
    assert e.evaluate({"committee_meetings": days, "$period": period}) == 1


def test_count_and_days_since_need_the_period():
    e = compile_expr("count(committee_meetings, 'month')", NAMES)
    with pytest.raises(EvalError, match=r"\$period"):
        e.evaluate({"committee_meetings": []})
    with pytest.raises(EvalError, match=r"\$period"):
        compile_expr("days_since(last_election)", NAMES).evaluate(
            {"last_election": dt.date(2026, 1, 1)})


def test_count_bad_record():
    e = compile_expr("count(committee_meetings, 'month')", NAMES)
    with pytest.raises(EvalError, match="record without a date"):
        e.evaluate({"committee_meetings": ["2026-01-01"], "$period": PERIOD})


def test_days_since():
    e = compile_expr("days_since(last_election)", NAMES)
    assert e.evaluate({"last_election": dt.date(2026, 12, 1), "$period": PERIOD}) == 30
    assert e.evaluate({"last_election": dt.datetime(2026, 12, 30, 18, 0), "$period": PERIOD}) == 1


# ------------------------------------------------------------------ custom functions

CRITERIA = ("G1.1", "G1.9", "G2.1", "G2.2")


def _check_criterion(index, value):
    if value not in CRITERIA:
        import difflib
        close = difflib.get_close_matches(value, CRITERIA, n=1)
        return f"unknown criterion '{value}'" + (f"; did you mean '{close[0]}'?" if close else "")
    return None


def _outcome(cid, *, env):
    return env["$outcomes"].get(cid)


GATE_FUNCTIONS = {
    **DEFAULT_FUNCTIONS,
    "outcome": FunctionSpec("outcome", (Type.TEXT,), Type.TEXT, _outcome, _check_criterion),
    "section_points": FunctionSpec("section_points", (Type.TEXT,), Type.NUMBER,
                                   lambda sid, env: env["$sections"][sid]),
    "boom": FunctionSpec("boom", (), Type.NUMBER, lambda env: 1 / 0),
}


def test_custom_functions_receive_env():
    e = compile_expr("outcome('G2.1') == 'pass' and section_points('G2') >= 20", {},
                     GATE_FUNCTIONS, expect=Type.BOOL)
    assert e.names == frozenset()
    assert e.evaluate({"$outcomes": {"G2.1": "pass"}, "$sections": {"G2": 21}}) is True
    assert e.evaluate({"$outcomes": {"G2.1": "fail"}, "$sections": {"G2": 21}}) is False


def test_check_literal_hook():
    e = error("outcome('G9.9') == 'pass'", {}, GATE_FUNCTIONS)
    assert (e.message, e.column) == ("unknown criterion 'G9.9'; did you mean 'G1.9'?", 9)


def test_custom_function_failures():
    with pytest.raises(EvalError, match=r"boom\(\) failed"):
        compile_expr("boom() > 1", {}, GATE_FUNCTIONS).evaluate({})
    with pytest.raises(MissingValue):       # a function returning None = no value
        compile_expr("outcome('G1.1') == 'pass'", {}, GATE_FUNCTIONS).evaluate({"$outcomes": {}})
    with pytest.raises(EvalError, match="should be number"):
        compile_expr("section_points('G1') > 1", {}, GATE_FUNCTIONS).evaluate(
            {"$sections": {"G1": "x"}})


def test_default_functions_are_read_only():
    with pytest.raises(TypeError):
        DEFAULT_FUNCTIONS["x"] = None  # type: ignore[index]


# ------------------------------------------------------------------ properties

SMALL_NAMES = {"n": Type.NUMBER, "b": Type.BOOL, "t": NameSpec(Type.TEXT, ("x", "y")),
               "d": Type.DATE, "r": Type.RECORDS, "l": Type.LIST, "a": Type.ANY}
SMALL_ENV = {"n": 3, "b": True, "t": "x", "d": dt.date(2026, 5, 1), "r": [dt.date(2026, 2, 1)],
             "l": ["x"], "a": Decimal(0), "$period": PERIOD}

TOKENS = ["n", "b", "t", "d", "r", "l", "a", "zz", "org.type", "1", "0", "2.5", "60%", "'x'",
          "'z'", '"y"', "true", "false", "and", "or", "not", "in", "==", "!=", "<", "<=", ">",
          ">=", "+", "-", "*", "/", "(", ")", "[", "]", ",", "len(", "count(", "exists(",
          "min(", "abs(", "days_since(", "date(", "'2026-01-01'", "'month'", " "]


def _compile_and_run(source):
    try:
        e = compile_expr(source, SMALL_NAMES)
    except ExprError as err:
        assert isinstance(err.message, str) and err.message
        assert 1 <= err.column <= len(source) + 1
        return
    try:
        e.evaluate(SMALL_ENV)
        e.evaluate({})
    except (MissingValue, EvalError):
        pass


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=string.printable, max_size=80))
def test_garbage_compiles_or_raises_expr_error(source):
    _compile_and_run(source)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25))
def test_token_soup_compiles_or_raises_expr_error(tokens):
    _compile_and_run(" ".join(tokens))


@settings(max_examples=200, deadline=None)
@given(st.integers(-10**6, 10**6), st.integers(-10**6, 10**6))
def test_arithmetic_matches_decimal(x, y):
    names = {"x": Type.NUMBER, "y": Type.NUMBER}
    values = {"x": x, "y": y}
    assert compile_expr("x + y * 2 - x", names).evaluate(values) == Decimal(y * 2)
    assert compile_expr("x < y", names).evaluate(values) is (x < y)
    assert compile_expr("min(x, y) <= max(x, y)", names).evaluate(values) is True
