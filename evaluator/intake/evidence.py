"""Evidence intake: per-organization YAML/JSON and bulk CSV/XLSX, normalized and resolved.

Reading happens in two steps so that every problem can name its file and line:
1. `collect()` reads files into `RawEntry`s (raw text as typed, with provenance and location);
2. `resolve()` normalizes them against the organization's standard, lets the verified
   value win, and turns a self-report that differs beyond tolerance into a finding.
"""
from __future__ import annotations

import csv
import functools
import difflib
import hashlib
from dataclasses import dataclass, field as dc_field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from ..errors import InputError, Issue, json_path
from ..terms import value_text
from ..model import Evidence, Field, Finding, Standard
from .normalize import NormalizeError, normalize
from ..standard.schema import check as schema_check
from ..standard.yamlsafe import load_document

SOURCES = ("self", "verified")
_DATE = Field(id="verified_on", type="date", label="核查日期")


@dataclass
class RawEntry:
    """One field's evidence for one organization as typed, with where it came from."""
    values: dict = dc_field(default_factory=dict)     # 'self' / 'verified' -> raw value
    inspector: str | None = None
    verified_on: Any = None
    where: dict = dc_field(default_factory=dict)      # 'self' / 'verified' -> Issue template (file, line, col, path)
    bulk: set = dc_field(default_factory=set)         # sources whose values are rows of a bulk file


@dataclass
class RawEvidence:
    organization: str
    fields: dict[str, RawEntry] = dc_field(default_factory=dict)
    files: set[str] = dc_field(default_factory=set)


class _Collector:
    def __init__(self):
        self.by_org: dict[str, RawEvidence] = {}
        self.issues: list[Issue] = []
        self.notices: list[Issue] = []
        self.digest = hashlib.sha256()
        self.files: list[str] = []

    def org(self, org_id: str) -> RawEvidence:
        raw = self.by_org.get(org_id)
        if raw is None:
            raw = self.by_org[org_id] = RawEvidence(org_id)
        return raw

    def put(self, org_id, fid, source, value, where: Issue, inspector=None, verified_on=None, append=False):
        """Record one value. append=True adds one row of a bulk records file to that field's list;
        a field's records come from bulk rows or from one document, never both (whatever the
        order the files are read in)."""
        raw = self.org(org_id)
        entry = raw.fields.get(fid)
        if entry is None:
            entry = raw.fields[fid] = RawEntry()
        raw.files.add(where.file)
        if source in entry.values and not (append and source in entry.bulk):
            first = entry.where[source]
            self.issues.append(Issue(where.file, where.line, where.col, where.path,
                                     f"duplicate {source} value for organization '{org_id}' field '{fid}' "
                                     f"(first given at {first.file}:{first.line})"))
            return
        if append:
            entry.values.setdefault(source, []).append(value)
            entry.where.setdefault(source, where)
            entry.bulk.add(source)
        else:
            entry.values[source] = value
            entry.where[source] = where
        if inspector:
            entry.inspector = inspector
        if verified_on:
            entry.verified_on = verified_on


# ------------------------------------------------------------------ reading files

def collect(paths: Iterable[Path]) -> tuple[dict[str, RawEvidence], str, list[str], list[Issue]]:
    """Read every evidence file under `paths`; returns (raw evidence by org, digest, files, notices).

    Notices are problems that do not stop the run but must be shown (a hidden sheet ignored).

    Files are read in sorted order so the evidence digest is stable."""
    c = _Collector()
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files += sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in (".yaml", ".yml", ".json", ".csv", ".xlsx"))
        elif p.is_file():
            files.append(p)
        else:
            c.issues.append(Issue(str(p), 0, 0, "$", "evidence path does not exist"))
    for f in files:
        c.digest.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
        c.files.append(str(f))
        suffix = f.suffix.lower()
        try:
            if suffix in (".yaml", ".yml", ".json"):
                _read_document(c, f)
            elif suffix == ".csv":
                _read_csv(c, f)
            elif suffix == ".xlsx":
                _read_xlsx(c, f)
        except InputError as e:
            c.issues += e.issues
    if c.issues:
        raise InputError(c.issues)
    return c.by_org, "sha256:" + c.digest.hexdigest(), c.files, c.notices


def _read_document(c: _Collector, path: Path):
    data, loc = load_document(path)
    issues = schema_check(data, "evidence", loc)
    if issues:
        raise InputError(issues)
    docs = [(data, ())] if "organization" in data else [(d, ("organizations", i)) for i, d in enumerate(data["organizations"])]
    for doc, base in docs:
        _add_document(c, doc, base, loc, str(path))


