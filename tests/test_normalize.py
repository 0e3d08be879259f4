"""evaluator.intake.normalize: what people really type -> typed values, or a precise NormalizeError."""
from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluator.model import Field, Record
from evaluator.intake.normalize import (
    UNITS,
    Missing,
    NormalizeError,
    excel_serial_to_date,
    halfwidth,
    is_blank,
    normalize,
)

D = Decimal
d = datetime.date

NUMBER = Field("x", "number", label="数")
AREA = Field("centre_area", "number", label="党群服务中心面积", unit="m2", min=D(0))
MEMBERS = Field("members_full", "integer", label="正式党员人数", unit="人", min=D(0))
COUNT = Field("n", "integer", label="个数")
MONEY = Field("money", "number", label="经费", unit="元")
SHARE = Field("grid_party_share", "percentage", label="网格员中党员占比")
FLAG = Field("has_volunteer_team", "boolean", label="是否有常备志愿服务队")
RATING = Field("secretary_rating", "enum", label="书记述职评议等次", values=("好", "较好", "一般", "差"))
CODE = Field("code", "enum", label="代码", values=("A", "B1"))
WHEN = Field("last_election", "date", label="上次换届日期")
MEETINGS = Field("committee_meetings", "records", label="支部委员会会议记录")
REMARKS = Field("remarks", "text", label="备注")
ALL_FIELDS = (NUMBER, AREA, MEMBERS, COUNT, MONEY, SHARE, FLAG, RATING, CODE, WHEN, MEETINGS, REMARKS)


def err(raw, field, **kw) -> NormalizeError:
    with pytest.raises(NormalizeError) as info:
        normalize(raw, field, **kw)
    e = info.value
    assert e.message and str(e) == e.message and isinstance(e.expected, str) and e.expected
    return e


def same(a: Decimal, b: Decimal) -> bool:
    """Equal and spelled the same (no float noise, no lost digits)."""
    return isinstance(a, Decimal) and a == b and a.as_tuple() == b.as_tuple()


# ---------------------------------------------------------------------------------- tables

def test_units_table():
    assert UNITS["m2"] == ("m2", "m²", "㎡", "平方米", "平米", "平方")
    assert UNITS["人"] == ("人", "名")
    assert UNITS["天"] == ("天", "日")
    assert set(UNITS) == {"m2", "人", "户", "个", "次", "元", "天", "名"}


def test_halfwidth():
    assert halfwidth("５００．５") == "500.5"
    assert halfwidth("－３") == "-3"
    assert halfwidth("６０％") == "60%"
    assert halfwidth("1，200\u3000") == "1,200 "


# ---------------------------------------------------------------------------------- blanks

@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000", "\t\n", "-", "—", "——", "/", "N/A", "n/a",
                                 "无数据", "未填", " － ", "／", "Ｎ／Ａ"])
@pytest.mark.parametrize("field", ALL_FIELDS, ids=lambda f: f.type + ":" + f.id)
def test_blank_is_missing_for_every_type(raw, field):
    assert is_blank(raw)
    assert normalize(raw, field) is None
    assert Missing is None


def test_wu_is_false_for_boolean_and_blank_elsewhere():
    assert normalize("无", FLAG) is False
    assert normalize(" 无 ", FLAG) is False
    assert not is_blank("无", "boolean")
    assert is_blank("无")
    for field in (AREA, MEMBERS, SHARE, RATING, WHEN, MEETINGS, REMARKS):
        assert normalize("无", field) is None


@pytest.mark.parametrize("raw", [0, D(0), False, [], {}, "0", "无效", "--3", float("nan")])
def test_not_blank(raw):
    assert not is_blank(raw)


# ---------------------------------------------------------------------------------- numbers

