"""The report model: every document as plain data (dicts, lists, strings) before any template
sees it. Numbers are formatted here, labels translated, and public-release redaction applied,
so templates only lay out; the golden HTML tests pin both steps.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal
from typing import Any

from ..terms import (FINDING_ZH, ORG_TYPES, OUTCOME_ZH, PREVIOUS_WORD, SCOPE_ZH, STATUS_ZH, UNIT_ZH, date_text, num, pct,
                     rank_label, scope_key, scope_label, spaced, to_decimal, ungraded_move)
from . import charts
from .labels import COMPONENT_ZH, METHOD_ZH, fixed, learn_type_name, share, type_name

RECTIFY_DAYS = 90          # default deadline: this many days after the round period ends
MAX_RECORDS_SHOWN = 12     # dated records listed in an evidence cell before "等 N 条"


# ------------------------------------------------------------------ round context

def context(results: dict, *, public: bool, has_previous: bool, facts: "RoundFacts | None" = None) -> dict:
    """What every document of a round shares; small and picklable (sent to workers).
    `facts`: the round's facts when its organizations are not all in `results`."""
    rnd = results["round"]
    period_to = parse_date(rnd["period"]["to"])
    issued = parse_date(rnd.get("issued_on")) or period_to
    deadline = parse_date(rnd.get("rectification_deadline")) or (
        period_to + dt.timedelta(days=RECTIFY_DAYS) if period_to else None)
    fields: dict[str, dict] = {}
    standards = {}
    for sid, std in sorted((results.get("standards") or {}).items()):
        if not isinstance(std, dict):
            continue
        standards[sid] = {"title": std.get("title", sid), "version": std.get("version", "")}
        for fid, f in (std.get("fields") or field_labels(sid, std)).items():
            if isinstance(f, dict):
                fields.setdefault(fid, {"label": f.get("label", fid), "unit": f.get("unit"), "type": f.get("type")})
    schemes, scheme_of = _tier_schemes(results, (facts or collect(results["organizations"], compact=False)).tiers)
    return {
        "round": {"id": rnd["id"], "title": rnd["title"], "issuer": rnd["issuer"],
                  "footer": str(rnd.get("footer") or rnd["issuer"]),     # every page's footer
                  "period": f"{date_text(rnd['period']['from'])}至{date_text(rnd['period']['to'])}"
                            + (f"（截至{date_text(rnd['as_of'])}）" if rnd.get("as_of") else ""),
                  # the same in two parts, for a narrow cell to break between them
                  "span": f"{date_text(rnd['period']['from'])}至{date_text(rnd['period']['to'])}",
                  "as_of": date_text(rnd["as_of"]) if rnd.get("as_of") else ""},
        "issued": date_text(issued), "issued_iso": (issued or dt.date(2000, 1, 1)).isoformat(),
        "deadline": date_text(deadline) if deadline else "",
        "agrade_version": str(results.get("agrade_version", "")),
        "evidence_digest": str(results.get("evidence_digest", "")),
        "standards": standards, "fields": fields, "schemes": schemes, "scheme_of": scheme_of,
        "tiers": [t for sc in schemes for t in sc["tiers"]],
        "public": public, "has_previous": has_previous,
        # what movement is measured against: a bulletin's earlier bulletin, else the last round
        "move_kind": "bulletin" if rnd.get("as_of") else "round",
        "previous_word": PREVIOUS_WORD["bulletin" if rnd.get("as_of") else "round"],
    }


def bulletin_previous(results: dict) -> dict[str, dict]:
    """A bulletin's results (agrade bulletin): each organization as the latest earlier bulletin
    placed it, with its trend over the bulletins (as-of date, tier name, total; oldest first),
    for the movement the scorecard and the 通报 show. Empty for any other results."""
    b = results.get("bulletin")
    if not isinstance(b, dict) or not b.get("previous") or not isinstance(b.get("trend"), dict):
        return {}
    names: dict[str, str] = {}
    for std in (results.get("standards") or {}).values():
        for t in (std or {}).get("tiers") or []:
            if isinstance(t, dict):
                names.setdefault(str(t.get("id")), str(t.get("name") or t.get("id")))

    def name(point: dict) -> str:
        # the name the bulletin printed (an earlier version of a standard may name a tier
        # otherwise), else this one's name for the id
        if not point.get("tier"):
            return "未定档"
        return str(point.get("tier_name") or names.get(point["tier"], point["tier"]))

    out = {}
    for oid, points in b["trend"].items():
        if not isinstance(points, list) or len(points) < 2 or not all(isinstance(p, dict) for p in points):
            continue
        line = [{"as_of": date_text(p.get("as_of")), "date": parse_date(p.get("as_of")), "tier_id": p.get("tier"),
                 "tier": name(p), "total": num(p.get("total")), "value": to_decimal(p.get("total"))} for p in points]
        before = points[-2]
        out[oid] = {"tier": before.get("tier"), "tier_name": name(before) if before.get("tier") else None,
                    "total": before.get("total"), "round_title": f"截至{date_text(before.get('as_of'))}通报", "trend": line}
    return out


