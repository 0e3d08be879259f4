"""What-if edits: `--set [STANDARD:]PATH=VALUE` parsed against the round's standards, and the
standards as edited.

An edit names a criterion by id (or `grading`) and a path into its YAML as written in the
standard (`bands[0].min`, `condition`, `points`, `grading.tiers[0].min`,
`grading.quotas[0].max_share`); `community:G4.1...` limits it to one standard of the round (by
standard id or organization type), otherwise every standard of the round that has the
criterion changes. The changed standard is compiled by the loader itself (the same checks,
the same messages), after the edited part passed the standard schema, so a bad edit is
refused before anything is scored, naming the --set and what was expected.
"""
from __future__ import annotations

import copy
import datetime as dt
import difflib
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import InputError, Issue, json_path
from ..intake.rounds import Round
from ..model import Standard
from ..standard.loader import Resolver, load_document
from ..standard.schema import check_with, make_validator, schema
from ..standard.yamlsafe import Locator, load_yaml_text
from .run import with_round_overrides

# one step of a path after the criterion id: .key or [index]
_STEP = re.compile(r"\.([^.\[\]=\s]+)|\[(\d+)\]")
_PERCENT = re.compile(r"\s*[-+]?\d+(\.\d+)?\s*%\s*")


# ------------------------------------------------------------------ edits

@dataclass(frozen=True)
class Edit:
    """One --set: `target` (a criterion id, or "grading") and the path below it, the new value
    (parsed as YAML, as it would be written in the standard), and the standards it changes."""
    text: str                          # as given: G4.1.bands[0].min=200
    target: str
    path: tuple
    value: Any
    standards: tuple[str, ...]         # ids of the round's standards it applies to

    @property
    def where(self) -> str:
        return f"--set {self.text}"

    @property
    def shown(self) -> str:
        """The edited path as the user wrote it: G4.1.bands[0].min."""
        return _shown(self.target, self.path)


def _shown(target: str, path) -> str:
    return target + json_path(list(path))[1:]


def parse_edit(text: str, standards: dict[str, Standard]) -> Edit:
    """`[STANDARD:]PATH=VALUE` against the round's standards (organization type -> standard)."""
    where = f"--set {text}"

    def bad(message: str, path: str = "$"):
        return InputError(Issue(where, 0, 0, path, message))
    lhs, eq, rhs = text.partition("=")
    lhs = lhs.strip()
    if not eq or not lhs:
        raise bad("expected PATH=VALUE, e.g. G4.1.bands[0].min=200 or grading.tiers[0].min=95")
    by_id = {s.id: s for s in standards.values()}
    chosen = list(by_id.values())
    prefix, colon, rest = lhs.partition(":")
    if colon:
        std = by_id.get(prefix) or standards.get(prefix)
        if std is None:
            known = sorted(set(by_id) | set(standards))
            hint = difflib.get_close_matches(prefix, known, 1)
            raise bad(f"no standard or organization type '{prefix}' in this round (it has: {', '.join(known)})"
                      + (f"; did you mean '{hint[0]}'?" if hint else ""))
        chosen, lhs = [std], rest.strip()
    ids = {"grading"}.union(*(s.criteria for s in chosen))
    target = max((i for i in ids if lhs == i or lhs.startswith((i + ".", i + "["))), key=len, default=None)
    if target is None:
        head = re.split(r"[\[]", lhs)[0]
        guesses = [head.rsplit(".", k)[0] for k in range(head.count(".") + 1)]     # G4.1.x, G4.1, G4
        hint = next((h for g in guesses for h in difflib.get_close_matches(g, sorted(ids), 1, 0.7)), None)
        raise bad(f"'{lhs}' names no criterion of {', '.join(s.id for s in chosen)} (nor grading)"
                  + (f"; did you mean '{hint}'?" if hint else ""), lhs)
    tail = lhs[len(target):]
    steps, at = [], 0
    for m in _STEP.finditer(tail):
        if m.start() != at:
            break
        steps.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        at = m.end()
    if at != len(tail) or not steps:
        raise bad(f"after '{target}' expected .key or [index] steps, e.g. {target}.points"
                  f" (got '{tail or '(nothing)'}')", lhs)
    try:
        value, _ = load_yaml_text(rhs, where)
    except InputError as e:
        raise bad(f"the value {rhs!r} is not valid YAML: {e.issues[0].message}", lhs) from None
    if value is None:
        raise bad("no value after '='", lhs)
    applies = tuple(s.id for s in chosen if target == "grading" or target in s.criteria)
    return Edit(text, target, tuple(steps), value, applies)


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "true or false"
    if isinstance(v, (int, float, Decimal)):
        return "a number"
    if isinstance(v, str):
        return "a percentage" if _PERCENT.fullmatch(v) else "text"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, dt.date):
        return "a date"
    return type(v).__name__


