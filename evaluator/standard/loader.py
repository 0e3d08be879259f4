"""Load "1+N" standards: YAML -> schema check -> resolve `extends` -> compile -> Standard.

Every problem is collected as an `Issue` with the file, line and JSON path of the key that
caused it (for an overridden key, the override in the field standard), and the load fails
with all of them at once.
"""
from __future__ import annotations

import contextlib
import difflib
import hashlib
import re
from dataclasses import dataclass, field as dc_field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from .. import resources
from ..errors import InputError, Issue
from .distribution import compile_distribution
from .expr import ExprError, FunctionSpec, NameSpec, Type, compile_expr, DEFAULT_FUNCTIONS
from .methods import REGISTRY
from .plain import GATE_TERMS, Vocabulary, register_tiers
from .quantity import NormalizeError, read_decimal, read_number, read_share
from ..terms import BUILTIN_TYPES, ORG_TYPES, register_type_names, unit_code
from ..model import (ZERO, Component, Criterion, Field, Gate, Grading, Quota,
                    Section, Standard, Target, Tier)
from .schema import check as schema_check
from .yamlsafe import Locator, load_yaml

_FIELD_TYPES = {"number": Type.NUMBER, "integer": Type.NUMBER, "percentage": Type.NUMBER,
                "boolean": Type.BOOL, "enum": Type.TEXT, "date": Type.DATE, "text": Type.TEXT,
                "records": Type.RECORDS}
ORG_NAMES = {"org.type": NameSpec(Type.TEXT, tuple(ORG_TYPES)), "org.id": NameSpec(Type.TEXT),
             "org.name": NameSpec(Type.TEXT), "org.district": NameSpec(Type.TEXT),
             "org.street": NameSpec(Type.TEXT)}
_TIE_KEYS = ("total", "base", "bonus", "veto_count", "reviewed_share")


class _Fail(Exception):
    """Abort compiling one item; its Issue is already recorded."""


@dataclass(frozen=True)
class _Doc:
    id: str
    path: Path
    data: dict        # never mutated: the cache hands the same document to every reader
    loc: Locator
    digest: str = ""  # sha256 of the file's bytes
    issues: tuple = ()  # problems that do not stop it being resolved (its id is not its file name,
                        # schema errors inside criteria or fields): reported with everything else
                        # the load finds, never alone
    set_aside: frozenset = frozenset()   # ("criterion", si, ci), ("field", id), ("override", id): schema check
                                         # failed: left out of resolving, so the rest is still checked


@dataclass
class _Raw:
    """A criterion while resolving: its merged keys and where each key came from."""
    data: dict
    section: str
    origin: tuple[Locator, tuple]                 # where the criterion was defined
    key_origin: dict = dc_field(default_factory=dict)   # key -> (Locator, path) for overrides


# ------------------------------------------------------------------ finding files

def search_path(extra_dirs: Iterable[Path] = ()) -> list[Path]:
    return [Path(d) for d in extra_dirs] + [resources.rules_dir()]


def find_standard_file(std_id: str, dirs: list[Path]) -> Path | None:
    for d in dirs:
        for suffix in (".yaml", ".yml"):
            p = d / f"{std_id}{suffix}"
            if p.is_file():
                return p
    return None


def available_standards(dirs: list[Path]) -> list[str]:
    ids = set()
    for d in dirs:
        for p in list(d.glob("*.yaml")) + list(d.glob("*.yml")):
            if not p.name.endswith((".cases.yaml", ".cases.yml")) and p.stem != "lists":
                ids.add(p.stem)
    return sorted(ids)


# ------------------------------------------------------------------ loading

# Parsed and schema-checked documents, and compiled standards, keyed by content digest: a
# field standard's parents, and a standard its cases files name, are read once per process
# (`agrade validate rules/` would otherwise parse general.yaml a dozen times). A changed file
# has a new digest, so nothing stale is ever served; the path is part of the key because
# messages name the file.
_DOCS: dict[tuple[str, str], "_Doc"] = {}
_STANDARDS: dict[tuple[tuple[str, str], ...], Standard] = {}


def load_document(path: Path) -> _Doc:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise InputError(Issue(str(path), 0, 0, "$", f"cannot read file: {exc.strerror or exc}")) from None
    key = (str(path), hashlib.sha256(content).hexdigest())
    doc = _DOCS.get(key)
    if doc is None:
        doc = _DOCS[key] = _parse_document(path, content, key[1])
    return doc


def _parse_document(path: Path, content: bytes, digest: str) -> _Doc:
    data, loc = load_yaml(content, filename=str(path))
    issues = schema_check(data, "standard", loc, digest)
    expected = path.stem
    named = data.get("id") if isinstance(data, dict) else None
    mismatch = [loc.issue(["id"], f"standard id '{named}' does not match its file name '{path.name}' "
                                  f"(expected '{expected}')")] if isinstance(named, str) and named != expected else []
    set_aside = _set_aside(data, issues) if issues else frozenset()
    if set_aside is None:
        raise InputError(sorted(issues + mismatch))
    return _Doc(data["id"], path, data, loc, digest, tuple(mismatch + issues), set_aside)


_CRITERION_PATH = re.compile(r"\$\.sections\[(\d+)\]\.criteria\[(\d+)\](?![\w\[])")
_FIELD_PATH = re.compile(r"\$\.fields\.([A-Za-z_][A-Za-z0-9_]*)(?![\w\[])")
_OVERRIDE_PATH = re.compile(r'\$\.override\["([^"\\]+)"\](?![\w\[])')   # criterion ids hold a dot: quoted