def field_labels(sid: str, std: dict) -> dict:
    """Field labels when results.json does not carry them: from the shipped standard of the
    same id, only if its digest is the one the results were scored with."""
    try:
        from ..standard.loader import load_standard
        loaded = load_standard(sid)
    except Exception:       # not shipped, or not loadable here: labels fall back to field ids
        return {}
    if loaded.digest != std.get("digest"):
        return {}
    return {f.id: {"label": f.label, "unit": f.unit, "type": f.type} for f in loaded.fields.values()}


def _tier_schemes(results: dict, seen: dict[str, str]) -> tuple[list[dict], dict[str, int]]:
    """Distinct tier lists (A/B/C/D, 五星…一星, ...) with the standards that use them; a round
    may mix them (one per field standard). Organizations' tiers not declared anywhere (`seen`:
    every tier given, with its first name) form a last scheme of their own."""
    schemes: list[dict] = []
    scheme_of: dict[str, int] = {}
    for sid, std in sorted((results.get("standards") or {}).items()):
        tiers = [{"id": t["id"], "name": t.get("name") or t["id"]}
                 for t in (std.get("tiers") or []) if isinstance(std, dict) and isinstance(t, dict) and "id" in t]
        if not tiers:
            continue
        ids = [t["id"] for t in tiers]
        i = next((k for k, sc in enumerate(schemes) if [t["id"] for t in sc["tiers"]] == ids), None)
        if i is None:
            i = len(schemes)
            schemes.append({"tiers": tiers, "standards": []})
        schemes[i]["standards"].append(sid)
        scheme_of[sid] = i
    known = {t["id"] for sc in schemes for t in sc["tiers"]}
    extra = []
    for tier, name in seen.items():
        if tier not in known:
            extra.append({"id": tier, "name": name})
    if extra or not schemes:
        schemes.append({"tiers": extra, "standards": []})
    return schemes, scheme_of


def scheme_index(org: dict, ctx: dict) -> int:
    std = org.get("standard")
    sid = std.get("id") if isinstance(std, dict) else std
    if sid in ctx["scheme_of"]:
        return ctx["scheme_of"][sid]
    for i, sc in enumerate(ctx["schemes"]):
        if org.get("tier") in {t["id"] for t in sc["tiers"]}:
            return i
    return len(ctx["schemes"]) - 1


def tier_class(org: dict, ctx: dict) -> str:
    """CSS class by position in the organization's own tier list: the top tier looks the same
    whether it is called A档 or 五星."""
    ids = [t["id"] for t in ctx["schemes"][scheme_index(org, ctx)]["tiers"]]
    return f"tier-i{ids.index(org['tier'])}" if org.get("tier") in ids else "tier-none"


def parse_date(v: Any) -> dt.date | None:
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v[:10])
        except ValueError:
            return None
    return None


def _doc(ctx: dict, title: str, kind: str) -> dict:
    return {"title": title, "author": ctx["round"]["issuer"], "subject": ctx["round"]["title"],
            "keywords": f"agrade, {kind}, {ctx['round']['id']}", "created": ctx["issued_iso"],
            "generator": f"agrade {ctx['agrade_version']}".strip()}


def tier_order(ctx: dict) -> dict[str, int]:
    """Tier id -> position in its own tier list (0 = best), for up/down movement."""
    order: dict[str, int] = {}
    for sc in ctx["schemes"]:
        for i, t in enumerate(sc["tiers"]):
            order.setdefault(t["id"], i)
    return order


# ------------------------------------------------------------------ evidence values

def field_label(ctx: dict, fid: str) -> str:
    f = ctx["fields"].get(fid)
    return f["label"] if f else "相关数据"


def show_value(ctx: dict, fid: str, value: Any) -> str:
    """One evidence value as text: units, yes/no, dates as 2026年3月5日, record lists shortened
    (their dates as 3月5日: records lie within the round's year)."""
    unit = (ctx["fields"].get(fid) or {}).get("unit")
    if value is None:
        return "（缺少材料）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, Decimal, float)) and (ctx["fields"].get(fid) or {}).get("type") == "percentage":
        return pct(value, 2)                # a share reads as a percentage: 93%, not 0.93
    if isinstance(value, (int, Decimal, float)):
        return num(value) + (f" {UNIT_ZH.get(unit, unit)}" if unit else "")
    if isinstance(value, list):
        dates = [v.get("date", "") if isinstance(v, dict) else str(v) for v in value]
        if not dates:
            return "无记录"
        shown = "、".join(date_text(d).split("年", 1)[-1] for d in dates[:MAX_RECORDS_SHOWN])
        more = f"等 {len(dates)} 条" if len(dates) > MAX_RECORDS_SHOWN else f"（共 {len(dates)} 条）"
        return shown + more
    if isinstance(value, dict):        # {self, verified, ...}: show what matters, never who
        parts = []
        if "verified" in value:
            parts.append(spaced("核查", show_value(ctx, fid, value["verified"])))
        if "self" in value:
            parts.append(spaced("自报", show_value(ctx, fid, value["self"])))
        return "；".join(parts) or "—"
    return date_text(value) if isinstance(value, str) else str(value)


# ------------------------------------------------------------------ scorecard

# The scoring clause at the end of a reason (how many points it cost), which the 整改清单
# leaves to the 失分明细 above it: the list says what is wrong, not what it cost.
_SCORING_TAIL = re.compile(r"(，(不得分|按零分计|不计入满分|该项必须提供材料|扣 [0-9.]+ 分(（扣完为止）)?"
                           r"|按比例约?得 .*|得 [0-9.]+ 分.*))+$")


