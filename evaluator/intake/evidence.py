"""Evidence intake: per-organization YAML/JSON and bulk CSV/XLSX, normalized and resolved.

Reading happens in two steps so that every problem can name its file and line:
1. `collect()` reads files into `RawEntry`s (raw text as typed, with provenance and location);
2. `resolve()` normalizes them against the organization's standard, lets the verified
   value win, and turns what the grade must not silently absorb into findings: a self-report
   that differs beyond tolerance, a verified value left blank, a record listed twice.
"""
from __future__ import annotations

import csv
import datetime
import difflib
import functools
import hashlib
import io
import itertools
import operator
import re
from dataclasses import dataclass, field as dc_field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, NamedTuple

from ..errors import InputError, Issue, json_path
from ..terms import spaced, value_text
from ..model import Evidence, Field, Finding, Record, Standard
from .normalize import NormalizeError, is_blank, normalize, positions_of
from ..standard.schema import check as schema_check, check_with, make_validator, schema
from ..standard.yamlsafe import control_message, decode_text, find_control, gc_paused, load_document, read_limited

SOURCES = ("self", "verified")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE = Field(id="verified_on", type="date", label="核查日期")


class RawEntry:
    """One field's evidence for one organization as typed, with where it came from. A plain
    class with slots: intake makes one per organization and field, a million in a large round."""
    __slots__ = ("values", "inspector", "verified_on", "where", "bulk", "rows", "verified_on_where", "ons", "street")

    def __init__(self):
        self.values: dict = {}                        # 'self' / 'verified' -> raw value
        self.inspector: str | None = None
        self.verified_on: Any = None
        self.where: dict = {}                         # 'self' / 'verified' -> Issue template (file, line, col, path)
        self.bulk: set = set()                        # sources whose values are rows of a bulk file
        self.rows: dict = {}                          # bulk source -> where each row is, in order
        self.verified_on_where: Issue | None = None   # where verified_on was written
        self.ons: list = []                           # every (verified_on, where) given: each is checked
        self.street: str | None = None                # 'district/street' when the street's evidence gave it


@dataclass
class RawEvidence:
    organization: str
    fields: dict[str, RawEntry] = dc_field(default_factory=dict)
    files: set[str] = dc_field(default_factory=set)
    where: Issue | None = None                        # where the organization is first named


class _Collector:
    def __init__(self, organizations=None, standards=None):
        self.organizations = organizations            # the registry, for street evidence (None: not expanded)
        self.standards = standards                    # org type -> Standard: reads workbooks' Chinese headers
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

    def named(self, org_id: str, file: str, where) -> RawEvidence:
        """The organization as named at `where` (a document's `organization` key, a row's cell)."""
        raw = self.by_org.get(org_id)
        if raw is None:
            raw = self.by_org[org_id] = RawEvidence(org_id)
        if raw.where is None:
            raw.where = where
            raw.files.add(file)
        elif file not in raw.files:
            raw.files.add(file)
        return raw

    def put(self, org_id, fid, source, value, where: Issue, inspector=None, verified_on=None, append=False,
            verified_on_where: Issue | None = None, street: str | None = None):
        """Record one value. append=True adds one row of a bulk records file to that field's list;
        a field's records come from bulk rows or from one document, never both (whatever the
        order the files are read in). street: the value is its street's ('district/street'),
        given to each of the street's organizations; the organization may not give the field too."""
        raw = self.by_org.get(org_id)
        if raw is None:
            raw = self.by_org[org_id] = RawEvidence(org_id)
        entry = raw.fields.get(fid)
        if entry is None:
            entry = raw.fields[fid] = RawEntry()
            entry.street = street
        raw.files.add(where.file)
        values = entry.values
        if entry.street != street and values:
            self.issues.append(_street_clash(org_id, fid, entry, where, street))
            return
        if source in values and not (append and source in entry.bulk):
            first = entry.where[source]
            self.issues.append(Issue(where.file, where.line, where.col, where.path,
                                     f"duplicate {source} value for organization '{org_id}' field '{fid}' "
                                     f"(first given at {first.file}:{first.line})"))
            return
        if append:
            listed = values.get(source)
            if listed is None:
                values[source] = [value]
                entry.where[source] = where
                entry.rows[source] = [where]
                entry.bulk.add(source)
            else:
                listed.append(value)
                entry.rows[source].append(where)
        else:
            values[source] = value
            entry.where[source] = where
        if inspector:
            entry.inspector = inspector
        if verified_on:
            entry.verified_on = verified_on
            entry.verified_on_where = verified_on_where or where
            on = (verified_on, entry.verified_on_where)
            if not entry.ons or entry.ons[-1] != on:       # a row's self and verified share one date cell
                entry.ons.append(on)


# ------------------------------------------------------------------ reading files

def collect(paths: Iterable[Path], organizations=None, standards=None) -> tuple[dict[str, RawEvidence], str, list[str], list[Issue]]:
    """Read every evidence file under `paths`; returns (raw evidence by org, digest, files, notices).

    Notices are problems that do not stop the run but must be shown (a hidden sheet ignored).
    With the registry (`organizations`), a street's evidence is given to its organizations;
    with the round's standards (org type -> Standard), a workbook may name fields by label.

    Files are read in sorted order so the evidence digest is stable."""
    c = _Collector(organizations, standards)
    with gc_paused():                    # bulk building of acyclic data (see gc_paused)
        for f in evidence_files(paths, c.issues):
            _read_file(c, f)
    if c.issues:
        raise InputError(c.issues)
    return c.by_org, "sha256:" + c.digest.hexdigest(), c.files, c.notices


EVIDENCE_SUFFIXES = (".yaml", ".yml", ".json", ".csv", ".xlsx")


