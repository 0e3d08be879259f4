"""Input problems as data.

Every loader (YAML, schema, standard, evidence, round) reports what is wrong
as `Issue` records so the CLI can print `file:line:col: json.path: message`
and exit 2 before anything is evaluated (design invariant 5).
"""
from __future__ import annotations

from typing import NamedTuple


class Issue(NamedTuple):
    """Immutable and ordered by (file, line, col, path, message). A named tuple rather than a
    dataclass: evidence intake makes one per cell (its location) and ships them between
    processes, where a tuple is several times cheaper to build and to pickle."""
    file: str
    line: int = 0          # 1-based; 0 when unknown
    col: int = 0           # 1-based; 0 when unknown
    path: str = "$"        # JSON path inside the document, e.g. $.sections[0].criteria[2].points
    message: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.col or 1}"
        return f"{where}: {self.path}: {self.message}"


class InputError(Exception):
    """One or more problems in user input; carries every issue found."""

    def __init__(self, issues: list[Issue] | Issue):
        self.issues: list[Issue] = [issues] if isinstance(issues, Issue) else list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


def json_path(parts) -> str:
    """Render a sequence of keys/indices as `$.a[0].b`."""
    out = "$"
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif isinstance(p, str) and p.replace("_", "a").replace("-", "a").isalnum() and not p[:1].isdigit():
            out += f".{p}"
        else:
            out += f"[{_quote(str(p))}]"
    return out


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class EvaluationError(Exception):
    """The engine broke an invariant (missing or duplicate outcome, action raised)."""