_NUMERIC = {"a number", "a percentage"}     # 40% and 0.4 are the same share wherever shares are read


def _set(root: dict, edit: Edit, new_keys_ok: bool) -> Any:
    """Change `root` (a deep copy) at edit.path; a step that does not exist, or a value of
    another kind than the one it replaces, is refused naming the path. Returns the value
    replaced (None for a key the criterion did not have)."""
    node, steps = root, edit.path

    def bad(upto, message):
        raise InputError(Issue(edit.where, 0, 0, _shown(edit.target, upto), message))
    for i, step in enumerate(steps):
        here, last = steps[:i], i == len(steps) - 1
        if isinstance(step, int):
            if not isinstance(node, list):
                bad(here, f"{_shown(edit.target, here)} is {_kind(node)}, not a list: [{step}] does not apply")
            if step >= len(node):
                bad(steps[:i + 1], f"{_shown(edit.target, here)} has {len(node)} item(s), [0] to [{len(node) - 1}]")
        else:
            if not isinstance(node, dict):
                bad(here, f"{_shown(edit.target, here)} is {_kind(node)}, not a mapping: .{step} does not apply")
            if step not in node and not (last and new_keys_ok and i == 0):
                hint = difflib.get_close_matches(step, list(node), 1)
                bad(steps[:i + 1], f"{_shown(edit.target, here)} has no '{step}' (it has: {', '.join(map(str, node))})"
                    + (f"; did you mean '{hint[0]}'?" if hint else ""))
        if last:
            if isinstance(node, dict) and step not in node:
                node[step] = edit.value                       # a key the criterion may take (compile checks it)
                return None
            old = node[step]
            if _kind(old) != _kind(edit.value) and not {_kind(old), _kind(edit.value)} <= _NUMERIC:
                bad(steps, f"expected {_kind(old)} like the standard's {_plain(old)}, got {_plain(edit.value)} ({_kind(edit.value)})")
            node[step] = edit.value
            return old
        node = node[step]


def _plain(v: Any) -> str:
    return str(v) if not isinstance(v, str) else repr(v)


def shown_value(v: Any) -> str:
    """A standard's value as the user reads it back: 500, 40%, members_full >= 7, and lists or
    mappings in JSON's flow form ([{"min": 500, "points": 6}]); (无) for a key it did not have."""
    if v is None:
        return "（无）"
    if isinstance(v, (list, dict)):
        import json
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)


# ------------------------------------------------------------------ the changed standards

_SCHEMA: dict[str, Any] = {}


def _part_validator(part: str):
    """A validator for one part of a standard (a criterion, the grading block), from the
    standard schema, so an edited value gets the same messages as a file would."""
    v = _SCHEMA.get(part)
    if v is None:
        full = schema("standard")
        sub = full["$defs"]["criterion"] if part == "criterion" else full["properties"]["grading"]
        v = _SCHEMA[part] = make_validator({**sub, "$defs": full["$defs"]}, trusted=True)
    return v


