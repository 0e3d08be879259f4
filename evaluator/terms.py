"""The domain's words and number formats, defined once and imported everywhere.

Codes (``community``, ``district``, ``not_graded``) are what files and results carry; the
Chinese labels are what every document, message and terminal shows. Number display lives
here too, so a score, a share or a percentage reads the same on a scorecard, in
``agrade explain`` and in a rectification list: rounded half-up (the rounding the standard
documents), trailing zeros dropped.
"""
from __future__ import annotations

import datetime as _dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

# ---------------------------------------------------------------- outcomes and policies

# not_due (未到期): in a bulletin (agrade bulletin --as-of), a criterion that has not fallen due
# yet; like not_applicable it is left out of the points that count (costs nothing, gains nothing)
OUTCOMES = ("pass", "partial", "fail", "not_applicable", "not_reviewed", "error", "waived", "not_due")
OUTCOME_ZH = {
    "pass": "符合", "partial": "部分符合", "fail": "不符合", "not_applicable": "不适用",
    "not_reviewed": "未核查", "error": "无法计算", "waived": "免于考核", "not_due": "未到期",
}
# outcomes whose points are left out of the base (neither earned nor lost)
UNCOUNTED = ("not_applicable", "not_due")
NA_POLICIES = ("zero", "exclude", "forbid")
NA_POLICY_ZH = {"zero": "按零分计", "exclude": "不计入满分", "forbid": "该项必须提供材料"}

STATUSES = ("graded", "not_graded")
STATUS_ZH = {"graded": "已定档", "not_graded": "不予定档"}

# Tier movement against the previous placing. A monthly bulletin compares with the bulletin
# before it and speaks of this issue (本期/上期), an annual round of this round (本轮/上轮).
CURRENT_WORD = {"bulletin": "本期", "round": "本轮"}
PREVIOUS_WORD = {"bulletin": "上期", "round": "上轮"}


def ungraded_move(kind: str) -> str:
    """'本期不予定档' (a bulletin) / '本轮不予定档' (a round): graded before, not graded now."""
    return CURRENT_WORD[kind] + STATUS_ZH["not_graded"]

FINDING_ZH = {"self_report_mismatch": "自评与核查不一致", "verified_blank": "核查值为空",
              "duplicate_record": "重复记录", "record_outside_period": "考评期外记录"}

# ---------------------------------------------------------------- evidence fields

FIELD_TYPES = ("number", "integer", "percentage", "boolean", "enum", "date", "text", "records")

# Blank cells in number fields: `zero` counts a blank as 0 (a count of honours left empty means
# none), `missing` makes the criterion not reviewed. Default: missing (nothing is assumed).
BLANK_POLICIES = ("missing", "zero")

# unit code -> accepted spellings (compared after full-width folding, case-insensitively)
UNITS: dict[str, tuple[str, ...]] = {
    "m2": ("m2", "m²", "㎡", "平方米", "平米", "平方"),
    "人": ("人", "名"),
    "户": ("户",),
    "个": ("个",),
    "次": ("次",),
    "元": ("元",),
    "天": ("天", "日"),
    "名": ("名",),
}


def unit_code(text: str | None) -> str | None:
    """The code of a unit as an author writes it in a field's `unit:` (平方米, ㎡ -> m2; a code
    stays itself). None for no unit or one not known (the schema has refused it by then)."""
    if not text or text in UNITS:
        return text or None
    key = text.strip().casefold()
    return next((code for code, spellings in UNITS.items() if key in (s.casefold() for s in spellings)), None)


# every way a field's unit may be written in a standard (the schema's enum)
UNIT_SPELLINGS: tuple[str, ...] = tuple(dict.fromkeys(
    [code for code in UNITS] + [s for spellings in UNITS.values() for s in spellings]))

# how a unit code reads on a page when the code itself is not Chinese
UNIT_ZH: dict[str, str] = {"m2": "平方米"}


def unit_name(code: str | None) -> str:
    return "" if not code else UNIT_ZH.get(code, code)


# ---------------------------------------------------------------- calendar

PERIOD_UNITS = ("week", "month", "quarter", "half_year", "year")
PERIOD_ZH = {"week": "周", "month": "月", "quarter": "季度", "half_year": "半年", "year": "年"}

