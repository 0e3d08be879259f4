"""Numbers as people type them, with their units: the one reader for evidence and standards.

An evidence cell and a standard's threshold are written by the same people in the same way
(`500`, `"５００"`, `"500平方米"`, `"50人"`), so both are read here and refused with the same
message: `'50人' has unit '人', expected 'm2' (平方米)` whether it stands in an evidence file
(evaluator.intake.normalize, which reads every other kind of value), in `value:` of a
standard's threshold (evaluator.standard.loader) or beside a field in an expression
(`centre_area >= 500平方米`, evaluator.standard.expr). It lives below both so the standard loader
need not import intake.
"""
from __future__ import annotations

import datetime
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ..model import Field
from ..terms import UNIT_ZH, UNITS

__all__ = ["NormalizeError", "halfwidth", "read_decimal", "read_number", "read_percent", "read_share", "is_unit", "SHARE_EXPECTED",
           "OTHER_UNITS", "NONFINITE_TOKENS"]


# suffixes that are recognisably units although no field accepts them; a value carrying
# one is reported as "has unit X" rather than "is not a number"
OTHER_UNITS: tuple[str, ...] = (
    "%", "％", "‰", "万", "万元", "千元", "亿元", "万人", "人次", "户次", "亩", "公顷",
    "平方公里", "km2", "km²", "米", "m", "公里", "km", "岁", "年", "月", "周", "小时", "分钟",
)


NONFINITE_TOKENS = frozenset({
    "nan", "+nan", "-nan", "snan", "+snan", "-snan",
    "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "∞", "+∞", "-∞",
})


# a number, optionally with thousands separators and an exponent; whatever follows is the unit
_NUMBER = re.compile(
    r"(?P<sign>[+-]?)"
    r"(?P<num>[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?|[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?P<exp>[eE][+-]?[0-9]+)?"
    r"(?P<rest>.*)",
    re.S,
)


# full-width ASCII block -> ASCII, ideographic/no-break space -> space, minus signs -> '-'
_HALFWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_HALFWIDTH.update({0x3000: 0x20, 0x00A0: 0x20, 0x2212: 0x2D, 0xFE63: 0x2D})


# evidence numbers beyond these magnitudes are typing or export accidents (1E999999999, a
# 5,000-digit cell), never real counts, areas or shares
_IMPLAUSIBLY_LARGE = Decimal("1E+15")


_IMPLAUSIBLY_SMALL = Decimal("1E-15")


class NormalizeError(ValueError):
    """A value that cannot be read for its field; `message` names it, `expected` says what fits."""

    def __init__(self, message: str, expected: str = ""):
        super().__init__(message)
        self.message = message
        self.expected = expected

    def __str__(self) -> str:
        return self.message


def halfwidth(text: str) -> str:
    """Fold full-width ASCII (５００．５, －３, ６０％, ，) and wide spaces to their ASCII forms."""
    return text.translate(_HALFWIDTH)


def _read_decimal(raw: Any, expected: str) -> tuple[Decimal, str]:
    """Return (value, unit suffix as typed, '' if none) or raise."""
    if isinstance(raw, bool):
        raise NormalizeError(f"{_show(raw)} is a yes/no value, expected {expected}", expected)
    if isinstance(raw, int):
        return _plausible(raw, Decimal(raw), expected), ""
    if isinstance(raw, (float, Decimal)):
        if not _is_finite(raw):
            raise NormalizeError(f"{_show(raw)} is not a finite number, expected {expected}", expected)
        return _plausible(raw, Decimal(str(raw)) if isinstance(raw, float) else raw, expected), ""
    if not isinstance(raw, str):
        raise NormalizeError(f"{_show(raw)} is not a number, expected {expected}", expected)
    text = halfwidth(raw).strip()
    if text.casefold().replace(" ", "") in NONFINITE_TOKENS:
        raise NormalizeError(f"{_show(raw)} is not a finite number, expected {expected}", expected)
    if text.startswith("#"):
        raise NormalizeError(f"{_show(raw)} is an Excel error value, expected {expected}", expected)
    m = _NUMBER.fullmatch(text)
    if not m:
        raise NormalizeError(f"{_show(raw)} is not a number, expected {expected}", expected)
    try:
        value = Decimal(m["sign"] + m["num"].replace(",", "") + (m["exp"] or ""))
    except InvalidOperation:
        raise NormalizeError(f"{_show(raw)} is not a number, expected {expected}", expected) from None
    return _plausible(raw, value, expected), m["rest"].strip()