def _set_aside(data, issues) -> frozenset | None:
    """The criteria, fields and overrides that schema problems lie in, when every problem lies in one (else
    None: the file cannot be resolved). They are left out of resolving and the rest of the file
    is compiled, so an author sees a missing `rectification` and a bad expression of another
    criterion in one run."""
    out = set()
    for issue in issues:
        m = _CRITERION_PATH.match(issue.path)
        if m and _is_criterion(data, int(m[1]), int(m[2])):
            out.add(("criterion", int(m[1]), int(m[2])))
            continue
        m = _FIELD_PATH.match(issue.path) or _OVERRIDE_PATH.match(issue.path)
        if not m:
            return None
        out.add(("field" if m.re is _FIELD_PATH else "override", m[1]))
    return frozenset(out)


def _is_criterion(data, si: int, ci: int) -> bool:
    """Whether sections[si].criteria[ci] is there, in sections and criteria lists that are sound."""
    try:
        return isinstance(data["sections"][si]["id"], str) and isinstance(data["sections"][si]["criteria"][ci], dict)
    except (KeyError, IndexError, TypeError):
        return False


def load_standard(ref: str | Path, extra_dirs: Iterable[Path] = ()) -> Standard:
    """Load a standard by id (searched in extra_dirs, then the shipped rules/) or by path."""
    dirs = search_path(extra_dirs)
    path = Path(ref) if str(ref).endswith((".yaml", ".yml")) else find_standard_file(str(ref), dirs)
    if path is None or not path.is_file():
        known = available_standards(dirs)
        hint = difflib.get_close_matches(str(ref), known, 1)
        raise InputError(Issue(str(ref), 0, 0, "$", f"no standard '{ref}' in {', '.join(map(str, dirs))}"
                               + (f"; did you mean '{hint[0]}'?" if hint else f" (available: {', '.join(known)})")))
    if path.parent not in dirs:
        dirs = [path.parent] + dirs
    chain = _lineage(load_document(path), dirs)
    key = tuple((str(d.path), d.digest) for d in chain)
    std = _STANDARDS.get(key)
    if std is None:
        std = _STANDARDS[key] = Resolver(chain).build()
    # the tier names list rules are printed with (`tier in ['D', 'S1']`: D档 或 一星级), as of
    # the standard of this id loaded last
    register_tiers(std.id, [(t.id, t.name) for t in std.grading.tiers])
    register_type_names(declared_types(std))
    return std


_TYPES: dict[str, dict] = {}      # standard digest -> the types its chain declares


