"""Load a round: round.yaml, the organization registry, the standards it names.

Everything is checked before any evaluation starts; all problems are reported together.
"""
from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ..errors import InputError, Issue
from ..standard.listrules import (KINDS, PREVIOUS_NAMES, check_against_standards, compile_rule_expr, normalize_rules,
                                  rule_expressions)
from .evidence import read_csv_rows
from ..terms import BUILTIN_TYPES, type_table
from ..model import Organization, Standard
from ..standard.distribution import compile_distribution
from ..standard.schema import check as schema_check
from ..standard.loader import declared_types, load_standard
from ..standard.yamlsafe import Locator, load_yaml

_REG_COLS = {"id": "id", "编号": "id", "组织编号": "id", "name": "name", "名称": "name", "组织名称": "name",
             "type": "type", "类型": "type", "领域": "type", "district": "district", "区县": "district", "区": "district",
             "street": "street", "街道": "street", "街道（乡镇）": "street", "乡镇": "street",
             "parent": "parent", "上级": "parent", "上级党组织": "parent",
             "responsible": "responsible", "责任人": "responsible", "书记": "responsible", "党组织书记": "responsible"}


@dataclass
class Round:
    id: str
    title: str
    issuer: str
    period: tuple[date, date]
    path: Path
    organizations: list[Organization]
    standards: dict[str, Standard]           # org type -> standard
    evidence_paths: list[Path]
    waivers: dict[tuple[str, str], str]
    grading_override: dict
    lists: dict | None
    raw: dict = field(default_factory=dict)
    designations: dict | None = None
    previous: Path | None = None             # the previous round's results folder (cross-round rules)
    # problems that do not stop the run but are shown with its summary (and kept in run.json)
    notices: list[Issue] = field(default_factory=list)


def load_round(path: Path) -> Round:
    path = Path(path)
    data, loc = load_yaml(path)
    issues = schema_check(data, "round", loc)
    if issues:
        raise InputError(issues)
    base = path.parent
    period = (data["period"]["from"], data["period"]["to"])
    if period[1] < period[0]:
        raise InputError(loc.issue(["period", "to"], f"the period ends ({period[1]}) before it starts ({period[0]})"))
    extra = [base / d for d in data.get("standards_dirs") or []]
    standards, std_issues = {}, []
    loaded: dict[str, Standard] = {}
    for org_type, ref in data["standards"].items():
        try:
            if ref not in loaded:
                loaded[ref] = load_standard(base / ref if ref.endswith((".yaml", ".yml")) else ref, extra)
            standards[org_type] = loaded[ref]
        except InputError as e:
            std_issues += [Issue(loc.filename, *loc.where(["standards", org_type]), f"$.standards.{org_type}",
                                 f"standard '{ref}' does not load (see below)")] + e.issues
    if std_issues:
        raise InputError(std_issues)
    for std in loaded.values():
        _check_overrides(data, loc, std)
    types = _round_types(data, loc, loaded)
    _check_fit(data, loc, standards, period)
    orgs = load_registry(base / data["organizations"], loc, types)
    bad = [o for o in orgs if o.type not in standards]
    if bad:
        raise InputError([Issue(str(base / data["organizations"]), 0, 0, "$",
                                f"organization {o.id} has type '{o.type}', but round.yaml names no standard for it "
                                f"(standards: {', '.join(standards)})") for o in bad[:20]])
    ev_paths = _evidence_paths(data, base)
    ids = {o.id for o in orgs}
    waivers = {}
    for i, w in enumerate(data.get("waivers") or []):
        std = standards.get(next((o.type for o in orgs if o.id == w["organization"]), ""), None)
        if w["organization"] not in ids:
            raise InputError(loc.issue(["waivers", i, "organization"], f"waiver for unknown organization '{w['organization']}'"))
        if w["criterion"] not in std.criteria:
            hint = difflib.get_close_matches(w["criterion"], list(std.criteria), 1)
            raise InputError(loc.issue(["waivers", i, "criterion"], f"criterion '{w['criterion']}' is not in standard '{std.id}'"
                                       + (f"; did you mean '{hint[0]}'?" if hint else "")))
        if std.criteria[w["criterion"]].kind != "base":
            raise InputError(loc.issue(["waivers", i, "criterion"], f"criterion '{w['criterion']}' is a {std.criteria[w['criterion']].kind} "
                                       "criterion; only base criteria can be waived (a waived criterion counts as full points)"))
        waivers[(w["organization"], w["criterion"])] = w["reason"]
    notices = _check_lists(data, loc, standards, "lists") + _check_lists(data, loc, standards, "designations")
    previous = None
    if data.get("previous") is not None:
        previous = base / data["previous"]
        if not (previous / "results.json").is_file():
            raise InputError(loc.issue(["previous"], f"'{previous}' is not a results folder (no results.json): name the "
                                                     "folder agrade evaluate wrote for the previous round"))
    elif (reader := _reads_previous(data)) is not None:
        raise InputError(loc.issue([reader], "a rule reads the previous round (previous.…), but round.yaml "
                                             "names no previous: give the previous round's results folder"))
    return Round(id=data["id"], title=data["title"], issuer=data.get("issuer", ""), period=period, path=path,
                 organizations=orgs, standards=standards, evidence_paths=ev_paths, waivers=waivers,
                 grading_override=data.get("grading") or {}, lists=data.get("lists"),
                 raw=data, notices=notices, designations=data.get("designations"), previous=previous)