# ---------------------------------------------------------------- organizations and scopes

# Organization types (领域) with their Chinese names, as typed in registries.
ORG_TYPES = {
    "community": "社区", "village": "村", "agency": "机关", "institution": "事业单位",
    "soe": "国有企业", "nonpublic": "两新组织", "school": "学校", "hospital": "医院",
    "compound": "小区",
}
# what registries also write for a type
ORG_TYPE_ALIASES = {zh: code for code, zh in ORG_TYPES.items()}
ORG_TYPE_ALIASES.update({"两新": "nonpublic", "非公企业": "nonpublic", "社会组织": "nonpublic", "国企": "soe",
                         "村（社区）": "village", "行政村": "village", "小区党支部": "compound", "物业": "compound"})

# The built-in types; a standard set declares more (a standard's `types:`, e.g. 网格党支部), and
# the loader adds their names to ORG_TYPES so every label lookup shows the declared name.
BUILTIN_TYPES = dict(ORG_TYPES)
BUILTIN_ALIASES = dict(ORG_TYPE_ALIASES)


def type_table(declared=None) -> tuple[dict[str, str], dict[str, str]]:
    """(code -> Chinese name, what a registry may write -> code) for the built-in types plus
    `declared` ({code: (name, aliases)}). A declared name or alias takes over a built-in alias
    spelled the same (a standard set that makes 小区党支部 a type of its own)."""
    names, aliases = dict(BUILTIN_TYPES), dict(BUILTIN_ALIASES)
    for code, (name, more) in (declared or {}).items():
        names[code] = name
        for a in (name, *more):
            aliases[a] = code
    return names, aliases


def register_type_names(declared) -> None:
    """Declared types' Chinese names ({code: (name, aliases)}), for every label lookup."""
    for code, (name, _) in declared.items():
        ORG_TYPES[code] = name


# Where organizations are compared (quotas, targets, ranks, lists).
SCOPES = ("round", "district", "street", "type")
SCOPE_ZH = {"round": "全域", "district": "区县", "street": "街道", "type": "领域"}
RANK_ZH = {"round": "全域排名", "district": "区县内排名", "street": "街道内排名", "type": "领域内排名"}


def scope_key(scope: str, district: str, street: str, org_type: str) -> str:
    """The group an organization belongs to in `scope`. Streets are named within their
    district: 东区城关街道 and 西区城关街道 are two scopes, so the key carries both."""
    if scope == "round":
        return ""
    if scope == "district":
        return district
    if scope == "street":
        return f"{district}\x1f{street}"
    if scope == "type":
        return org_type
    raise ValueError(f"unknown scope {scope!r}")


# The registry's street column holds the level between district and organization: a street or
# town for the organizations of an area, and for agencies and state-owned enterprises the body
# that leads their system (区直机关工委, 区国资委), which is no street. Names ending so are areas.
AREA_ENDINGS = ("街道", "街道办事处", "镇", "乡", "苏木")


def street_label(district: str, street: str) -> str:
    """A street-scope group as a department names it: '文昌街道（示例区）' for an area,
    '区直机关工委系统（示例区）' for an agency or enterprise system; the district in brackets,
    since two districts may each have a 城关街道."""
    shown = street if is_area(street) else f"{street}系统"
    return f"{shown}（{district}）" if district else shown


def is_area(street: str) -> bool:
    """A street or town (文昌街道, 青山镇), not the body leading a system (区直机关工委)."""
    return street.endswith(AREA_ENDINGS)


def rank_label(scope: str, street: str = "") -> str:
    """'街道内排名', or '系统内排名' for an organization listed under its system."""
    return "系统内排名" if scope == "street" and street and not is_area(street) else RANK_ZH[scope]


def scope_label(scope: str, key: str) -> str:
    """'区县“东区”', '一街道（东区）', '区直机关工委系统（东区）', '领域“社区”', '全域' for a scope_key."""
    if not key:
        return SCOPE_ZH[scope]
    if scope == "street":
        district, _, street = key.partition("\x1f")
        return street_label(district, street)
    if scope == "type":
        shown = ORG_TYPES.get(key, key)
    else:
        shown = key
    return f"{SCOPE_ZH[scope]}“{shown}”"