@pytest.mark.parametrize("raw, want", [
    (500, D(500)),
    (D("500.25"), D("500.25")),
    (0.1, D("0.1")),
    (500.0, D("500.0")),
    (1e15, D("1000000000000000.0")),
    ("500", D(500)),
    ("  500  ", D(500)),
    ("\u3000500\u3000", D(500)),
    ("500.5", D("500.5")),
    ("+3", D(3)),
    ("-3", D(-3)),
    (".5", D("0.5")),
    ("1.5e3", D("1.5E+3")),
    ("５００", D(500)),
    ("５００．５", D("500.5")),
    ("－３", D(-3)),
    ("1,200", D(1200)),
    ("1，200", D(1200)),
    ("１，２００", D(1200)),
    ("12,345,678.9", D("12345678.9")),
])
def test_number_accepts(raw, want):
    assert same(normalize(raw, NUMBER), want)


def test_float_goes_through_str_not_binary():
    assert same(normalize(0.1 + 0.2, NUMBER), D("0.30000000000000004"))
    assert same(normalize(1.1, NUMBER), D("1.1"))
    assert normalize(1.1, NUMBER) != D(1.1)


@pytest.mark.parametrize("raw", ["500平方米", "500 m²", "500㎡", "500m2", "500 M2", "500平米", "500平方",
                                 "５００平方米", "５００　㎡", "500 m2 "])
def test_area_units(raw):
    assert same(normalize(raw, AREA), D(500))


def test_area_without_unit_is_fine():
    assert same(normalize("480", AREA), D(480))
    assert same(normalize(480, AREA), D(480))


def test_wrong_unit():
    e = err("500人", AREA)
    assert e.message == "'500人' has unit '人', expected 'm2' (平方米)"
    assert "元" in err("5万元", MONEY).message and "万元" in err("5万元", MONEY).message
    assert "'次'" in err("3次", MEMBERS).message


def test_unit_on_field_without_unit():
    e = err("500平方米", NUMBER)
    assert "'500平方米'" in e.message and "平方米" in e.message and "without a unit" in e.message
    assert "%" in err("60%", NUMBER).message


def test_ming_counts_as_ren():
    assert same(normalize("12名", MEMBERS), D(12))
    assert same(normalize("12 人", MEMBERS), D(12))
    ming = Field("m", "integer", label="名额", unit="名")
    assert same(normalize("3名", ming), D(3))
    assert "'人'" in err("3人", ming).message


@pytest.mark.parametrize("raw", ["约500", "500左右", "五百", "abc", "1,2", "12,00", "1.2.3", "500 人 人", "--5",
                                 "５００ｘ", "e5", ".", "1 200", "0x10", "1_000", "٣"])
def test_not_a_number(raw):
    e = err(raw, NUMBER)
    assert repr(raw) in e.message
    assert "expected a number" in e.message


def test_not_a_number_message():
    assert err("约500", AREA).message == "'约500' is not a number, expected a number in 'm2' (平方米)"
    assert err("约500", NUMBER).message == "'约500' is not a number, expected a number"


@pytest.mark.parametrize("raw", [float("nan"), float("inf"), float("-inf"), D("NaN"), D("sNaN"), D("-Infinity"),
                                 "nan", "NaN", "inf", "-inf", "Infinity", "+Infinity", "∞", "ｉｎｆ", "sNaN"])
@pytest.mark.parametrize("field", [NUMBER, AREA, MEMBERS, SHARE], ids=lambda f: f.type)
def test_nan_and_inf_rejected(raw, field):
    e = err(raw, field)
    assert "finite" in e.message


def test_excel_error_values_rejected():
    assert "Excel error" in err("#DIV/0!", NUMBER).message
    assert "Excel error" in err("#N/A", NUMBER).message


@pytest.mark.parametrize("raw", [True, False])
def test_bool_rejected_for_numbers(raw):
    for field in (NUMBER, MEMBERS, SHARE):
        assert "yes/no" in err(raw, field).message


@pytest.mark.parametrize("raw", [[1], {"a": 1}, d(2026, 1, 1), object()])
def test_non_scalar_rejected_for_numbers(raw):
    err(raw, NUMBER)


