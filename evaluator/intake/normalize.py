"""Evidence values as people really type them -> typed values, or a precise refusal.

Inspection teams and branch secretaries fill YAML, CSV and Excel by hand, so one
field may arrive as ``500``, ``"５００"``, ``"500平方米"``, ``"500 m²"`` or an Excel
cell holding ``500.0``.  `normalize(raw, field)` turns each of these into one typed
value for the field's type (docs/FORMATS.md section 2, "Evidence"):

    number, integer, percentage -> decimal.Decimal   (percentages as fractions: 60% -> 0.60)
    boolean                      -> bool
    enum, text                   -> str
    date                         -> datetime.date
    records                      -> tuple[Record, ...] sorted by (date, title)

A blank value (``None``, ``""``, ``"-"``, ``"N/A"``, ``"未填"`` ...) is missing evidence and
normalizes to ``None`` for every type.  Anything that cannot be read safely raises
`NormalizeError` whose message names the bad value and what was expected; nothing
is guessed (``"约500"`` is refused, ``"60"`` or ``1`` for a percentage is refused as
ambiguous, a bare number in a date field is refused unless it is an Excel day number
from an .xlsx cell: ``excel=True``).  Numbers never pass through binary floats except
when the raw value already is one, and then via ``Decimal(str(f))``; numbers beyond
10^15 in magnitude (or non-zero below 10^-15) are refused as implausible evidence.
"""
from __future__ import annotations

import dataclasses
import datetime
import functools
import itertools
import math
import operator
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ..model import Field, Record
from ..standard.yamlsafe import control_message, find_control
from ..terms import FIELD_TYPES, UNITS
# reading numbers and their units is shared with the standard loader (a threshold's `value: 50人`)
from ..standard.quantity import (
    NormalizeError, _check_unit, _expected_number, _int_text,
    _is_finite, _read_decimal, _show, halfwidth, read_percent,
)
from ..standard.quantity import plain as _plain, plain_text as _plain_text, shift as _shift


__all__ = [
    "Record",
    "NormalizeError",
    "Missing",
    "UNITS",
    "FIELD_TYPES",
    "normalize",
    "is_blank",
    "halfwidth",
    "excel_serial_to_date",
]

# --------------------------------------------------------------------------------------
# Token tables
# --------------------------------------------------------------------------------------


# blank = missing evidence (compared after full-width folding, trimming, casefold)
BLANK_TOKENS = frozenset({
    "", "-", "--", "—", "——", "–", "/", "n/a", "无数据", "未填",
    "无",  # blank for every type except boolean, where it means False
})

TRUE_TOKENS: tuple[str, ...] = ("是", "有", "√", "✓", "✔", "true", "yes", "y", "1", "已完成")
FALSE_TOKENS: tuple[str, ...] = ("否", "无", "×", "✗", "✘", "false", "no", "n", "0", "未完成")


# one Excel cell holding several dates: 2026-01-05、2026-02-05 / 2026-01-05，2026-02-05 / lines
RECORD_SEPARATORS = re.compile(r"[、,;\n\r]+")        # applied after full-width folding

# records given as mappings: key -> Record attribute
RECORD_KEYS: dict[str, str] = {"date": "date", "日期": "date", "title": "title", "标题": "title"}

# an optional time of day after a date: 14:30, 14:30:05, 14:30:05.250, then an optional ISO time
# zone (Z, +08:00, +0800, +08); the date is the date as written, local to its own offset
_TIME = (r"(?:(?:\s+|T)(?P<H>[0-9]{1,2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2})(?:\.[0-9]+)?)?"
         r"(?:\s*(?P<tz>Z|[+-](?P<tzh>[0-9]{2})(?::?(?P<tzm>[0-9]{2}))?))?)?")