def problem_text(reason: str) -> str:
    """What is wrong, for the 整改清单's 存在问题, from a criterion's reason: the finding
    without the points it cost (those are in the 失分明细), the rule stated as what is lacking."""
    text, _, after = reason.partition("；另有")      # records outside the period: kept, shortened
    text = _SCORING_TAIL.sub("", text.strip())
    m = re.match(r"未达到要求（(.*)）(：(.*))?$", text)
    if m:                                            # check: the evidence, then the rule it misses
        return (f"{m.group(3)}，" if m.group(3) else "") + f"未达到“{m.group(1)}”的要求"
    m = re.match(r"缺少材料：(.*)$", text)
    if m:
        return f"未提供{m.group(1)}的材料"
    m = re.match(r"(.*)，未达到要求（(.*)）$", text)
    if m:                                            # threshold
        return f"{m.group(1)}，未达到“{m.group(2)}”的要求"
    text = text.replace("，未达目标 ", "，低于目标 ").replace("存在扣分情形：", "存在")
    m = re.match(r"(.*)，每缺 1 次扣 .*$", text)
    if m:                                            # frequency: which periods are missing
        text = m.group(1)
    return text + ("；另有" + after.split("：")[0] if after else "")


def _movement(prev: dict | None, org: dict, order: dict[str, int], kind: str = "round") -> dict | None:
    if prev is None:
        return {"label": "首次定档", "cls": "new", "before": "—"} if org.get("tier") else None
    before, now = prev.get("tier"), org.get("tier")
    before_name = prev.get("tier_name") or before or "未定档"
    if not now:
        return {"label": ungraded_move(kind), "cls": "none", "before": before_name}
    if not before or before not in order or now not in order:
        return {"label": "首次定档" if not before else "—", "cls": "new", "before": before_name}
    diff = order[before] - order[now]
    label = "升档" if diff > 0 else "降档" if diff < 0 else "保持"
    return {"label": label, "cls": {"升档": "up", "降档": "down", "保持": "same"}[label], "before": before_name}


RANK_SCOPES = ("round", "district", "street", "type")


def _ranks(org: dict, counts: dict) -> list[dict]:
    """Rank r of n in each scope. A scope whose group is the whole round (one district, one
    type) is left out: its rank would only repeat the overall one. Results written before
    streets were ranked have no street rank: that line is left out too."""
    rank = org.get("rank") if isinstance(org.get("rank"), dict) else {}
    whole = counts.get(("round", ""))
    out = []
    for scope in RANK_SCOPES:
        if scope not in rank and scope != "round":
            continue
        key = scope_key(scope, org.get("district") or "", org.get("street") or "", org.get("type") or "")
        n = counts.get((scope, key))
        if scope != "round" and n and n == whole:
            continue
        r = rank.get(scope)
        out.append({"label": rank_label(scope, org.get("street") or ""), "scope": scope,
                    "value": "—" if r is None else f"第 {r} 名" + (f" / 共 {n} 个" if n else "")})
    return out


def rank_counts(results: dict) -> dict:
    """Graded organizations per ranking scope, for 'rank r of n'."""
    return collect(results["organizations"], compact=False).counts


def _criterion_row(c: dict) -> dict:
    points, maxp = to_decimal(c["points"]), to_decimal(c["max_points"])
    kind = c.get("kind") or ("veto" if c.get("method") == "veto" else "base")
    outcome = c["outcome"]
    label = OUTCOME_ZH.get(outcome, outcome)
    cls = outcome
    if kind == "veto":
        label = "触发否决" if outcome == "fail" else "未触发" if outcome == "pass" else label
        cls = "veto" if outcome == "fail" else outcome
    elif kind == "bonus" and outcome in ("pass", "partial", "fail"):
        label, cls = ("加分", "pass") if points and points > 0 else ("未加分", "not_applicable")
    elif kind == "info" and outcome in ("pass", "partial", "fail"):
        label, cls = "仅记录", "not_applicable"
    if outcome == "not_due":                      # a bulletin's 未到期: nothing lost yet
        cls = "not_applicable"
    lost = (maxp - points) if kind == "base" and outcome not in ("not_applicable", "waived", "not_due") else Decimal(0)
    return {"id": c["id"], "title": c["title"], "method": METHOD_ZH.get(c.get("method", ""), c.get("method", "")),
            "outcome": label, "cls": cls, "kind": kind,
            "points": "—" if kind in ("veto", "info") or outcome in ("not_applicable", "not_due") else num(points),
            "max_points": "—" if kind in ("veto", "info") else num(maxp), "lost": lost}