def _evidence_paths(data: dict, base: Path) -> list[Path]:
    ev = data["evidence"]
    return [base / p for p in ([ev] if isinstance(ev, str) else ev)]


def round_evidence_paths(path: Path) -> list[Path]:
    """The evidence paths round.yaml names, before the round is loaded and checked (none when
    it cannot say; loading the round then says why): what helper processes read ahead while
    the round loads (intake.partition.read_ahead)."""
    path = Path(path)
    try:
        data, _ = load_yaml(path)
        return _evidence_paths(data, path.parent)
    except Exception:                   # anything wrong is load_round's to report
        return []


# round.yaml keys the published documents print, copied into results.json's `round` header
PUBLISHED_KEYS = ("issued_on", "rectification_deadline", "footer")


def published_info(rnd: Round) -> dict:
    """The round as results.json's header carries it: id, title, issuer, period and the
    optional keys the documents print (dates as ISO text, the footer as written)."""
    info = {"id": rnd.id, "title": rnd.title, "issuer": rnd.issuer,
            "period": {"from": rnd.period[0].isoformat(), "to": rnd.period[1].isoformat()}}
    for key in PUBLISHED_KEYS:
        value = rnd.raw.get(key)
        if value:
            info[key] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return info


def _reads_previous(data) -> str | None:
    """'lists' or 'designations' when one of its rules names previous.…"""
    for kind in KINDS:
        for rule in (data.get(kind) or {}).values():
            if any(compile_rule_expr(e).names & PREVIOUS_NAMES for e in rule_expressions(rule)):
                return kind
    return None


def _round_types(data, loc: Locator, loaded: dict[str, Standard]) -> dict:
    """The organization types of the round: the built-in ones and those its standards declare
    (`types:`); every key of `standards:` must be one of them ("did you mean"), and two
    standards may not declare one type differently."""
    declared: dict[str, tuple] = {}
    issues = []
    for ref, std in loaded.items():
        for code, spec in declared_types(std).items():
            if declared.setdefault(code, spec) != spec:
                issues.append(loc.issue(["standards"], f"the round's standards declare the type '{code}' differently "
                                                       f"({declared[code][0]} and {spec[0]}, in '{std.id}'): declare it once"))
    known = list(BUILTIN_TYPES) + list(declared)
    for org_type in data["standards"]:
        if org_type not in known:
            hint = difflib.get_close_matches(org_type, known, 1)
            issues.append(loc.issue(["standards", org_type], f"unknown organization type '{org_type}'"
                                    + (f"; did you mean '{hint[0]}'?" if hint else
                                       " (a new type is declared under types: in its standard, with its Chinese name)")))
    if issues:
        raise InputError(issues)
    return declared