def _add_document(c: _Collector, doc: dict, base: tuple, loc, filename: str):
    org = str(doc["organization"])
    c.org(org).files.add(filename)
    for kind in ("values", "records"):
        for fid, v in (doc.get(kind) or {}).items():
            p = base + (kind, fid)
            if isinstance(v, dict):          # {self, verified, inspector, verified_on}
                for s in SOURCES:
                    if s in v:
                        line, col = loc.where(list(p + (s,)))
                        c.put(org, fid, s, v[s], Issue(filename, line, col, json_path(p + (s,))),
                              v.get("inspector"), v.get("verified_on"))
            else:
                line, col = loc.where(list(p))
                c.put(org, fid, "self", v, Issue(filename, line, col, json_path(p)))


def raw_from_mapping(doc: dict, loc, filename: str, base: tuple = ()) -> RawEvidence:
    """Evidence given inline (golden cases): the same shape as an evidence file."""
    c = _Collector()
    _add_document(c, doc, base, loc, filename)
    if c.issues:
        raise InputError(c.issues)
    return c.by_org[str(doc["organization"])]


_VALUE_COLS = ("organization", "field", "self", "verified", "inspector", "verified_on")
_RECORD_COLS = ("organization", "date", "title", "source", "inspector", "verified_on")
_HEADER_ZH = {"组织编号": "organization", "编号": "organization", "指标字段": "field", "字段": "field",
              "自评": "self", "自评值": "self", "核查": "verified", "核查值": "verified", "核查人": "inspector",
              "核查日期": "verified_on", "日期": "date", "标题": "title", "名称": "title", "来源": "source"}


def _header(row, where_file, required, sheet=""):
    cols = [_HEADER_ZH.get(str(h).strip(), str(h).strip().lower()) if h is not None else "" for h in row]
    missing = [r for r in required if r not in cols]
    if missing:
        raise InputError(Issue(where_file, 1, 1, f"{sheet}header", f"missing column(s) {', '.join(missing)}; expected {', '.join(required)}"))
    return {name: i for i, name in enumerate(cols) if name}


def _rows_values(c: _Collector, rows, file, sheet=""):
    it = iter(rows)
    head = _header(next(it, []), file, ("organization", "field", "self"), sheet)
    for n, row in enumerate(it, start=2):
        get = lambda k: row[head[k]] if k in head and head[k] < len(row) else None
        org = _cell_text(get("organization"))
        if not org and all(_cell_text(x) == "" for x in row):
            continue                       # blank line
        fid = _cell_text(get("field"))
        if not org or not fid:
            c.issues.append(Issue(file, n, 1, f"{sheet}row {n}", "organization and field must not be blank"))
            continue
        for s in SOURCES:
            if s in head:
                v = get(s)
                if v is not None and _cell_text(v) != "":
                    c.put(org, fid, s, v, Issue(file, n, head[s] + 1, f"{sheet}row {n}.{s}"),
                          _cell_text(get("inspector")) or None, get("verified_on"))


def _rows_records(c: _Collector, rows, file, fid, sheet=""):
    it = iter(rows)
    required = ("organization", "date") + (() if fid else ("field",))
    head = _header(next(it, []), file, required, sheet)
    for n, row in enumerate(it, start=2):
        get = lambda k: row[head[k]] if k in head and head[k] < len(row) else None
        org = _cell_text(get("organization"))
        if not org and all(_cell_text(x) == "" for x in row):
            continue
        kind = fid or _cell_text(get("field"))
        source = _cell_text(get("source")) or "self"
        source = {"自评": "self", "核查": "verified"}.get(source, source)
        if source not in SOURCES:
            c.issues.append(Issue(file, n, head.get("source", 0) + 1, f"{sheet}row {n}.source",
                                  f"source '{source}' must be self or verified (自评/核查)"))
            continue
        rec = {"date": get("date")}
        if _cell_text(get("title")):
            rec["title"] = _cell_text(get("title"))
        c.put(org, kind, source, rec, Issue(file, n, head["date"] + 1, f"{sheet}row {n}.date"),
              _cell_text(get("inspector")) or None, get("verified_on"), append=True)