def test_bounds():
    assert err(-20, AREA).message == "-20 is below the minimum 0"
    assert err("-20平方米", AREA).message == "'-20平方米' is below the minimum 0"
    assert err("－２０", AREA).message == "'－２０' is below the minimum 0"
    capped = Field("c", "number", label="c", min=D(1), max=D("99.5"))
    assert normalize("99.5", capped) == D("99.5")
    assert normalize(1, capped) == D(1)
    assert err("100", capped).message == "'100' is above the maximum 99.5"
    assert err(0, capped).message == "0 is below the minimum 1"
    assert err(0, capped).expected == "at least 1"
    assert same(normalize("-0", AREA), D("-0"))


def test_bounds_given_as_plain_numbers():
    loose = Field("c", "number", label="c", min=0, max=10.5)  # type: ignore[arg-type]
    assert normalize("10.5", loose) == D("10.5")
    assert "10.5" in err("11", loose).message


# ---------------------------------------------------------------------------------- integers

@pytest.mark.parametrize("raw, want", [
    (12, 12), ("12", 12), ("12人", 12), ("12.0", 12), (12.0, 12), (D("12.00"), 12), ("１２", 12),
    ("1,200人", 1200), ("1E+2", 100), ("0", 0), ("-0", 0),
])
def test_integer_accepts(raw, want):
    got = normalize(raw, MEMBERS if not str(raw).startswith("-") else COUNT)
    assert same(got, D(want))


@pytest.mark.parametrize("raw", ["12.5", 12.5, D("12.5"), "0.1人", "1E-1"])
def test_integer_rejects_fractions(raw):
    e = err(raw, MEMBERS)
    assert "whole number" in e.message


def test_integer_messages():
    assert err("12.5", MEMBERS).message == "'12.5' is not a whole number, expected a whole number in '人'"
    assert err("-1", MEMBERS).message == "'-1' is below the minimum 0"
    assert err("12平方米", MEMBERS).message == "'12平方米' has unit '平方米', expected '人'"
    assert "implausibly large" in err("1E+400", COUNT).message
    assert "implausibly large" in err("1E+40", COUNT).message
    assert "implausibly large" in err(10**200, COUNT).message
    assert same(normalize("1E+15", COUNT), D(10**15))


# ---------------------------------------------------------------------------------- percentages

@pytest.mark.parametrize("raw, want", [
    ("60%", "0.60"), ("60％", "0.60"), ("６０％", "0.60"), ("55.8%", "0.558"), (" 55.8 % ", "0.558"),
    ("100%", "1.00"), ("0%", "0.00"), ("0.6", "0.6"), (0.6, "0.6"), (D("0.558"), "0.558"), (0, "0"),
    ("0", "0"), ("0.05", "0.05"), ("12.5%", "0.125"), ("0.999", "0.999"), ("1%", "0.01"),
])
def test_percentage_accepts(raw, want):
    assert same(normalize(raw, SHARE), D(want))


@pytest.mark.parametrize("raw", ["60", 60, "1.5", D("55.8"), 60.0, 1, "1", 1.0, D("1.0"), "１"])
def test_percentage_bare_number_above_one_is_ambiguous(raw):
    e = err(raw, SHARE)
    assert "ambiguous" in e.message


def test_percentage_messages():
    assert err("60", SHARE).message == "'60' is ambiguous for a percentage: write 60% or 0.6"
    assert err("55.8", SHARE).message == "'55.8' is ambiguous for a percentage: write 55.8% or 0.558"
    assert err("120%", SHARE).message == "'120%' is above the maximum 100%"
    assert err("-5%", SHARE).message == "'-5%' is below the minimum 0%"
    assert err("-0.1", SHARE).message == "'-0.1' is below the minimum 0%"
    assert "unit '人'" in err("60人", SHARE).message
    assert "implausibly large" in err("1E+999", SHARE).message
    assert err(1, SHARE).message == "1 is ambiguous for a percentage: write 1% or 100%"


def test_a_bare_1_is_asked_about_in_evidence_and_is_the_whole_in_a_standards_threshold():
    from evaluator.standard.quantity import read_share
    for one in (1, "1", "１", D("1.0"), 1.0):
        assert err(one, SHARE).message.endswith("is ambiguous for a percentage: write 1% or 100%")
        assert read_share(one) == 1
    # "1%" is one per cent to both
    assert same(normalize("1%", SHARE), D("0.01")) and same(read_share("1%"), D("0.01"))