def evidence_files(paths: Iterable[Path], issues: list[Issue]) -> list[Path]:
    """The evidence files under `paths`, folders searched, in a stable order."""
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files += sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in EVIDENCE_SUFFIXES)
        elif p.is_file():
            files.append(p)
        else:
            issues.append(Issue(str(p), 0, 0, "$", "evidence path does not exist"))
    return files


def digest_file(digest, f: Path, data: bytes) -> None:
    """One evidence file into the round's evidence digest (results.json's evidence_digest):
    its name and its bytes. Three updates give the digest of the joined bytes without copying
    the file first (records.csv at 20,000 organizations: 0.06 s instead of 0.13 s, 70 MB less
    at peak)."""
    digest.update(f.name.encode() + b"\0")
    digest.update(data)
    digest.update(b"\0")


def evidence_digest(paths: Iterable[Path]) -> str | None:
    """The evidence digest of the files under `paths` from their bytes alone, without reading
    them as evidence (what-if asks whether results are of the evidence as it is now); None
    when a path is missing or a file cannot be read (the evidence is then read and refused)."""
    issues: list[Issue] = []
    h = hashlib.sha256()
    try:
        for f in evidence_files(paths, issues):
            digest_file(h, f, read_limited(f))
    except InputError:
        return None
    return None if issues else "sha256:" + h.hexdigest()


def _read_file(c: _Collector, f: Path) -> None:
    """One evidence file into the collector; its problems join the others."""
    suffix = f.suffix.lower()
    try:
        # refused before reading when above the size limit; a collector may get the bytes its
        # own way (intake.partition maps a bulk file a helper process reads: it only hashes it)
        data = c.file_bytes(f) if hasattr(c, "file_bytes") else read_limited(f)
        digest_file(c.digest, f, data)
        c.files.append(str(f))
        if suffix in (".yaml", ".yml", ".json"):
            _read_document(c, f, data)
        elif suffix == ".csv":
            # a collector may read bulk CSV its own way (intake.partition, column-wise)
            reader = getattr(c, "read_csv", None)
            reader(f, data) if reader is not None else _read_csv(c, f, data)
        elif suffix == ".xlsx":
            from .workbook import read_workbook      # (it reads its rows with this module's readers)
            read_workbook(c, f, data)
    except InputError as e:
        c.issues += e.issues


def _read_document(c: _Collector, path: Path, data: bytes | None = None):
    doc, loc = load_document(path, data=data)
    issues = _schema_issues(doc, loc)
    if issues:
        raise InputError(issues)
    docs = [(doc, ())] if "organization" in doc or "street" in doc \
        else [(d, ("organizations", i)) for i, d in enumerate(doc["organizations"])]
    for one, base in docs:
        if "street" in one:
            _add_street_document(c, one, base, loc, str(path))
        else:
            _add_document(c, one, base, loc, str(path))


def _add_document(c: _Collector, doc: dict, base: tuple, loc, filename: str):
    org = str(doc["organization"])
    line, col = loc.where(list(base + ("organization",)))
    c.named(org, filename, Issue(filename, line, col, json_path(base + ("organization",))))
    _add_values(c, org, doc, base, loc, filename)


def _add_values(c, org: str, doc: dict, base: tuple, loc, filename: str, street: str | None = None):
    """A document's values and records into the collector, for one organization."""
    for kind in ("values", "records"):
        for fid, v in (doc.get(kind) or {}).items():
            p = base + (kind, fid)
            if isinstance(v, dict):          # {self, verified, inspector, verified_on}
                on = p + ("verified_on",)
                on_where = Issue(filename, *loc.where(list(on)), json_path(on)) if "verified_on" in v else None
                for s in SOURCES:
                    if s in v:
                        line, col = loc.where(list(p + (s,)))
                        c.put(org, fid, s, v[s], Issue(filename, line, col, json_path(p + (s,))),
                              v.get("inspector"), v.get("verified_on"), verified_on_where=on_where,
                              **({"street": street} if street else {}))
            else:
                line, col = loc.where(list(p))
                c.put(org, fid, "self", v, Issue(filename, line, col, json_path(p)), **({"street": street} if street else {}))


# ------------------------------------------------------------------ a street's own evidence

class Streets:
    """The registry's streets (街道/镇): (district, street) -> its organizations' ids, in
    registry order; and what street evidence has already given (each value given once)."""

    def __init__(self, organizations):
        self.members: dict[tuple[str, str], list[str]] = {}
        for o in organizations:
            if o.street:
                self.members.setdefault((o.district, o.street), []).append(o.id)
        self.given: dict[tuple, Issue] = {}

    def find(self, text: str) -> tuple[tuple[str, str] | None, str]:
        """'东区/一街道' (or '一街道' when one district has it) -> (key, ''); (None, why) otherwise."""
        text = str(text).strip()
        district, sep, street = text.rpartition("/")
        if sep:
            key = (district.strip(), street.strip())
            if key in self.members:
                return key, ""
        else:
            keys = [k for k in self.members if k[1] == text]
            if len(keys) == 1:
                return keys[0], ""
            if len(keys) > 1:
                return None, (f"street '{text}' is in several districts ({', '.join(sorted(k[0] for k in keys))}); "
                              f"write it as district/street, e.g. '{keys[0][0]}/{text}'")
        names = [f"{d}/{s}" if d else s for d, s in self.members]
        hint = difflib.get_close_matches(text, names, 1)
        return None, (f"no organization of the registry is in street '{text}'"
                      + (f"; did you mean '{hint[0]}'?" if hint else " (write district/street as the registry names them)"))


def street_name(key: str) -> str:
    """'东区/一街道' -> '东区一街道' (how documents name a street)."""
    return key.replace("/", "")