DATE_PATTERNS: tuple[re.Pattern[str], ...] = (
    # 2026-03-05, 2026/3/5, 2026.3.5 (one separator throughout), optional time of day
    re.compile(r"(?P<y>[0-9]{4})(?P<sep>[-/.])(?P<m>[0-9]{1,2})(?P=sep)(?P<d>[0-9]{1,2})" + _TIME, re.I),
    # 2026年3月5日 (the 日 may be left off)
    re.compile(r"(?P<y>[0-9]{4})\s*年\s*(?P<m>[0-9]{1,2})\s*月\s*(?P<d>[0-9]{1,2})\s*[日号]?" + _TIME, re.I),
    # 20260305: eight digits that are a valid yyyymmdd
    re.compile(r"(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})"),
)
DATE_EXAMPLES = "2026-03-05, 2026/3/5, 2026.3.5, 2026年3月5日 or 20260305"
# what people write for a month or a year where a day is needed: refused with a hint
_YEAR_MONTH = re.compile(r"(?P<y>[0-9]{4})(?:\s*[-/.]\s*|\s*年\s*)(?P<m>[0-9]{1,2})\s*月?")
_YEAR = re.compile(r"(?P<y>[0-9]{4})\s*年?")
# years anyone writes in evidence; a 4-digit number in this range is a year, not a day number
_YEARS = range(1900, 2101)

# Excel 1900 date system: serial 0 = 1899-12-30, 1 = 1900-01-01, 60 = the fictitious
# 1900-02-29 (Lotus bug), 61 = 1900-03-01, 2958465 = 9999-12-31 (as openpyxl reads them)
EXCEL_EPOCH = datetime.date(1899, 12, 30)
EXCEL_MAX_SERIAL = 2958465


_ONE = Decimal(1)
_ZERO = Decimal(0)


# --------------------------------------------------------------------------------------
# Public types
# --------------------------------------------------------------------------------------


Missing = None
"""What `normalize` returns for a blank value (missing evidence)."""


# --------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------

def normalize(raw: Any, field: Field, *, excel: bool = False) -> Any:
    """Return `raw` as the typed value of `field`, None when blank; raise NormalizeError.

    excel=True: `raw` is a cell of an .xlsx file, where a number in a date (or records date)
    is an Excel day number (46086 = 2026-03-05); from any other file it is refused."""
    if type(raw) is str and not excel:
        # text reads the same for one field wherever it comes from: each is read once (_MEMO)
        value = _MEMO.get(field, raw)
        if value is FieldMemo.UNREAD:
            value = _MEMO.keep(field, raw, _normalize(raw, field, excel))   # a refusal raises, and is not kept
        return value
    return _normalize(raw, field, excel)


REFUSED = object()                                        # what normalize_texts gives for a refused text


def normalize_texts(texts: list[str], field: Field) -> list:
    """normalize(text, field) for each text (not from an .xlsx cell), REFUSED where it
    raises. The texts read before are looked up all at once: a 500-organization partition
    asks about 8,000 distinct (field, text) pairs of its bulk CSV rows, nearly all of them
    read in an earlier partition, and asking normalize one by one was half of their cost."""
    reading = _reading(field)
    got = _MEMO.known(reading, texts)
    for i in positions_of(got, FieldMemo.UNREAD):
        try:
            got[i] = _MEMO.keep(reading, texts[i], _normalize(texts[i], field, False))
        except NormalizeError:                            # (refused for `field`, named in the message)
            got[i] = REFUSED
    return got


def positions_of(items: list, what) -> list[int]:
    """Where `what` itself (is, not ==) is in items, found in C: no Python step per item."""
    return list(itertools.compress(range(len(items)), map(operator.is_, items, itertools.repeat(what))))


# what a text reads as depends on its field's type, unit, bounds and values, never on the
# field's id or label (only messages name them, and a refusal is not kept): normalize_texts
# reads a text once for all fields alike but for those (the demo's 20,000 organizations:
# 45,700 distinct (field, text) pairs, 30,300 (reading, text)); forgotten all at once when many
_READINGS: dict[Field, Field] = {}


def _reading(field: Field) -> Field:
    """The field without its id and label, one instance for all fields alike."""
    got = _READINGS.get(field)
    if got is None:
        if len(_READINGS) > 10_000:
            _READINGS.clear()
        alike = dataclasses.replace(field, id="", label="")
        got = _READINGS[field] = _READINGS.setdefault(alike, alike)
    return got