def test_a_standards_threshold_of_1_on_a_percentage_field_means_100_percent(tmp_path):
    """The standard's side of the bare 1, through the loader: `share >= 1` is `share >= 100%`,
    on the published page too, while the same 1 in an evidence file is asked about."""
    from evaluator.standard.loader import load_standard
    from test_authoring_units import standard
    std = load_standard(standard(tmp_path, "share >= 1", "share >= 100%"))
    bare, marked = std.criteria["G1.3"].params, std.criteria["G1.4"].params
    assert bare.plain == marked.plain == "网格员党员占比不低于 100%"
    for share, met in ((D(1), True), (D("0.999"), False)):
        assert bare.evaluate({"share": share}) is marked.evaluate({"share": share}) is met
    assert "ambiguous" in err(1, Field("share", "percentage", label="网格员党员占比")).message


_PERCENT_TEXT = st.one_of(
    st.decimals(min_value=-200, max_value=200, places=3, allow_nan=False).map(lambda d: f"{d}%"),
    st.decimals(min_value=-200, max_value=200, places=3, allow_nan=False).map(str),
    st.decimals(min_value=0, max_value=1, places=4, allow_nan=False),
    st.integers(-300, 300),
    st.sampled_from(["６０％", " 55.8 % ", "60人", "60平方米", "0.6‰", "约60%", "#DIV/0!", "1E+20", "1E-20%", "是", True]),
)


@given(_PERCENT_TEXT)
def test_evidence_and_a_standard_read_a_percentage_alike(raw):
    """One reading (quantity.read_percent) for an evidence cell and a standard's threshold: the
    same value, spelled the same, or the same refusal. Apart from a bare 1 (above), they differ
    only where evidence checks the field's range (0%..100% here) and a standard's threshold
    leaves its range to what uses it (a list's share, a tier's share)."""
    from evaluator.standard.quantity import read_share

    def read(fn):
        try:
            return fn()
        except NormalizeError as e:
            return e.message
    evidence, threshold = read(lambda: normalize(raw, SHARE)), read(lambda: read_share(raw))
    if isinstance(threshold, Decimal) and threshold == 1 and "%" not in str(raw):
        assert evidence.endswith("is ambiguous for a percentage: write 1% or 100%")    # the bare 1
    elif isinstance(threshold, Decimal) and not 0 <= threshold <= 1:
        assert "is above the maximum 100%" in evidence or "is below the minimum 0%" in evidence
    elif isinstance(threshold, Decimal):
        assert same(evidence, threshold)
    else:
        assert evidence == threshold


def test_percentage_max_above_one():
    growth = Field("g", "percentage", label="增长率", min=D(-1), max=D(2))
    assert same(normalize("150%", growth), D("1.50"))
    assert same(normalize("1.5", growth), D("1.5"))
    assert same(normalize("-20%", growth), D("-0.20"))
    assert "ambiguous" in err("60", growth).message
    assert "ambiguous" in err(1, growth).message and "ambiguous" in err(-1, growth).message
    assert "maximum 200%" in err("250%", growth).message


def test_percentage_max_below_one():
    capped = Field("c", "percentage", label="c", max=D("0.8"))
    assert normalize("80%", capped) == D("0.8")
    assert "maximum 80%" in err("0.9", capped).message
    assert "ambiguous" in err("60", capped).message


# ---------------------------------------------------------------------------------- booleans

@pytest.mark.parametrize("raw", ["是", "有", "√", "✓", "✔", "true", "TRUE", "True", "yes", "YES", "y", "Y", "1",
                                 "１", "已完成", " 是 ", True, 1, D(1), 1.0])
def test_boolean_true(raw):
    assert normalize(raw, FLAG) is True


