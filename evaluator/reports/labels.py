"""Chinese labels and number formats only the documents and exports use. The vocabulary the
core shares (outcomes, statuses, scopes, types, units, num/pct/date_text) lives in
evaluator.terms; import it from there, not through here."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..standard.methods import REGISTRY
from ..terms import ORG_TYPES, to_decimal

METHOD_ZH = {name: m.label for name, m in REGISTRY.items()}     # as the published rules name them
COMPONENT_ZH = {"verified": "考核组评分", "self": "自评得分", "review": "民主评议得分"}


def fixed(v: Any, places: int = 2) -> str:
    """A number in a table column or beside one, with exactly `places` decimals (half up), so a
    column's decimal points line up and the prose says what the table says: 102 -> '102.00',
    101.5 -> '101.50'; None -> '—'. (terms.num drops trailing zeros: right for a single value,
    ragged down a column.)"""
    d = to_decimal(v)
    return "—" if d is None else format(d.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP), "f")


def share(v: Any, places: int = 1) -> str:
    """A measured share in the 通报's tables and text, one decimal always: 0.27 -> '27.0%',
    0.3277 -> '32.8%' (a declared target keeps terms.pct's '20%')."""
    d = to_decimal(v)
    return "—" if d is None else fixed(d * 100, places) + "%"


def zh_numeral(n: int) -> str:
    """1 -> '一', 10 -> '十', 11 -> '十一', 23 -> '二十三' (headings （十一）, up to 99; beyond, digits)."""
    digits = "零一二三四五六七八九"
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    return ((digits[tens] if tens > 1 else "") + "十" if tens else "") + (digits[ones] if ones else "")


# headings numbered in Chinese, for the templates (NUMERALS[0] is 一)
NUMERALS = tuple(zh_numeral(i) for i in range(1, 100))


def type_name(org: dict) -> str:
    return org.get("type_name") or ORG_TYPES.get(org.get("type", ""), org.get("type", ""))


def learn_type_name(org: dict) -> None:
    """A type the round's standards declared (网格党支部) is named in results.json only by its
    organizations' `type_name`: learned from them, so summary tables and lists show it too."""
    code, name = org.get("type"), org.get("type_name")
    if code and name and code not in ORG_TYPES:
        ORG_TYPES[code] = name