class FieldMemo:
    """What was read for a field, by key (values are immutable, so a reading can be shared):
    keyed by the field's identity, the field kept alive so its id is not reused; at most
    `limit` fields and keys in all, all forgotten at once when full."""
    UNREAD = object()                                     # what `get` gives for a key not kept

    def __init__(self, limit: int):
        self.limit = limit
        self._by_field: dict[int, tuple[Field, dict]] = {}
        self._kept = 0

    def get(self, field: Field, key):
        entry = self._by_field.get(id(field))
        if entry is None or entry[0] is not field:
            return FieldMemo.UNREAD
        return entry[1].get(key, FieldMemo.UNREAD)

    def known(self, field: Field, keys: list) -> list:
        """get(field, key) for each key, looked up at once (in C, not a call per key)."""
        entry = self._by_field.get(id(field))
        if entry is None or entry[0] is not field:
            return [FieldMemo.UNREAD] * len(keys)
        return list(map(entry[1].get, keys, itertools.repeat(FieldMemo.UNREAD)))

    def keep(self, field: Field, key, value):
        """`value` remembered for (field, key); returns it."""
        entry = self._by_field.get(id(field))
        if entry is None or entry[0] is not field:
            entry = self._by_field[id(field)] = (field, {})
            self._kept += 1                               # (a field counts as a key)
        self._kept += 1
        if self._kept > self.limit:                       # bounded: all forgotten at once
            self._by_field.clear()
            self._kept = 1
            entry = self._by_field[id(field)] = (field, {})
        entry[1][key] = value
        return value

    def clear(self) -> None:
        self._by_field.clear()
        self._kept = 0

    def __len__(self) -> int:
        """The keys remembered, all fields together."""
        return sum(len(m) for _, m in self._by_field.values())


# each field's texts read once: the demo's 5,000 organizations write 303,000 values, 18,600
# distinct (field, text) pairs ("1", "是", "2026-11-05"...); 100,000 kept at most (about 15 MB)
_MEMO = FieldMemo(100_000)


def _normalize(raw: Any, field: Field, excel: bool) -> Any:
    if type(raw) is str:
        fast = _FAST.get(field.type)
        if fast is not None:
            value = fast(raw, field)
            if value is not _SLOW:
                return value
    parser = _PARSERS.get(field.type)
    if parser is None:
        raise NormalizeError(
            f"field {field.id!r} has unknown type {field.type!r}, expected one of: {', '.join(FIELD_TYPES)}",
            "a known field type")
    if is_blank(raw, field.type):
        return Missing
    try:
        return parser(raw, field, excel)
    except NormalizeError:
        raise
    except (ArithmeticError, ValueError) as exc:     # safety net: never leak anything else
        expected = _EXPECTED_FALLBACK.get(field.type, "a valid value")
        raise NormalizeError(f"{_show(raw)} could not be read, expected {expected} ({exc})",
                             expected) from exc


# ------------------------------------------------------------------ the common case, fast
#
# Most cells are plain: "12", "520.5", "60%", "2026-03-05", "是". These few patterns are read
# directly, to exactly what the general readers below would give (a test checks it on random
# text); anything else, or anything out of bounds, takes the general path and its messages.

_SLOW = object()
_PLAIN_INT = re.compile(r"(?:0|[1-9][0-9]{0,14})")
_PLAIN_DEC = re.compile(r"(?:0|[1-9][0-9]{0,11})(?:\.[0-9]{1,6})?")
_PLAIN_PCT = re.compile(r"(?:0|[1-9][0-9]{0,2})(?:\.[0-9]{1,4})?%")
_PLAIN_FRACTION = re.compile(r"0(?:\.[0-9]{1,6})?")   # a percentage written as a fraction (0.3201)
_PLAIN_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _fast_number(raw: str, field: Field):
    if not (_PLAIN_INT if field.type == "integer" else _PLAIN_DEC).fullmatch(raw):
        return _SLOW if raw else Missing
    value = Decimal(raw)
    if (field.min is not None and value < field.min) or (field.max is not None and value > field.max):
        return _SLOW
    return value


def _fast_percentage(raw: str, field: Field):
    if _PLAIN_PCT.fullmatch(raw):
        value = _shift(Decimal(raw[:-1]), -2)
    elif _PLAIN_FRACTION.fullmatch(raw):
        value = Decimal(raw)          # 0.32: a fraction, as it is (1 and more: read_percent asks)
    else:
        return _SLOW if raw else Missing
    lo = _ZERO if field.min is None else field.min
    hi = _ONE if field.max is None else field.max
    return value if lo <= value <= hi else _SLOW


