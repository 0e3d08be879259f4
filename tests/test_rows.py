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


def test_a_spill_position_reads_back_as_it_was_set():
    # Row.spill is kept packed in one int; every reader still gets the tuple it was set to
    row = full_row()
    assert row.spill == (1 << 33, 327, 27990) and type(row.spill) is tuple
    row.spill = (0, 0, 0)
    assert row.spill == (0, 0, 0)
    row.spill = (1 << 45, (1 << 32) - 1, 1 << 31)
    assert row.spill == (1 << 45, (1 << 32) - 1, 1 << 31)
    for other in [("store", "SQ-0001"), ("file", 10, 200, 50, 30), (0, 1 << 32, 5), ()]:   # kept as given
        row.spill = other
        assert row.spill == other
    assert replace(row, at=3).spill == other and pickle.loads(pickle.dumps(row)).spill == other


def _registry(n: int):
    from evaluator.model import Organization
    return [Organization(f"SQ-{i:05d}", f"长景第{i}社区党委", "community", "示例区", f"第{i % 13}街道") for i in range(n)]


def _scored(org, i: int) -> Row:
    """A row as a worker makes it: totals on a grid, a band reason naming the total, a failed gate
    for some."""
    total = Decimal(60 + i % 80) / 2
    return Row.of(org, "community", graded=True, total=total, base=total, bonus=Decimal("0.5") * (i % 3),
                  veto_count=0, vetoes="", findings=i % 4, lost=i % 9, sort_key=(-total, -total),
                  tier_index=i % 4, reasons=(f"总分 {total}，达到 B档（≥ 30）",),
                  gate_failures={0: "组织生活会未按期召开"} if i % 2 else None)


def test_rows_back_from_a_cluster_take_the_registry_strings_and_stay_small():
    import tracemalloc
    from evaluator.scoring.rows import Packed, Shared
    registry = _registry(4000)
    sent = []
    for start in range(0, len(registry), 500):          # partitions, each pickled as Dask sends it
        orgs = registry[start:start + 500]
        rows = [_scored(o, start + i) for i, o in enumerate(orgs)]
        for i, r in enumerate(rows):
            r.spill = (i * 29400, 400, 29000)        # where in the partition's blob
        sent.append((pickle.dumps(Packed.of(rows, orgs), pickle.HIGHEST_PROTOCOL), start))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        shared, back = Shared(), []
        for data, start in sent:
            rows = pickle.loads(data).rows(registry[start:start + 500], shared)
            for r in rows:
                r.spill = (start * 29400 + r.spill[0], r.spill[1], r.spill[2])      # where in the round's spill
            back += rows
        per_row = (tracemalloc.get_traced_memory()[0] - before) / len(back)
    finally:
        tracemalloc.stop()
    assert back == [replace(_scored(o, i), spill=(i * 29400, 400, 29000)) for i, o in enumerate(registry)]
    assert all(r.id is o.id and r.name is o.name for r, o in zip(back, registry))
    assert back[1].gate_failures is back[3].gate_failures and back[0].reasons is back[80].reasons
    # the row itself (264 bytes) and its packed spill; everything else shared (was ~1 KB a row)
    assert per_row < 400, per_row


def test_rows_whose_values_only_look_alike_keep_their_own():
    # 1 and 1.00 are equal Decimals but print differently in state.jsonl and results
    from evaluator.scoring.rescore import row_state
    from evaluator.scoring.rows import Shared
    a, b = full_row(), full_row()
    a.sort_key, b.sort_key = (Decimal("-90"), Decimal("-85.5")), (Decimal("-90.00"), Decimal("-85.5"))
    a.gate_failures, b.gate_failures = {0: "甲"}, {0: "乙"}
    shared = Shared()
    shared.row(a)
    shared.row(b)
    assert row_state(a)["sort_key"] == ["-90", "-85.5"] and row_state(b)["sort_key"] == ["-90.00", "-85.5"]
    assert a.gate_failures == {0: "甲"} and b.gate_failures == {0: "乙"}