def _plausible(raw: Any, value: Decimal, expected: str) -> Decimal:
    """Refuse magnitudes no evidence has: they come from a slipped key or a broken export, and
    later arithmetic on them would overflow or take forever."""
    size = value.copy_abs()          # copy_abs: no context, so no Overflow on 1E999999999
    if size > _IMPLAUSIBLY_LARGE:
        raise NormalizeError(f"{_show(raw)} is implausibly large for evidence (beyond 10^15); "
                             f"check the value, expected {expected}", expected)
    if size and size < _IMPLAUSIBLY_SMALL:
        raise NormalizeError(f"{_show(raw)} is implausibly small for evidence (below 10^-15 but not 0); "
                             f"check the value, expected {expected}", expected)
    return value


def _check_unit(raw: Any, unit: str, field: Field, expected: str) -> None:
    if not unit:
        return
    if field.unit is not None and _unit_key(unit) in _spellings(field.unit):
        return
    if _unit_key(unit) not in _KNOWN_UNITS:
        raise NormalizeError(f"{_show(raw)} is not a number, expected {expected}", expected)
    if field.unit is None:
        raise NormalizeError(f"{_show(raw)} has unit {unit!r}, expected a plain number without a unit",
                             expected)
    raise NormalizeError(f"{_show(raw)} has unit {unit!r}, expected {_unit_label(field.unit)}", expected)


def _expected_number(field: Field) -> str:
    kind = "a whole number" if field.type == "integer" else "a number"
    return f"{kind} in {_unit_label(field.unit)}" if field.unit else kind


def _unit_label(code: str) -> str:
    name = UNIT_ZH.get(code)
    return f"{code!r} ({name})" if name else repr(code)


def _unit_key(unit: str) -> str:
    return halfwidth(unit).strip().casefold()


def _spellings(code: str) -> frozenset[str]:
    return frozenset(_unit_key(s) for s in UNITS.get(code, (code,)) + (code,))


_KNOWN_UNITS = frozenset(
    _unit_key(s) for s in tuple(UNITS) + tuple(x for v in UNITS.values() for x in v) + OTHER_UNITS)


def _is_finite(value: float | Decimal | int) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Decimal):
        return value.is_finite()
    return True


def _int_text(value: int) -> str:
    try:
        return str(value)
    except ValueError:            # more digits than int->str conversion allows
        return str(Decimal(value))


def _show(raw: Any, limit: int = 60) -> str:
    """The raw value as it appears in a message: '500人' quoted, numbers and dates bare."""
    if isinstance(raw, str):
        text = raw if len(raw) <= limit else raw[:limit] + "…"
        return repr(text)
    if isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, int):
        text = _int_text(raw)
    elif isinstance(raw, Decimal):
        text = str(raw)
    elif isinstance(raw, datetime.date):
        text = raw.isoformat()
    else:
        try:
            text = repr(raw)
        except Exception:          # pragma: no cover - exotic objects
            text = f"<{type(raw).__name__}>"
    return text if len(text) <= limit else text[:limit] + "…"


def read_number(raw: Any, field: Field) -> Decimal:
    """`raw` (a number, or text such as "50人") as a number for `field` (number or integer),
    its unit checked against the field's; raises NormalizeError with evidence's message."""
    expected = _expected_number(field)
    value, unit = _read_decimal(raw, expected)
    _check_unit(raw, unit, field, expected)
    return value