def _fast_date(raw: str, field: Field):
    if not _PLAIN_ISO.fullmatch(raw):
        return _SLOW if raw else Missing
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        return _SLOW


def _fast_boolean(raw: str, field: Field):
    return True if raw == "是" else False if raw == "否" else Missing if raw == "" else _SLOW


def _fast_enum(raw: str, field: Field):
    return raw if raw in _enum_values(field) else Missing if raw == "" else _SLOW


@functools.lru_cache(maxsize=1024)
def _enum_values(field: Field) -> frozenset[str]:
    """The values of an enum that a cell can hold as they are (a value spelled like a blank,
    such as 无, is a blank in a cell)."""
    return frozenset(str(v) for v in field.values if not is_blank(str(v), "enum"))


_FAST = {"number": _fast_number, "integer": _fast_number, "percentage": _fast_percentage,
         "date": _fast_date, "boolean": _fast_boolean, "enum": _fast_enum}


def is_blank(raw: Any, field_type: str | None = None) -> bool:
    """True when `raw` is missing evidence: None, '', whitespace, '-', '—', '/', 'N/A', '无数据',
    '未填' or '无' (except for boolean fields, where '无' means False)."""
    if raw is None:
        return True
    if not isinstance(raw, str):
        return False
    key = halfwidth(raw).strip().casefold()
    if field_type == "boolean" and key == "无":
        return False
    return key in BLANK_TOKENS


def excel_serial_to_date(serial: int) -> datetime.date:
    """Day number of Excel's 1900 date system -> date (45000 -> 2023-03-15)."""
    if not 1 <= serial <= EXCEL_MAX_SERIAL:
        raise NormalizeError(f"{serial} is outside the Excel date serial range 1..{EXCEL_MAX_SERIAL}",
                             "a date")
    if serial == 60:
        raise NormalizeError("60 is Excel's day 1900-02-29, which does not exist", "a date")
    if serial < 60:
        serial += 1          # Excel counts the fictitious 1900-02-29
    return EXCEL_EPOCH + datetime.timedelta(days=serial)


# --------------------------------------------------------------------------------------
# One function per type
# --------------------------------------------------------------------------------------

def _number(raw: Any, field: Field, excel: bool = False) -> Decimal:
    expected = _expected_number(field)
    value, unit = _read_decimal(raw, expected)
    _check_unit(raw, unit, field, expected)
    _check_bounds(raw, value, field.min, field.max)
    return value


def _integer(raw: Any, field: Field, excel: bool = False) -> Decimal:
    expected = _expected_number(field)
    value, unit = _read_decimal(raw, expected)
    _check_unit(raw, unit, field, expected)
    if value != value.to_integral_value():
        raise NormalizeError(f"{_show(raw)} is not a whole number, expected {expected}", expected)
    value = _integral(value)                                # 12.0 -> 12, 1E+2 -> 100, -0 -> 0
    if value is None:
        raise NormalizeError(f"{_show(raw)} is too large, expected {expected}", expected)
    _check_bounds(raw, value, field.min, field.max)
    return value


def _percentage(raw: Any, field: Field, excel: bool = False) -> Decimal:
    lo = _bound(field.min, _ZERO)
    hi = _bound(field.max, _ONE)
    # read as a standard's threshold is, but a bare 1 is asked about: 100% to some, 1% to
    # others (a threshold's 1 can only be 100%: quantity.read_share)
    value = read_percent(raw, most=hi)
    _check_bounds(raw, value, lo, hi, percent=True)
    return value


def _boolean(raw: Any, field: Field, excel: bool = False) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float, Decimal)) and _is_finite(raw) and raw in (0, 1):
        return raw == 1
    if isinstance(raw, str):
        key = halfwidth(raw).strip().casefold()
        if key in TRUE_TOKENS:
            return True
        if key in FALSE_TOKENS:
            return False
    expected = "one of: " + ", ".join(TRUE_TOKENS + FALSE_TOKENS)
    raise NormalizeError(f"{_show(raw)} is not a yes/no value, expected {expected}", expected)