def _add_street_document(c, doc: dict, base: tuple, loc, filename: str):
    """`street: 东区/一街道` with values and records: given to every organization of that street
    of the registry (each value carries the street, so resolve() says where it came from)."""
    streets = _streets_of(c)
    if streets is None:              # an evidence file checked on its own: no registry to expand to
        return
    p = base + ("street",)
    key, why = streets.find(doc["street"])
    if key is None:
        c.issues.append(Issue(filename, *loc.where(list(p)), json_path(p), why))
        return
    label = f"{key[0]}/{key[1]}" if key[0] else key[1]
    for kind in ("values", "records"):
        for fid, v in (doc.get(kind) or {}).items():
            q = base + (kind, fid)
            first = streets.given.get((key, fid))
            why_not = _unknown_street_field(c, fid, label)
            if first is not None or why_not:
                c.issues.append(Issue(filename, *loc.where(list(q)), json_path(q), why_not or
                                      f"duplicate value for street '{label}' field '{fid}' (first given at {first.file}:{first.line})"))
                doc = dict(doc, **{kind: {k: x for k, x in doc[kind].items() if k != fid}})
                continue
            streets.given[(key, fid)] = Issue(filename, *loc.where(list(q)), json_path(q))
    for org in streets.members[key]:
        _add_values(c, org, doc, base, loc, filename, label)


def _unknown_street_field(c, fid: str, label: str) -> str | None:
    """Why a street's field is no field at all, or None. A street's evidence reaches
    organizations of several standards (a community's 两新 organizations are not scored on
    the street's joint meetings), so it is checked against every standard of the round, once,
    here, and never as a misspelling of one organization's fields (resolve)."""
    standards = getattr(c, "standards", None)
    if not standards:
        return None
    known = c.__dict__.get("street_fields")
    if known is None:                # once per collector: a street sheet asks for every row
        known = c.street_fields = frozenset(f for std in standards.values() for f in std.fields)
    if fid in known:
        return None
    hint = difflib.get_close_matches(fid, sorted(known), 1)
    return (f"unknown field '{fid}' for street '{label}': no standard of the round has it"
            + (f"; did you mean '{hint[0]}'?" if hint else ""))


def _streets_of(c) -> Streets | None:
    """The collector's Streets, made from its registry when first needed (None: no registry)."""
    streets = c.__dict__.get("streets")
    if streets is None:
        orgs = getattr(c, "organizations", None)
        if orgs is None:
            return None
        streets = c.streets = Streets(orgs)
    return streets


def _street_rows(c, head: dict, numbered, file, sheet, _cell_text) -> None:
    """Rows of a values sheet with a `street` column (街道) instead of `organization`: each
    row is its street's value, given to every organization of the street."""
    streets = _streets_of(c)
    if streets is None:
        return
    i_street, i_field = head["street"], head["field"]
    i_insp, i_on = head.get("inspector"), head.get("verified_on")
    sources = [(s, head[s]) for s in SOURCES if s in head]
    for n, row in _padded(numbered, max(head.values()) + 1):
        if all(_cell_text(x) == "" for x in row):
            continue
        text, fid = _cell_text(row[i_street]), _cell_text(row[i_field])
        if not text or not fid:
            w = _at(file, sheet, n, i_street + 1 if not text else i_field + 1, "street" if not text else "field")
            c.issues.append(Issue(w.file, w.line, w.col, w.path, "street and field must not be blank"))
            continue
        key, why = streets.find(text)
        if key is None:
            w = _at(file, sheet, n, i_street + 1, "street")
            c.issues.append(Issue(w.file, w.line, w.col, w.path, why))
            continue
        label = f"{key[0]}/{key[1]}" if key[0] else key[1]
        w = _at(file, sheet, n, i_field + 1, "field")
        why_not = _unknown_street_field(c, fid, label)
        if why_not:
            c.issues.append(Issue(w.file, w.line, w.col, w.path, why_not))
            continue
        first = streets.given.get((key, fid))
        if first is not None:
            c.issues.append(Issue(w.file, w.line, w.col, w.path,
                                  f"duplicate value for street '{label}' field '{fid}' (first given at {first.file}:{first.line})"))
            continue
        streets.given[(key, fid)] = w
        inspector = (_cell_text(row[i_insp]) or None) if i_insp is not None else None
        on = row[i_on] if i_on is not None else None
        on_where = _at(file, sheet, n, i_on + 1, "verified_on") if on else None
        for org in streets.members[key]:
            for s, i in sources:
                v = row[i]
                if (v is None or _cell_text(v) == "") and not (s == "verified" and inspector):
                    continue
                c.put(org, fid, s, v, _at(file, sheet, n, i + 1, s), inspector, on,
                      verified_on_where=on_where, street=label)


def _street_clash(org_id: str, fid: str, entry: RawEntry, where, street: str | None) -> Issue:
    """The organization gives a field its street's evidence gives too: refused (at the later
    of the two), since one of them would silently not count."""
    first = next(iter(entry.where.values()))
    given = entry.street or street
    return Issue(where.file, where.line, where.col, where.path,
                 f"field '{fid}' of organization '{org_id}' is given both for its street '{given}' and for the "
                 f"organization itself (first at {first.file}:{first.line}); a street's evidence is entered once, "
                 "for the street: remove one of them")


def raw_from_mapping(doc: dict, loc, filename: str, base: tuple = ()) -> RawEvidence:
    """Evidence given inline (golden cases): the same shape as an evidence file."""
    c = _Collector()
    _add_document(c, doc, base, loc, filename)
    if c.issues:
        raise InputError(c.issues)
    return c.by_org[str(doc["organization"])]