def read_decimal(v: Any, percent_ok: bool = True) -> Decimal:
    """A number of a standard's grading as YAML gives it (a tier's minimum, a component's weight
    or scale, a quota's or target's share, a field's bounds and tolerance), also in a round's
    grading overrides (scoring.run.with_round_overrides): an int or Decimal as it is, a text
    number ("85.5") or, when `percent_ok`, a percentage ("60%" -> 0.6). Raises ValueError
    (expected what, got what) for anything else, yes/no values included; the schema has
    already refused most of those, the loader turns the rest into an issue at its line."""
    if isinstance(v, bool):
        raise ValueError(f"expected a number, got {v}")
    if isinstance(v, (int, Decimal)):
        return Decimal(v)
    if isinstance(v, str):
        s = v.strip()
        try:
            return Decimal(s[:-1]) / 100 if s.endswith("%") and percent_ok else Decimal(s)
        except ArithmeticError:          # decimal.InvalidOperation: not a number
            pass
    raise ValueError(f"expected a number{' or a percentage like 60%' if percent_ok else ''}, got {v!r}")


SHARE_EXPECTED = "a percentage such as 60% or 0.6"
_ONE = Decimal(1)


def read_percent(raw: Any, most: Decimal = _ONE, whole_one: bool = False) -> Decimal:
    """A percentage as evidence and standards write it, as a fraction: '60%' ('６０％', ' 60 % ')
    -> 0.60 exactly (no rounding), 0.6 or '0.6' -> 0.6; any other unit is refused with
    evidence's message. A bare number is a fraction, but one people may have meant as per cent
    is refused as ambiguous: 1 (1% or 100%?) and one above `most` (60: sixty per cent or a
    typo?), `most` being the largest share the field allows (100% unless it allows more).
    `whole_one`: a bare 1 is 100%, not a question (read_share: a standard's threshold)."""
    value, unit = _read_decimal(raw, SHARE_EXPECTED)
    if unit == "%":                   # the text was folded to half width: ％ reads as %
        return shift(value, -2)
    if unit:
        raise NormalizeError(f"{_show(raw)} has unit {unit!r}, expected {SHARE_EXPECTED}", SHARE_EXPECTED)
    if whole_one and value == _ONE:
        return value
    if abs(value) == _ONE or (value > _ONE and value > most):
        raise NormalizeError(f"{_show(raw)} is ambiguous for a percentage: {_percent_hint(value)}", SHARE_EXPECTED)
    return value


def read_share(raw: Any) -> Decimal:
    """`raw` as a standard's share for a percentage field (a threshold, a list's or a tier's
    share): read as evidence is (read_percent: 60%, ６０％, 0.6; a bare 60 is ambiguous), with
    the one deliberate difference that a bare 1 is 100% here, as a threshold of 1 can only mean
    the whole, where a secretary's 1 in evidence may mean 1% or 100% and is asked about. The
    range (at most 100% for a tier's share...) is checked by what uses the share."""
    return read_percent(raw, whole_one=True)


def shift(value: Decimal, places: int) -> Decimal:
    """value * 10**places, exactly (no context rounding)."""
    sign, digits, exponent = value.as_tuple()
    return Decimal((sign, digits, exponent + places))


def plain(value: Decimal) -> str:
    """Shortest plain spelling: Decimal('0.60') -> '0.6', Decimal('1E+2') -> '100'."""
    if value == 0:
        return "0"
    sign, digits, exponent = value.as_tuple()
    while len(digits) > 1 and digits[-1] == 0 and exponent < 0:
        digits, exponent = digits[:-1], exponent + 1
    return plain_text(Decimal((sign, digits, exponent)))


def plain_text(value: Decimal) -> str:
    """A Decimal as people write it: 500.5, 0.0001; exponent form only for extreme values."""
    return format(value, "f") if -20 < value.adjusted() < 30 else str(value)


def _percent_hint(value: Decimal) -> str:
    if abs(value) == _ONE:
        sign = "-" if value < 0 else ""
        return f"write {sign}1% or {sign}100%"
    if -15 < value.adjusted() < 15:
        return f"write {plain(value)}% or {plain(shift(value, -2))}"
    return "write it with % (60%) or as a fraction (0.6)"


def is_unit(text: str) -> bool:
    """Whether `text` is a unit people write after a number (平方米, m2, 人, 万元, %): the
    expression reader takes `500m2` as a number with its unit, but `5abc` as a typing error."""
    return _unit_key(text) in _KNOWN_UNITS