def scorecard(org: dict, ctx: dict, prev: dict | None, counts: dict) -> dict:
    public = ctx["public"]
    order = tier_order(ctx)
    sec_titles = {s.get("id"): s for s in org.get("sections") or [] if isinstance(s, dict)}
    sections: dict[str, dict] = {}
    losses, rect = [], []
    for c in org["criteria"]:
        sid = c.get("section") or c["id"].split(".")[0]
        s = sec_titles.get(sid, {})
        sec = sections.setdefault(sid, {"id": sid, "title": s.get("title", sid), "rows": [],
                                        "points": num(s["points"]) if "points" in s else "",
                                        "max_points": num(s["max_points"]) if to_decimal(s.get("max_points")) else "—"})
        row = _criterion_row(c)
        row["note"] = c.get("reason", "") if row["kind"] == "info" and not public else ""
        sec["rows"].append(row)
        vetoed = row["kind"] == "veto" and c["outcome"] == "fail"
        if row["lost"] > 0 or vetoed:
            evidence = [] if public else [
                {"label": field_label(ctx, k), "value": show_value(ctx, k, v)}
                for k, v in (c.get("evidence") or {}).items()]
            losses.append({"id": c["id"], "title": c["title"], "lost": "否决" if vetoed else num(row["lost"]),
                           "reason": "" if public else c.get("reason", ""), "evidence": evidence})
            rect.append({"no": len(rect) + 1, "id": c["id"], "title": c["title"],
                         "problem": ("触发一票否决" if vetoed else f"失 {num(row['lost'])} 分") if public
                         else problem_text(c.get("reason", "")),
                         "action": c.get("rectification") or "对照标准逐项整改。",
                         "deadline": c.get("rectification_deadline") and date_text(c["rectification_deadline"])
                         or ctx["deadline"],
                         "responsible": "" if public else str(org.get("responsible") or "")})
    for sec in sections.values():
        if sec["rows"] and all(r["kind"] == "bonus" for r in sec["rows"]):
            # a section of bonus items: its row shows the bonus it earned (results count base
            # points only per section), so it agrees with the bonus in the total
            sec["points"] = num(sum((to_decimal(c["points"]) or 0 for c in org["criteria"]
                                     if (c.get("section") or c["id"].split(".")[0]) == sec["id"]), Decimal(0)))
            continue
        if sec["points"] == "":
            sec["points"] = num(sum((to_decimal(c["points"]) or 0 for c in org["criteria"]
                                     if (c.get("section") or c["id"].split(".")[0]) == sec["id"]), Decimal(0)))
    provenance = org.get("provenance") or {}
    findings = [{"kind": FINDING_ZH.get(f.get("kind"), f.get("kind", "")), "field": field_label(ctx, f.get("field", "")),
                 "self": "" if public else show_value(ctx, f.get("field", ""), f.get("self")),
                 "verified": "" if public else show_value(ctx, f.get("field", ""), f.get("verified")),
                 "message": "" if public else f.get("message", ""),
                 "inspector": "" if public else str((provenance.get(f.get("field")) or {}).get("inspector") or ""),
                 "verified_on": "" if public else date_text((provenance.get(f.get("field")) or {}).get("verified_on"))
                 if (provenance.get(f.get("field")) or {}).get("verified_on") else ""}
                for f in org.get("findings") or [] if isinstance(f, dict)]
    crit_titles = {c["id"]: c["title"] for c in org["criteria"]}
    vetoes = [{"id": v.get("criterion", ""), "title": crit_titles.get(v.get("criterion"), ""),
               # a flag-only veto caps nothing: the cell says what it designates instead
               "cap": next((t["name"] for t in ctx["tiers"] if t["id"] == v.get("cap_tier")), v.get("cap_tier") or "")
               if v.get("cap_tier") else f"不限定档次（认定为{v.get('mark', '')}）",
               "reason": "" if public else v.get("reason", "")}
              for v in org.get("vetoes") or [] if isinstance(v, dict)]
    std = org.get("standard")
    sid = std.get("id") if isinstance(std, dict) else std
    std_info = ctx["standards"].get(sid, {})
    version = std.get("version") if isinstance(std, dict) else std_info.get("version", "")
    tier_name = org.get("tier_name") or org.get("tier") or STATUS_ZH["not_graded"]
    before = org.get("tier_before_quota")
    comps = [{"label": COMPONENT_ZH.get(k, k), "value": num(v)} for k, v in (org.get("components") or {}).items()]
    return {
        "doc": _doc(ctx, f"{org['name']} 测评报告", "scorecard"),
        "ctx": ctx,
        "org": {"id": org["id"], "name": org["name"], "type": type_name(org), "district": org.get("district") or "—",
                "street": org.get("street") or "—", "parent": org.get("parent") or "—"},
        "standard": {"id": sid or "—", "title": std_info.get("title", ""), "version": version or ""},
        "score": {"graded": org["status"] == "graded", "status": STATUS_ZH.get(org["status"], org["status"]),
                  "total": num(org.get("total")), "base": num(org.get("base")), "bonus": num(org.get("bonus")),
                  "components": comps if len(comps) > 1 else [],
                  "tier": org.get("tier") or "", "tier_name": tier_name, "tier_cls": tier_class(org, ctx),
                  "quota_moved": bool(before and org.get("tier") and before != org.get("tier")),
                  "tier_before_name": next((t["name"] for t in ctx["tiers"] if t["id"] == before), before or ""),
                  "reasons": [str(r) for r in org.get("tier_reasons") or []],
                  "reviewed": pct(org.get("reviewed_share")) if org.get("reviewed_share") is not None else ""},
        "ranks": _ranks(org, counts),
        "movement": _movement(prev, org, order, ctx["move_kind"]) if ctx["has_previous"] else None,
        "previous": prev,
        "trend": _trend_chart(org, ctx, (prev or {}).get("trend") or []),
        "review": (ctx.get("reviews") or {}).get(org["id"]),       # re-issued after an appeal: stamped 复核
        "sections": list(sections.values()),
        "losses": losses, "vetoes": vetoes, "findings": findings, "rectification": rect,
    }