@pytest.mark.parametrize("raw", ["否", "无", "×", "✗", "✘", "false", "FALSE", "no", "No", "n", "N", "0", "０",
                                 "未完成", False, 0, D(0), 0.0])
def test_boolean_false(raw):
    assert normalize(raw, FLAG) is False


@pytest.mark.parametrize("raw", ["对", "错", "已建立", "on", "off", "maybe", "2", 2, D("0.5"), "1.0", float("nan"),
                                 d(2026, 1, 1), ["是"]])
def test_boolean_rejects(raw):
    e = err(raw, FLAG)
    assert "yes/no" in e.message
    assert "是" in e.expected and "否" in e.expected and "未完成" in e.expected


# ---------------------------------------------------------------------------------- enums

@pytest.mark.parametrize("raw, want", [("好", "好"), (" 较好 ", "较好"), ("\u3000一般\u3000", "一般"), ("差", "差"),
                                       ("Ａ", "A"), ("Ｂ１", "B1"), ("B1", "B1")])
def test_enum_accepts(raw, want):
    field = RATING if want in RATING.values else CODE
    assert normalize(raw, field) == want


@pytest.mark.parametrize("raw", ["良好", "优秀", "a", "b1", "较 好"])
def test_enum_rejects(raw):
    field = CODE if raw.isascii() else RATING
    e = err(raw, field)
    assert repr(raw) in e.message
    for value in field.values:
        assert value in e.message


def test_enum_message_and_numbers():
    assert err("良好", RATING).message == "'良好' is not one of the allowed values: 好, 较好, 一般, 差"
    levels = Field("lv", "enum", label="级别", values=("1", "2", "3"))
    assert normalize(2, levels) == "2"
    assert normalize("２", levels) == "2"
    err(True, levels)
    err(4, levels)
    err(float("nan"), levels)


# ---------------------------------------------------------------------------------- dates

@pytest.mark.parametrize("raw", ["2026-03-05", "2026-3-5", "2026/3/5", "2026/03/05", "2026.3.5", "2026年3月5日",
                                 "2026年03月05日", "2026 年 3 月 5 日", "2026年3月5号", "20260305", " 2026-03-05 ",
                                 "２０２６－０３－０５", "２０２６年３月５日", "2026-03-05 10:30", "2026-03-05T10:30:00",
                                 d(2026, 3, 5), datetime.datetime(2026, 3, 5, 14, 0), 20260305, D(20260305)])
def test_date_accepts(raw):
    assert normalize(raw, WHEN) == d(2026, 3, 5)
    assert normalize(raw, WHEN, excel=True) == d(2026, 3, 5)


@pytest.mark.parametrize("raw", [46086, D(46086), 46086.0])
def test_excel_day_numbers_only_from_xlsx(raw):
    assert normalize(raw, WHEN, excel=True) == d(2026, 3, 5)
    assert "Excel day numbers are read only from .xlsx cells" in err(raw, WHEN).message


def test_excel_serial_examples():
    assert normalize(45000, WHEN, excel=True) == d(2023, 3, 15)
    assert excel_serial_to_date(45000) == d(2023, 3, 15)
    assert excel_serial_to_date(61) == d(1900, 3, 1)
    assert excel_serial_to_date(1) == d(1900, 1, 1)          # as Excel and openpyxl read it
    assert excel_serial_to_date(2958465) == d(9999, 12, 31)
    assert normalize(2958465, WHEN, excel=True) == d(9999, 12, 31)
    assert "45000" in err("45000", WHEN, excel=True).message     # digits typed as text are not a day number


def test_excel_serial_agrees_with_openpyxl():
    from openpyxl.utils.datetime import from_excel
    for serial in (1, 59, 61, 366, 36526, 45000, 46086, 2958465):
        assert excel_serial_to_date(serial) == from_excel(serial).date()


