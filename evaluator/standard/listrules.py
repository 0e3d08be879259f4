"""Red and black list rules (红黑榜, docs/FORMATS.md §4): checked and compiled when the round
loads, and printed in Chinese on the published lists. `evaluator.scoring.lists` applies them.
"""
from __future__ import annotations

import functools
import re
from decimal import Decimal
from typing import Any, Mapping, Sequence

from ..errors import InputError, Issue
from ..terms import ORG_TYPES, RANK_ZH, SCOPE_ZH, SCOPES, STATUS_ZH
from .expr import Binary, ExprError, ListLit, Literal, Name, NameSpec, Type, Unary, compile_expr
from .plain import Term, Vocabulary
from .quantity import NormalizeError, read_share

__all__ = ["DEFAULT_LISTS", "LIST_NAMES", "PREVIOUS_NAMES", "KINDS", "normalize_rules", "describe_rules", "describe_expr", "compile_rule_expr",
           "share", "check_against_standards", "tier_literals"]

# The defaults name no tier id, so they fit every standard (A–D, 五星…一星, 先进…后进).
DEFAULT_LISTS: dict = {
    "red": {
        "title": "红榜",
        "include": "top_tier and veto_count == 0",
        "top": {"n": 3, "scope": "district"},
    },
    "black": {
        "title": "黑榜",
        "include_any": ["veto_count > 0", "bottom_tier"],
        "bottom": {"share": "5%", "scope": "round"},
    },
}


# Names a list expression may use, with their labels for the printed rules.
LIST_NAMES: dict[str, tuple[NameSpec, str]] = {
    "tier": (NameSpec(Type.TEXT), "档次"),
    "top_tier": (NameSpec(Type.BOOL), "处于最高档次"),
    "bottom_tier": (NameSpec(Type.BOOL), "处于最低档次"),
    "total": (NameSpec(Type.NUMBER), "总分"),
    "base": (NameSpec(Type.NUMBER), "基础得分"),
    "bonus": (NameSpec(Type.NUMBER), "加分"),
    "veto_count": (NameSpec(Type.NUMBER), "一票否决项数"),
    # a veto with a mark (软弱涣散党组织) was hit: flag-only vetoes keep the tier, so a rule
    # that wants those organizations names them here or by veto_count
    "marked": (NameSpec(Type.BOOL), "因一票否决被认定"),
    "rank": (NameSpec(Type.NUMBER), RANK_ZH["round"]),
    "rank_district": (NameSpec(Type.NUMBER), RANK_ZH["district"]),
    "rank_type": (NameSpec(Type.NUMBER), RANK_ZH["type"]),
    "org.type": (NameSpec(Type.TEXT, tuple(ORG_TYPES)), "领域"),
    "org.district": (NameSpec(Type.TEXT), "区县"),
    "org.street": (NameSpec(Type.TEXT), "街道"),
    "status": (NameSpec(Type.TEXT, tuple(STATUS_ZH)), "状态"),
    # the organization in the round named by `previous:` (cross-round rules); missing for an
    # organization that round did not grade, so a condition on it does not hold
    "previous.tier": (NameSpec(Type.TEXT), "上一轮档次"),
    "previous.total": (NameSpec(Type.NUMBER), "上一轮总分"),
    "previous.top_tier": (NameSpec(Type.BOOL), "上一轮处于最高档次"),
    "previous.bottom_tier": (NameSpec(Type.BOOL), "上一轮处于最低档次"),
}
PREVIOUS_NAMES = frozenset(k for k in LIST_NAMES if k.startswith("previous."))
_SPECS = {k: spec for k, (spec, _) in LIST_NAMES.items()}
_LIST_KEYS = {"title", "include", "include_any", "top", "bottom", "rectification_deadline"}
_ID = re.compile(r"[a-z][a-z0-9_]*\Z")


def _fail(path: str, message: str, col: int = 0) -> InputError:
    return InputError(Issue("round.yaml", 0, col, path, message))


# ------------------------------------------------------------------ rules

def share(value: Any, path: str = "$.lists") -> Decimal:
    """'5%', '５％' or a fraction 0.05 -> Decimal('0.05') (quantity.read_share); anything else is an error."""
    try:
        d = read_share(value)
    except NormalizeError:
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


def compile_rule_expr(source: Any, path: str = "$.lists", tier_ids: Sequence[str] | None = None):
    """A list expression, type-checked; with `tier_ids` (every tier of the round's standards) a
    tier literal that no standard has is an error with "did you mean" at its column."""
    if not isinstance(source, str) or not source.strip():
        raise _fail(path, f"expected an expression, got {source!r}")
    specs = _SPECS if tier_ids is None else {**_SPECS, "tier": NameSpec(Type.TEXT, tuple(tier_ids))}
    if len(ORG_TYPES) != len(_SPECS["org.type"].enum):     # types declared by the standards loaded
        specs = {**specs, "org.type": NameSpec(Type.TEXT, tuple(ORG_TYPES))}
    try:
        return compile_expr(source, specs, expect=Type.BOOL)
    except ExprError as exc:
        raise _fail(path, f"{exc.message}: {source}", exc.column) from None


