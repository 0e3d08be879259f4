"""Golden cases: a standard's own examples (evidence -> expected outcomes, total, tier).

`rules/<id>.cases.yaml` files are run by `agrade test` and, one pytest test per case, by
`tests/test_golden.py`. A case evaluates a single organization, so round-level quotas are
switched off (a 40% quota over one organization would always demote it).
"""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from ..errors import InputError, Issue
from ..intake.evidence import raw_from_mapping, resolve
from ..model import Organization, Standard
from .run import evaluate_organizations
from ..standard.loader import load_standard
from ..standard.schema import check, check_with, validator
from ..standard.yamlsafe import load_yaml


class _Shifted:
    """A Locator for a case's inline evidence: paths are relative to the case's `evidence` key."""

    def __init__(self, loc, base):
        self.loc, self.base, self.filename = loc, tuple(base), loc.filename

    def where(self, path):
        return self.loc.where(list(self.base) + [p for p in path if p != "organization"])

    def issue(self, path, message):
        from ..errors import json_path
        line, col = self.where(path)
        return Issue(self.filename, line, col, json_path(list(self.base) + list(path)), message)


@dataclass
class Case:
    file: str
    line: int
    standard: str
    name: str
    period: tuple
    organization: Organization
    evidence: dict
    expect: dict
    loc: Any
    index: int

    @property
    def id(self) -> str:
        return f"{self.standard}::{self.name}"


def case_files(dirs: Iterable[Path], standards: Iterable[str] = ()) -> list[Path]:
    wanted = set(standards)
    out = []
    for d in dirs:
        for p in sorted(Path(d).glob("*.cases.yaml")):
            if not wanted or p.name[: -len(".cases.yaml")] in wanted:
                out.append(p)
    return out


def load_cases(path: Path) -> list[Case]:
    try:
        content = Path(path).read_bytes()
    except OSError:                      # load_yaml says precisely what is wrong with the path
        content = None
    data, loc = load_yaml(path) if content is None else load_yaml(content, filename=str(path))
    issues = check(data, "cases", loc, hashlib.sha256(content).hexdigest() if content is not None else None)
    if issues:
        raise InputError(issues)
    period = (data["period"]["from"], data["period"]["to"])
    out = []
    for i, c in enumerate(data["cases"]):
        o = c["organization"]
        org = Organization(str(o["id"]), o.get("name", str(o["id"])), o["type"], o.get("district", ""), o.get("street", ""))
        out.append(Case(str(path), loc.where(["cases", i])[0], data["standard"], c["name"], period, org,
                        dict(c.get("evidence") or {}), c["expect"], loc, i))
    return out


@dataclass
class CaseResult:
    case: Case
    failures: list[str]
    result: dict | None


def run_case(case: Case, std: Standard) -> CaseResult:
    std = dataclasses.replace(std, grading=dataclasses.replace(std.grading, quotas=()))
    doc = {"organization": case.organization.id, **case.evidence}
    base = ("cases", case.index, "evidence")
    problems = check_with(doc, validator("evidence"), _Shifted(case.loc, base))
    if problems:
        return CaseResult(case, [str(i) for i in problems], None)
    raw = raw_from_mapping(doc, case.loc, case.file, base)
    ev, issues = resolve(raw, case.organization.id, std)
    if issues:
        return CaseResult(case, [str(i) for i in issues], None)
    payload = evaluate_organizations([case.organization], {case.organization.id: ev},
                                     {case.organization.type: std}, case.period)
    r = payload["organizations"][0]
    return CaseResult(case, compare(case.expect, r), r)


def compare(expect: dict, r: dict) -> list[str]:
    fails = []
    by_id = {c["id"]: c for c in r["criteria"]}

    def num(v):
        return None if v is None else Decimal(str(v))

    for key in ("total", "base", "bonus"):
        if key in expect and num(expect[key]) != num(r[key]):
            fails.append(f"{key}: expected {expect[key]}, got {r[key]}")
    for key in ("tier", "status"):
        if key in expect and expect[key] != r[key]:
            fails.append(f"{key}: expected {expect[key]}, got {r[key]}")
    for cid, want in (expect.get("outcomes") or {}).items():
        got = by_id.get(cid)
        if got is None:
            fails.append(f"outcome {cid}: no such criterion in the standard")
        elif got["outcome"] != want:
            fails.append(f"outcome {cid}: expected {want}, got {got['outcome']} ({got['reason']})")
    for cid, want in (expect.get("points") or {}).items():
        got = by_id.get(cid)
        if got is None:
            fails.append(f"points {cid}: no such criterion in the standard")
        elif num(want) != got["points"]:
            fails.append(f"points {cid}: expected {want}, got {got['points']} ({got['reason']})")
    if "vetoes" in expect:
        got = sorted(v["criterion"] for v in r["vetoes"])
        if sorted(expect["vetoes"] or []) != got:
            fails.append(f"vetoes: expected {sorted(expect['vetoes'] or [])}, got {got}")
    return fails


def run_all(dirs: list[Path], standards: Iterable[str] = (), skipped: list | None = None) -> list[CaseResult]:
    """Every golden case of `standards` (all) in `dirs`, first folder first; `skipped` collects
    (case, standard file) for cases left out because another folder's standard replaces theirs."""
    import difflib
    from ..standard.loader import available_standards
    known = set(available_standards(dirs))
    with_cases = sorted(p.name[: -len(".cases.yaml")] for p in case_files(dirs))
    for sid in standards:
        if not case_files(dirs, [sid]):
            # suggest only standards that have cases, and never the one asked for
            others = [s for s in with_cases if s != sid]
            hint = difflib.get_close_matches(sid, others, 1)
            if sid in known:
                message = f"standard '{sid}' has no golden cases (no {sid}.cases.yaml)"
            else:
                message = f"no golden cases for standard '{sid}'"
            raise InputError(Issue(sid, 0, 0, "$", message + (f"; did you mean '{hint[0]}'?" if hint else
                                                            f" (standards with cases: {', '.join(others) or 'none'})")))
    from ..standard.loader import find_standard_file
    cache: dict[str, Standard] = {}
    results = []
    for path in case_files(dirs, standards):
        for case in load_cases(path):
            # cases were written for the standard beside them: when an earlier folder holds
            # its own version of that standard (an author's draft of general.yaml), the shipped
            # cases would only report the author's changes as failures
            found = find_standard_file(case.standard, [Path(d) for d in dirs])
            if found is not None and found.parent.resolve() != path.parent.resolve():
                if skipped is not None:
                    skipped.append((case, found))
                continue
            if case.standard not in cache:
                cache[case.standard] = load_standard(case.standard, dirs)
            results.append(run_case(case, cache[case.standard]))
    return results