def _enum(raw: Any, field: Field, excel: bool = False) -> str:
    allowed = ", ".join(str(v) for v in field.values)
    expected = f"one of: {allowed}" if field.values else "a value (the field declares none)"
    if isinstance(raw, (str, int, float, Decimal)) and not isinstance(raw, bool):
        if not _is_finite(raw):
            raise NormalizeError(f"{_show(raw)} is not one of the allowed values: {allowed}", expected)
        text = halfwidth(_as_text(raw)).strip()
        for value in field.values:
            if halfwidth(str(value)).strip() == text:
                return str(value)
        raise NormalizeError(f"{_show(raw)} is not one of the allowed values: {allowed}", expected)
    raise NormalizeError(f"{_show(raw)} is not a single value, expected {expected}", expected)


def _date(raw: Any, field: Field, excel: bool = False) -> datetime.date:
    return _read_date(raw, excel)


def _text(raw: Any, field: Field, excel: bool = False) -> str:
    if isinstance(raw, str):
        _refuse_control(raw)
        return raw.strip()
    if isinstance(raw, bool):
        raise NormalizeError(f"{_show(raw)} is a yes/no value, expected text", "text")
    if isinstance(raw, (int, float, Decimal, datetime.date)):
        return _as_text(raw)
    raise NormalizeError(f"{_show(raw)} is not a single value, expected text", "text")


def _records(raw: Any, field: Field, excel: bool = False) -> tuple[Record, ...] | None:
    items = list(raw) if isinstance(raw, (list, tuple)) else [raw]
    pieces: list[Any] = []
    for item in items:
        if isinstance(item, str):
            pieces.extend(p for p in RECORD_SEPARATORS.split(halfwidth(item)) if not is_blank(p))
        elif item is not None:
            pieces.append(item)
    if not pieces and not isinstance(raw, (list, tuple)):
        return Missing            # a cell holding only separators is as good as empty
    records, bad = [], []
    for n, piece in enumerate(pieces, 1):
        try:
            records.append(_read_record(piece, excel))
        except NormalizeError as exc:
            if len(pieces) == 1:
                raise
            bad.append((n, exc))
    if bad:       # every bad record at once, so one correction round fixes the whole list
        shown = "; ".join(f"record {n}: {exc.message}" for n, exc in bad[:10])
        more = f"; and {len(bad) - 10} more" if len(bad) > 10 else ""
        raise NormalizeError(shown + more, bad[0][1].expected)
    return tuple(sorted(records))


_PARSERS = {
    "number": _number,
    "integer": _integer,
    "percentage": _percentage,
    "boolean": _boolean,
    "enum": _enum,
    "date": _date,
    "text": _text,
    "records": _records,
}

_EXPECTED_FALLBACK = {
    "number": "a number", "integer": "a whole number", "percentage": "a percentage such as 60% or 0.6",
    "boolean": "a yes/no value", "enum": "an allowed value", "date": "a date such as 2026-03-05",
    "text": "text", "records": "a list of dates",
}


# --------------------------------------------------------------------------------------
# Helpers: numbers
# --------------------------------------------------------------------------------------


def _check_bounds(raw: Any, value: Decimal, lo: Any, hi: Any, percent: bool = False) -> None:
    lo, hi = _bound(lo, None), _bound(hi, None)
    show = _show_percent if percent else _plain
    if lo is not None and value < lo:
        raise NormalizeError(f"{_show(raw)} is below the minimum {show(lo)}", f"at least {show(lo)}")
    if hi is not None and value > hi:
        raise NormalizeError(f"{_show(raw)} is above the maximum {show(hi)}", f"at most {show(hi)}")


def _bound(value: Any, default: Decimal | None) -> Decimal | None:
    if value is None:
        return default
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _integral(value: Decimal) -> Decimal | None:
    """A whole Decimal spelled with exponent 0, exactly; None when absurdly large (>1E+100)."""
    sign, digits, exponent = value.as_tuple()
    if exponent > 0:
        if exponent > 100:
            return None
        digits, exponent = digits + (0,) * exponent, 0
    elif exponent < 0:
        digits, exponent = digits[:exponent], 0          # the dropped digits are zeros
    if not any(digits):
        return _ZERO
    return Decimal((sign, digits, exponent))


