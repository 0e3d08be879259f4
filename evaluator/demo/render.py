"""Turn planned values into evidence as people actually file it.

About 70% of values are self-reported only; inspection teams visit about half of the
organizations in October-November and verify most of what they see (about 30% of all
values). About 5% of verified values contradict an inflated self-report beyond the field's
tolerance; about 3% of values are left blank; a few percent are typed the way people type
into Excel (５００, 520平方米, 60%, 是/否, 2026年3月5日). Everything normalizes.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..scoring.criteria import org_env, score_criterion
from ..intake.evidence import settle_mismatch
from ..model import ZERO, Field, Organization
from ..model import Record
from .planner import Profile

TEAMS = ("督导一组", "督导二组", "督导三组", "督导四组", "督导五组", "督导六组")
INSPECTORS = ("张伟", "王敏", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周强", "吴婷", "徐明", "孙悦")
_FULL = str.maketrans("0123456789.%", "０１２３４５６７８９．％")
_UNIT_TEXT = {"m2": ("平方米", "㎡", "平米"), "人": ("人", "名"), "名": ("名",), "个": ("个",), "次": ("次",),
              "户": ("户",), "元": ("元",), "天": ("天",)}


@dataclass
class Entry:
    field: Field
    self_value: Any = None        # typed value, None = blank
    verified: Any = None          # typed value or None
    blank: str | None = None      # how a blank self value is typed ("" / "-" / "未填"), None = row omitted


@dataclass
class Visit:
    inspector: str
    on: dt.date               # the on-site visit (October-November): values
    records_on: dt.date       # the year-end ledger check (early January): meeting records of the whole year


def visit_for(org_street: str, streets: list[str], rng: random.Random) -> Visit:
    team = TEAMS[streets.index(org_street) % len(TEAMS)] if org_street in streets else rng.choice(TEAMS)
    on = dt.date(2026, 10, 8) + dt.timedelta(days=rng.randint(0, 50))
    records_on = dt.date(2027, 1, 5) + dt.timedelta(days=rng.randint(0, 12))
    return Visit(f"{team}-{rng.choice(INSPECTORS)}", on, records_on)


def entries(prof: Profile, org: Organization, values: dict, rng: random.Random, visit: Visit | None,
            incomplete: bool) -> list[Entry]:
    out = []
    for fid, f in prof.fields.items():
        if fid not in values:
            continue
        v = values[fid]
        if incomplete and rng.random() < 0.65:
            continue
        if not incomplete and fid not in prof.forbid and rng.random() < 0.03:
            out.append(Entry(f, blank=rng.choice((None, None, "", "-", "未填"))))
            continue
        if visit is not None and rng.random() < 0.6 and not (f.type == "records" and not v) and f.type != "text":
            self_v = v
            if rng.random() < 0.07:        # some cannot be inflated (already at the top): ~5% end up inflated
                self_v = inflate(prof, org, values, f, rng)
            elif f.tolerance > 0 and f.type in ("number", "integer") and rng.random() < 0.3:
                self_v = _within(f, v, rng)
            out.append(Entry(f, self_v, v))
        else:
            out.append(Entry(f, v))
    return out


def _within(f: Field, v: Decimal, rng: random.Random) -> Decimal:
    gap = f.tolerance * abs(v) if f.tolerance_relative else f.tolerance
    if f.type == "integer":
        gap = gap.to_integral_value(rounding="ROUND_FLOOR")
        d = Decimal(rng.randint(-int(gap), int(gap))) if gap >= 1 else ZERO
    else:
        d = (gap * Decimal(str(rng.uniform(-1, 1)))).quantize(Decimal("0.1"), rounding="ROUND_DOWN")
    s = v + d
    if (f.min is not None and s < f.min) or s < 0 or (f.max is not None and s > f.max):
        return v
    return s


def _score(prof: Profile, org: Organization, values: dict, fid: str) -> Decimal:
    env = org_env(org, values, prof.period)
    total = ZERO
    for c in prof.criteria:
        if fid in c.reads:
            o = score_criterion(c, env)
            total += o.points - (100 if o.veto_hit else 0)
    return total


def inflate(prof: Profile, org: Organization, values: dict, f: Field, rng: random.Random) -> Any:
    """A self-reported value that looks better than the verified one, beyond tolerance."""
    v = values[f.id]
    cands = _inflations(prof, f, v, rng)
    base = _score(prof, org, values, f.id)
    best, gain = None, None
    for s in cands:
        if s is None or settle_mismatch(f, s, v) is None:
            continue
        g = _score(prof, org, {**values, f.id: s}, f.id) - base
        if g >= 0 and (gain is None or g > gain):      # inflated: never looks worse than the truth
            best, gain = s, g
    return best if best is not None else v


def _inflations(prof: Profile, f: Field, v: Any, rng: random.Random) -> list:
    t = f.type
    if t == "boolean":
        return [not v]
    if t == "enum":
        return [x for x in f.values if x != v]
    if t in ("number", "integer", "percentage"):
        tol = f.tolerance * abs(v) if f.tolerance_relative else f.tolerance
        hi = f.max if f.max is not None else (Decimal(1) if t == "percentage" else None)
        lo = f.min if f.min is not None else ZERO
        if t == "percentage":
            step = tol + Decimal(str(round(rng.uniform(0.06, 0.3), 4)))
        else:
            step = tol + max(Decimal(1), (abs(v) * Decimal(str(rng.uniform(0.15, 0.5)))).quantize(Decimal(1)))
        out = []
        for s in (v + step, v - step):
            if t == "integer":
                s = s.to_integral_value()
            if s >= lo and (hi is None or s <= hi):
                out.append(s)
        return out
    if t == "date":
        end = prof.period[1]
        out = [v - dt.timedelta(days=rng.randint(200, 700))]
        later = v + dt.timedelta(days=rng.randint(200, 700))
        if later <= end:
            out.append(later)
        return out
    if t == "records":
        start, end = prof.period
        have = {r.date for r in v}
        extra = set()
        months = [m for m in range(1, 13) if not any(d.month == m for d in have)] or list(range(1, 13))
        want = int(f.tolerance) + rng.randint(1, 3)
        for _ in range(want * 4):
            if len(extra) >= want:
                break
            m = rng.choice(months)
            d = dt.date(start.year, m, rng.randint(1, 28))
            if start <= d <= end and d not in have:
                extra.add(d)
        more = tuple(sorted(set(v) | {Record(d) for d in extra}))
        return [more]
    return []


# ------------------------------------------------------------------ typing values


def dec_text(v: Decimal) -> str:
    v = Decimal(v)
    if v == v.to_integral_value():
        return str(v.quantize(Decimal(1)))
    return format(v.normalize(), "f")


def raw_text(v: Any, f: Field, rng: random.Random) -> str:
    """How one value is typed into a CSV cell (mostly plain, a few percent the messy way)."""
    odd = rng.random() < 0.05
    t = f.type
    if t == "boolean":
        if odd:
            return rng.choice((("有", "无"), ("√", "×"), ("true", "false")))[0 if v else 1]
        return "是" if v else "否"
    if t in ("integer", "number"):
        s = dec_text(v)
        if odd:
            units = _UNIT_TEXT.get(f.unit or "")
            if units and rng.random() < 0.6:
                return s + rng.choice(units)
            return s.translate(_FULL)
        return s
    if t == "percentage":
        pct = dec_text(v * 100) + "%"
        if odd:
            return pct.translate(_FULL)
        return pct if v >= 1 or rng.random() < 0.7 else dec_text(v)
    if t == "date":
        return date_text(v, rng, odd)
    return str(v)


def date_text(d: dt.date, rng: random.Random, odd: bool) -> str:
    """A date as people type it into a CSV cell. (Excel day numbers are read only from .xlsx
    date cells, so a CSV never carries them.)"""
    if not odd:
        return d.isoformat()
    s = rng.choice(["slash", "zh", "compact"])
    if s == "slash":
        return f"{d.year}/{d.month}/{d.day}"
    if s == "zh":
        return f"{d.year}年{d.month}月{d.day}日"
    return d.strftime("%Y%m%d")


def record_title(f: Field, d: dt.date) -> str:
    short = f.label.removesuffix("记录").removesuffix("活动")
    return f"{d.month}月{short}"


# ------------------------------------------------------------------ bulk CSV rows

def csv_rows(org_id: str, ents: list[Entry], visit: Visit | None, rng: random.Random,
             values_rows: list, records_rows: list):
    for e in ents:
        f = e.field
        if f.type == "records":
            if e.self_value is None:
                continue               # blank: no rows at all
            for r in e.self_value:
                records_rows.append([org_id, f.id, date_text(r.date, rng, rng.random() < 0.04),
                                     record_title(f, r.date) if rng.random() < 0.35 else "", "self", "", ""])
            if e.verified is not None:
                for r in e.verified:
                    records_rows.append([org_id, f.id, r.date.isoformat(), record_title(f, r.date),
                                         "verified", visit.inspector, visit.records_on.isoformat()])
            continue
        if e.self_value is None and e.verified is None:
            if e.blank is not None:
                values_rows.append([org_id, f.id, e.blank, "", "", ""])
            continue
        self_text = raw_text(e.self_value, f, rng) if e.self_value is not None else ""
        if e.verified is not None:
            values_rows.append([org_id, f.id, self_text, raw_text(e.verified, f, rng), visit.inspector, visit.on.isoformat()])
        else:
            values_rows.append([org_id, f.id, self_text, "", "", ""])


# ------------------------------------------------------------------ per-organization YAML

def _yaml_scalar(v: Any, f: Field) -> str:
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, Decimal):
        if f.type == "percentage":
            return f'"{dec_text(v * 100)}%"'
        if f.unit == "m2":
            return f"{dec_text(v)}平方米"
        return dec_text(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    s = str(v)
    if s and all("\u4e00" <= ch <= "\u9fff" for ch in s):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _yaml_records(recs: tuple, f: Field, titled: bool) -> str:
    if not titled:
        return "[" + ", ".join(r.date.isoformat() for r in recs) + "]"
    return "[" + ", ".join(f"{{date: {r.date.isoformat()}, title: {_yaml_scalar(record_title(f, r.date), f)}}}"
                           for r in recs) + "]"


def yaml_document(org: Organization, ents: list[Entry], visit: Visit | None, rng: random.Random) -> str:
    lines = [f"# {org.name}（{org.street}）2026年度考评材料", f"organization: {org.id}"]
    values = [e for e in ents if e.field.type != "records" and (e.self_value is not None or e.verified is not None)]
    records = [e for e in ents if e.field.type == "records" and (e.self_value is not None or e.verified is not None)]
    if values:
        lines.append("values:")
        for e in values:
            f = e.field
            if e.verified is None:
                lines.append(f"  {f.id}: {_yaml_scalar(e.self_value, f)}")
            else:
                lines.append(f"  {f.id}:")
                lines.append(f"    self: {_yaml_scalar(e.self_value, f)}")
                lines.append(f"    verified: {_yaml_scalar(e.verified, f)}")
                lines.append(f"    inspector: {visit.inspector}")
                lines.append(f"    verified_on: {visit.on.isoformat()}")
    if records:
        lines.append("records:")
        for e in records:
            f = e.field
            titled = rng.random() < 0.3
            if e.verified is None:
                lines.append(f"  {f.id}: {_yaml_records(e.self_value, f, titled)}")
            else:
                lines.append(f"  {f.id}:")
                lines.append(f"    self: {_yaml_records(e.self_value, f, titled)}")
                lines.append(f"    verified: {_yaml_records(e.verified, f, False)}")
                lines.append(f"    inspector: {visit.inspector}")
                lines.append(f"    verified_on: {visit.records_on.isoformat()}")
    return "\n".join(lines) + "\n"
