"""A bulk CSV's rows reach their organizations' partitions however the file lists them: in
registry order (the usual file, cut without sorting), in any other order, with ids padded by
spaces (read as the row readers read them, stripped), or naming an organization not in the
registry (reported where it is named): each organization's evidence is what reading the
round in one piece (collect, then resolve) gives, and so are the problems."""
from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from evaluator.intake.evidence import collect, resolve
from evaluator.intake.partition import replay_pieces, route, unknown_issues
from evaluator.model import Organization
from evaluator.standard.loader import load_standard

RULES = Path(__file__).resolve().parents[2] / "rules"
STANDARD = load_standard(RULES / "community.yaml")
ORGS = [Organization(f"C-{i:02d}", f"社区党组织{i}", "community", "东区", "") for i in range(9)]


def rows_in_registry_order() -> list[tuple]:
    return [(o.id, field, str(n + i), "") for i, o in enumerate(ORGS)
            for n, field in enumerate(("members_full", "members_probationary"))]


def write_values(folder: Path, rows: list[tuple]) -> None:
    with (folder / "values.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["organization", "field", "self", "verified"])
        w.writerows(rows)


def routed_evidence(folder: Path, size: int) -> tuple[dict, list]:
    router = route([folder], ORGS, size)
    try:
        evidence, issues = {}, list(router.issues) + unknown_issues(router, ORGS)
        for k in range(router.count):
            raw, put_issues = replay_pieces(list(router.pieces(k)))
            issues += put_issues
            for o in ORGS[router.span(k)]:
                evidence[o.id], errs = resolve(raw.pop(o.id, None), o.id, STANDARD)
                issues += errs
        return evidence, issues
    finally:
        router.close()


def evidence_in_one_piece(folder: Path) -> dict:
    raw, _, _, _ = collect([folder], ORGS)
    return {o.id: resolve(raw.get(o.id), o.id, STANDARD)[0] for o in ORGS}


LISTINGS = {
    "registry order": lambda rows: rows,
    "shuffled": lambda rows: random.Random(7).sample(rows, len(rows)),
    "reversed": lambda rows: rows[::-1],
    "padded ids": lambda rows: [(f" {r[0]}\u3000" if i % 3 == 0 else r[0],) + r[1:] for i, r in enumerate(rows)],
}


@pytest.mark.parametrize("listing", sorted(LISTINGS))
@pytest.mark.parametrize("size", [1, 2, 4, 100])
def test_each_row_reaches_its_organization_however_the_file_lists_them(tmp_path, listing, size):
    write_values(tmp_path, LISTINGS[listing](rows_in_registry_order()))
    evidence, issues = routed_evidence(tmp_path, size)
    assert issues == []
    assert evidence == evidence_in_one_piece(tmp_path)
    # the values themselves, as written for each organization
    assert [evidence[o.id].values["members_full"] for o in ORGS] == list(range(len(ORGS)))


@pytest.mark.parametrize("where", [0, 7, 17])
def test_a_row_naming_an_organization_not_in_the_registry_is_reported_at_its_line(tmp_path, where):
    rows = rows_in_registry_order()
    rows.insert(where, ("C-99", "members_full", "5", ""))
    write_values(tmp_path, rows)
    evidence, issues = routed_evidence(tmp_path, 2)
    assert [(i.file, i.line, i.message) for i in issues] == [
        (str(tmp_path / "values.csv"), where + 2, "evidence for organization 'C-99', which is not in the registry")]
    assert evidence == evidence_in_one_piece(tmp_path)