def tier_literals(expr) -> set[str]:
    """The tier ids an expression compares `tier` with (`tier == 'A'`, `tier in ['C', 'D']`)."""
    found: set[str] = set()

    def walk(node):
        if isinstance(node, Binary):
            if node.op in ("==", "!=", "in", "not in"):
                for name, other in ((node.left, node.right), (node.right, node.left)):
                    if isinstance(name, Name) and name.name == "tier":
                        items = other.items if isinstance(other, ListLit) else (other,)
                        found.update(i.value for i in items if isinstance(i, Literal) and isinstance(i.value, str))
            walk(node.left)
            walk(node.right)
        elif isinstance(node, Unary):
            walk(node.operand)
        # a call's arguments are numbers or records (len, count, min...), never a tier comparison

    walk(expr.tree)
    return found


def rule_expressions(rule: Mapping) -> list[str]:
    """Every expression of one normalized rule."""
    return ([rule["include"]] if "include" in rule else []) + list(rule.get("include_any", []))


def check_against_standards(norm: Mapping, standards: Mapping[str, tuple[str, Sequence[tuple[str, str]]]]) -> list[str]:
    """Notices for expressions whose tier comparisons can never hold for some standard's
    organizations (`tier == 'A'` where a standard's tiers are 五星…一星). `standards` maps a
    standard id to (title, [(tier id, tier name), ...]). Unknown tier ids are already errors."""
    notices = []
    names = {tid: name for _, tiers in standards.values() for tid, name in tiers}
    for lid, rule in norm.items():
        for source in rule_expressions(rule):
            wanted = tier_literals(compile_rule_expr(source))
            if not wanted:
                continue
            for sid, (title, tiers) in sorted(standards.items()):
                if not wanted & {tid for tid, _ in tiers}:
                    notices.append(f"{rule['title']}的条件“{describe_expr(source, names)}”不适用于按“{title}”考评的组织"
                                   f"（其档次为 {'、'.join(name for _, name in tiers)}），这些组织不会因此条件列入")
    return notices


# What a round selects organizations for with these rules: the published red and black lists,
# and designations (认定), such as 软弱涣散党组织, which name the organizations that must be
# rectified. Both use the same rules; lists have defaults, designations only what the round says.
KINDS = ("lists", "designations")


def normalize_rules(rules: Mapping | None, tier_ids: Sequence[str] | None = None, kind: str = "lists") -> dict:
    """Check the `lists:` (or `designations:`) mapping and return it normalized (JSON-friendly,
    shares as '5%').

    Raises InputError naming the JSON path of the first problem. None means the defaults (no
    designations). `tier_ids`, when known (the round's standards), are the tier ids
    expressions may name.
    """
    if rules is None:
        rules = DEFAULT_LISTS if kind == "lists" else {}
        if not rules:
            return {}
    what = "list ids (red, black, ...)" if kind == "lists" else "designation ids (weak, ...)"
    if not isinstance(rules, Mapping) or not rules:
        raise _fail(f"$.{kind}", f"expected a mapping of {what} to rules")
    out: dict = {}
    for lid, rule in rules.items():
        path = f"$.{kind}.{lid}"
        if not isinstance(lid, str) or not _ID.match(lid):
            raise _fail(f"$.{kind}", f"a {'list' if kind == 'lists' else 'designation'} id must match "
                                     f"[a-z][a-z0-9_]*, got {lid!r}")
        if not isinstance(rule, Mapping):
            raise _fail(path, "expected a mapping with title, include/include_any, top, bottom")
        unknown = sorted(set(rule) - _LIST_KEYS)
        if unknown:
            raise _fail(f"{path}.{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(_LIST_KEYS))})")
        if kind == "designations" and "title" not in rule:
            raise _fail(f"{path}", "a designation needs a title (what it is called on the documents, e.g. 软弱涣散党组织)")
        default_title = DEFAULT_LISTS.get(lid, {}).get("title", lid)
        title = rule.get("title", default_title)
        if not isinstance(title, str) or not title.strip():
            raise _fail(f"{path}.title", f"expected a title, got {title!r}")
        norm: dict = {"title": title}
        if "include" in rule:
            compile_rule_expr(rule["include"], f"{path}.include", tier_ids)
            norm["include"] = rule["include"]
        if "include_any" in rule:
            items = rule["include_any"]
            if not isinstance(items, list) or not items:
                raise _fail(f"{path}.include_any", "expected a non-empty list of expressions")
            for i, src in enumerate(items):
                compile_rule_expr(src, f"{path}.include_any[{i}]", tier_ids)
            norm["include_any"] = list(items)
        if "top" in rule:
            top = rule["top"]
            if not isinstance(top, Mapping) or set(top) - {"n", "scope"} or "n" not in top:
                raise _fail(f"{path}.top", "expected {n: <count>, scope: round|district|street|type}")
            norm["top"] = {"n": _count(top["n"], f"{path}.top.n"), "scope": _scope(top.get("scope"), f"{path}.top.scope")}
        if "bottom" in rule:
            bottom = rule["bottom"]
            if not isinstance(bottom, Mapping) or set(bottom) - {"share", "n", "scope"} or len({"share", "n"} & set(bottom)) != 1:
                raise _fail(f"{path}.bottom", "expected {share: '5%', scope: round|district|street|type} "
                                              "or {n: <count>, scope: ...} (one of share and n)")
            if "n" in bottom:       # the last n places of each scope ("last place in its street": n 1)
                norm["bottom"] = {"n": _count(bottom["n"], f"{path}.bottom.n")}
            else:
                norm["bottom"] = {"share": _pct_text(share(bottom["share"], f"{path}.bottom.share"))}
            norm["bottom"]["scope"] = _scope(bottom.get("scope"), f"{path}.bottom.scope")
        if "rectification_deadline" in rule:    # by when those on it must have rectified (a designation's 整改期限)
            norm["rectification_deadline"] = _day_text(rule["rectification_deadline"], f"{path}.rectification_deadline")
        out[lid] = norm
    return out