def test_date_from_real_xlsx(tmp_path):
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([datetime.datetime(2026, 3, 5), 46086, "2026/3/5", "５００平方米", 500.0, None, "end"])
    path = tmp_path / "e.xlsx"
    wb.save(path)
    row = next(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert [normalize(v, WHEN, excel=True) for v in row[:3]] == [d(2026, 3, 5)] * 3
    assert normalize(row[3], AREA) == D(500) and normalize(row[4], AREA) == D(500)
    assert normalize(row[5], AREA) is None


@pytest.mark.parametrize("raw, why", [("2026-02-30", "day is out of range"), ("2026-13-01", "month must be"),
                                      ("2026年2月29日", "day is out of range"), ("20261301", "month"),
                                      (20260230, "day"), ("2026/0/5", "month"), ("0000-01-01", "year")])
def test_impossible_dates(raw, why):
    e = err(raw, WHEN)
    assert e.message.startswith(f"{raw!r} is not a valid date" if isinstance(raw, str) else f"{raw} is not")
    assert why in e.message


def test_impossible_date_message():
    assert err("2026-02-30", WHEN).message.startswith("'2026-02-30' is not a valid date")


@pytest.mark.parametrize("raw", ["明天", "2026-03", "2026.3", "3/5/2026", "2026-03/05", "26-3-5", "2026-03-05x",
                                 "45000.5", 45000.5, 0, -1, 2958466, "2958466", "123456789", True, [2026, 3, 5],
                                 float("inf"), D("NaN"), "1900-02-29"])
def test_date_rejects(raw):
    e = err(raw, WHEN)
    assert "date" in e.message or "day" in e.message


def test_excel_serial_60_is_not_a_day():
    assert "1900-02-29" in err(60, WHEN, excel=True).message


# ---------------------------------------------------------------------------------- records

def test_records_list_of_dates_sorted():
    got = normalize(["2026-02-10", d(2026, 1, 12), 46086, "2026年3月1日"], MEETINGS, excel=True)
    assert got == (Record(d(2026, 1, 12)), Record(d(2026, 2, 10)), Record(d(2026, 3, 1)), Record(d(2026, 3, 5)))
    assert isinstance(got, tuple)


def test_records_mappings():
    got = normalize([{"date": "2026-02-10", "title": " 二月支委会 "}, {"date": d(2026, 1, 12)},
                     {"日期": "2026/2/10", "标题": "临时支委会"}, {"date": "2026-02-10", "title": None}], MEETINGS)
    assert got == (Record(d(2026, 1, 12)), Record(d(2026, 2, 10), ""), Record(d(2026, 2, 10), "临时支委会"),
                   Record(d(2026, 2, 10), "二月支委会"))


def test_records_empty_list_is_present_zero():
    assert normalize([], MEETINGS) == ()
    assert normalize((), MEETINGS) == ()


@pytest.mark.parametrize("raw", ["2026-01-05、2026-02-05", "2026-01-05,2026-02-05", "2026-01-05，2026-02-05",
                                 "2026-01-05;2026-02-05", "2026-01-05；2026-02-05", "2026-01-05\n2026-02-05",
                                 "2026-02-05\r\n2026-01-05\n", "2026/1/5 、 2026年2月5日、", "20260205、20260105"])
def test_records_one_cell(raw):
    assert normalize(raw, MEETINGS) == (Record(d(2026, 1, 5)), Record(d(2026, 2, 5)))


def test_records_single_values():
    assert normalize("2026-01-05", MEETINGS) == (Record(d(2026, 1, 5)),)
    assert normalize(d(2026, 1, 5), MEETINGS) == (Record(d(2026, 1, 5)),)
    assert normalize({"date": "2026-01-05", "title": "x"}, MEETINGS) == (Record(d(2026, 1, 5), "x"),)
    assert normalize("、", MEETINGS) is None


def test_records_keep_duplicates_and_skip_blank_items():
    got = normalize(["2026-01-05", None, "", "2026-01-05"], MEETINGS)
    assert got == (Record(d(2026, 1, 5)), Record(d(2026, 1, 5)))


def test_records_errors_name_the_item():
    e = err(["2026-01-05", "2026-02-30"], MEETINGS)
    assert e.message.startswith("record 2: '2026-02-30' is not a valid date")
    e = err("2026-01-05、明天", MEETINGS)
    assert "record 2" in e.message and "'明天'" in e.message
    assert "is not a valid date" in err("2026-02-30", MEETINGS).message
    assert "no date" in err([{"title": "x"}], MEETINGS).message
    assert "unknown key 'data'" in err([{"data": "2026-01-05"}], MEETINGS).message
    assert "nested" in err([["2026-01-05"]], MEETINGS).message
    err([{"date": "2026-01-05", "title": ["x"]}], MEETINGS)
    err(True, MEETINGS)


def test_record_order():
    assert sorted([Record(d(2026, 2, 1), "a"), Record(d(2026, 1, 1), "b"), Record(d(2026, 1, 1), "a")]) == [
        Record(d(2026, 1, 1), "a"), Record(d(2026, 1, 1), "b"), Record(d(2026, 2, 1), "a")]


# ---------------------------------------------------------------------------------- text

@pytest.mark.parametrize("raw, want", [("  备注内容 ", "备注内容"), ("\u3000见附件\u3000", "见附件"), (12, "12"),
                                       (D("3.50"), "3.50"), (2.5, "2.5"), (13800138000, "13800138000"),
                                       (d(2026, 3, 5), "2026-03-05"), ("a\nb", "a\nb")])
def test_text(raw, want):
    assert normalize(raw, REMARKS) == want


@pytest.mark.parametrize("raw", [True, float("nan"), ["a"], {"a": 1}])
def test_text_rejects(raw):
    err(raw, REMARKS)


# ---------------------------------------------------------------------------------- misc

def test_unknown_field_type():
    e = err("1", Field("z", "money", label="z"))
    assert "money" in e.message


def test_error_is_a_value_error():
    assert issubclass(NormalizeError, ValueError)
    e = NormalizeError("m", "x")
    assert (e.message, e.expected, str(e)) == ("m", "x", "m")


def test_long_values_are_shortened_in_messages():
    e = err("约" * 500, NUMBER)
    assert len(e.message) < 200


# ---------------------------------------------------------------------------------- properties

_FULLWIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789.-+eE"}


PLAUSIBLE = dict(min_value=D("-1E+15"), max_value=D("1E+15"))


@given(st.decimals(allow_nan=False, allow_infinity=False, **PLAUSIBLE).filter(lambda v: v == 0 or abs(v) >= D("1E-15")))
@settings(max_examples=400)
def test_any_finite_decimal_string_is_itself(value):
    text = str(value)
    assert same(normalize(text, NUMBER), value)
    assert same(normalize(text.translate(_FULLWIDTH), NUMBER), value)
    assert same(normalize(f"\u3000 {text.translate(_FULLWIDTH)} ", NUMBER), value)
    assert same(normalize(value, NUMBER), value)


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15)
       .filter(lambda v: v == 0 or abs(v) >= 1e-15))