def _show_percent(value: Decimal) -> str:
    return _plain(_shift(value, 2)) + "%"


# --------------------------------------------------------------------------------------
# Helpers: dates and records
# --------------------------------------------------------------------------------------

def _read_date(raw: Any, excel: bool = False) -> datetime.date:
    expected = f"a date such as {DATE_EXAMPLES}"
    if isinstance(raw, datetime.datetime):
        return raw.date()          # the date as written, in its own time zone
    if isinstance(raw, datetime.date):
        return raw
    if isinstance(raw, bool):
        raise NormalizeError(f"{_show(raw)} is a yes/no value, expected {expected}", expected)
    if isinstance(raw, (int, float, Decimal)):
        return _date_from_number(raw, expected, excel)
    if not isinstance(raw, str):
        raise NormalizeError(f"{_show(raw)} is not a date, expected {expected}", expected)
    text = halfwidth(raw).strip()
    for pattern in DATE_PATTERNS:
        m = pattern.fullmatch(text)
        if m:
            day = _make_date(raw, int(m["y"]), int(m["m"]), int(m["d"]), expected)
            if "H" in m.re.groupindex and m["H"] is not None:
                _check_time(raw, m, expected)
            return day
    if text.isdigit() and text.isascii():
        # digits typed as text are never Excel day numbers (Excel stores those as numbers)
        return _date_from_digits(raw, text, expected, excel=False)
    _refuse_partial_date(raw, text, expected)
    raise NormalizeError(f"{_show(raw)} is not a date, expected {expected}", expected)