def declared_types(std: Standard) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The organization types a loaded standard (with its parents) declares: code -> (name, aliases)."""
    return _TYPES.get(std.digest, {})


def _lineage(doc: _Doc, dirs: list[Path]) -> list[_Doc]:
    """The `extends` chain from the root standard to `doc`; cycles and unknown parents are errors."""
    chain = [doc]
    while chain[-1].data.get("extends"):
        child = chain[-1]
        parent_id = child.data["extends"]
        p = find_standard_file(parent_id, dirs)
        if p is None:
            known = available_standards(dirs)
            hint = difflib.get_close_matches(parent_id, known, 1)
            raise InputError([*child.issues, child.loc.issue(["extends"], f"extends unknown standard '{parent_id}'"
                                                             + (f"; did you mean '{hint[0]}'?" if hint else ""))])
        # a cycle is a file met again (by its path: a file whose id is not its name is reported
        # as such, not as a cycle through the standard it names)
        if p.resolve() in [d.path.resolve() for d in chain]:
            cycle = " -> ".join([d.id for d in chain] + [parent_id])
            raise InputError([*child.issues, child.loc.issue(["extends"], f"'extends' cycle: {cycle}")])
        chain.append(load_document(p))
    return list(reversed(chain))


# ------------------------------------------------------------------ resolving 1+N

class Resolver:
    """One standard's `extends` chain (root first, as load_document read each file) merged and
    compiled into a Standard: `build()`. A subclass may change the merged definition before
    it is compiled (`adjust`: scoring.whatif_edits makes a what-if's edits there, so they get
    the loader's own checks and messages) and then says how its standard differs from the
    files in `digest`."""

    def __init__(self, chain: list[_Doc]):
        self.chain = chain
        self.issues: list[Issue] = []
        self.fields: dict[str, tuple[dict, Locator, tuple]] = {}
        self.sections: dict[str, dict] = {}          # id -> {title, criteria: [ids], origin}
        self.criteria: dict[str, _Raw] = {}
        self.grading: dict[str, tuple[Any, Locator, tuple]] = {}
        self.types: dict[str, tuple[str, tuple[str, ...]]] = {}   # declared types: code -> (name, aliases)
        # Where the base criteria's points were changed (a criterion added, removed, its points
        # or method overridden or dropped), and removed criteria: when the sum no longer matches a
        # parent's grading.base, or a parent's gate reads a removed criterion, the change is what
        # the message points at (the child's line), not the parent's key it contradicts.
        self.base_changes: list[tuple[Locator, tuple, str]] = []
        self.removed: dict[str, tuple[Locator, tuple]] = {}
        self._rank = {id(d.loc): i for i, d in enumerate(chain)}
        # A merge error does not stop the load: the compile checks run too, so an author sees all
        # of a file's independent problems in one run. What a merge error leaves uncertain is kept
        # here, so that its consequences are not reported as problems of their own:
        self.unsure_base = False       # a bad remove/override/duplicate may have meant other base points
        self.conflicted: set[str] = set()      # fields a child redeclared with another type
        self.refused_types: set[str] = set()   # declared types refused (still known to applies_to)
        self.set_aside: set[str] = set()       # criteria left out for a schema problem (still known to gates)
        self.points_of: dict[str, tuple[str, Decimal]] = {}   # criterion -> (kind, points), once read

    def later(self, a: Locator, b: Locator) -> bool:
        """Whether `a` is in a file that comes after `b`'s in the extends chain (a child's)."""
        return self._rank.get(id(a), 0) > self._rank.get(id(b), 0)

    def where(self, loc: Locator, path) -> str:
        """file:line, for naming the other end of a conflict in a message."""
        return f"{Path(loc.filename).name}:{loc.where(list(path))[0]}"

    def fail(self, loc: Locator, path, message: str):
        self.issues.append(loc.issue(list(path), message))
        raise _Fail

    def build(self) -> Standard:
        pending = [i for d in self.chain for i in d.issues]
        try:
            std = self._build()
        except InputError as e:
            raise InputError(sorted(pending + e.issues) if pending else e.issues) from None
        if pending:
            raise InputError(pending)
        return std

    def _build(self) -> Standard:
        for doc in self.chain:
            self._merge(doc)
        register_type_names(self.types)        # expressions on org.type read with the declared names
        self.adjust()
        std = self._compile()                  # raises with the merge's issues and its own
        _TYPES[std.digest] = dict(self.types)
        return std

    def adjust(self) -> None:
        """The chain is merged (`criteria`: id -> _Raw, `grading`: key -> (value, Locator,
        path)) and nothing is compiled yet: a subclass changes the definition here."""

    def _declare_types(self, d: dict, loc: Locator) -> None:
        """`types: {grid: {name: 网格党支部, aliases: [网格支部]}}`: organization types of this
        standard set besides the built-in ones; a child standard inherits its parent's."""
        builtin_names = {n: c for c, n in BUILTIN_TYPES.items()}
        for code, t in (d.get("types") or {}).items():
            if code in BUILTIN_TYPES:
                self._try(self.fail, loc, ("types", code), f"'{code}' is a built-in organization type "
                                                           f"({BUILTIN_TYPES[code]}); declare only new types")
                continue
            spellings = [str(t["name"]), *(str(a) for a in t.get("aliases") or ())]
            clash = None
            for word in spellings:       # a built-in code or name, or another declared type's spelling
                other = word if word in BUILTIN_TYPES else builtin_names.get(word) or next(
                    (c for c, (n, a) in self.types.items() if c != code and (word == n or word in a)), None)
                if other:
                    clash = f"type '{code}': '{word}' already names the type '{other}'"
                    break
            if clash:
                self._try(self.fail, loc, ("types", code), clash)
                self.refused_types.add(code)
                continue
            self.types[code] = (spellings[0], tuple(spellings[1:]))

    def _check_applies_to(self) -> None:
        doc = self.chain[-1]
        known = list(BUILTIN_TYPES) + list(self.types)
        for i, code in enumerate(doc.data.get("applies_to") or ()):
            if code not in known and code not in self.refused_types:
                hint = difflib.get_close_matches(code, known, 1)
                self._try(self.fail, doc.loc, ("applies_to", i),
                          f"unknown organization type '{code}'" + (f"; did you mean '{hint[0]}'?" if hint else
                                                                   " (declare it under types: with its Chinese name)"))

    def _merge(self, doc: _Doc):
        d, loc = doc.data, doc.loc
        self._declare_types(d, loc)
        for fid, fdef in (d.get("fields") or {}).items():
            if ("field", fid) in doc.set_aside:      # its schema problem is reported; criteria reading
                self.conflicted.add(fid)             # it are not reported again
                continue
            if fid in self.fields and self.fields[fid][0]["type"] != fdef["type"]:
                self._try(self.fail, loc, ("fields", fid, "type"),
                          f"field '{fid}' is already declared as {self.fields[fid][0]['type']} by a parent standard")
                self.conflicted.add(fid)
                continue
            self.fields[fid] = (fdef, loc, ("fields", fid))
        for si, sec in enumerate(d.get("sections") or []):
            s = self.sections.setdefault(sec["id"], {"title": sec.get("title"), "criteria": []})
            if sec.get("title"):
                s["title"] = sec["title"]
            if not s["title"]:
                self._try(self.fail, loc, ("sections", si), f"new section '{sec['id']}' needs a title")
            for ci, crit in enumerate(sec.get("criteria") or []):
                cid = crit.get("id")
                if ("criterion", si, ci) in doc.set_aside:    # its schema problem is reported
                    self.set_aside.add(str(cid))
                    self.unsure_base = True
                    continue
                if cid in self.criteria:
                    self._try(self.fail, loc, ("sections", si, "criteria", ci, "id"),
                              f"criterion id '{cid}' is already defined (in section {self.criteria[cid].section}); use 'override' to change it")
                    self.unsure_base |= _kind(crit) == "base"
                    continue
                self.criteria[cid] = _Raw(dict(crit), sec["id"], (loc, ("sections", si, "criteria", ci)))
                s["criteria"].append(cid)
                if _kind(crit) == "base":
                    self.base_changes.append((loc, ("sections", si, "criteria", ci), f"adds {cid}"))
        for cid, changes in (d.get("override") or {}).items():
            if ("override", cid) in doc.set_aside:     # its schema problem is reported; not applied
                self.unsure_base = True
                continue
            raw = self.criteria.get(cid)
            if raw is None and cid in self.set_aside:     # a parent's criterion with a schema problem
                continue
            if raw is None:
                self._unknown(loc, ("override", cid), cid, "override of unknown criterion")
                self.unsure_base |= any(k in changes for k in ("points", "method", "drop"))
                continue
            was_base = _kind(raw.data) == "base"
            for key, value in changes.items():
                if key != "drop":
                    raw.data[key] = value
                    raw.key_origin[key] = (loc, ("override", cid, key))
            self._drop(raw, cid, changes, loc)
            # a drop changes the base points only when it drops the points (a dropped condition does not)
            touched = [k for k in ("points", "method") if k in changes] or (
                ["drop"] if "points" in (changes.get("drop") or ()) else [])
            if touched and (was_base or _kind(raw.data) == "base"):
                self.base_changes.append((loc, ("override", cid, touched[0]), f"overrides {cid}"))
        for ri, rid in enumerate(d.get("remove") or []):
            if rid in self.criteria:
                raw = self.criteria.pop(rid)
                self.sections[raw.section]["criteria"].remove(rid)
                gone = [(rid, raw)]
            elif rid in self.sections:
                gone = [(cid, self.criteria.pop(cid)) for cid in self.sections.pop(rid)["criteria"] if cid in self.criteria]
                self.removed[rid] = (loc, ("remove", ri))
            else:
                gone = None
                self._unknown(loc, ("remove", ri), rid, "remove of unknown criterion or section",
                              list(self.criteria) + list(self.sections))
                self.unsure_base = True
            own = [cid for cid, raw in gone or () if raw.origin[0] is loc]
            if own:     # sections and criteria are merged before `remove` runs: it would silently undo them
                self._try(self.fail, loc, ("remove", ri),
                          f"remove: {rid} would also remove {', '.join(own)}, which this standard defines "
                          f"(a file's sections are merged before its remove); give the new criteria another "
                          f"{'section id' if rid in self.removed else 'id'}, or remove only the parent's criteria")
            for cid, raw in gone or ():
                self.removed[cid] = (loc, ("remove", ri))
            if any(_kind(raw.data) == "base" for _, raw in gone or ()):
                self.base_changes.append((loc, ("remove", ri), f"removes {rid}"))
        for key, value in (d.get("grading") or {}).items():
            self.grading[key] = (value, loc, ("grading", key))

    def _drop(self, raw: _Raw, cid: str, changes: dict, loc: Locator) -> None:
        """`override: {G1.2: {drop: [applies_if, requirement]}}`: inherited keys removed from the
        criterion. A check that then misses a dropped key points at the drop."""
        for i, key in enumerate(changes.get("drop") or ()):
            path = ("override", cid, "drop", i)
            if key in changes:
                self._try(self.fail, loc, path, f"{cid}: '{key}' is both set and dropped by this override")
            elif key in _KEPT_KEYS:
                self._try(self.fail, loc, path, f"{cid}: '{key}' cannot be dropped: every criterion needs it "
                                                f"(override it instead)")
            elif key not in raw.data:
                keys = [k for k in raw.data if k not in _KEPT_KEYS]
                hint = difflib.get_close_matches(str(key), keys, 1)
                self._try(self.fail, loc, path, f"{cid} has no key '{key}' to drop"
                          + (f"; did you mean '{hint[0]}'?" if hint else f" (its keys: {', '.join(keys)})"))
                method = REGISTRY.get(raw.data.get("method"))
                if hint and hint[0] not in changes and hint[0] not in (method.required if method else ()):
                    # go on as if the key meant were dropped (the load fails anyway): the rest of
                    # the criterion is then checked as the author meant it, and a method that does
                    # not use that key is not reported as a second problem of this one typo
                    del raw.data[hint[0]]
                    raw.key_origin[hint[0]] = (loc, path)
            else:
                del raw.data[key]
                raw.key_origin[key] = (loc, path)

    def _unknown(self, loc, path, name, what, known=None):
        hint = difflib.get_close_matches(name, known if known is not None else list(self.criteria), 1)
        self._try(self.fail, loc, path, f"{what} '{name}'" + (f"; did you mean '{hint[0]}'?" if hint else ""))

    def _try(self, fn, *args):
        try:
            fn(*args)
        except _Fail:
            pass

    # -------------------------------------------------------------- compiling

    def _compile(self) -> Standard:
        fields = {}
        for fid, (fdef, loc, path) in self.fields.items():
            try:
                fields[fid] = _field(fid, fdef, lambda p, m, loc=loc, path=path: self.fail(loc, path + tuple(p), m))
            except _Fail:
                pass
        self.field_objs = fields
        self.vocab = Vocabulary(fields)        # expressions in plain Chinese, for the documents
        self.names = dict(ORG_NAMES)
        self.names["org.type"] = NameSpec(Type.TEXT, tuple(BUILTIN_TYPES) + tuple(self.types)
                                          + tuple(sorted(self.refused_types)))
        self._check_applies_to()
        for f in fields.values():
            self.names[f.id] = NameSpec(_FIELD_TYPES[f.type], f.values or None,
                                        f if f.type in ("number", "integer", "percentage") else None)
        grading_raw = {k: v for k, (v, _, _) in self.grading.items()}
        tier_ids = [t.get("id") for t in grading_raw.get("tiers") or []]
        self.tier_ids = tier_ids
        criteria = {}
        for cid, raw in self.criteria.items():
            reported = len(self.issues)
            try:
                criteria[cid] = self._criterion(cid, raw)
            except _Fail:
                if _mentions(raw.data, self.conflicted):   # read with a type its author did not mean:
                    del self.issues[reported:]             # the field's conflict is the problem reported
        sections = tuple(Section(sid, s["title"], tuple(c for c in s["criteria"] if c in criteria))
                         for sid, s in self.sections.items() if s["criteria"])
        grading = None
        try:
            grading = self._grading(grading_raw, criteria, sections)
        except _Fail:
            pass
        if self.issues:
            raise InputError(sorted(self.issues))
        top = self.chain[-1].data
        ordered = {cid: criteria[cid] for s in sections for cid in s.criteria}
        eff = top.get("effective") or {}
        return Standard(
            id=top["id"], version=str(top["version"]), title=top["title"], issuer=top.get("issuer", ""),
            effective=(eff.get("from"), eff.get("to")), applies_to=tuple(top.get("applies_to") or ()),
            lineage=tuple(d.id for d in self.chain), fields=fields, sections=sections, criteria=ordered,
            grading=grading, digest=self.digest(), files=tuple(str(d.path) for d in self.chain))

    def digest(self) -> str:
        """The standard's digest: of its files' bytes, root first."""
        h = hashlib.sha256()
        for doc in self.chain:
            h.update(doc.path.read_bytes())
            h.update(b"\0")
        return "sha256:" + h.hexdigest()

    def _criterion(self, cid: str, raw: _Raw) -> Criterion:
        data = raw.data
        m = REGISTRY[data["method"]]
        ctx = _CriterionContext(self, raw)
        missing = [k for k in m.required if k not in data]
        dropped = [k for k in missing if k in raw.key_origin]
        if dropped:
            ctx.fail((dropped[0],), f"method '{m.name}' needs '{dropped[0]}'; it cannot be dropped")
        if missing:     # at the override that changed the method, when one did
            ctx.fail(("method",) if "method" in raw.key_origin else (),
                     f"method '{m.name}' needs {', '.join(repr(k) for k in missing)}")
        allowed = set(_COMMON_KEYS) | set(m.schema)
        for key in data:
            if key not in allowed:
                if ctx.later("method", key):      # a child changed the method; the key is inherited
                    loc, path = ctx.origin(key)
                    ctx.fail(("method",), f"method '{m.name}' does not use the inherited key '{key}' "
                                          f"({self.where(loc, path)}); drop it: drop: [{key}]")
                hint = difflib.get_close_matches(key, sorted(allowed), 1)
                ctx.fail((key,), f"key '{key}' is not used by method '{m.name}'" + (f"; did you mean '{hint[0]}'?" if hint else ""))
        points = ctx.points("points", data.get("points", 0))
        if m.kind in ("veto", "info") and points != ZERO:
            ctx.fail(("points",), f"{m.kind} criteria carry no points (got {points})")
        ctx.max_points = points
        self.points_of[cid] = (m.kind, points)     # known even if a later key of this criterion is wrong
        params = m.compile(data, ctx)
        applies_if = ctx.expr("applies_if", Type.BOOL) if data.get("applies_if") else None
        due = data.get("due")
        if due == "prorated" and m.name != "frequency":
            ctx.fail(("due",), "due: prorated is for frequency criteria only (the periods completed by a bulletin's "
                               "as-of date); use always, period_end or a date")
        return Criterion(
            id=cid, section=raw.section, title=data["title"], method=m.name, kind=m.kind, points=points,
            guidance=data.get("guidance", ""), rectification=data.get("rectification", ""),
            na_policy=data.get("na_policy", "zero"), applies_if=applies_if, params=params,
            reads=tuple(sorted(ctx.reads)), line=raw.origin[0].where(list(raw.origin[1]))[0],
            source=raw.origin[0].filename, due=due)

    def _grading(self, g: dict, criteria: dict, sections) -> Grading:
        def loc(key):
            _, l, p = self.grading.get(key, (None, self.chain[-1].loc, ("grading",)))
            return l, p

        def fail(key, sub, message):
            l, p = loc(key)
            self.fail(l, tuple(p) + tuple(sub), message)

        for key in ("base", "tiers"):
            if key not in g:
                fail(key, (), f"grading needs '{key}'")
        base = Decimal(g["base"])
        # each check below that fails is recorded and the next one still runs (carry_on): an
        # author sees every independent problem of the grading block in one run
        carry_on = contextlib.suppress(_Fail)
        if base <= 0 or not any(_kind(r.data) == "base" for r in self.criteria.values()):
            # the base score is earned ÷ countable base points × base: without base criteria no
            # organization could be graded (each would be 不予定档：没有适用的计分指标)
            kinds = ", ".join(n for n, m in REGISTRY.items() if m.kind == "base")
            with carry_on:
                fail("base", (), f"a standard needs base criteria ({kinds}) and grading.base above 0 "
                                 f"(got {base}); bonus, veto and info criteria alone grade nothing")
        tiers = tuple(Tier(t["id"], t.get("name", t["id"]), read_decimal(t["min"])) for t in g["tiers"])
        for i in range(1, len(tiers)):
            if tiers[i].min >= tiers[i - 1].min:
                with carry_on:
                    fail("tiers", (i, "min"), f"tier '{tiers[i].id}' min {tiers[i].min} must be below "
                                              f"'{tiers[i-1].id}' min {tiers[i-1].min} (list tiers best first)")
        if tiers[-1].min != ZERO:
            with carry_on:
                fail("tiers", (len(tiers) - 1, "min"), f"the last tier must start at 0 so every total gets a tier "
                                                       f"(got {tiers[-1].min})")
        ids = [t.id for t in tiers]

        def tier_ref(key, sub, tid):
            if tid not in ids:
                hint = difflib.get_close_matches(str(tid), ids, 1)
                message = f"unknown tier '{tid}' (tiers: {', '.join(ids)})" + (f"; did you mean '{hint[0]}'?" if hint else "")
                if self.later(loc("tiers")[0], loc(key)[0]):     # a child replaced the tiers
                    fail("tiers", (), f"{message}: read by grading.{key} ({self.where(*loc(key))}); "
                                      f"override grading.{key} as well")
                fail(key, sub, message)
            return tid

        # a criterion whose points were read counts even if another of its keys is wrong (its
        # condition, say): the sum is an independent problem. When a criterion's points could not
        # be read, or a failed change may explain the sum, it is not checked (a consequence).
        base_sum = sum((pts for kind, pts in self.points_of.values() if kind == "base"), ZERO)
        if base_sum != base and len(self.points_of) == len(self.criteria) and not self.unsure_base and base > 0:
            base_loc = loc("base")
            after = [c for c in self.base_changes if self.later(c[0], base_loc[0])]
            if after:       # a child changed the points under a parent's base: say so at the child's change
                last = [c for c in after if c[0] is after[-1][0]]
                with carry_on:
                    self.fail(last[0][0], last[0][1], f"base criteria points sum to {base_sum}, but grading.base is {base} "
                                                      f"({self.where(*base_loc)}); this standard {_changes(last)}: "
                                                      f"adjust the points or set grading.base")
            else:
                with carry_on:
                    fail("base", (), f"base criteria points sum to {base_sum}, but grading.base is {base}")
        for c in criteria.values():
            if c.kind == "veto" and (c.params[1] is None or c.params[1] in ids):
                continue
            with carry_on:
                if c.kind != "veto":          # a veto's cap_tier (None: a flag-only veto) names a tier
                    continue
                cap = c.params[1]
                raw = self.criteria[c.id]
                l, p = raw.key_origin.get("cap_tier", (raw.origin[0], raw.origin[1] + ("cap_tier",)))
                if self.later(loc("tiers")[0], l):       # a child replaced the tiers a parent's veto caps at
                    fail("tiers", (), f"unknown tier '{cap}' (tiers: {', '.join(ids)}): the cap of veto {c.id} "
                                      f"({self.where(l, p)}); override {c.id}: {{cap_tier: ...}} as well")
                self.fail(l, p, f"unknown tier '{cap}' (tiers: {', '.join(ids)})")
        comps = []
        for i, c in enumerate(g.get("components") or [{"id": "verified", "label": "考核得分", "source": "criteria", "weight": 1}]):
            if c["source"] == "field":
                f = self.field_objs.get(c.get("field"))
                if f is None or f.type not in ("number", "integer"):
                    with carry_on:
                        fail("components", (i, "field"), f"component source 'field' needs 'field' naming a number "
                                                         f"field (got {c.get('field')!r})")
            comps.append(Component(c["id"], c.get("label", c["id"]), c["source"], read_decimal(c["weight"]), c.get("field"),
                                   read_decimal(c["scale"]) if c.get("scale") is not None else None))
        wsum = sum((c.weight for c in comps), ZERO)
        if wsum != 1:
            with carry_on:
                fail("components", (), f"component weights sum to {wsum}, expected 1")
        gate_names = dict(self.names)
        gate_names.update({"total": Type.NUMBER, "base": Type.NUMBER, "bonus": Type.NUMBER, "veto_count": Type.NUMBER})
        funcs = dict(DEFAULT_FUNCTIONS)
        # every criterion and section the standard defines, compiled or not: a gate reading one whose
        # own error is reported already is not reported again as reading an unknown one
        funcs.update(result_functions(list(self.criteria) + sorted(self.set_aside), list(self.sections)))
        read_removed: list[str] = []          # removed criteria a gate read (filled by the check below)
        for f in ("points", "outcome", "section_points"):
            funcs[f] = _noting_removed(funcs[f], self.removed, read_removed)
        gate_vocab = Vocabulary(self.field_objs, GATE_TERMS, {t.id: t.name for t in tiers},
                                {c.id: c.title for c in criteria.values()}, {s.id: s.title for s in sections})
        gates = []
        for i, gt in enumerate(g.get("gates") or []):
            with carry_on:
                gates.append(self._gate(i, gt, tier_ref, gate_names, funcs, read_removed, gate_vocab, tiers, loc, fail))
        quotas = []
        for i, q in enumerate(g.get("quotas") or []):
            with carry_on:
                quotas.append(Quota(tier_ref("quotas", (i, "tier"), q["tier"]), read_decimal(q["max_share"]), q["scope"]))
        t, target, distribution = g.get("target"), None, None
        if t:
            with carry_on:
                target = Target(tier_ref("target", ("tier",), t["tier"]), read_decimal(t["min_share"]), t.get("scope", "round"))
        with carry_on:
            distribution = compile_distribution(g.get("distribution"), ids, lambda sub, msg: fail("distribution", sub, msg))
        ties = []
        for i, spec in enumerate(g.get("tie_breaks") or ["total desc"]):
            key, _, order = str(spec).partition(" ")
            order = order.strip() or "desc"
            with carry_on:
                if key not in _TIE_KEYS and not (key.startswith("section:") and key[8:] in self.sections):
                    fail("tie_breaks", (i,), f"unknown tie-break key '{key}' (use {', '.join(_TIE_KEYS)} or section:<id>)")
                if order not in ("asc", "desc"):
                    fail("tie_breaks", (i,), f"tie-break order must be 'asc' or 'desc', got '{order}'")
            ties.append((key, order == "desc"))
        bonus_total = sum((c.points for c in criteria.values() if c.kind == "bonus"), ZERO)
        return Grading(base=base, bonus_cap=read_decimal(g["bonus_cap"]) if g.get("bonus_cap") is not None else bonus_total,
                       min_reviewed_share=read_decimal(g.get("min_reviewed_share", 0)), components=tuple(comps),
                       tiers=tiers, gates=tuple(gates), quotas=tuple(quotas), target=target, tie_breaks=tuple(ties),
                       distribution=distribution)

    def _gate(self, i, gt, tier_ref, names, funcs, read_removed, vocab, tiers, loc, fail) -> Gate:
        """grading.gates[i], its condition compiled with the gate names and result functions."""
        tier_ref("gates", (i, "tier"), gt["tier"])
        if tiers and gt["tier"] == tiers[-1].id:      # a failed gate moves one tier down: there is none
            fail("gates", (i, "tier"), f"a gate on the last tier ({tiers[-1].name}) can never move anyone: there is no "
                                       f"lower tier; put the condition on the tier above, or make it a veto")
        read_removed.clear()
        try:
            cond = compile_expr(gt["condition"], names, funcs, expect=Type.BOOL)
        except ExprError as e:
            gone = self.removed.get(read_removed[0]) if read_removed else None
            if gone and self.later(gone[0], loc("gates")[0]):   # a child removed what a parent's gate reads
                self.fail(gone[0], gone[1], f"{read_removed[0]} is removed, but the gate for tier {gt['tier']} "
                                            f"({self.where(loc('gates')[0], loc('gates')[1] + (i, 'condition'))}) "
                                            f"reads it: override grading.gates as well")
            fail("gates", (i, "condition"), f"{e.message} (column {e.column} of {gt['condition']!r})")
        cond.plain = vocab.condition(cond)
        name = next(t.name for t in tiers if t.id == gt["tier"])
        return Gate(gt["tier"], cond, gt.get("reason") or f"评为{name}须{cond.plain}")


