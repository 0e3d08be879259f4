"""Evidence files skip jsonschema when a plain-Python check vouches for them (item 8, speed);
that check must never accept what the schema refuses, and errors keep their locations."""
import datetime as dt
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from evaluator.intake.evidence import _plainly_valid, collect
from evaluator.errors import InputError
from evaluator.standard.schema import validator

import pytest

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.decimals(allow_nan=False, allow_infinity=False,
                                                                               places=2, min_value=-9, max_value=9),
                    st.sampled_from(["", "无", "2026-01-05", "20260105", "x"]), st.dates(), st.datetimes(),
                    st.lists(st.integers(), max_size=1), st.just({}))
NAMES = st.sampled_from(["members_full", "centre_area", "Bad", "a b", "x\n", "_x", "k9"])
SOURCED = st.dictionaries(st.sampled_from(["self", "verified", "inspector", "verified_on", "note", "other"]),
                          SCALARS, max_size=4)
RECORD = st.one_of(SCALARS, st.dictionaries(st.sampled_from(["date", "title", "x"]), SCALARS, max_size=3))
RECORDS = st.one_of(st.none(), st.just("2026-01-05"), st.lists(RECORD, max_size=3), SOURCED,
                    st.dictionaries(st.sampled_from(["self", "verified", "inspector"]),
                                    st.one_of(st.lists(RECORD, max_size=2), st.text(max_size=2), st.none()), max_size=3))
DOCS = st.fixed_dictionaries(
    {"organization": st.one_of(st.just("C1"), st.integers(0, 9), st.booleans(), st.none())},
    optional={"values": st.one_of(st.none(), st.dictionaries(NAMES, st.one_of(SCALARS, SOURCED), max_size=3)),
              "records": st.one_of(st.none(), st.dictionaries(NAMES, RECORDS, max_size=3)),
              "extra": st.just(1)})


@given(DOCS)
@settings(max_examples=1000)
def test_plainly_valid_is_a_subset_of_the_schema(doc):
    if _plainly_valid(doc):
        assert not list(validator("evidence").iter_errors(doc)), doc


def test_ordinary_documents_take_the_fast_path():
    doc = {"organization": "C1",
           "values": {"members_full": 12, "centre_area": {"self": "520平方米", "verified": Decimal(480),
                                                          "inspector": "督导组-王敏", "verified_on": dt.date(2026, 10, 12)},
                      "has_team": True, "note_x": None},
           "records": {"committee_meetings": [dt.date(2026, 1, 5), {"date": dt.date(2026, 2, 5), "title": "二月"}],
                       "theme_party_days": {"self": "2026-01-05、2026-02-05", "verified": [], "inspector": "王敏"}}}
    assert _plainly_valid(doc)
    assert not list(validator("evidence").iter_errors(doc))


def test_errors_in_a_many_organization_file_point_at_each_item(tmp_path):
    p = tmp_path / "e.yaml"
    p.write_text("organizations:\n  - organization: C1\n    values: {members_full: 3}\n"
                 "  - organization: C2\n    values:\n      members_full: [3]\n"
                 "  - organization: C3\n    value: {members_full: 3}\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        collect([p])
    assert [str(i) for i in e.value.issues] == [
        f"{p}:6:7: $.organizations[1].values.members_full: [3] is not of type 'string', 'number', 'boolean', 'null', 'object'",
        f"{p}:8:5: $.organizations[2].value: unknown key 'value' (did you mean 'values'?)"]
