"""Reading results.json one organization at a time (the reports, the previous round): strict about the keys
documents need, tolerant of everything else (docs/FORMATS.md §3). Numbers are read as Decimal.
A results folder must hold a complete set (run.json's digests match; checked as
`evaluator.scoring.results.read_results_bytes` does).

`agrade evaluate` writes results.json as a stream: the round's header (indented), then
`  "organizations": [`, one organization per line in rank order, `  ]`, `}`. Such a file is
never read whole: `open_results` checks the set, parses the header and goes through the lines
once (every organization checked, its byte range remembered, and whatever the round-wide
documents need gathered by a `collect`or), and `RoundSource.organizations()` reads them again
one at a time, so a round of 100,000 organizations (GBs of JSON) is rendered in the memory of
a few. Any other layout of the same JSON (written by hand, by another tool, or by older agrade
versions) is read whole, as before.
"""
from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..errors import InputError, Issue
from .results import RUN_FILE, _reading, check_result_set, inconsistent

_NUMBER = (int, Decimal)
ORGS_LINE = b'  "organizations": [\n'        # where the evaluator's header ends
END_LINES = (b"  ]\n", b"}\n")               # and how its file ends
CLOSING = b"\n" + b"".join(END_LINES)        # what follows the last organization's line


def opening(header: bytes) -> bytes:
    """What precedes the first organization's line: the header as indented JSON (ending
    "\n}"), left open for the organizations."""
    return header[:-2] + b",\n" + ORGS_LINE
MAX_ISSUES = 50


def results_path(results: Path) -> Path:
    results = Path(results)
    return results / "results.json" if results.is_dir() else results


class _NotStreamed(Exception):
    """The file is not in the evaluator's line layout: read it whole instead."""


class _Checker:
    def __init__(self, file: str):
        self.file = file
        self.line = 0
        self.issues: list[Issue] = []

    def need(self, obj: Any, key: str, path: str, kinds: tuple, nullable: bool = False) -> Any:
        if not isinstance(obj, dict) or key not in obj:
            self.issues.append(Issue(self.file, self.line, 0, f"{path}.{key}", "required key is missing"))
            return None
        value = obj[key]
        if value is None and nullable:
            return None
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            want = " or ".join(k.__name__.replace("Decimal", "number").replace("int", "number") for k in kinds)
            self.issues.append(Issue(self.file, self.line, 0, f"{path}.{key}", f"expected {want}, got {value!r}"))
            return None
        return value

    def header(self, data: Any) -> None:
        if not isinstance(data, dict):
            raise InputError(Issue(self.file, path="$", message="expected a JSON object"))
        rnd = self.need(data, "round", "$", (dict,))
        if rnd is not None:
            for key in ("id", "title", "issuer"):
                self.need(rnd, key, "$.round", (str,))
            period = self.need(rnd, "period", "$.round", (dict,))
            if period is not None:
                self.need(period, "from", "$.round.period", (str,))
                self.need(period, "to", "$.round.period", (str,))

    def organization(self, i: int, org: Any, seen: set[str]) -> bool:
        """Check one organization; False when it is not an object (nothing more to read)."""
        p = f"$.organizations[{i}]"
        if not isinstance(org, dict):
            self.issues.append(Issue(self.file, self.line, 0, p, "expected an object"))
            return False
        oid = self.need(org, "id", p, (str,))
        if oid in seen:
            self.issues.append(Issue(self.file, self.line, 0, f"{p}.id", f"duplicate organization id {oid!r}"))
        seen.add(oid)
        self.need(org, "name", p, (str,))
        self.need(org, "type", p, (str,))
        status = self.need(org, "status", p, (str,))
        if status not in (None, "graded", "not_graded"):
            self.issues.append(Issue(self.file, self.line, 0, f"{p}.status",
                                     f"expected graded or not_graded, got {status!r}"))
        graded = status == "graded"
        self.need(org, "total", p, _NUMBER, nullable=not graded)
        self.need(org, "tier", p, (str,), nullable=not graded)
        rank = self.need(org, "rank", p, (dict,), nullable=not graded)
        if graded and rank is not None:
            self.need(rank, "round", f"{p}.rank", (int,))
        for j, crit in enumerate(self.need(org, "criteria", p, (list,)) or []):
            q = f"{p}.criteria[{j}]"
            for key in ("id", "title", "outcome"):
                self.need(crit, key, q, (str,))
            self.need(crit, "points", q, _NUMBER)
            self.need(crit, "max_points", q, _NUMBER)
        return True


class _Lenient(_Checker):
    """For the previous round: only organizations with an id are read, nothing else is required."""

    def header(self, data: Any) -> None:
        if not isinstance(data, dict):
            raise InputError(Issue(self.file, path="$", message="expected a JSON object"))

    def organization(self, i: int, org: Any, seen: set[str]) -> bool:
        return isinstance(org, dict) and isinstance(org.get("id"), str)