_COMMON_KEYS = ("id", "title", "points", "method", "guidance", "rectification", "applies_if", "na_policy", "due")
_KEPT_KEYS = ("id", "title", "method", "rectification")    # every criterion has them: override, never drop


def _changes(changes: list) -> str:
    """`adds G1.3, removes G2.3`; many changes (a field standard reworking its parent) as counts,
    since a list of thirty ids hides what the author needs: the sum and where to set it."""
    words = [c[2] for c in changes]
    if len(words) <= 6:
        return ", ".join(words)
    counts = {}
    for w in words:
        verb, _, cid = w.partition(" ")
        counts.setdefault(verb, []).append(cid)
    return ", ".join(f"{verb} {len(ids)} base criteria ({ids[0]} … {ids[-1]})" if len(ids) > 1 else f"{verb} {ids[0]}"
                     for verb, ids in counts.items())


def _mentions(data: dict, names: set[str]) -> bool:
    """Whether any value of a criterion's keys names one of `names` (a field, or a word of an
    expression)."""
    if not names:
        return False
    text = " ".join(map(str, data.values()))
    return any(re.search(rf"(?<![\w.]){re.escape(n)}(?!\w)", text) for n in names)


def _kind(data: dict) -> str | None:
    m = REGISTRY.get(data.get("method"))
    return m.kind if m else None