# ------------------------------------------------------------------ schema check, fast

class _Within:
    """A locator for one organization of a file holding several: paths get the item's prefix."""

    def __init__(self, loc, base: tuple):
        self.loc, self.base = loc, base

    def issue(self, path, message: str) -> Issue:
        return self.loc.issue(list(self.base) + list(path), message)


_VALIDATORS: dict = {}


def _org_validator(kind: str = "organization"):
    """The evidence schema's `organization` (or `street`) definition as a validator of its own,
    so a file of many organizations is checked (and its errors explained) one at a time."""
    v = _VALIDATORS.get(kind)
    if v is None:
        s = schema("evidence")
        v = _VALIDATORS[kind] = make_validator({"$schema": s["$schema"], "$defs": s["$defs"], "$ref": f"#/$defs/{kind}"})
    return v


def _schema_issues(doc: Any, loc) -> list[Issue]:
    """The evidence schema's verdict. jsonschema costs about a second per megabyte, so each
    organization first goes through `_plainly_valid` (a strict subset of the schema, in plain
    Python); only what it does not vouch for is checked, and explained, by the schema."""
    if isinstance(doc, dict) and "street" in doc and "organization" not in doc:
        return check_with(doc, _org_validator("street"), loc)
    if isinstance(doc, dict) and "organization" in doc:
        items = [(doc, ())]
    elif isinstance(doc, dict) and list(doc) == ["organizations"] and isinstance(doc["organizations"], list):
        items = [(d, ("organizations", i)) for i, d in enumerate(doc["organizations"])]
    else:
        return schema_check(doc, "evidence", loc)
    issues: list[Issue] = []
    for one, base in items:
        if not _plainly_valid(one):
            kind = "street" if isinstance(one, dict) and "street" in one and "organization" not in one else "organization"
            issues += check_with(one, _org_validator(kind), _Within(loc, base))
    return issues


_NAME = re.compile(r"[a-z][a-z0-9_]*")
_SCALAR = (str, int, Decimal, bool, type(None), datetime.date)
_SOURCED_KEYS = frozenset({"self", "verified", "inspector", "verified_on", "note"})


def _plainly_valid(doc: Any) -> bool:
    """True only for an organization document the schema certainly accepts (False means: ask
    the schema). Kept stricter than the schema on purpose; tests check it never says True
    where the schema refuses."""
    if not isinstance(doc, dict) or "organization" not in doc or not doc.keys() <= {"organization", "values", "records"}:
        return False
    org = doc["organization"]
    if isinstance(org, bool) or not isinstance(org, (str, int, Decimal)):
        return False
    values, records = doc.get("values", {}), doc.get("records", {})
    if not isinstance(values, dict) or not isinstance(records, dict):
        return False
    for fid, v in values.items():
        if not _NAME.fullmatch(fid):
            return False
        if isinstance(v, dict):
            if not _plain_sourced(v, _plain_scalar):
                return False
        elif not isinstance(v, _SCALAR):
            return False
    for fid, v in records.items():
        if not _NAME.fullmatch(fid):
            return False
        if isinstance(v, dict):
            if not _plain_sourced(v, _plain_record_list):
                return False
        elif not _plain_record_list(v):
            return False
    return True


def _plain_scalar(v) -> bool:
    return isinstance(v, _SCALAR)


def _plain_sourced(v: dict, ok) -> bool:
    if not v or not v.keys() <= _SOURCED_KEYS:
        return False
    if "verified" in v and "inspector" not in v:
        return False
    if any(s in v and not ok(v[s]) for s in SOURCES):
        return False
    if "inspector" in v and not isinstance(v["inspector"], str):
        return False
    if "note" in v and not isinstance(v["note"], str):
        return False
    # a date written as text must still pass the schema's date format: let the schema judge it
    return "verified_on" not in v or type(v["verified_on"]) is datetime.date


def _plain_record_list(v) -> bool:
    if v is None or isinstance(v, str):
        return True
    if not isinstance(v, list):
        return False
    for r in v:
        if isinstance(r, dict):
            if "date" not in r or not r.keys() <= {"date", "title"}:
                return False
            d = r["date"]
            if isinstance(d, bool) or not isinstance(d, (str, int, Decimal, datetime.date)):
                return False
            if "title" in r and not isinstance(r["title"], str):
                return False
        elif isinstance(r, bool) or not isinstance(r, (str, int, Decimal, datetime.date)):
            return False
    return True


# ------------------------------------------------------------------ bulk files (CSV, XLSX)

_VALUE_COLS = ("organization", "field", "self", "verified", "inspector", "verified_on")
_RECORD_COLS = ("organization", "date", "title", "source", "inspector", "verified_on")
_HEADER_ZH = {"组织编号": "organization", "编号": "organization", "街道": "street", "街道（乡镇）": "street", "指标字段": "field", "字段": "field",
              "组织名称": "name", "指标": "field", "记录类别": "field", "备注": "note",
              "自评": "self", "自评值": "self", "核查": "verified", "核查值": "verified", "核查人": "inspector",
              "核查日期": "verified_on", "日期": "date", "标题": "title", "名称": "title", "来源": "source"}


def column_letter(n: int) -> str:
    """1 -> A, 27 -> AA: how Excel names a column."""
    letters = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


class Cell(NamedTuple):
    """Where a cell is, read like an Issue (file, line, col, path): `values!C7` in a workbook
    (the sheet and cell Excel shows), `row 7.self` in a CSV file; line and column are the row
    and column either way. The path text is made only when a message needs it: intake keeps
    one of these per cell."""
    file: str
    line: int
    col: int
    sheet: str | None = None
    name: str = ""

    @property
    def path(self) -> str:
        if self.sheet is not None:
            return f"{self.sheet}!{column_letter(self.col)}{self.line}"
        return f"row {self.line}.{self.name}" if self.name else f"row {self.line}"