def test_finite_float_via_str(value):
    assert same(normalize(value, NUMBER), Decimal(str(value)))


@given(st.builds(lambda digits, exp, sign: D(f"{sign}{digits}E{exp}"), st.integers(1, 10**30),
                 st.one_of(st.integers(16, 10**9), st.integers(-10**9, -46)), st.sampled_from(["", "-"])))
def test_implausible_magnitudes_refused(value):
    assert "implausibly" in err(value, NUMBER).message
    assert "implausibly" in err(str(value), NUMBER).message


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_integers(value):
    assert normalize(value, COUNT) == value
    assert normalize(str(value), COUNT) == value


@given(st.integers(min_value=0, max_value=10**12))
def test_thousands_separators(value):
    assert normalize(f"{value:,}", COUNT) == value
    assert normalize(f"{value:,}".replace(",", "，"), COUNT) == value
    assert normalize(f"{value:,}人", MEMBERS) == value


@given(st.dates())
def test_date_spellings_round_trip(value):
    y, m, dd = value.year, value.month, value.day
    if y >= 1000:
        for text in (value.isoformat(), f"{y}/{m}/{dd}", f"{y}.{m}.{dd}", f"{y}年{m}月{dd}日", f"{y}{m:02}{dd:02}"):
            assert normalize(text, WHEN) == value
    if value >= d(1900, 3, 1):
        serial = (value - d(1899, 12, 30)).days
        if not (1900 <= serial <= 2100 or 190001 <= serial <= 210012):     # year- and month-like numbers
            assert normalize(serial, WHEN, excel=True) == value
        with pytest.raises(NormalizeError):
            normalize(serial, WHEN)
        with pytest.raises(NormalizeError):
            normalize(str(serial), WHEN, excel=True)