class _CriterionContext:
    """What a scoring method's `compile` may ask for; failures point at the offending key."""

    def __init__(self, resolver: Resolver, raw: _Raw):
        self.r, self.raw, self.reads = resolver, raw, set()
        self.max_points = ZERO           # the criterion's points, set before its method compiles

    def _where(self, path):
        path = (path,) if isinstance(path, str) else tuple(path)
        if path and path[0] in self.raw.key_origin:
            loc, p = self.raw.key_origin[path[0]]
            return loc, p + path[1:]
        loc, p = self.raw.origin
        return loc, p + path

    def origin(self, key: str):
        """Where the criterion's `key` was last set: (Locator, path)."""
        return self._where((key,))

    def later(self, a: str, b: str) -> bool:
        """Whether key `a` was set in a later file of the chain than key `b` (a child's override):
        a conflict between the two is then the child's doing, and is reported at `a`."""
        return self.r.later(self.origin(a)[0], self.origin(b)[0])

    def fail(self, path, message):
        loc, p = self._where(path)
        self.r.fail(loc, p, f"{self.raw.data.get('id')}: {message}")

    def get(self, path):
        v = self.raw.data
        for k in ((path,) if isinstance(path, str) else path):
            v = v[k]
        return v

    def expr(self, path, expect):
        source = self.get(path)
        try:
            e = compile_expr(str(source), self.r.names, DEFAULT_FUNCTIONS, expect=expect)
        except ExprError as err:
            self.fail(path, f"{err.message} (column {err.column} of {source!r})")
        self.reads |= {n for n in e.names if n in self.r.field_objs}
        e.plain = self.r.vocab.condition(e) if e.type is Type.BOOL else self.r.vocab.quantity(e)
        return e

    def field(self, path, types):
        name = self.get(path)
        f = self.r.field_objs.get(name)
        if f is None:
            hint = difflib.get_close_matches(str(name), list(self.r.field_objs), 1)
            self.fail(path, f"unknown field '{name}'" + (f"; did you mean '{hint[0]}'?" if hint else ""))
        if f.type not in types:
            self.fail(path, f"field '{name}' is {f.type}, expected {' or '.join(types)}")
        self.reads.add(f.id)
        return f

    def value_field(self, expr):
        return self.r.field_objs.get(expr.source.strip())

    def number(self, path, percent_ok=False, fraction=False, field=None):
        """A number or "60%". fraction=True (a percentage field's threshold): a bare number must be
        a share in [0, 1], since evidence refuses a bare 60 for a percentage too. `field`: the
        number field it is compared with; text such as "50人" is read as evidence for that field
        is, and a unit that does not fit it is refused with evidence's message."""
        v = self.get(path)
        if fraction:
            try:
                return read_share(v)
            except NormalizeError as e:
                self.fail(path, str(e))
        if isinstance(v, str) and field is not None and field.type in ("number", "integer"):
            try:
                return read_number(v, field)
            except NormalizeError as e:
                self.fail(path, str(e))
        try:
            return read_decimal(v, percent_ok)
        except ValueError as e:
            self.fail(path, str(e))

    def band_points(self, path, value):
        d = self.points(path, value)
        if d > self.max_points:
            blame = ("points",) if self.later("points", path[0]) else path
            self.fail(blame, f"band points {d} exceed the criterion's {self.max_points} points")
        return d

    def points(self, path, value):
        try:
            d = read_decimal(value)
        except ValueError as e:
            self.fail(path, str(e))
        if d < 0:
            self.fail(path, f"points must not be negative (got {d})")
        if (d * 2) != (d * 2).to_integral_value():
            self.fail(path, f"points must be a multiple of 0.5 (got {d})")
        return d

    def tier(self, path):
        tid = self.get(path)
        return str(tid)