# Cell(...) through tuple.__new__ directly: a NamedTuple's own __new__ is a Python function,
# and intake makes a Cell for every cell it reads
_cell = tuple.__new__


def _at(file: str, sheet: str | None, row: int, col: int, name: str = "") -> Cell:
    return Cell(file, row, col, sheet, name)


def _header(row, where_file, required, sheet=None):
    cols = [_HEADER_ZH.get(str(h).strip(), str(h).strip().lower()) if h is not None else "" for h in row]
    missing = [r for r in required if r not in cols]
    if missing:
        w = _at(where_file, sheet, 1, 1, "header") if sheet is not None else Issue(where_file, 1, 1, "header")
        raise InputError(Issue(w.file, w.line, w.col, w.path, f"missing column(s) {', '.join(missing)}; expected {', '.join(required)}"))
    return {name: i for i, name in enumerate(cols) if name}


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _csv_text(v) -> str:
    """A CSV cell as text: always a string there (None only for a short row's missing cells)."""
    return v.strip() if v is not None else ""


SOURCE_WORDS = {"": "self", "自评": "self", "核查": "verified", "self": "self", "verified": "verified"}


def _padded(numbered, width: int):
    """(n, row) pairs with rows of at least `width` cells (short rows padded with None)."""
    pad = [None] * width
    for n, row in numbered:
        yield n, (row if len(row) >= width else list(row) + pad[:width - len(row)])


def _rows_values(c: _Collector, rows, file, sheet=None, _cell_text=_cell_text):
    it = iter(rows)
    head = values_head(next(it, []), file, sheet)
    values_rows(c, head, enumerate(it, start=2), file, sheet, _cell_text)


def streets_sheet(row) -> bool:
    """Whether a values or records sheet's header row makes it a sheet of streets' evidence: a
    `street` column (街道) instead of `organization`."""
    cols = {_HEADER_ZH.get(str(h).strip(), str(h).strip().lower()) for h in row if h is not None}
    return "street" in cols and "organization" not in cols


def values_head(row, file, sheet=None) -> dict:
    """A values sheet's header: column name -> index; refused when a required column is missing.
    A `street` column (街道) instead of `organization` makes it a sheet of streets' values."""
    if streets_sheet(row):
        return _header(row, file, ("street", "field", "self"), sheet)
    return _header(row, file, ("organization", "field", "self"), sheet)


def values_rows(c: _Collector, head: dict, numbered, file, sheet=None, _cell_text=_cell_text, full=False) -> None:
    """Rows of a values sheet, given as (row number, cells), into the collector. full=True:
    every row holds every column (rows of an Arrow table), so none needs padding."""
    if "organization" not in head:
        _street_rows(c, head, numbered, file, sheet, _cell_text)
        return
    i_org, i_field = head["organization"], head["field"]
    i_insp, i_on = head.get("inspector"), head.get("verified_on")
    sources = [(s, head[s]) for s in SOURCES if s in head]
    width = max(head.values()) + 1
    named, put = c.named, c.put
    last = None
    for n, row in (numbered if full else _padded(numbered, width)):
        org = _cell_text(row[i_org])
        if not org and all(_cell_text(x) == "" for x in row):
            continue                       # blank line
        fid = _cell_text(row[i_field])
        if not org or not fid:
            w = _at(file, sheet, n, i_org + 1 if not org else i_field + 1, "organization" if not org else "field")
            c.issues.append(Issue(w.file, w.line, w.col, w.path, "organization and field must not be blank"))
            continue
        if org != last:                    # naming it again in the same file changes nothing
            named(org, file, _cell(Cell, (file, n, i_org + 1, sheet, "organization")))
            last = org
        inspector = (_cell_text(row[i_insp]) or None) if i_insp is not None else None
        on = row[i_on] if i_on is not None else None
        on_where = _cell(Cell, (file, n, i_on + 1, sheet, "verified_on")) if on else None
        for s, i in sources:
            v = row[i]
            # A blank cell is no value, except a verified cell on a row that names its inspector:
            # that is the inspector's "nothing found" and must reach resolve().
            if (v is None or _cell_text(v) == "") and not (s == "verified" and inspector):
                continue
            put(org, fid, s, v, _cell(Cell, (file, n, i + 1, sheet, s)), inspector, on, verified_on_where=on_where)


def _rows_records(c: _Collector, rows, file, fid, sheet=None, _cell_text=_cell_text):
    it = iter(rows)
    head = records_head(next(it, []), file, fid, sheet)
    records_rows(c, head, enumerate(it, start=2), file, fid, sheet, _cell_text)


def records_head(row, file, fid, sheet=None) -> dict:
    """A records sheet's header (a sheet named after its field needs no field column)."""
    return _header(row, file, ("organization", "date") + (() if fid else ("field",)), sheet)