class RoundSource:
    """An open, checked results.json. `header`: everything but the organizations; `ids`: the
    organizations' ids in results order; `collected`: what the `collect`or gathered from each
    organization (None without one). Organizations are read again, one at a time, by
    `organizations()`; close it (or use `with`) when done."""

    def __init__(self, results: Path, collect: Callable[[], Any] | None = None, *, check: bool = True):
        self.path = path = results_path(results)
        self._collect = collect
        self._f = _open_checked(Path(results), path)
        try:
            try:
                self._scan_lines(check)
                self.streamed = True
            except _NotStreamed:
                self._read_whole(check)
                self.streamed = False
        except BaseException:
            self.close()
            raise

    # -- reading

    def __len__(self) -> int:
        return len(self.ids)

    def __enter__(self) -> "RoundSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    def organization(self, i: int) -> dict:
        """The i-th organization (results order), read from the file now."""
        if not self.streamed:
            return self._orgs[i]
        at, length = self._at[i]
        return json.loads(os.pread(self._f.fileno(), length, at), parse_float=Decimal)

    def organizations(self, indices: Iterable[int] | None = None) -> Iterator[dict]:
        """The organizations (all, or those at `indices`), one at a time, in the order asked."""
        for i in range(len(self.ids)) if indices is None else indices:
            yield self.organization(i)

    def results(self) -> dict:
        """The whole results.json in memory (for small rounds and the tests)."""
        return {**self.header, "organizations": list(self.organizations())}

    # -- the first pass

    def _start(self, check: bool) -> tuple[_Checker, Any]:
        self.ids: list[str] = []
        self.collected = self._collect() if self._collect else None
        return (_Checker if check else _Lenient)(str(self.path)), self.collected

    def _scan_lines(self, check: bool) -> None:
        f = self._f
        f.seek(0)
        head: list[bytes] = []
        size = 0
        while (line := f.readline()) != ORGS_LINE:
            if not line or not line.endswith(b"\n"):
                raise _NotStreamed
            head.append(line)
            size += len(line)
        if not head or not head[-1].endswith(b",\n"):
            raise _NotStreamed
        head[0] = head[0].removeprefix(b"\xef\xbb\xbf")
        head[-1] = head[-1][:-2] + b"\n"
        try:
            header = json.loads(b"".join(head) + b"}", parse_float=Decimal)
        except ValueError:
            raise _NotStreamed from None
        c, collected = self._start(check)
        c.header(header)
        if not isinstance(header, dict) or "organizations" in header:
            raise _NotStreamed
        at = size + len(ORGS_LINE)
        line_no = len(head) + 1
        self._at: list[tuple[int, int]] = []
        seen: set[str] = set()
        n = 0
        line = f.readline()
        while line != END_LINES[0]:
            line_no += 1
            nxt = f.readline()
            last = nxt == END_LINES[0]
            body = line[:-1] if last else line[:-2]
            if not line.endswith(b"\n" if last else b",\n") or not body.startswith(b"{"):
                raise _NotStreamed
            try:
                org = json.loads(body, parse_float=Decimal)
            except ValueError:      # not one object per line after all
                raise _NotStreamed from None
            c.line = line_no
            if c.organization(n, org, seen):
                self.ids.append(org.get("id"))
                self._at.append((at, len(body)))
                if collected is not None and not c.issues:     # (a bad round is refused anyway)
                    collected.add(org)
            n += 1
            at += len(line)
            line = nxt
            if len(c.issues) > MAX_ISSUES:
                break
        else:
            if f.readline() != END_LINES[1] or f.readline() != b"":
                raise _NotStreamed
        self.header = header
        if c.issues:
            raise InputError(c.issues)

    def _read_whole(self, check: bool) -> None:
        self._f.seek(0)
        data = self._f.read()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(Issue(str(self.path), 0, 0, "$", f"not valid UTF-8: {exc}")) from None
        try:
            results = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise InputError(Issue(str(self.path), exc.lineno, exc.colno, "$", f"not valid JSON: {exc.msg}")) from None
        c, collected = self._start(check)
        c.header(results)
        orgs = c.need(results, "organizations", "$", (list,)) or []
        seen: set[str] = set()
        for i, org in enumerate(orgs):
            if c.organization(i, org, seen):
                self.ids.append(org.get("id"))
                if collected is not None and not c.issues:     # (a bad round is refused anyway)
                    collected.add(org)
            if len(c.issues) > MAX_ISSUES:
                break
        if c.issues:
            raise InputError(c.issues)
        self._orgs = orgs
        self.header = {k: v for k, v in results.items() if k != "organizations"}


def _open_checked(given: Path, path: Path):
    """results.json opened for reading, after checking it against run.json (under the folder's
    shared lock: the file we hold open is the one whose digest matched; a later run replaces
    the name, never these bytes)."""
    folder = path.parent
    with _reading(folder):
        has_run = (folder / RUN_FILE).exists() and path.name == "results.json"
        if given.is_dir() and not has_run and (folder / "results.csv").exists():
            raise inconsistent(folder, "run.json is missing")
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            if has_run:
                raise inconsistent(folder, "results.json is missing") from None
            if not given.exists():
                raise InputError(Issue(str(path), message="results file not found")) from None
            raise InputError(Issue(str(path), 0, 0, "$", "no results.json here (run `agrade evaluate` first)")) from None
        except IsADirectoryError:
            raise InputError(Issue(str(path), 0, 0, "$", "expected a results.json file")) from None
        try:
            if has_run:
                check_result_set(folder)
        except BaseException:
            f.close()
            raise
    return f


def open_results(results: Path, collect: Callable[[], Any] | None = None, *, check: bool = True) -> RoundSource:
    """Open and check results.json (a file or the folder holding it); raise InputError listing
    every missing or mistyped key the documents rely on. `collect()` makes an object whose
    `add(org)` is called with each organization, in order, during the check. `check=False`
    reads every organization with an id and requires nothing else."""
    return RoundSource(results, collect, check=check)


def load_results(results: Path) -> dict:
    """The whole results.json, checked as `open_results` does (small rounds, tests, benchmarks)."""
    with open_results(results) as src:
        return src.results()