def _field(fid: str, d: dict, fail) -> Field:
    t = d["type"]
    tol, rel = ZERO, False
    if "tolerance" in d:
        tv = d["tolerance"]
        rel = isinstance(tv, str) and tv.strip().endswith("%")
        try:
            tol = read_decimal(tv)
        except ValueError as e:
            fail(("tolerance",), str(e))
        if t == "records" and (rel or tol != tol.to_integral_value() or tol < 0):
            fail(("tolerance",), f"a records field tolerates a whole number of records (e.g. tolerance: 1), not {tv!r}")
        if t in ("boolean", "enum", "date", "text"):
            fail(("tolerance",), f"{t} fields have no tolerance: self-reported and verified values must agree")
        if tol < 0:
            fail(("tolerance",), f"tolerance must not be negative (got {tv!r})")
    blank = d.get("blank", "missing")
    if blank == "zero" and t not in ("number", "integer", "percentage", "records"):
        fail(("blank",), f"'blank: zero' needs a number, integer, percentage or records field (this one is {t})")
    values = tuple(str(v) for v in d.get("values") or ())
    if t == "enum" and not values:
        fail(("values",), "an enum field needs 'values'")
    if d.get("unit") and t not in ("number", "integer"):
        fail(("unit",), f"only number and integer fields have a unit (this one is {t})")
    return Field(id=fid, type=t, label=d["label"], unit=unit_code(d.get("unit")),
                 min=read_decimal(d["min"]) if d.get("min") is not None else None,
                 max=read_decimal(d["max"]) if d.get("max") is not None else None,
                 values=values, tolerance=tol, tolerance_relative=rel, blank=blank)