def _trend_chart(org: dict, ctx: dict, line: list[dict]) -> dict | None:
    """A bulletin's scorecard: the organization's total and tier over the bulletins as a line
    (charts.trend), each point in its tier's colour; None without earlier bulletins."""
    if len(line) < 2 or any(p["date"] is None for p in line):
        return None
    ids = [t["id"] for t in ctx["schemes"][scheme_index(org, ctx)]["tiers"]]
    return charts.trend([{"date": p["date"], "tier": p["tier"], "total": p["value"],
                          "i": ids.index(p["tier_id"]) if p["tier_id"] in ids else None} for p in line])


def public_result(org: dict) -> dict:
    """The organization's result as attached to a public scorecard: no evidence, no names."""
    keep = {k: v for k, v in org.items() if k not in ("provenance", "findings", "responsible")}
    keep["criteria"] = [{k: v for k, v in c.items() if k not in ("evidence", "reason")} for c in org["criteria"]]
    keep["vetoes"] = [{k: v for k, v in x.items() if k != "reason"} for x in org.get("vetoes") or []]
    keep["findings"] = [{"kind": f.get("kind"), "field": f.get("field")} for f in org.get("findings") or []]
    return keep


# ------------------------------------------------------------------ the round, one organization at a time

# What the summary, the lists and the rankings read of an organization: everything but its
# criteria, evidence, findings and provenance (most of its bytes).
COMPACT_KEYS = ("id", "name", "type", "type_name", "district", "street", "parent", "standard", "status", "total",
                "base", "bonus", "tier", "tier_name", "tier_before_quota", "tier_reasons", "rank", "vetoes")
VETO_TITLE = "_title"      # a compact veto's criterion title (the latest given to that id so far)


class RoundFacts:
    """What the round-wide documents need, gathered one organization at a time (results order):
    graded organizations per ranking scope, every tier given (with its first name), the points
    lost per criterion, and, when `compact`, each organization without its criteria."""

    def __init__(self, compact: bool = True):
        self.counts: dict = defaultdict(int)
        self.tiers: dict[str, str] = {}
        self.losses: dict[str, dict] = {}
        self.orgs: list[dict] | None = [] if compact else None
        self._titles: dict[str, str] = {}

    def add(self, o: dict) -> None:
        learn_type_name(o)
        if o.get("status") == "graded":
            for scope in RANK_SCOPES:
                self.counts[(scope, scope_key(scope, o.get("district") or "", o.get("street") or "",
                                              o.get("type") or ""))] += 1
        if o.get("tier") and o["tier"] not in self.tiers:
            self.tiers[o["tier"]] = o.get("tier_name") or o["tier"]
        if self.orgs is None:
            return
        for c in o["criteria"]:
            self._titles[c["id"]] = c["title"]
            row = _criterion_row(c)
            if row["lost"] > 0:
                e = self.losses.setdefault(c["id"], {"id": c["id"], "title": c["title"], "orgs": 0, "lost": Decimal(0)})
                e["orgs"] += 1
                e["lost"] += row["lost"]
        small = {k: o[k] for k in COMPACT_KEYS if k in o}
        if "vetoes" in small:
            small["vetoes"] = [{**v, VETO_TITLE: self._titles.get(v.get("criterion"), "")} if isinstance(v, dict) else v
                               for v in small["vetoes"] or []]
        self.orgs.append(small)


def collect(orgs, compact: bool = True) -> RoundFacts:
    facts = RoundFacts(compact)
    for o in orgs:
        facts.add(o)
    facts.counts = dict(facts.counts)
    return facts


# ------------------------------------------------------------------ summary (通报)

def _bar(count: int, total: int) -> float:
    return round(100.0 * count / total, 2) if total else 0.0


def _tier_table(groups: dict[str, list[dict]], tier_ids: list[str], label_of) -> list[dict]:
    """One row per group: counts per tier (of one tier scheme), share of its top tier, average,
    and the stacked-bar segments (x, width in percent)."""
    rows = []
    for key, orgs in groups.items():
        graded = [o for o in orgs if o.get("status") == "graded"]
        counts = [sum(1 for o in graded if o.get("tier") == t) for t in tier_ids]
        totals = [to_decimal(o.get("total")) for o in graded if o.get("total") is not None]
        avg = sum(totals, Decimal(0)) / len(totals) if totals else None
        x, segs = 0.0, []
        for i, n in enumerate(counts):
            w = _bar(n, len(graded))
            if n:
                segs.append({"i": i, "x": x, "w": w, "n": n})
            x += w
        rows.append({"label": label_of(key), "orgs": len(orgs), "graded": len(graded), "counts": counts,
                     "not_graded": len(orgs) - len(graded),
                     "top_share": share(Decimal(counts[0]) / len(graded)) if graded and counts else "—",
                     "avg": fixed(avg), "segments": segs})
    return rows


def _scheme_label(tiers: list[dict]) -> str:
    names = [t["name"] for t in tiers]
    return "、".join(names) if len(names) <= 3 else f"{names[0]}至{names[-1]}"


