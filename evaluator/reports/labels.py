"""Chinese labels and number/date formatting shared by the report model and the exports."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

OUTCOME_ZH = {
    "pass": "符合", "partial": "部分符合", "fail": "不符合", "not_applicable": "不适用",
    "not_reviewed": "未核查", "error": "无法计算", "waived": "免于考核",
}
METHOD_ZH = {
    "check": "符合性检查", "threshold": "达标值", "bands": "分档计分", "ratio": "比例",
    "frequency": "频次", "deduction": "扣分", "bonus": "加分项", "veto": "一票否决", "info": "信息项",
}
TYPE_ZH = {
    "community": "社区", "village": "村", "agency": "机关", "institution": "事业单位",
    "soe": "国有企业", "nonpublic": "两新组织", "school": "学校", "hospital": "医院",
    "compound": "小区",
}
STATUS_ZH = {"graded": "已定档", "not_graded": "不予定档"}
SCOPE_ZH = {"round": "全域", "district": "区县", "street": "街道", "type": "领域"}
COMPONENT_ZH = {"verified": "考核组评分", "self": "自评得分", "review": "民主评议得分"}
UNIT_ZH = {"m2": "平方米", "人": "人", "户": "户", "个": "个", "次": "次", "元": "元", "天": "天", "名": "名"}
FINDING_ZH = {"self_report_mismatch": "自评与核查不一致"}


def to_decimal(v: Any) -> Decimal | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, Decimal):
        return v
    if isinstance(v, float):
        return Decimal(str(v))
    if isinstance(v, (int, str)):
        try:
            return Decimal(v)
        except ArithmeticError:
            return None
    return None


def num(v: Any, places: int = 2) -> str:
    """98 -> '98', 97.50 -> '97.5', 89.021 -> '89.02'; None -> '—'."""
    d = to_decimal(v)
    if d is None:
        return "—"
    d = d.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def pct(v: Any, places: int = 1) -> str:
    """0.6667 -> '66.7%'."""
    d = to_decimal(v)
    return "—" if d is None else num(d * 100, places) + "%"


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
