"""Red and black lists (红黑榜) from a round's results and the list rules (docs/FORMATS.md §4).

A list is built in three steps, each printed on the published document:

1. `include` (every condition must hold) and `include_any` (any one is enough) select
   organizations by expressions over their result. A list with neither starts from every
   graded organization, or from none when it only has `bottom`.
2. `top: {n, scope}` keeps, of those, the best `n` by rank in each scope (district, street,
   type or the whole round). Organizations sharing a rank at the boundary are all kept
   (并列), so a scope may list more than `n`; ungraded organizations have no rank and drop out.
3. `bottom: {share, scope}` adds the lowest `share` of each scope's graded organizations by
   rank: floor(share × graded in the scope) places, ties at the boundary included.

An expression that needs a value an organization does not have (the tier of an organization
that was not graded) does not select it. Core module: no report renderer imports here.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any, Mapping

from .errors import InputError, Issue
from .expr import EvalError, ExprError, MissingValue, NameSpec, Type, compile_expr

__all__ = ["DEFAULT_LISTS", "LIST_NAMES", "derive_lists", "normalize_rules", "describe_rules",
           "describe_expr"]

DEFAULT_LISTS: dict = {
    "red": {
        "title": "红榜",
        "include": "tier == 'A' and veto_count == 0",
        "top": {"n": 3, "scope": "district"},
    },
    "black": {
        "title": "黑榜",
        "include_any": ["veto_count > 0", "tier == 'D'"],
        "bottom": {"share": "5%", "scope": "round"},
    },
}

SCOPES = ("round", "district", "street", "type")
SCOPE_ZH = {"round": "全域", "district": "区县", "street": "街道", "type": "领域"}
ORG_TYPES_ZH = {
    "community": "社区", "village": "村", "agency": "机关", "institution": "事业单位",
    "soe": "国有企业", "nonpublic": "两新组织", "school": "学校", "hospital": "医院",
    "compound": "小区",
}
STATUS_ZH = {"graded": "已定档", "not_graded": "不予定档"}

# Names a list expression may use, with their labels for the printed rules.
LIST_NAMES: dict[str, tuple[NameSpec, str]] = {
    "tier": (NameSpec(Type.TEXT), "档次"),
    "total": (NameSpec(Type.NUMBER), "总分"),
    "base": (NameSpec(Type.NUMBER), "基础得分"),
    "bonus": (NameSpec(Type.NUMBER), "加分"),
    "veto_count": (NameSpec(Type.NUMBER), "一票否决项数"),
    "rank": (NameSpec(Type.NUMBER), "全域排名"),
    "rank_district": (NameSpec(Type.NUMBER), "区县内排名"),
    "rank_type": (NameSpec(Type.NUMBER), "领域内排名"),
    "org.type": (NameSpec(Type.TEXT, tuple(ORG_TYPES_ZH)), "领域"),
    "org.district": (NameSpec(Type.TEXT), "区县"),
    "org.street": (NameSpec(Type.TEXT), "街道"),
    "status": (NameSpec(Type.TEXT, tuple(STATUS_ZH)), "状态"),
}
_SPECS = {k: spec for k, (spec, _) in LIST_NAMES.items()}
_LIST_KEYS = {"title", "include", "include_any", "top", "bottom"}
_ID = re.compile(r"[a-z][a-z0-9_]*\Z")


def _fail(path: str, message: str, col: int = 0) -> InputError:
    return InputError(Issue("round.yaml", 0, col, path, message))


# ------------------------------------------------------------------ rules

def _share(value: Any, path: str) -> Decimal:
    """'5%' or a fraction 0.05 -> Decimal('0.05'); anything else is an error."""
    try:
        if isinstance(value, str) and value.strip().endswith("%"):
            d = Decimal(value.strip()[:-1]) / 100
        elif isinstance(value, (Decimal, int)) and not isinstance(value, bool):
            d = Decimal(value)
        elif isinstance(value, float):
            d = Decimal(str(value))
        else:
            raise InvalidOperation
    except InvalidOperation:
        raise _fail(path, f"expected a share such as '5%', got {value!r}") from None
    if not (0 < d <= 1):
        raise _fail(path, f"a share must be above 0% and at most 100%, got {value!r}")
    return d


def _pct_text(d: Decimal) -> str:
    text = format((d * 100).normalize(), "f")
    return f"{text}%"


def _scope(value: Any, path: str) -> str:
    if value is None:
        return "round"
    if value not in SCOPES:
        raise _fail(path, f"unknown scope {value!r} (one of {', '.join(SCOPES)})")
    return value


def _compile(source: Any, path: str):
    if not isinstance(source, str) or not source.strip():
        raise _fail(path, f"expected an expression, got {source!r}")
    try:
        return compile_expr(source, _SPECS, expect=Type.BOOL)
    except ExprError as exc:
        raise _fail(path, f"{exc.message}: {source}", exc.column) from None


def normalize_rules(rules: Mapping | None) -> dict:
    """Check the `lists:` mapping and return it normalized (JSON-friendly, shares as '5%').

    Raises InputError naming the JSON path of the first problem. None means the defaults.
    """
    if rules is None:
        rules = DEFAULT_LISTS
    if not isinstance(rules, Mapping) or not rules:
        raise _fail("$.lists", "expected a mapping of list ids (red, black, ...) to rules")
    out: dict = {}
    for lid, rule in rules.items():
        path = f"$.lists.{lid}"
        if not isinstance(lid, str) or not _ID.match(lid):
            raise _fail("$.lists", f"a list id must match [a-z][a-z0-9_]*, got {lid!r}")
        if not isinstance(rule, Mapping):
            raise _fail(path, "expected a mapping with title, include/include_any, top, bottom")
        unknown = sorted(set(rule) - _LIST_KEYS)
        if unknown:
            raise _fail(f"{path}.{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(_LIST_KEYS))})")
        default_title = DEFAULT_LISTS.get(lid, {}).get("title", lid)
        title = rule.get("title", default_title)
        if not isinstance(title, str) or not title.strip():
            raise _fail(f"{path}.title", f"expected a title, got {title!r}")
        norm: dict = {"title": title}
        if "include" in rule:
            _compile(rule["include"], f"{path}.include")
            norm["include"] = rule["include"]
        if "include_any" in rule:
            items = rule["include_any"]
            if not isinstance(items, list) or not items:
                raise _fail(f"{path}.include_any", "expected a non-empty list of expressions")
            for i, src in enumerate(items):
                _compile(src, f"{path}.include_any[{i}]")
            norm["include_any"] = list(items)
        if "top" in rule:
            top = rule["top"]
            if not isinstance(top, Mapping) or set(top) - {"n", "scope"} or "n" not in top:
                raise _fail(f"{path}.top", "expected {n: <count>, scope: round|district|street|type}")
            n = top["n"]
            if isinstance(n, bool) or not isinstance(n, (int, Decimal)) or n != int(n) or n < 1:
                raise _fail(f"{path}.top.n", f"expected a whole number of at least 1, got {n!r}")
            norm["top"] = {"n": int(n), "scope": _scope(top.get("scope"), f"{path}.top.scope")}
        if "bottom" in rule:
            bottom = rule["bottom"]
            if not isinstance(bottom, Mapping) or set(bottom) - {"share", "scope"} or "share" not in bottom:
                raise _fail(f"{path}.bottom", "expected {share: '5%', scope: round|district|street|type}")
            share = _share(bottom["share"], f"{path}.bottom.share")
            norm["bottom"] = {"share": _pct_text(share),
                              "scope": _scope(bottom.get("scope"), f"{path}.bottom.scope")}
        out[lid] = norm
    return out


# ------------------------------------------------------------------ deriving

def _num(v: Any) -> Decimal | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, Decimal):
        return v
    if isinstance(v, (int, str)):
        return Decimal(v)
    if isinstance(v, float):
        return Decimal(str(v))
    raise TypeError(f"expected a number, got {type(v).__name__}")


def _rank(org: Mapping, scope: str = "round") -> int | None:
    r = org.get("rank")
    if isinstance(r, Mapping):
        r = r.get(scope)
    elif scope != "round":
        r = None
    return None if r is None else int(r)


def _env(org: Mapping) -> dict:
    return {
        "tier": org.get("tier"), "total": _num(org.get("total")), "base": _num(org.get("base")),
        "bonus": _num(org.get("bonus")), "veto_count": Decimal(len(org.get("vetoes") or [])),
        "rank": _num(_rank(org)), "rank_district": _num(_rank(org, "district")),
        "rank_type": _num(_rank(org, "type")), "org.type": org.get("type"),
        "org.district": org.get("district") or "", "org.street": org.get("street") or "",
        "status": org.get("status"),
    }


def _matches(expr, env: dict, path: str, org_id: str) -> bool:
    try:
        return bool(expr.evaluate(env))
    except MissingValue:
        return False      # documented: a rule that needs an absent value does not select
    except EvalError as exc:
        raise _fail(path, f"organization {org_id}: {exc.message}") from None


def _scope_key(org: Mapping, scope: str) -> str:
    return "" if scope == "round" else str(org.get(scope) or "")


def _positions(orgs: list[Mapping]) -> list[int]:
    """Competition positions ("1224") of organizations already in rank order."""
    out, prev, prev_pos = [], None, 0
    for i, o in enumerate(orgs, start=1):
        r = _rank(o)
        if r != prev:
            prev, prev_pos = r, i
        out.append(prev_pos)
    return out


def _where(scope: str, key: str) -> str:
    return SCOPE_ZH[scope] + (f"“{key}”" if key else "")


def derive_lists(results: Mapping, rules: Mapping | None) -> dict:
    """The `lists` object of results.json: {id: {title, rules, description, entries: [...]}}.

    `results` is the results payload (organizations in rank order, numbers as Decimal or
    int); `rules` the round's `lists:` mapping, None for DEFAULT_LISTS.
    """
    norm = normalize_rules(rules)
    orgs = list(results.get("organizations") or [])
    ranked = sorted((o for o in orgs if _rank(o) is not None), key=lambda o: (_rank(o), str(o.get("id"))))
    out: dict = {}
    for lid, rule in norm.items():
        reasons = _select(rule, orgs, f"$.lists.{lid}")
        if "top" in rule:
            reasons = _keep_top(reasons, ranked, rule["top"]["n"], rule["top"]["scope"])
        if "bottom" in rule:
            _add_bottom(reasons, ranked, rule["bottom"]["share"], rule["bottom"]["scope"])
        entries = [_entry(o, reasons[str(o.get("id"))]) for o in orgs if str(o.get("id")) in reasons]
        entries.sort(key=lambda e: (e["rank"] is None, e["rank"] or 0, e["organization"]))
        out[lid] = {"title": rule["title"], "rules": rule, "description": describe_rules(rule),
                    "entries": entries}
    return out


def _select(rule: Mapping, orgs: list[Mapping], path: str) -> dict[str, list[str]]:
    """Step 1: organization id -> the reasons it was selected, in results order."""
    include = _compile(rule["include"], f"{path}.include") if "include" in rule else None
    anys = [(_compile(s, f"{path}.include_any[{i}]"), s) for i, s in enumerate(rule.get("include_any", []))]
    if include is None and not anys:
        return {} if "bottom" in rule else {str(o.get("id")): [] for o in orgs if o.get("status") == "graded"}
    reasons: dict[str, list[str]] = {}
    for org in orgs:
        oid, env = str(org.get("id")), _env(org)
        why = []
        if include is not None:
            if not _matches(include, env, f"{path}.include", oid):
                continue
            why.append("符合条件：" + describe_expr(rule["include"]))
        if anys:
            hit = [s for i, (e, s) in enumerate(anys) if _matches(e, env, f"{path}.include_any[{i}]", oid)]
            if not hit:
                continue
            why += ["符合条件：" + describe_expr(s) for s in hit]
        reasons[oid] = why
    return reasons


def _groups(orgs: list[Mapping], scope: str) -> dict[str, list[Mapping]]:
    groups: dict[str, list[Mapping]] = defaultdict(list)
    for o in orgs:
        groups[_scope_key(o, scope)].append(o)
    return groups


def _keep_top(reasons: dict[str, list[str]], ranked: list[Mapping], n: int, scope: str) -> dict[str, list[str]]:
    """Step 2: of the selected, the best n by rank per scope; ties at the boundary all stay."""
    kept: dict[str, list[str]] = {}
    for key, group in _groups([o for o in ranked if str(o.get("id")) in reasons], scope).items():
        shared = Counter(_rank(o) for o in group)
        for o, pos in zip(group, _positions(group)):
            if pos <= n:
                tie = "（并列）" if shared[_rank(o)] > 1 else ""
                kept[str(o["id"])] = reasons[str(o["id"])] + [
                    f"{_where(scope, key)}入选组织中第 {pos} 名{tie}"]
    return kept


def _add_bottom(reasons: dict[str, list[str]], ranked: list[Mapping], share_text: str, scope: str) -> None:
    """Step 3: add floor(share x graded) lowest-ranked per scope, ties at the boundary included."""
    share = _share(share_text, "$.lists.bottom.share")
    graded = [o for o in ranked if o.get("status", "graded") == "graded"]
    for key, group in _groups(graded, scope).items():
        places = int((share * len(group)).to_integral_value(ROUND_FLOOR))
        if places == 0:
            continue
        cutoff = _rank(group[len(group) - places])
        for o, pos in zip(group, _positions(group)):
            if _rank(o) >= cutoff:
                reasons.setdefault(str(o["id"]), []).append(
                    f"{_where(scope, key)}排名后 {share_text}（第 {pos} 名 / 共 {len(group)} 个，后 {places} 名列入）")


def _entry(o: Mapping, reasons: list[str]) -> dict:
    return {"organization": str(o.get("id")), "name": o.get("name"), "district": o.get("district"),
            "street": o.get("street"), "type": o.get("type"), "tier": o.get("tier"),
            "tier_name": o.get("tier_name"), "total": o.get("total"), "rank": _rank(o), "reasons": reasons}


# ------------------------------------------------------------------ printing the rules

_TOKEN = re.compile(r"""\s*(?:(?P<str>'[^']*'|"[^"]*")|(?P<num>\d+(?:\.\d+)?%?)|(?P<op>==|!=|<=|>=|[<>()\[\],+\-*/])"""
                    r"""|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?))""")