# ---------------------------------------------------------------- numbers

_HUGE = Decimal("1E+15")


def to_decimal(v: Any) -> Decimal | None:
    """A result number (Decimal, int, float from JSON, numeric text) as Decimal; None otherwise."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, Decimal):
        return v if v.is_finite() else None
    if isinstance(v, float):
        return Decimal(str(v)) if v == v and v not in (float("inf"), float("-inf")) else None
    if isinstance(v, (int, str)):
        try:
            d = Decimal(v)
        except (InvalidOperation, ValueError):
            return None
        return d if d.is_finite() else None
    return None


def num(v: Any, places: int = 2) -> str:
    """98 -> '98', 97.50 -> '97.5', 9.711333 -> '9.71', 0.125 -> '0.13' (half up); None -> '—'."""
    if type(v) is int:
        return str(v)
    d = to_decimal(v)
    if d is None:
        return "—"
    if d == d.to_integral_value() and abs(d) < _HUGE:    # most points, counts and areas: no rounding
        return str(int(d))
    if abs(d) >= _HUGE:
        return f"{d:.3E}"
    text = format(d.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def pct(v: Any, places: int = 1) -> str:
    """A share as a percentage, half up: 0.93 -> '93%', 0.6667 -> '66.7%' (places=2: '66.67%')."""
    d = to_decimal(v)
    return "—" if d is None else num(d * 100, places) + "%"


def points_text(d: Any) -> str:
    return num(d) + " 分"


def date_text(d: Any) -> str:
    """A date as every document prints it: 2026-03-05 -> '2026年3月5日' (no spaces inside; a
    text that is no ISO date is returned as it is). Data fields (results.json, CSV) keep ISO."""
    if isinstance(d, str):
        try:       # a date, or a time stamp's date (2026-03-05T10:00); other text as it is
            d = _dt.date.fromisoformat(d[:10]) if len(d) == 10 or (d[10:11] in ("T", " ") and d[11:13].isdigit()) else d
        except ValueError:
            return d
        if isinstance(d, str):
            return d
    if isinstance(d, _dt.datetime):
        d = d.date()
    if isinstance(d, _dt.date):
        return f"{d.year}年{d.month}月{d.day}日"
    return "—" if d is None else str(d)


def stamp_text(t: _dt.datetime) -> str:
    """A moment the round store recorded (kept in UTC; a naive one is UTC) as terminal messages
    print it: '2027年1月15日 09:30 UTC' (the date as documents print it, the time to the minute)."""
    if t.tzinfo is not None:
        t = t.astimezone(_dt.timezone.utc)
    return f"{date_text(t)} {t:%H:%M} UTC"


_DATE_ZH = re.compile(r"[0-9]{4}年")


def _cjk(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff"


def _latin(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "%")


def spaced(*parts: str) -> str:
    """Pieces of Chinese text joined as the documents print them: a space only where a Chinese
    character meets a Latin letter, a digit or % (达到 C档, 不少于 2 人, A档或 B档), none between
    Chinese words or beside punctuation (未触发一票否决且组织生活得分不低于 60 分), and none
    around a date, which reads as Chinese (不早于2026年1月1日)."""
    out = ""
    for p in parts:
        if out and p and ((_cjk(out[-1]) and _latin(p[0]) and not _DATE_ZH.match(p)) or (_latin(out[-1]) and _cjk(p[0]))):
            out += " "
        out += p
    return out


def value_text(value: Any, field=None) -> str:
    """An evidence value as a secretary reads it: 480 平方米, 55.8%, 是, 12 条记录, 2026年3月5日."""
    if value is None:
        return "（缺）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if field is not None and getattr(field, "type", None) == "percentage":
        return pct(value, 2)
    if isinstance(value, (Decimal, int, float)):
        unit = unit_name(getattr(field, "unit", None)) if field is not None else ""
        return num(value) + (f" {unit}" if unit else "")
    if isinstance(value, tuple):
        return f"{len(value)} 条记录"
    if isinstance(value, _dt.date):
        return date_text(value)
    return str(value)