class _Edited(Resolver):
    """The loader's resolver for one standard's files, with edits applied to the merged
    definition before it is compiled; problems are stated against the --set they come from."""

    def __init__(self, chain, edits: list[Edit]):
        super().__init__(chain)
        self.edits = edits
        self.changes: list[tuple[Edit, Any]] = []     # (edit, the value it replaced in this standard)

    def adjust(self) -> None:
        for e in self.edits:
            loc = Locator(e.where)
            if e.target == "grading":
                data = {k: copy.deepcopy(v) for k, (v, _, _) in self.grading.items()}
                self.changes.append((e, _set(data, e, new_keys_ok=True)))
                self._schema(e, data, "grading")
                key = e.path[0]
                self.grading[key] = (data[key], loc, (key,))
            else:
                raw = self.criteria[e.target]
                raw.data = copy.deepcopy(raw.data)        # the loader's cached document stays as read
                self.changes.append((e, _set(raw.data, e, new_keys_ok=True)))
                self._schema(e, raw.data, "criterion")
                raw.key_origin[e.path[0]] = (loc, (e.path[0],))

    @staticmethod
    def _schema(e: Edit, data, part: str) -> None:
        issues = check_with(data, _part_validator(part), Locator(e.where))
        if issues:
            raise InputError([Issue(e.where, 0, 0, _shown(e.target, ()) + i.path[1:], i.message) for i in issues])

    def digest(self) -> str:
        # not the files' digest: a changed standard must never pass for the one on disk
        return super().digest() + "+whatif:" + "|".join(e.text for e in self.edits)


def edited_standards(rnd: Round, edits: list[Edit]) -> tuple[dict[str, Standard], list[dict]]:
    """The round's standards (organization type -> standard, round overrides applied) with the
    edits made (a standard no edit touches is the round's own object), and what each edit
    replaced in each standard: [{standard, title, path, before, after}]. The same path can
    hold different values in different standards (a field standard's override of G4.1 has
    its own bands), so this is what the user should read back."""
    for e in edits:
        if e.target == "grading" and e.path[0] in rnd.grading_override:
            raise InputError(Issue(e.where, 0, 0, e.shown, f"the round ({rnd.path}) sets grading.{e.path[0]} for "
                                   "every standard; change it there (round.yaml grading:), not in the standard"))
    out: dict[str, Standard] = {}
    made: dict[str, Standard] = {}
    changes: list[dict] = []
    for org_type, std in rnd.standards.items():
        mine = [e for e in edits if std.id in e.standards]
        if not mine:
            out[org_type] = with_round_overrides(std, rnd.grading_override)
            continue
        if std.id not in made:
            chain = [load_document(Path(f)) for f in std.files]
            resolver = _Edited(chain, mine)
            try:
                changed = resolver.build()
            except InputError as e:
                raise InputError([_stated(i, mine) for i in e.issues]) from None
            made[std.id] = with_round_overrides(changed, rnd.grading_override)
            changes += [{"standard": std.id, "title": std.title, "path": e.shown, "before": old, "after": e.value}
                        for e, old in resolver.changes]
        out[org_type] = made[std.id]
    return out, changes


def _stated(i: Issue, edits: list[Edit]) -> Issue:
    """A problem of an edited standard as the user can act on it: at the --set that caused it
    (its path as written there), or, found elsewhere in the standard, with the edits named."""
    edit = next((e for e in edits if e.where == i.file), None)
    if edit is not None:                     # the loader's JSON path below the edited key, or ours already
        return Issue(i.file, 0, 0, edit.target + i.path[1:] if i.path.startswith("$") else i.path, i.message)
    return i._replace(message=f"{i.message} (after {', '.join(e.where for e in edits)})")


def edited_criteria(edits: list[Edit], std_id: str) -> tuple[str, ...]:
    """The criteria of standard `std_id` whose outcomes an edit can change (a grading edit
    changes none: outcomes are reused, only the grading runs again)."""
    return tuple(dict.fromkeys(e.target for e in edits if std_id in e.standards and e.target != "grading"))

