"""Chinese labels and number/date formatting shared by the report model and the exports."""
from __future__ import annotations

import datetime as dt
from typing import Any

from ..terms import FINDING_ZH, OUTCOME_ZH, SCOPE_ZH, STATUS_ZH, UNIT_ZH, num, pct, to_decimal
from ..terms import ORG_TYPES as TYPE_ZH

METHOD_ZH = {
    "check": "符合性检查", "threshold": "达标值", "bands": "分档计分", "ratio": "比例",
    "frequency": "频次", "deduction": "扣分", "bonus": "加分项", "veto": "一票否决", "info": "信息项",
}
COMPONENT_ZH = {"verified": "考核组评分", "self": "自评得分", "review": "民主评议得分"}


def date_zh(v: Any) -> str:
    """'2026-12-31' or a date -> '2026年12月31日'."""
    if isinstance(v, str):
        try:
            v = dt.date.fromisoformat(v[:10])
        except ValueError:
            return v
    if isinstance(v, dt.date):
        return f"{v.year}年{v.month}月{v.day}日"
    return "—" if v is None else str(v)


def type_name(org: dict) -> str:
    return org.get("type_name") or TYPE_ZH.get(org.get("type", ""), org.get("type", ""))


def learn_type_name(org: dict) -> None:
    """A type the round's standards declared (网格党支部) is named in results.json only by its
    organizations' `type_name`: learned from them, so summary tables and lists show it too."""
    code, name = org.get("type"), org.get("type_name")
    if code and name and code not in TYPE_ZH:
        TYPE_ZH[code] = name