def records_rows(c: _Collector, head: dict, numbered, file, fid, sheet=None, _cell_text=_cell_text, full=False,
                 who: str = "organization") -> None:
    """Rows of a records sheet, given as (row number, cells), into the collector (full: as
    for values_rows; `who`: what the organization column holds as messages name it, a
    street's records sheet naming streets)."""
    i_org, i_date = head["organization"], head["date"]
    i_field, i_title, i_source = head.get("field"), head.get("title"), head.get("source")
    i_insp, i_on = head.get("inspector"), head.get("verified_on")
    width = max(head.values()) + 1
    named, put = c.named, c.put
    last = None
    for n, row in (numbered if full else _padded(numbered, width)):
        org = _cell_text(row[i_org])
        if not org and all(_cell_text(x) == "" for x in row):
            continue
        if org != last:                    # naming it again in the same file changes nothing
            named(org, file, _cell(Cell, (file, n, i_org + 1, sheet, who)))
            last = org
        kind = fid or _cell_text(row[i_field])
        typed = _cell_text(row[i_source]) if i_source is not None else ""
        source = SOURCE_WORDS.get(typed)
        if source is None:
            w = _at(file, sheet, n, (i_source or 0) + 1, "source")
            c.issues.append(Issue(w.file, w.line, w.col, w.path, f"source '{typed}' must be self or verified (自评/核查)"))
            continue
        day = row[i_date]
        title = _cell_text(row[i_title]) if i_title is not None else ""
        rec = record_as_put(day, title)
        on = row[i_on] if i_on is not None else None
        put(org, kind, source, rec, _cell(Cell, (file, n, i_date + 1, sheet, "date")),
            (_cell_text(row[i_insp]) or None) if i_insp is not None else None, on, append=True,
            verified_on_where=_cell(Cell, (file, n, i_on + 1, sheet, "verified_on")) if on else None)


_NUL_STAND_IN = "\ufdd0"   # a noncharacter: lets the csv module (which refuses NUL) parse the file


def read_csv_rows(path: Path, data: bytes | None = None) -> list[list[str]]:
    """A CSV as rows; UTF-8 with or without BOM (as Excel saves it), else a precise error.
    A cell holding a control character (NUL included) is refused at its row and column."""
    name = str(path)
    text = decode_text(read_limited(path, name) if data is None else data, name)
    dirty = find_control(text) is not None
    if dirty:
        text = text.replace("\x00", _NUL_STAND_IN)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[list[str]] = []
    try:
        for row in reader:
            rows.append(row)
    except csv.Error as e:
        raise InputError(Issue(name, reader.line_num, 1, f"row {len(rows) + 1}",
                               f"not readable as CSV ({e}); save the sheet again as CSV UTF-8")) from None
    if dirty:
        raise InputError(_control_cells(name, rows))
    return rows


def _control_cells(name: str, rows: list[list[str]], limit: int = 20) -> list[Issue]:
    issues = []
    for n, row in enumerate(rows, start=1):
        for j, cell in enumerate(row, start=1):
            bad = find_control(cell)
            char = "\x00" if _NUL_STAND_IN in cell else bad.group() if bad else None
            if char is not None:
                issues.append(Issue(name, n, j, f"row {n}", control_message(char, "the cell")))
                if len(issues) >= limit:
                    return issues
    return issues


def csv_kind(path: Path) -> str:
    """'values' or 'records', from a bulk CSV's name; anything else is refused."""
    stem = path.stem
    if stem == "values" or stem.endswith((".values", "_values")):
        return "values"
    if stem == "records" or stem.endswith(("_records", ".records")):
        return "records"
    raise InputError(Issue(str(path), 0, 0, "$", "a bulk CSV must be named values.csv or records.csv"))


def _read_csv(c: _Collector, path: Path, data: bytes | None = None):
    kind = csv_kind(path)
    rows = read_csv_rows(path, data)
    if kind == "values":
        _rows_values(c, rows, str(path), _cell_text=_csv_text)
    elif rows and streets_sheet(rows[0]):
        # a street's dated records (大工委 meetings), read as a workbook's street records sheet
        # is: each row given to the street's organizations (the reader lives with the
        # workbook's, which imports this module)
        from .workbook import street_records
        street_records(c, rows, str(path), None, None, _cell_text=_csv_text)
    else:
        _rows_records(c, rows, str(path), None, _cell_text=_csv_text)


# ------------------------------------------------------------------ resolving

def resolve(raw: RawEvidence | None, org_id: str, standard: Standard) -> tuple[Evidence, list[Issue]]:
    """Normalize one organization's evidence against its standard."""
    ev = Evidence(org_id)
    issues: list[Issue] = []
    broken: set[str] = set()
    for fid, entry in (raw.fields.items() if raw is not None else ()):
        f = standard.fields.get(fid)
        if f is None:
            if entry.street:
                continue             # a street field this organization's standard does not read (_unknown_street_field)
            hint = difflib.get_close_matches(fid, list(standard.fields), 1)
            w = next(iter(entry.where.values()))
            issues.append(Issue(w.file, w.line, w.col, w.path,
                                f"unknown field '{fid}' for standard '{standard.id}'" + (f"; did you mean '{hint[0]}'?" if hint else "")))
            continue
        n = len(issues)
        _resolve_field(ev, issues, f, entry)
        if len(issues) > n:
            broken.add(fid)
        if entry.street and fid in ev.provenance:
            ev.provenance[fid]["street"] = entry.street
            if fid not in ev.notes:
                ev.notes[fid] = f"{f.label}由{street_name(entry.street)}统一填报"
    blank_as_zero(ev, standard, broken)
    return ev, issues


def _from_xlsx(where: Issue) -> bool:
    """Excel day numbers are dates only in cells of an .xlsx file."""
    return _is_xlsx(where.file)


@functools.lru_cache(maxsize=4096)        # asked for every value: answered once per file
def _is_xlsx(file: str) -> bool:
    return file.lower().endswith(".xlsx")