_OPS = {"==": "为", "!=": "不为", ">": "大于", ">=": "不低于", "<": "小于", "<=": "不高于",
        "and": "且", "or": "或", "not": "非", "in": "属于", "true": "是", "false": "否"}
_VALUES = {**ORG_TYPES_ZH, **STATUS_ZH}


def describe_expr(source: str) -> str:
    """'tier == 'A' and veto_count == 0' -> '档次为A 且 一票否决项数为0' (for the printed rules)."""
    out: list[str] = []
    pos = 0
    src = source.strip()
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m or m.end() == pos:
            return source          # something unusual: print the rule as written
        pos = m.end()
        if m["str"]:
            out.append(_VALUES.get(m["str"][1:-1], m["str"][1:-1]))
        elif m["num"]:
            out.append(m["num"])
        elif m["op"]:
            out.append(_OPS.get(m["op"], m["op"]))
        else:
            word = m["name"]
            out.append(LIST_NAMES[word][1] if word in LIST_NAMES else _OPS.get(word, word))
    text = ""
    for tok in out:
        spaced = tok in ("且", "或")
        text += (f" {tok} " if spaced else tok)
    return text.strip()


def _each(scope: str) -> str:
    return "全域" if scope == "round" else f"每个{SCOPE_ZH[scope]}"


def describe_rules(rule: Mapping) -> list[str]:
    """The rule of one list as sentences for the document (Chinese)."""
    lines = []
    if "include" in rule:
        lines.append("列入条件：" + describe_expr(rule["include"]))
    if "include_any" in rule:
        lines.append("符合下列任一条件即列入：" + "；".join(describe_expr(s) for s in rule["include_any"]))
    if "top" in rule:
        t = rule["top"]
        lines.append(f"{_each(t['scope'])}按排名取前 {t['n']} 名（并列者同时列入）")
    if "bottom" in rule:
        b = rule["bottom"]
        lines.append(f"另将{_each(b['scope'])}已定档组织中排名后 {b['share']} 的列入（名额向下取整，并列者同时列入）")
    return lines