@given(st.decimals(min_value=0, max_value=100, places=3))
def test_percent_sign(value):
    assert normalize(f"{value}%", SHARE) == value / 100


_ANY = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.decimals(), st.text(), st.dates(),
        st.datetimes(),
        st.sampled_from(["", "无", "60%", "1,2", "2026-02-30", "500人", "1E+999999999", "1E-999999999%", "0E-10",
                         "45000", "20260230", "#N/A", "sNaN", "∞", "-", "12,345.6平方米", "１２．５％", "是", "√",
                         "2023", "202603", "2026-03-05 25:00", "2026-03-05T10:00+08:00", "a\x00b", "2026年3月",
                         D("1E+999999999"), "9" * 5000]),
        st.text(alphabet="0123456789,.%eE+-－０１２．％人㎡m²、；\n 年月日/", max_size=20),
    ),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["date", "title", "日期", "x"]), children, max_size=3),
    max_leaves=8,
)


@given(_ANY, st.sampled_from(ALL_FIELDS + (Field("g", "percentage", label="g", min=D(-1), max=D(2)),)), st.booleans())
@settings(max_examples=1500)
def test_only_normalize_error_escapes(raw, field, excel):
    try:
        got = normalize(raw, field, excel=excel)
    except NormalizeError as e:
        assert e.message and e.expected
        return
    want = {"number": Decimal, "integer": Decimal, "percentage": Decimal, "boolean": bool, "enum": str,
            "date": datetime.date, "text": str, "records": tuple}[field.type]
    assert got is None or isinstance(got, want)
    if field.type == "records" and got is not None:
        assert list(got) == sorted(got) and all(isinstance(r, Record) for r in got)


# ---------------------------------------------------------------- the fast path agrees

from hypothesis import given as _given, settings as _settings, strategies as _st

from evaluator.intake import normalize as _norm

_FIELDS = [Field("n", "number", label="数"), Field("i", "integer", label="整数", min=D(0), max=D(500)),
           Field("p", "percentage", label="比例"), Field("p2", "percentage", label="比例", min=D("0.5")),
           Field("d", "date", label="日期"), Field("b", "boolean", label="是否"),
           Field("e", "enum", label="等次", values=("好", "较好", "无", " 差"))]
_TEXT = _st.text(alphabet="0123456789.%-/年月日是否好较无差 ", max_size=12) | _st.sampled_from(
    ["0", "00", "012", "100%", "100.0%", "0.5", "1000000000000000", "999999999999999", "2026-02-29", "2024-02-29",
     "2026-13-01", "是", "否", "无", "好", " 差", "差", "", "-", "60%", "100.5%", "0.0001"])


def _slow(raw, field):
    if _norm.is_blank(raw, field.type):
        return "blank", None
    try:
        return "value", _norm._PARSERS[field.type](raw, field, False)
    except NormalizeError as e:
        return "error", e.message


def _fast(raw, field):
    try:
        return ("blank", None) if (v := normalize(raw, field)) is None else ("value", v)
    except NormalizeError as e:
        return "error", e.message


@_settings(max_examples=3000)
@_given(_TEXT, _st.sampled_from(_FIELDS))
def test_the_fast_path_reads_exactly_what_the_general_readers_read(raw, field):
    slow, fast = _slow(raw, field), _fast(raw, field)
    assert fast == slow
    if fast[0] == "value" and isinstance(fast[1], Decimal):
        assert fast[1].as_tuple() == slow[1].as_tuple()          # the same digits and exponent, too