def _resolve_field(ev: Evidence, issues: list[Issue], f: Field, entry: RawEntry) -> None:
    fid = f.id
    sources = entry.values
    if "verified" in sources and not entry.inspector:
        if is_blank(sources["verified"], f.type):
            sources = dict(sources)
            del sources["verified"]      # an empty verified cell with nobody named: not verified
        else:
            w = entry.where["verified"]
            issues.append(Issue(w.file, w.line, w.col, w.path,
                                f"{f.label}（{fid}）: a verified value needs the inspector who verified it (inspector)"))
    got = {}
    for s, raw_value in sources.items():
        if s in entry.bulk:              # rows of a bulk records file: each refused at its own row
            value = bulk_records(issues, f, raw_value, entry.rows[s])
            if value is not None:
                got[s] = value
            continue
        try:
            # text reads the same from any file: only a number may be an Excel day number
            got[s] = normalize(raw_value, f, excel=type(raw_value) is not str and _from_xlsx(entry.where[s]))
        except NormalizeError as e:
            w = entry.where[s]
            issues.append(Issue(w.file, w.line, w.col, w.path, f"{f.label}（{fid}）: {e.message}"))
    verified_on = _verified_on(issues, f, entry)     # a date cell is read (and refused) even when unused
    settle(ev, f, got, entry.inspector, verified_on)


def settle(ev: Evidence, f: Field, got: dict, inspector: str | None, verified_on: str | None,
           distinct: bool = False) -> None:
    """A field's normalized values (`got`: 'self' / 'verified' -> value, in the order they
    were given) into the organization's evidence: the verified value wins, a record listed
    twice counts once, a blank verified value or a self-report beyond tolerance is a finding.
    Shared by resolve() and the columnar intake of bulk rows (intake.columnar), which passes
    `distinct` when it knows no source lists a record twice (its integer codes say so at
    once: the check here was 0.2 s of a 20,000-organization round)."""
    fid = f.id
    if f.type == "records" and not distinct:
        for s in got:
            got[s] = _once_each(ev, f, got[s])
    self_v = got.get("self")
    if "verified" not in got:
        settle_self(ev, fid, self_v)
        return
    if self_v is not None:
        ev.self_values[fid] = self_v
    ev.provenance[fid] = {"source": "verified", "inspector": inspector, "verified_on": verified_on}
    if got["verified"] is None:
        _verified_blank(ev, f, inspector, self_v)
        return
    ev.values[fid] = got["verified"]
    if self_v is not None:
        finding = settle_mismatch(f, self_v, got["verified"])
        if finding:
            ev.findings.append(finding)


def settle_self(ev: Evidence, fid: str, value) -> None:
    """A field given only as self-assessed: the organization's own value counts (records:
    each counted once already)."""
    if value is not None:
        ev.self_values[fid] = value
        ev.values[fid] = value
        ev.provenance[fid] = {"source": "self"}


def bulk_records(issues: list[Issue], f: Field, rows: list, where: list[Issue]) -> tuple[Record, ...] | None:
    """The records of a field given as rows of bulk files, sorted; None when a row is refused.
    A row is a Record already (a plain row, read by records_rows) or {date, title} as typed."""
    records: list[Record] = []
    ok = True
    none_at = None                       # a row saying there are none (日期 无)
    for row, w in zip(rows, where):
        if type(row) is Record:
            records.append(row)
            continue
        if says_none(row):
            none_at = none_at or w
            continue
        got = _plain_record(row.get("date"), row.get("title", ""))
        if got is not None:
            records.append(got)
            continue
        try:
            records += normalize([row], f, excel=_from_xlsx(w))
        except NormalizeError as e:
            issues.append(Issue(w.file, w.line, w.col, w.path, f"{f.label}（{f.id}）: {e.message}"))
            ok = False
    if none_at is not None and records:
        w = none_at
        issues.append(Issue(w.file, w.line, w.col, w.path, f"{f.label}（{f.id}）: 这一行写“无”（没有此类记录），"
                            f"但同一组织同一来源还列出了 {len(records)} 条记录：删去其中一方"))
        ok = False
    # sorted as Record's own order sorts them ((date, title), stable), compared in C
    return tuple(sorted(records, key=DATE_TITLE)) if ok else None


_NO_RECORDS = frozenset({"无", "没有", "无记录"})


def says_none(row: dict) -> bool:
    """A bulk row whose date is 无 (and no title): the organization has no record of this kind,
    as `field: []` says in a YAML file (the criterion counts none, rather than finding no evidence)."""
    day = row.get("date")
    return type(day) is str and day.strip() in _NO_RECORDS and not row.get("title")


def record_as_put(day, title) -> Record | dict:
    """A records row's record as it is put: the common row read here (a Record), any other
    kept as typed ({date, title}) and read when resolved (bulk_records)."""
    rec = _plain_record(day, title)
    return _as_typed(day, title) if rec is None else rec


def _as_typed(day, title) -> dict:
    rec = {"date": day}
    if title:
        rec["title"] = title
    return rec


def records_as_put(days: list[str], titles: list[str]) -> list:
    """record_as_put(day, title) for each pair of texts (a CSV's cells), the pairs read
    before looked up at once: a 500-organization partition of records.csv has about 3,000
    distinct (date, title) pairs, nearly all of them seen in an earlier partition."""
    keys = list(zip(days, titles))
    got = list(map(_PLAIN_TEXT_RECORDS.get, keys, itertools.repeat(_UNSEEN)))
    for i in positions_of(got, _UNSEEN):
        got[i] = _plain_text_record(*keys[i])
    for i in positions_of(got, None):
        got[i] = _as_typed(*keys[i])
    return got


def _plain_record(day, title) -> Record | None:
    """The record of the common row — an ISO date, a plain title — as the general reader
    (normalize) would read it; None for any other row, which normalize reads."""
    if type(day) is not str or type(title) is not str:
        return None
    return _plain_text_record(day, title)


# (day, title) texts -> the Record, None: not the common row. Records are immutable: one is
# shared by every row written the same way; forgotten all at once when many
_PLAIN_TEXT_RECORDS: dict[tuple[str, str], Record | None] = {}
_UNSEEN = object()