def _street_target(results: dict, tiers: list[dict]) -> tuple[str, Decimal] | None:
    """The round's 创A target (tier id, minimum share) that this tier scheme's top tier is
    measured against, from results' summary; None when the round sets none."""
    target = (results.get("summary") or {}).get("target")
    top = tiers[0]["id"] if tiers else None
    for t in target if isinstance(target, list) else []:
        if isinstance(t, dict) and t.get("tier") == top and to_decimal(t.get("target")) is not None:
            return top, to_decimal(t.get("target"))
    return None


def _street_rows(orgs: list[dict], ids: list[str], target, many_districts: bool) -> list[dict]:
    """One row per street (街道/镇, named within its district): the tier mix, the average, the
    top tier's share against the round's target, best street first."""
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for o in orgs:
        groups[(o.get("district") or "—", o.get("street") or "—")].append(o)
    rows = _tier_table(dict(sorted(groups.items())), ids,
                       lambda k: f"{k[0]}{k[1]}" if many_districts else k[1])
    for (key, members), row in zip(sorted(groups.items()), rows):
        row["district"], row["street"] = key
        share = Decimal(row["counts"][0]) / row["graded"] if row["graded"] and row["counts"] else None
        row["top_value"] = share
        row["met"] = None if target is None or share is None else share >= target[1]
        row["mark"] = None if target is None else min(100.0, float(target[1]) * 100)
    rows.sort(key=lambda r: (r["top_value"] is None, -(r["top_value"] or 0),
                             -(to_decimal(r["avg"]) or Decimal(0)) if r["avg"] != "—" else 0, r["label"]))
    for r in rows:
        del r["top_value"]
    return rows


def _scheme_tables(results: dict, ctx: dict) -> list[dict]:
    """Tier distribution overall, per district, per street and per type, for each tier scheme
    in use."""
    members: dict[int, list[dict]] = defaultdict(list)
    for o in results["organizations"]:
        members[scheme_index(o, ctx)].append(o)
    out = []
    for i, sc in enumerate(ctx["schemes"]):
        orgs = members.get(i)
        if not orgs:
            continue
        ids = [t["id"] for t in sc["tiers"]]
        by_district: dict[str, list] = defaultdict(list)
        by_type: dict[str, list] = defaultdict(list)
        for o in orgs:
            by_district[o.get("district") or "—"].append(o)
            by_type[o.get("type", "")].append(o)
        overall = _tier_table({"": orgs}, ids, lambda k: "全部")[0]
        types = sorted({type_name(o) for o in orgs})
        target = _street_target(results, sc["tiers"])
        out.append({
            "tiers": sc["tiers"], "top": sc["tiers"][0]["name"] if sc["tiers"] else "",
            "label": _scheme_label(sc["tiers"]) + (f"（{'、'.join(types)}）" if len(ctx["schemes"]) > 1 else ""),
            "overview": overall,
            "bars": [{"name": t["name"], "n": n, "w": _bar(n, overall["graded"]),
                      "share": share(Decimal(n) / overall["graded"]) if overall["graded"] else "—"}
                     for t, n in zip(sc["tiers"], overall["counts"])],
            "by_district": _tier_table(dict(sorted(by_district.items())), ids, lambda k: k),
            "by_type": _tier_table(dict(sorted(by_type.items())), ids, lambda k: ORG_TYPES.get(k, k)),
            "by_street": _street_rows(orgs, ids, target, len(by_district) > 1),
            "target": None if target is None else {"tier": sc["tiers"][0]["name"], "share": pct(target[1])},
        })
    return out


def _top_losses(lost: dict[str, dict], limit: int = 10) -> list[dict]:
    ranked = sorted(lost.values(), key=lambda e: (-e["lost"], -e["orgs"], e["id"]))[:limit]
    biggest = ranked[0]["lost"] if ranked else Decimal(1)
    return [{**e, "lost": fixed(e["lost"]), "avg": fixed(e["lost"] / e["orgs"]),
             "bar": round(float(e["lost"] / biggest) * 100, 2)} for e in ranked]


def _target_rows(results: dict, ctx: dict) -> list[dict]:
    names = {t["id"]: t["name"] for t in ctx["tiers"]}
    rows = []
    target = (results.get("summary") or {}).get("target")
    for t in target if isinstance(target, list) else []:
        if not isinstance(t, dict):
            continue
        scope, value = t.get("scope", "round"), t.get("value", "")
        label = ORG_TYPES.get(value, value) if scope == "type" else (value or SCOPE_ZH.get(scope, scope))
        rows.append({"scope": SCOPE_ZH.get(scope, scope), "value": label,
                     "tier": names.get(t.get("tier"), t.get("tier", "")),
                     "count": t.get("count", ""), "graded": t.get("graded", ""), "share": share(t.get("share")),
                     "target": pct(t.get("target")), "met": bool(t.get("met")),
                     "bar": min(100.0, float(to_decimal(t.get("share")) or 0) * 100),
                     "mark": min(100.0, float(to_decimal(t.get("target")) or 0) * 100)})
    return rows


