"""Issue 6, item 5: a bare 1 in a percentage field is 1% to some and 100% to others: ask."""
from decimal import Decimal

import pytest

from helpers_intake import evidence_of, make_round, refusals


@pytest.mark.parametrize("cell", ["1", "1.0", "１", "1.00"])
def test_bare_one_in_csv_is_ambiguous(tmp_path, cell):
    csv_text = f"organization,field,self\nC1,grid_party_share,{cell}\n"
    [problem] = refusals(make_round(tmp_path, {"values.csv": csv_text}))
    assert problem == (f"{tmp_path / 'evidence' / 'values.csv'}:2:3: row 2.self: 网格员中党员占比（grid_party_share）: "
                       f"{cell!r} is ambiguous for a percentage: write 1% or 100%")


@pytest.mark.parametrize("value", ["1", "1.0"])
def test_bare_one_in_yaml_and_json_is_ambiguous(tmp_path, value):
    r = make_round(tmp_path, {"c1.yaml": f"organization: C1\nvalues:\n  grid_party_share: {value}\n",
                              "c2.json": f'{{"organization": "C2",\n "values": {{"grid_party_share": {value}}}}}'})
    problems = refusals(r)
    assert problems[0].startswith(f"{tmp_path / 'evidence' / 'c1.yaml'}:3:3: $.values.grid_party_share: ")
    assert problems[1].startswith(f"{tmp_path / 'evidence' / 'c2.json'}:2:13: $.values.grid_party_share: ")
    assert all("ambiguous for a percentage: write 1% or 100%" in p for p in problems)


@pytest.mark.parametrize("cell, want", [("0", "0"), ("0.5", "0.5"), ("0.999", "0.999"), ("100%", "1"), ("1%", "0.01"),
                                        ("0.01", "0.01"), ("55.8%", "0.558")])
def test_fractions_and_written_percentages_accepted(tmp_path, cell, want):
    csv_text = f"organization,field,self\nC1,grid_party_share,{cell}\n"
    assert evidence_of(make_round(tmp_path, {"values.csv": csv_text}))["C1"].values["grid_party_share"] == Decimal(want)


def test_ninety_eight_still_ambiguous(tmp_path):
    csv_text = "organization,field,self\nC1,grid_party_share,98\n"
    [problem] = refusals(make_round(tmp_path, {"values.csv": csv_text}))
    assert problem.endswith("'98' is ambiguous for a percentage: write 98% or 0.98")