def _plain_text_record(day: str, title: str) -> Record | None:
    got = _PLAIN_TEXT_RECORDS.get((day, title), _UNSEEN)
    if got is _UNSEEN:
        if len(_PLAIN_TEXT_RECORDS) >= 100_000:
            _PLAIN_TEXT_RECORDS.clear()
        got = _PLAIN_TEXT_RECORDS[day, title] = _read_plain_text_record(day, title)
    return got


def _read_plain_text_record(day: str, title: str) -> Record | None:
    if not (_ISO_DAY.fullmatch(day)
            and (title == "" or (title == title.strip() and not is_blank(title) and not find_control(title)))):
        return None
    try:
        return Record(datetime.date.fromisoformat(day), title)
    except ValueError:
        return None                       # an impossible date: the general reader says why


DATE_TITLE = operator.attrgetter("date", "title")


def verified_day(value, file: str) -> datetime.date:
    """A verification date as intake reads it: any date spelling it accepts, an Excel day
    number only from an .xlsx file. Raises NormalizeError."""
    return _text_day(value) if type(value) is str else normalize(value, _DATE, excel=_is_xlsx(file))


def _verified_on(issues: list[Issue], f: Field, entry: RawEntry) -> str | None:
    """The date the value was verified (the last one given); every date given is checked (a
    bulk records field has one per row), each refused at its own cell."""
    day = None
    for value, w in entry.ons or ([(entry.verified_on, entry.verified_on_where)] if entry.verified_on not in (None, "") else []):
        w = w or entry.where.get("verified") or next(iter(entry.where.values()))
        try:
            # a bulk records field repeats its date cell on every row: each spelling read once
            # (text reads the same from any file; a refused one is refused again, at its cell)
            day = verified_day(value, w.file)
        except NormalizeError as e:
            issues.append(Issue(w.file, w.line, w.col, w.path, f"verified_on: {e.message}"))
            day = None
    return day.isoformat() if day is not None else None


@functools.lru_cache(maxsize=10_000)
def _text_day(value: str) -> datetime.date:
    return normalize(value, _DATE)


def _verified_blank(ev: Evidence, f: Field, inspector: str, self_v: Any) -> None:
    """An inspector named, the verified value left blank: the inspector's "no value". The
    organization's own figure is not used (the field stays without a value, so criteria reading it
    are not reviewed), unless the field counts a blank as 0 (blank: zero), and it is a finding."""
    fid = f.id
    ev.provenance[fid]["blank"] = True
    if self_v is not None:
        message = f"{f.label}：核查值为空（核查人 {inspector}），未采用自报值 {value_text(self_v, f)}"
        note = f"核查值为空（核查人：{inspector}），未采用自报值"
    else:
        message = f"{f.label}：核查值为空（核查人 {inspector}），无自报值"
        note = f"核查值为空（核查人：{inspector}）"
    if f.blank == "zero":
        ev.values[fid] = _zero(f)
        note = note.replace("）", "），按 0 计", 1)
    ev.findings.append(Finding("verified_blank", fid, message, self_v, None))
    ev.notes[fid] = note


def _zero(f: Field):
    return () if f.type == "records" else Decimal(0)


def blank_as_zero(ev: Evidence, standard: Standard, broken: set[str]) -> None:
    """Fields declared `blank: zero` (a count of honours left empty means none): a blank or
    absent value is 0, and every reason that uses it says so (ev.notes)."""
    for f in standard.fields.values():
        if f.blank != "zero" or f.id in broken:
            continue
        if f.id not in ev.values and f.id not in ev.provenance:
            ev.values[f.id] = _zero(f)
            ev.provenance[f.id] = {"source": "blank"}
            ev.notes[f.id] = f"{f.label}空白，按 0 计"
        if f.id not in ev.self_values:
            ev.self_values[f.id] = _zero(f)     # the self-assessment sees the same 0


def _once_each(ev: Evidence, f: Field, records: tuple[Record, ...] | None) -> tuple[Record, ...] | None:
    """A record (same date, same title) listed more than once counts once, and it is a finding."""
    if not records:
        return records
    if len(set(map(DATE_TITLE, records))) == len(records):   # (date, title) is a Record's equality
        return records
    counts: dict[Record, int] = {}
    for r in records:
        counts[r] = counts.get(r, 0) + 1
    seen = {(x.kind, x.message) for x in ev.findings}
    for r, n in counts.items():
        if n > 1:
            title = f"《{r.title}》" if r.title else ""
            message = f"{f.label}：重复记录 {r.date.isoformat()}{title} 列出 {n} 次，只计 1 次"
            if ("duplicate_record", message) not in seen:
                ev.findings.append(Finding("duplicate_record", f.id, message))
                seen.add(("duplicate_record", message))
    return tuple(counts)                 # records arrive sorted; dict keeps that order


def settle_mismatch(f: Field, self_v, verified) -> Finding | None:
    """The finding settle() makes of a self-assessed value beside the verified one (None:
    they agree, within the field's tolerance); the columnar intake makes it once per distinct
    pair of texts, the demo asks it to pick values that disagree."""
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
                           f"{f.label}：{_self_and_verified(self_v, verified, f)}，超出允许误差", self_v, verified)
        return None
    if self_v != verified:
        return Finding("self_report_mismatch", f.id,
                       f"{f.label}：{_self_and_verified(self_v, verified, f)}", self_v, verified)
    return None


def _self_and_verified(self_v, verified, f) -> str:
    """'自报 520 平方米，核查 480 平方米', '自报是，核查否' (no space between Chinese words)."""
    return f"{spaced('自报', value_text(self_v, f))}，{spaced('核查', value_text(verified, f))}"