def read_csv_rows(path: Path) -> list[list[str]]:
    """A CSV as rows; UTF-8 with or without BOM (as Excel saves it), else a precise error."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return list(csv.reader(fh))
    except UnicodeDecodeError as e:
        raise InputError(Issue(str(path), 0, 0, "$", f"not UTF-8 text (byte {e.start}); save the CSV as UTF-8")) from None


def _read_csv(c: _Collector, path: Path):
    rows = read_csv_rows(path)
    if path.stem == "values" or path.stem.endswith(".values") or path.stem.endswith("_values"):
        _rows_values(c, rows, str(path))
    elif path.stem == "records" or path.stem.endswith("_records") or path.stem.endswith(".records"):
        _rows_records(c, rows, str(path), None)
    else:
        raise InputError(Issue(str(path), 0, 0, "$", "a bulk CSV must be named values.csv or records.csv"))


def _read_xlsx(c: _Collector, path: Path):
    import openpyxl
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:          # openpyxl raises many kinds for a broken file
        raise InputError(Issue(str(path), 0, 0, "$", f"cannot read as XLSX: {e}")) from None
    try:
        for ws in wb.worksheets:
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
            if not rows:
                continue
            if ws.title == "values":
                _rows_values(c, rows, str(path), f"{ws.title}!")
            else:
                _rows_records(c, rows, str(path), ws.title, f"{ws.title}!")
    finally:
        wb.close()


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


# ------------------------------------------------------------------ resolving

def resolve(raw: RawEvidence | None, org_id: str, standard: Standard) -> tuple[Evidence, list[Issue]]:
    """Normalize one organization's evidence against its standard."""
    ev = Evidence(org_id)
    issues: list[Issue] = []
    if raw is None:
        return ev, issues
    for fid, entry in raw.fields.items():
        f = standard.fields.get(fid)
        if f is None:
            hint = difflib.get_close_matches(fid, list(standard.fields), 1)
            w = next(iter(entry.where.values()))
            issues.append(Issue(w.file, w.line, w.col, w.path,
                                f"unknown field '{fid}' for standard '{standard.id}'" + (f"; did you mean '{hint[0]}'?" if hint else "")))
            continue
        if "verified" in entry.values and not entry.inspector:
            w = entry.where["verified"]
            issues.append(Issue(w.file, w.line, w.col, w.path,
                                f"{f.label}（{fid}）: a verified value needs the inspector who verified it (inspector)"))
        got = {}
        for s, raw_value in entry.values.items():
            try:
                got[s] = normalize(raw_value, f)
            except NormalizeError as e:
                w = entry.where[s]
                issues.append(Issue(w.file, w.line, w.col, w.path, f"{f.label}（{fid}）: {e.message}"))
        if "verified" in got and got["verified"] is not None:
            ev.values[fid] = got["verified"]
            verified_on = None
            if entry.verified_on not in (None, ""):
                try:
                    verified_on = normalize(entry.verified_on, _DATE).isoformat()
                except NormalizeError as e:
                    w = entry.where["verified"]
                    issues.append(Issue(w.file, w.line, w.col, w.path, f"verified_on: {e.message}"))
            ev.provenance[fid] = {"source": "verified", "inspector": entry.inspector, "verified_on": verified_on}
        elif got.get("self") is not None:
            ev.values[fid] = got["self"]
            ev.provenance[fid] = {"source": "self"}
        if got.get("self") is not None:
            ev.self_values[fid] = got["self"]
        if got.get("self") is not None and got.get("verified") is not None:
            finding = _mismatch(f, got["self"], got["verified"])
            if finding:
                ev.findings.append(finding)
    return ev, issues


def _mismatch(f: Field, self_v, verified) -> Finding | None:
    if f.type == "records":
        gap = abs(len(self_v) - len(verified))
        if gap > f.tolerance:
            return Finding("self_report_mismatch", f.id,
                           f"{f.label}：自报 {len(self_v)} 条，核查 {len(verified)} 条，相差 {gap} 条",
                           len(self_v), len(verified))
        return None
    if isinstance(self_v, Decimal) and isinstance(verified, Decimal):
        gap = abs(self_v - verified)
        allowed = f.tolerance * abs(verified) if f.tolerance_relative else f.tolerance
        if gap > allowed:
            return Finding("self_report_mismatch", f.id,
                           f"{f.label}：自报 {value_text(self_v, f)}，核查 {value_text(verified, f)}，超出允许误差", self_v, verified)
        return None
    if self_v != verified:
        return Finding("self_report_mismatch", f.id,
                       f"{f.label}：自报 {value_text(self_v, f)}，核查 {value_text(verified, f)}", self_v, verified)
    return None