def _check_fit(data, loc: Locator, standards: dict[str, Standard], period):
    """Each standard must be meant for the type it is used for and in force for the round, and
    the standards of one round must rank alike (one ranking needs one set of tie-breaks)."""
    issues = []
    for org_type, std in standards.items():
        where = ["standards", org_type]
        if std.applies_to and org_type not in std.applies_to:
            issues.append(loc.issue(where, f"standard '{std.id}' applies to {', '.join(std.applies_to)}, not to '{org_type}'"))
        start, end = std.effective
        if (start and period[0] < start) or (end and period[1] > end):
            issues.append(loc.issue(where, f"standard '{std.id}' is in force from {start or '…'} to {end or '…'}, "
                                           f"but the round runs from {period[0]} to {period[1]}"))
    ties = {}
    for org_type, std in standards.items():
        ties.setdefault(tuple(std.grading.tie_breaks), []).append(f"{std.id}（{org_type}）")
    if len(ties) > 1:
        shown = "; ".join(f"{', '.join(users)}: " + ", ".join(f"{k} {'desc' if d else 'asc'}" for k, d in tb)
                          for tb, users in ties.items())
        issues.append(loc.issue(["standards"], f"the round's standards rank differently, so one ranking cannot be made ({shown})"))
    if issues:
        raise InputError(issues)


def _check_lists(data, loc: Locator, standards: dict[str, Standard], kind: str) -> list[Issue]:
    """Red/black list rules (and designations: `kind`) are checked here, before anything is
    evaluated, at their line: a tier id that none of the round's standards has is an error
    ("did you mean"); a tier condition that cannot hold for one standard's organizations is a
    notice (returned)."""
    tier_ids = list(dict.fromkeys(t.id for s in standards.values() for t in s.grading.tiers))
    try:
        norm = normalize_rules(data.get(kind), tier_ids, kind)
        by_std = {s.id: (s.title, [(t.id, t.name) for t in s.grading.tiers]) for s in standards.values()}
        where = loc.where([kind]) if data.get(kind) else (0, 0)
        return [Issue(loc.filename, *where, f"$.{kind}", n) for n in check_against_standards(norm, by_std)]
    except InputError as e:
        issues = []
        for i in e.issues:
            parts = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]$]+", i.path)]
            line, col = loc.where(parts)
            issues.append(Issue(loc.filename, line, col, i.path,
                                i.message + (f" (column {i.col} of the expression)" if i.col else "")))
        raise InputError(issues) from None


def _check_overrides(data, loc: Locator, std: Standard):
    tiers = [t.id for t in std.grading.tiers]
    g = data.get("grading") or {}
    for i, q in enumerate(g.get("quotas") or []):
        if q["tier"] not in tiers:
            raise InputError(loc.issue(["grading", "quotas", i, "tier"], f"unknown tier '{q['tier']}' in standard '{std.id}' (tiers: {', '.join(tiers)})"))
    if g.get("target") and g["target"]["tier"] not in tiers:
        raise InputError(loc.issue(["grading", "target", "tier"], f"unknown tier '{g['target']['tier']}' in standard '{std.id}'"))
    if g.get("distribution") is not None:       # checked as a standard's is, at the round's line
        def refuse(sub, message):
            raise InputError(loc.issue(["grading", "distribution", *sub], f"{message} (standard '{std.id}')"))
        compile_distribution(g["distribution"], tiers, refuse)


