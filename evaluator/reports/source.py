"""Reading results.json for the reports: strict about the keys documents need, tolerant of
everything else (docs/FORMATS.md §3). Numbers are read as Decimal. A results folder must hold a
complete set (run.json's digests match; `evaluator.scoring.results.read_results_bytes`)."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import InputError, Issue
from ..scoring.results import read_results_bytes

_NUMBER = (int, Decimal)


def results_path(results: Path) -> Path:
    results = Path(results)
    return results / "results.json" if results.is_dir() else results


def read_json(path: Path) -> Any:
    """The results in `path` (a results folder or file), refused when the set is inconsistent."""
    try:
        path, data = read_results_bytes(path)
    except InputError as exc:
        if not Path(path).exists():
            raise InputError(Issue(str(path), message="results file not found")) from None
        raise exc from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(Issue(str(path), 0, 0, "$", f"not valid UTF-8: {exc}")) from None
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InputError(Issue(str(path), exc.lineno, exc.colno, "$", f"not valid JSON: {exc.msg}")) from None


class _Checker:
    def __init__(self, file: str):
        self.file = file
        self.issues: list[Issue] = []

    def need(self, obj: Any, key: str, path: str, kinds: tuple, nullable: bool = False) -> Any:
        if not isinstance(obj, dict) or key not in obj:
            self.issues.append(Issue(self.file, path=f"{path}.{key}", message="required key is missing"))
            return None
        value = obj[key]
        if value is None and nullable:
            return None
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            want = " or ".join(k.__name__.replace("Decimal", "number").replace("int", "number") for k in kinds)
            self.issues.append(Issue(self.file, path=f"{path}.{key}", message=f"expected {want}, got {value!r}"))
            return None
        return value


def load_results(results: Path) -> dict:
    """Load and check results.json (a file or the folder holding it); raise InputError listing
    every missing or mistyped key the documents rely on."""
    path = results_path(results)
    data = read_json(Path(results))
    c = _Checker(str(path))
    if not isinstance(data, dict):
        raise InputError(Issue(str(path), path="$", message="expected a JSON object"))
    rnd = c.need(data, "round", "$", (dict,))
    if rnd is not None:
        for key in ("id", "title", "issuer"):
            c.need(rnd, key, "$.round", (str,))
        period = c.need(rnd, "period", "$.round", (dict,))
        if period is not None:
            c.need(period, "from", "$.round.period", (str,))
            c.need(period, "to", "$.round.period", (str,))
    orgs = c.need(data, "organizations", "$", (list,)) or []
    seen: set[str] = set()
    for i, org in enumerate(orgs):
        p = f"$.organizations[{i}]"
        if not isinstance(org, dict):
            c.issues.append(Issue(str(path), path=p, message="expected an object"))
            continue
        oid = c.need(org, "id", p, (str,))
        if oid in seen:
            c.issues.append(Issue(str(path), path=f"{p}.id", message=f"duplicate organization id {oid!r}"))
        seen.add(oid)
        c.need(org, "name", p, (str,))
        c.need(org, "type", p, (str,))
        status = c.need(org, "status", p, (str,))
        if status not in (None, "graded", "not_graded"):
            c.issues.append(Issue(str(path), path=f"{p}.status", message=f"expected graded or not_graded, got {status!r}"))
        graded = status == "graded"
        c.need(org, "total", p, _NUMBER, nullable=not graded)
        c.need(org, "tier", p, (str,), nullable=not graded)
        rank = c.need(org, "rank", p, (dict,), nullable=not graded)
        if graded and rank is not None:
            c.need(rank, "round", f"{p}.rank", (int,))
        for j, crit in enumerate(c.need(org, "criteria", p, (list,)) or []):
            q = f"{p}.criteria[{j}]"
            for key in ("id", "title", "outcome"):
                c.need(crit, key, q, (str,))
            c.need(crit, "points", q, _NUMBER)
            c.need(crit, "max_points", q, _NUMBER)
        if len(c.issues) > 50:
            break
    if c.issues:
        raise InputError(c.issues)
    return data


def load_previous(results: Path | None) -> dict[str, dict]:
    """The previous round's organizations by id (only id, tier, tier_name, total, rank are read)."""
    if results is None:
        return {}
    path = results_path(results)
    data = read_json(Path(results))
    orgs = data.get("organizations") if isinstance(data, dict) else None
    if not isinstance(orgs, list):
        raise InputError(Issue(str(path), path="$.organizations", message="required key is missing"))
    out = {}
    for o in orgs:
        if isinstance(o, dict) and isinstance(o.get("id"), str):
            rank = o.get("rank")
            out[o["id"]] = {"tier": o.get("tier"), "tier_name": o.get("tier_name"), "total": o.get("total"),
                            "rank": rank.get("round") if isinstance(rank, dict) else rank,
                            "round_title": (data.get("round") or {}).get("title", "")}
    return out
