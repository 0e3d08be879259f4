"""Where the shipped standards, schemas and report templates are.

In a source checkout they are the top-level folders `rules/`, `schemas/` and
`reports/`; in an installed wheel they are copied to `evaluator/_shipped/`
(see pyproject.toml), so the command works from any directory.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


@cache
def _base(name: str) -> Path:
    shipped = _PKG / "_shipped" / name
    if shipped.is_dir():
        return shipped
    checkout = _PKG.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"agrade resource folder '{name}' is missing (looked in {shipped} and {checkout})")


def rules_dir() -> Path:
    return _base("rules")


def schemas_dir() -> Path:
    return _base("schemas")


def reports_dir() -> Path:
    return _base("reports")
