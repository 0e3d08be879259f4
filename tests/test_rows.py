"""A compact row survives the trip back from a worker process (pickle) whole: every field, the
ones left None, the Decimals as written (1.00 stays 1.00), and the spill tuple."""
import copy
import pickle
from dataclasses import fields, replace
from decimal import Decimal

import pytest

from evaluator.scoring.rows import Row


def full_row() -> Row:
    """A row with every field set to a value of its own (none left at its default)."""
    return Row(id="SQ-0001", name="长景社区党委", type="community", district="示例区", street="文昌街道",
               standard="community", graded=True, total=Decimal("90.30"), base=Decimal("85.5"),
               bonus=Decimal("4.80"), veto_count=2, vetoes="G9.2；G9.3", findings=3, lost=7,
               sort_key=(Decimal("-90.30"), Decimal("-85.5"), "SQ-0001"), tier_index=1, tier="B",
               tier_name="B档", tier_before_quota=0, reasons=("总分 90.30，达到 A档（≥ 90）",),
               caps=(("G9.2", 2),), gate_failures={0: "未达到门槛"}, extra_reasons=["受比例限制降为 B档"],
               rank_round=12, rank_district=3, rank_street=1, rank_type=5, spill=(1 << 33, 327, 27990), at=11)


def test_every_field_is_set_in_the_full_row():
    # so the round-trip below covers a field added to Row later, or fails here
    defaults = Row(id="", name="", type="", district="", street="", standard="", graded=False, total=None,
                   base=Decimal(0), bonus=Decimal(0), veto_count=0, vetoes="", findings=0, lost=0,
                   sort_key=(), tier_index=None)
    row = full_row()
    assert [f.name for f in fields(Row) if getattr(row, f.name) == getattr(defaults, f.name)] == []


@pytest.mark.parametrize("protocol", [2, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL])
def test_a_row_round_trips_through_pickle_with_every_field(protocol):
    row = full_row()
    back = pickle.loads(pickle.dumps(row, protocol))
    assert back == row
    assert [str(back.total), str(back.bonus)] == ["90.30", "4.80"]     # printed as results.json prints them
    assert back.spill == (1 << 33, 327, 27990) and type(back.spill) is tuple
    assert back.tier_reasons == ["总分 90.30，达到 A档（≥ 90）", "受比例限制降为 B档"]


def test_a_not_graded_row_keeps_its_nones():
    row = Row.of(type("Org", (), {"id": "X1", "name": "某支部", "type": "school", "district": "甲区",
                                  "street": "乙街道"})(), "school", graded=False, total=None, base=Decimal(0),
                 bonus=Decimal(0), veto_count=0, vetoes="", findings=0, lost=0, sort_key=(), tier_index=None)
    back = pickle.loads(pickle.dumps([row, row]))
    assert back[0] == row and back[0].total is None and back[0].tier is None and back[0].gate_failures is None
    assert back[0].status == "not_graded" and back[0].rank("round") is None
    assert back[1] is back[0]                       # one object pickled twice stays one


def test_a_copy_is_a_row_of_its_own():
    row = full_row()
    other = copy.copy(row)
    other.rank_round = 1
    assert row.rank_round == 12 and other == replace(row, rank_round=1)