def _check_time(raw: Any, m: re.Match, expected: str) -> None:
    """A time of day after the date must exist: hours 0-23, minutes and seconds 0-59."""
    hour, minute, second = int(m["H"]), int(m["M"]), int(m["S"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise NormalizeError(f"{_show(raw)} has an impossible time of day (hours run 0-23, minutes and seconds "
                             f"0-59); write e.g. {m['y']}-{int(m['m']):02}-{int(m['d']):02} 14:30, or the date alone",
                             expected)
    if m["tz"] and m["tz"].upper() != "Z" and (int(m["tzh"]) > 23 or int(m["tzm"] or 0) > 59):
        raise NormalizeError(f"{_show(raw)} has an impossible time zone offset {m['tz']!r}; write e.g. +08:00",
                             expected)


def _refuse_partial_date(raw: Any, text: str, expected: str) -> None:
    """A year or a year and month where a day is needed: say so, and what to write."""
    m = _YEAR_MONTH.fullmatch(text)
    if m and 1 <= int(m["m"]) <= 12:
        y, mo = m["y"], int(m["m"])
        raise NormalizeError(f"{_show(raw)} is a year and month ({y}-{mo:02}), not a date; "
                             f"write the full date such as {y}-{mo:02}-05", expected)
    m = _YEAR.fullmatch(text)
    if m:
        raise NormalizeError(f"{_show(raw)} is a year, not a date; write the full date such as {m['y']}-03-05",
                             expected)


def _date_from_number(raw: Any, expected: str, excel: bool) -> datetime.date:
    """A number in a date field: yyyymmdd from anywhere; an Excel day number only from .xlsx."""
    if not _is_finite(raw):
        raise NormalizeError(f"{_show(raw)} is not a date, expected {expected}", expected)
    value = Decimal(str(raw)) if isinstance(raw, float) else Decimal(raw)
    if value < 0 or value.adjusted() > 8:       # checked first: 1E999999999 is no day
        raise NormalizeError(f"{_show(raw)} is not a date, expected {expected}", expected)
    if value != value.to_integral_value():
        whole = "a whole Excel day number" if excel else "a date"
        raise NormalizeError(f"{_show(raw)} is not {whole}, expected {expected}", expected)
    return _date_from_digits(raw, str(int(value)), expected, excel)


def _date_from_digits(raw: Any, digits: str, expected: str, excel: bool) -> datetime.date:
    """Whole-number dates, from the least to the most doubtful reading:
    20260305 (yyyymmdd, valid dates only) is accepted from any file; 2023 (a year) and
    202603 (a year and month) are refused with what to write; any other number is an Excel day
    number only in an .xlsx cell, and elsewhere refused (CSV, YAML and JSON have real dates)."""
    shown = digits if not isinstance(raw, str) or raw.strip() == digits else _show(raw)
    number = int(digits)
    if len(digits) == 8 and not digits.startswith("0"):
        return _make_date(raw, int(digits[:4]), int(digits[4:6]), int(digits[6:]), expected)
    if len(digits) == 4 and number in _YEARS:
        raise NormalizeError(f"{shown} is a year, not a date; write the full date such as {digits}-03-05", expected)
    if len(digits) == 6 and int(digits[:4]) in _YEARS and 1 <= int(digits[4:]) <= 12:
        y, mo = digits[:4], digits[4:]
        raise NormalizeError(f"{shown} is a year and month ({y}-{mo}), not a date; "
                             f"write the full date such as {y}-{mo}-05", expected)
    if excel and 1 <= number <= EXCEL_MAX_SERIAL:
        return excel_serial_to_date(number)
    if excel:
        raise NormalizeError(f"{shown} is not a date (Excel day numbers run 1..{EXCEL_MAX_SERIAL}), "
                             f"expected {expected}", expected)
    meant = ""
    if 1 <= number <= EXCEL_MAX_SERIAL and number != 60:
        meant = f" (as an Excel day number it would be {excel_serial_to_date(number).isoformat()})"
    raise NormalizeError(f"{shown} is a number, not a date: Excel day numbers are read only from .xlsx cells"
                         f"{meant}; write the date itself, such as {DATE_EXAMPLES}", expected)


def _make_date(raw: Any, year: int, month: int, day: int, expected: str) -> datetime.date:
    try:
        return datetime.date(year, month, day)
    except ValueError as exc:
        raise NormalizeError(f"{_show(raw)} is not a valid date ({exc})", expected) from None


def _refuse_control(text: str) -> None:
    bad = find_control(text)
    if bad:
        raise NormalizeError(f"{_show(text)}: " + control_message(bad.group(), "the text"), "text without control characters")


def _read_record(item: Any, excel: bool = False) -> Record:
    if isinstance(item, Record):
        return item
    if isinstance(item, Mapping):
        return _record_from_mapping(item, excel)
    if isinstance(item, (list, tuple, set, frozenset)):
        raise NormalizeError(f"{_show(item)} is a nested list, expected a date or {{date, title}}",
                             "a date or a mapping with date and title")
    return Record(_read_date(item, excel))


def _record_from_mapping(item: Mapping, excel: bool = False) -> Record:
    expected = "a mapping with date and an optional title"
    fields: dict[str, Any] = {}
    for key, value in item.items():
        name = RECORD_KEYS.get(key.strip() if isinstance(key, str) else key)
        if name is None:
            raise NormalizeError(f"record {_show(item)} has unknown key {_show(key)}, expected date and title",
                                 expected)
        fields[name] = value
    if is_blank(fields.get("date")):
        raise NormalizeError(f"record {_show(item)} has no date, expected {expected}", expected)
    title = fields.get("title")
    if is_blank(title):
        title = ""
    elif isinstance(title, bool) or not isinstance(title, (str, int, float, Decimal, datetime.date)):
        raise NormalizeError(f"record {_show(item)} has title {_show(title)}, expected text", expected)
    title = _as_text(title)
    _refuse_control(title)
    return Record(_read_date(fields["date"], excel), title.strip())


# --------------------------------------------------------------------------------------
# Helpers: display
# --------------------------------------------------------------------------------------

def _as_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise NormalizeError(f"{_show(raw)} is not a finite number, expected text", "text")
        return _plain_text(Decimal(str(raw)))
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise NormalizeError(f"{_show(raw)} is not a finite number, expected text", "text")
        return _plain_text(raw)
    if isinstance(raw, datetime.datetime):
        return raw.isoformat(sep=" ")
    if isinstance(raw, datetime.date):
        return raw.isoformat()
    return _show(raw) if not isinstance(raw, int) else _int_text(raw)