def _noting_removed(spec: FunctionSpec, removed, hits: list) -> FunctionSpec:
    """`spec` whose literal check also records a criterion id that a child standard removed."""
    def check(i, value):
        problem = spec.check_literal(i, value)
        if problem and value in removed:
            hits.append(value)
        return problem
    return FunctionSpec(spec.name, spec.params, spec.returns, spec.impl, check)


def result_functions(criterion_ids: list[str], section_ids: list[str]) -> dict[str, FunctionSpec]:
    """points('G1.1'), outcome('G1.1'), section_points('G2'): for gates, over an org's outcomes.

    At run time env['$outcomes'] maps criterion id -> Outcome and env['$sections'] section
    id -> points."""

    def known(ids, what):
        def check(i, value):
            if value in ids:
                return None
            hint = difflib.get_close_matches(str(value), ids, 1)
            return f"unknown {what} '{value}'" + (f"; did you mean '{hint[0]}'?" if hint else "")
        return check

    return {
        "points": FunctionSpec("points", (Type.TEXT,), Type.NUMBER,
                               lambda cid, env: env["$outcomes"][cid].points, known(criterion_ids, "criterion")),
        "outcome": FunctionSpec("outcome", (Type.TEXT,), Type.TEXT,
                                lambda cid, env: env["$outcomes"][cid].outcome, known(criterion_ids, "criterion")),
        "section_points": FunctionSpec("section_points", (Type.TEXT,), Type.NUMBER,
                                       lambda sid, env: env["$sections"][sid], known(section_ids, "section")),
    }