def _distribution_rows(results: dict, ctx: dict) -> list[dict]:
    """What each declared tier share (grading.distribution) came to, as the 通报 states it:
    results.json `distribution`, counted on the final tiers (a quota that overrode a share
    shows it unmet). The standard is named only when more than one declares shares."""
    from ..standard.distribution import Share, range_text
    given = [d for d in results.get("distribution") or [] if isinstance(d, dict)]
    several = len({d.get("standard") for d in given}) > 1
    rows = []
    for d in given:
        sid, tier = d.get("standard"), str(d.get("tier", ""))
        std = (results.get("standards") or {}).get(sid) or {}
        names = {t.get("id"): t.get("name") for t in std.get("tiers") or [] if isinstance(t, dict)}
        rule = Share(tier, d.get("rule", ""), to_decimal(d.get("share")) or Decimal(0),
                     to_decimal(d.get("tolerance")) or Decimal(0))
        rows.append({"standard": ctx["standards"].get(sid, {}).get("title", "") if several else "",
                     "scope": scope_label(d.get("scope") or "round", str(d.get("value") or "")),
                     "rule": rule.text(names.get(tier) or tier),
                     "range": range_text(rule.kind, int(d.get("low", 0)), int(d.get("high", 0))),
                     "count": d.get("count", ""), "graded": d.get("graded", ""), "met": bool(d.get("met"))})
    return rows


def moves(kind: str) -> tuple[tuple[str, str], ...]:
    """The movement labels with their classes; not graded now reads 本期/本轮不予定档 (terms)."""
    return (("升档", "up"), ("保持", "same"), ("降档", "down"), ("首次定档", "new"), (ungraded_move(kind), "none"))


MOVE_COLOUR = {"up": 0, "same": 5, "down": 3, "new": 1, "none": 4}    # positions in the charts' colour list
# 降档 drawn in the blue its label is printed in (report.css .down), not a third grey beside 保持's
# and 不予定档's: the reader matches the chart to the table by colour
MOVE_FILL = {"down": "#1f5fa8"}


def _moves(ranking: list[dict], kind: str) -> list[dict]:
    """Tier movement against the previous round: how many organizations moved up, stayed,
    moved down, were graded for the first time or not graded now, with bar widths."""
    labels = moves(kind)
    counts = {label: 0 for label, _ in labels}
    for r in ranking:
        mv = r.get("movement")
        if mv and mv["label"] in counts:
            counts[mv["label"]] += 1
    total = sum(counts.values())
    return [{"label": label, "cls": cls, "n": counts[label], "w": _bar(counts[label], total), "i": MOVE_COLOUR[cls],
             "fill": MOVE_FILL.get(cls),
             "share": share(Decimal(counts[label]) / total) if total else "—"} for label, cls in labels]


def _graded(point) -> bool:
    return isinstance(point, dict) and bool(point.get("tier"))


def move_history(results: dict, ctx: dict) -> dict | None:
    """A bulletin's movement chart (charts.columns): at each bulletin, how many organizations
    moved up, stayed or moved down against the bulletin before it (首次定档 and 本期不予定档
    too where any bulletin has them), over the earlier bulletins the results name. The latest
    bulletin's counts are the ones results.json states (each earlier bulletin's tiers placed in
    its own standards); the earlier ones are counted from the organizations' trend, tiers
    placed in this bulletin's standards (an organization whose tier there is not one of
    them is left out of that bulletin's counts). None for results that are not a bulletin
    with an earlier one."""
    b = results.get("bulletin")
    if not isinstance(b, dict) or not b.get("previous") or not isinstance(b.get("trend"), dict):
        return None
    from ..scoring.bulletin import movement
    dates = [parse_date(p.get("as_of")) for p in b["previous"] if isinstance(p, dict)] + [parse_date(b.get("as_of"))]
    if None in dates or len(dates) != len(b["previous"]) + 1:
        return None
    order = tier_order(ctx)
    labels = moves("bulletin")

    def place(point) -> int | None:
        return order.get(point.get("tier")) if isinstance(point, dict) and point.get("tier") else None

    periods = [{"date": d, "counts": dict.fromkeys((label for label, _ in labels), 0)} for d in dates[1:]]
    for points in b["trend"].values():
        if not isinstance(points, list) or len(points) != len(dates):
            continue
        for k, period in enumerate(periods):
            before, now = place(points[k]), place(points[k + 1])
            if (before is None and _graded(points[k])) or (now is None and _graded(points[k + 1])):
                continue        # a tier this bulletin's standards do not have: its place is unknown
            period["counts"][movement(None if before is None else (None, None, before), now)] += 1
    if isinstance(b.get("moves"), dict) and b["moves"]:
        # bulletins written before 本期 was their word counted 本轮不予定档
        got = {**b["moves"], **({ungraded_move("bulletin"): b["moves"]["本轮不予定档"]} if "本轮不予定档" in b["moves"] else {})}
        periods[-1]["counts"] = {label: int(got.get(label) or 0) for label, _ in labels}
    shown = [{"label": label, "i": MOVE_COLOUR[cls], "fill": MOVE_FILL.get(cls)} for label, cls in labels
             if cls in ("up", "same", "down") or any(p["counts"][label] for p in periods)]
    return charts.columns(periods, shown)