def load_registry(path: Path, round_loc: Locator | None = None, types: dict | None = None) -> list[Organization]:
    """The organization registry (CSV or XLSX): id, name, type, district, street, parent. A
    type is a built-in or a declared one (`types`: {code: (name, aliases)}), by code, name or alias."""
    type_names, type_aliases = type_table(types)
    if not path.is_file():
        where = round_loc.issue(["organizations"], f"organization registry '{path}' does not exist") if round_loc \
            else Issue(str(path), 0, 0, "$", "organization registry does not exist")
        raise InputError(where)
    rows = _read_table(path)
    if not rows:
        raise InputError(Issue(str(path), 1, 1, "$", "the registry is empty"))
    head = [(_REG_COLS.get(str(h or "").strip().lstrip("\ufeff"), str(h or "").strip())) for h in rows[0]]
    for col in ("id", "name", "type"):
        if col not in head:
            raise InputError(Issue(str(path), 1, 1, "header", f"missing column '{col}'; expected id,name,type,district,street,parent (or 编号,名称,类型,区县,街道,上级)"))
    idx = {h: i for i, h in enumerate(head)}
    # each row's cells made text once (a closure and seven lookups per row were most of loading
    # a large registry), padded to the header's width and one blank more, the last: a column
    # the header lacks (index -1) reads blank, whatever cells a row has beyond the header
    width = len(head)
    at = [idx.get(k, -1) for k in ("id", "type", "name", "district", "street", "parent", "responsible")]
    orgs, seen, issues = [], {}, []
    for n, row in enumerate(rows[1:], start=2):
        cells = [str(x).strip() if x is not None else "" for x in row]
        if not any(c for c, x in zip(cells, row) if x):      # (a 0 or False cell is blank here)
            continue
        cells += [""] * max(1, width + 1 - len(cells))
        oid, typ, name, district, street, parent, responsible = [cells[i] for i in at]
        if not oid:
            issues.append(Issue(str(path), n, idx["id"] + 1, f"row {n}.id", "organization id must not be blank"))
            continue
        if oid in seen:
            issues.append(Issue(str(path), n, idx["id"] + 1, f"row {n}.id", f"duplicate organization id '{oid}' (first on line {seen[oid]})"))
            continue
        seen[oid] = n
        code = typ if typ in type_names else type_aliases.get(typ)
        if code is None:
            hint = difflib.get_close_matches(typ, list(type_names) + list(type_aliases), 1)
            issues.append(Issue(str(path), n, idx["type"] + 1, f"row {n}.type",
                                f"unknown organization type '{typ}'" + (f"; did you mean '{hint[0]}'?" if hint else
                                                                        f" (use {', '.join(type_names)} or 社区/村/机关/...)")))
            continue
        # a district, street or parent is named by many organizations: one string each, not one
        # per row (about 150 bytes an organization in a round of a million)
        orgs.append(Organization(oid, name or oid, code, sys.intern(district), sys.intern(street),
                                 sys.intern(parent), responsible))
    if "parent" in idx:
        issues += _check_parents(str(path), orgs, seen, idx["parent"] + 1)
    if issues:
        raise InputError(issues)
    return orgs


def _check_parents(file: str, orgs: list[Organization], rows: dict[str, int], col: int) -> list[Issue]:
    """`parent` must name an organization of the registry, and the chain of parents must end:
    a mistyped parent would silently drop an organization out of its street's roll-up."""
    issues = []
    by_id = {o.id: o for o in orgs}
    for o in orgs:
        if not o.parent:
            continue
        n = rows[o.id]
        if o.parent == o.id:
            issues.append(Issue(file, n, col, f"row {n}.parent", f"organization '{o.id}' names itself as its parent; "
                                                                  "leave parent empty or write the id of the organization above it"))
        elif o.parent not in rows:
            hint = difflib.get_close_matches(o.parent, list(rows), 1)
            issues.append(Issue(file, n, col, f"row {n}.parent",
                                f"parent '{o.parent}' is not an organization id in the registry; "
                                + (f"did you mean '{hint[0]}'?" if hint else "write the id of a registered organization, or leave it empty")))
    if issues:
        return issues
    done: set[str] = set()
    for o in orgs:                       # every chain of parents must reach a root
        chain: list[str] = []
        cur = o.id
        while cur and cur not in done and cur not in chain:
            chain.append(cur)
            cur = by_id[cur].parent if cur in by_id else ""
        if cur in chain:
            loop = chain[chain.index(cur):] + [cur]
            n = rows[cur]
            issues.append(Issue(file, n, col, f"row {n}.parent",
                                f"parents go round in a circle: {' -> '.join(loop)}; one of them must have another parent or none"))
        done.update(chain)
    return issues


def _read_table(path: Path) -> list[list[Any]]:
    if path.suffix.lower() == ".xlsx":
        from .workbook import read_xlsx
        sheets, _ = read_xlsx(path, first_only=True)
        return sheets[0][1] if sheets else []
    return read_csv_rows(path)
