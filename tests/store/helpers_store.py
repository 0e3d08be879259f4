"""Shared by the store's tests: a small demo round, and results compared as a user would."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evaluator.cli import run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def demo_round(tmp_path_factory) -> Path:
    """A 60-organization demo round (every organization type, waivers and lists in round.yaml)."""
    from evaluator.demo import generate
    return generate(tmp_path_factory.mktemp("demo") / "round", 60, 11)


@pytest.fixture
def mini_round(tmp_path) -> Path:
    dest = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", dest)
    return dest / "round.yaml"


def scored(path: Path) -> dict:
    """results.json without what says where the evidence came from (a stored round's evidence
    digest is over its submissions, a folder's over its files)."""
    data = json.loads((Path(path) / "results.json").read_text(encoding="utf-8"))
    for k in ("evidence_digest", "evidence_files"):
        data.pop(k)
    return data


def evaluate_folder(round_yaml: Path, out: Path) -> dict:
    code = run(["evaluate", str(round_yaml), "--out", str(out), "-q"])
    assert code == 0
    return scored(out)