def summary(results: dict, ctx: dict, previous: dict[str, dict], facts: "RoundFacts | None" = None) -> dict:
    """`facts`: the round's facts (with compact organizations) when `results` does not hold
    every organization in full."""
    public = ctx["public"]
    facts = facts or collect(results["organizations"])
    orgs = facts.orgs
    results = {**results, "organizations": orgs}
    order = tier_order(ctx)
    ranking = []
    for o in orgs:
        mv = _movement(previous.get(o["id"]), o, order, ctx["move_kind"]) if ctx["has_previous"] else None
        ranking.append({"rank": (o.get("rank") or {}).get("round") or "—",
                        "rank_street": (o.get("rank") or {}).get("street") or "—", "id": o["id"], "name": o["name"],
                        "district": o.get("district") or "—", "street": o.get("street") or "—",
                        "street_key": f"{o.get('district') or ''}/{o.get('street') or ''}",
                        "type": type_name(o), "total": fixed(o.get("total")),
                        "tier": o.get("tier_name") or o.get("tier") or STATUS_ZH["not_graded"], "cls": tier_class(o, ctx),
                        "vetoes": len(o.get("vetoes") or []), "movement": mv})
    vetoes, not_graded = [], []
    for o in orgs:
        for v in o.get("vetoes") or []:
            vetoes.append({"name": o["name"], "id": v.get("criterion", ""), "title": v[VETO_TITLE],
                           "reason": "" if public else v.get("reason", "")})
        if o.get("status") != "graded":
            # under the heading 不予定档, a reason need not say 不予定档 again
            not_graded.append({"name": o["name"], "district": o.get("district") or "—", "street": o.get("street") or "—",
                               "reasons": [str(r).removeprefix(STATUS_ZH["not_graded"] + "：")
                                           for r in o.get("tier_reasons") or []]})
    graded = [o for o in orgs if o.get("status") == "graded"]
    totals = [to_decimal(o["total"]) for o in graded if o.get("total") is not None]
    streets = {(o.get("district") or "", o.get("street") or "") for o in orgs}
    return {
        "doc": _doc(ctx, f"{ctx['round']['title']}情况通报", "summary"),
        "ctx": ctx,
        "overview": {"orgs": len(orgs), "graded": len(graded), "not_graded": len(orgs) - len(graded),
                     "avg": fixed(sum(totals, Decimal(0)) / len(totals)) if totals else "—"},
        "schemes": _scheme_tables(results, ctx),
        "targets": _target_rows(results, ctx),
        "distributions": _distribution_rows(results, ctx),
        "ranking": ranking,
        "districts": sorted({r["district"] for r in ranking}),
        "streets": [{"value": f"{d}/{st}", "label": f"{d}{st}" if len({x[0] for x in streets}) > 1 else st}
                    for d, st in sorted(streets)],
        "n_streets": len(streets),
        "tier_names": [t["name"] for sc in ctx["schemes"] for t in sc["tiers"]],
        "moves": _moves(ranking, ctx["move_kind"]) if ctx["has_previous"] else [],
        "move_history": move_history(results, ctx),
        "top_losses": _top_losses(facts.losses),
        "vetoes": vetoes, "not_graded": not_graded,
    }


# ------------------------------------------------------------------ red and black lists

def lists(results: dict, ctx: dict, lists_obj: dict) -> dict:
    from ..errors import InputError
    from ..scoring.lists import ranking_lines
    from ..scoring.results import tier_names_of
    from ..standard.listrules import describe_expr, describe_rules, normalize_rules
    public = ctx["public"]
    by_id = {o["id"]: o for o in results["organizations"]}
    names = tier_names_of(results)      # for the printed list rules
    out = []
    for lid, lst in lists_obj.items():
        try:
            norm = normalize_rules({lid: lst.get("rules") or {}})[lid]
            # with how the round ranks, when the list's places depend on it
            rules_text = describe_rules(norm, names) + ranking_lines(norm, (results.get("ranking") or {}).get("description"))
        except InputError:          # rules from another agrade version: print what it wrote
            rules_text = lst.get("description")
            if not (isinstance(rules_text, list) and all(isinstance(x, str) for x in rules_text)):
                raise
        rule = lst.get("rules") if isinstance(lst.get("rules"), dict) else {}
        # the `include` condition is printed once above the table, not on every row
        printed = {"符合条件：" + describe_expr(rule["include"], names)} if isinstance(rule.get("include"), str) else set()
        entries = []
        for i, e in enumerate(lst.get("entries") or [], start=1):
            org = by_id.get(e.get("organization"), {})
            vetoes = [] if public else [v.get("reason", "") for v in org.get("vetoes") or []]
            reasons = [str(r) for r in e.get("reasons") or [] if str(r) not in printed]
            entries.append({"no": i, "id": e.get("organization", ""), "name": e.get("name") or org.get("name", ""),
                            "district": e.get("district") or org.get("district") or "—",
                            "street": e.get("street") or org.get("street") or "—",
                            "type": ORG_TYPES.get(e.get("type") or org.get("type", ""), e.get("type", "")),
                            "tier": e.get("tier_name") or org.get("tier_name") or e.get("tier") or "—",
                            "total": fixed(e.get("total")), "rank": e.get("rank") or "—",
                            "reasons": reasons + vetoes})
        out.append({"id": lid, "title": lst.get("title") or lid, "rules": rules_text,
                    "entries": entries, "cls": lid if lid in ("red", "black") else "other"})
    return {"doc": _doc(ctx, f"{ctx['round']['title']}红黑榜", "lists"), "ctx": ctx, "lists": out,
            "districts": sorted({o.get("district") or "—" for o in results["organizations"]})}