def _count(n, path: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, Decimal)) or n != int(n) or n < 1:
        raise _fail(path, f"expected a whole number of at least 1, got {n!r}")
    return int(n)


def _day_text(value, path: str) -> str:
    import datetime
    if isinstance(value, datetime.date):
        return value.isoformat()
    try:
        return datetime.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise _fail(path, f"expected a date (YYYY-MM-DD), got {value!r}") from None


# ------------------------------------------------------------------ printing the rules

# How each list name reads (evaluator.standard.plain): ranks as places, scores in points,
# tiers by their names.
_TERMS: dict[str, Term] = {
    "tier": Term(LIST_NAMES["tier"][1], "text", quote=False),
    "previous.tier": Term(LIST_NAMES["previous.tier"][1], "text", quote=False),
    "top_tier": Term(LIST_NAMES["top_tier"][1], "bool"),
    "bottom_tier": Term(LIST_NAMES["bottom_tier"][1], "bool"),
    "previous.top_tier": Term(LIST_NAMES["previous.top_tier"][1], "bool"),
    "previous.bottom_tier": Term(LIST_NAMES["previous.bottom_tier"][1], "bool"),
    "total": Term("总分", "score", "分"), "base": Term("基础得分", "score", "分"),
    "bonus": Term("加分", "score", "分"), "previous.total": Term("上一轮总分", "score", "分"),
    "veto_count": Term("触发一票否决项数", "number", "项"),
    "marked": Term(LIST_NAMES["marked"][1], "bool"),
    "rank": Term(RANK_ZH["round"], "rank"), "rank_district": Term(RANK_ZH["district"], "rank"),
    "rank_type": Term(RANK_ZH["type"], "rank"),
    "org.type": Term("领域", "text", values=ORG_TYPES, quote=False),     # with declared types' names
    "org.district": Term("区县", "text"), "org.street": Term("街道", "text"),
    "status": Term("状态", "text", values=dict(STATUS_ZH), quote=False),
}


def describe_expr(source: str, tiers: Mapping[str, str] | None = None) -> str:
    """"tier in ['D', 'S1'] and veto_count == 0" -> "（档次为 D档或一星级）且未触发一票否决"
    (for the printed rules and the reasons of each entry); `tiers` maps tier ids to their names
    (the round's standards'; without it a tier reads as its id)."""
    return _describe(source, tuple(sorted((tiers or {}).items())))


@functools.lru_cache(maxsize=1024)
def _describe(source: str, tiers: tuple) -> str:
    try:
        expr = compile_expr(source, _SPECS, expect=Type.BOOL)
    except ExprError:
        return source          # not a rule this version can read: print it as written
    return Vocabulary(terms=_TERMS, tiers=dict(tiers)).condition(expr)


def _each(scope: str) -> str:
    return SCOPE_ZH["round"] if scope == "round" else f"每个{SCOPE_ZH[scope]}"


def describe_rules(rule: Mapping, tiers: Mapping[str, str] | None = None) -> list[str]:
    """The rule of one list as sentences for the document (Chinese); `tiers` as describe_expr."""
    lines = []
    if "include" in rule:
        lines.append("列入条件：" + describe_expr(rule["include"], tiers))
    if "include_any" in rule:
        lines.append("符合下列任一条件即列入：" + "；".join(describe_expr(s, tiers) for s in rule["include_any"]))
    if "top" in rule:
        t = rule["top"]
        lines.append(f"{_each(t['scope'])}按排名取前 {t['n']} 名（并列者同时列入）")
    if "bottom" in rule:
        b = rule["bottom"]
        if "n" in b:
            lines.append(f"另将{_each(b['scope'])}已定档组织中排名最后 {b['n']} 名列入（并列者同时列入）")
        else:
            lines.append(f"另将{_each(b['scope'])}已定档组织中排名后 {b['share']} 的列入（名额向下取整，并列者同时列入）")
    return lines
