"""A partition's rows on their way back from a worker (rows.Packed): column by column, Decimals
as their text, without what they copy of their organizations. Unpacked they are the rows the
worker made, every field and every Decimal's digits, holding the registry's texts and one
object per distinct value (as rows.Shared gives them)."""
from __future__ import annotations

import pickle
from dataclasses import fields, replace
from decimal import Decimal

import pytest

from evaluator.demo import generate
from evaluator.intake.rounds import load_round
from evaluator.model import Organization
from evaluator.scoring.rows import Packed, Row, Shared
from evaluator.scoring.run import score_round


def _registry(n: int) -> list[Organization]:
    return [Organization(f"SQ-{i:05d}", f"长景第{i}社区党委", "community", "示例区", f"第{i % 13}街道") for i in range(n)]


def _row(org: Organization, i: int) -> Row:
    """Rows as a worker makes them, each kind of value in turn: not graded (no total, no
    tie-break values), totals of other digits (1 and 1.00), vetoes and caps, failed gates."""
    graded = i % 7 != 3
    total = (Decimal(60 + i % 40) / 2 if i % 5 else Decimal("45.00") if i % 2 else Decimal("45")) if graded else None
    return Row.of(org, "community", graded=graded, total=total, base=total or Decimal(0),
                  bonus=Decimal("0.5") * (i % 3), veto_count=i % 4 // 3, vetoes="G9.2" if i % 4 == 3 else "",
                  findings=i % 4, lost=i % 9, sort_key=(-total, -total, Decimal(i % 3)) if graded else (),
                  tier_index=i % 4 if graded else None, reasons=(f"总分 {total}，达到 B档（≥ 30）",) * (1 + i % 2),
                  caps=(("G9.2", 2),) if i % 4 == 3 else (),
                  gate_failures={0: "组织生活会未按期召开"} if i % 2 else None)


def _trip(rows: list[Row], orgs: list[Organization], shared: Shared | None = None) -> list[Row]:
    """As a local or Dask worker sends them and the main process takes them in."""
    packed = Packed.of(rows, orgs)
    assert packed is not None
    return pickle.loads(pickle.dumps(packed, pickle.HIGHEST_PROTOCOL)).rows(orgs, shared)


def test_rows_come_back_whole_with_every_decimal_as_written():
    orgs = _registry(60)
    rows = [_row(o, i) for i, o in enumerate(orgs)]
    for i, r in enumerate(rows):
        r.spill = (1 << 33 | i * 30_000, 400, 29_000)
    back = _trip(rows, orgs)
    assert back == rows
    for a, b in zip(back, rows):       # equal Decimals may print differently: compare the text
        assert [str(x) for x in (a.total, a.base, a.bonus, *a.sort_key)] == \
            [str(x) for x in (b.total, b.base, b.bonus, *b.sort_key)]
        assert a.spill == b.spill and type(a.spill) is tuple
    assert {str(r.total) for r in back} >= {"45", "45.00", "None"}
    assert back[3].sort_key == () and back[3].total is None and back[3].status == "not_graded"


def test_a_row_with_every_field_set_comes_back_whole():
    # so a field added to Row later is carried, or this fails
    orgs = _registry(2)
    row = replace(_row(orgs[0], 23), tier="B", tier_name="B档", tier_before_quota=0, extra_reasons=["受比例限制降为 B档"],
                  rank_round=12, rank_district=3, rank_street=1, rank_type=5, spill=(7, 3, 2), at=11,
                  caps=(("G9.2", 2),), veto_count=1, vetoes="G9.2")
    defaults = Row.of(orgs[0], "", graded=False, total=None, base=Decimal(0), bonus=Decimal(0), veto_count=0,
                      vetoes="", findings=0, lost=0, sort_key=(), tier_index=None)
    assert [f.name for f in fields(Row) if getattr(row, f.name) == getattr(defaults, f.name)] == \
        ["id", "name", "type", "district", "street"]           # (the registry's, see below)
    back = _trip([row, _row(orgs[1], 2)], orgs)        # (a second row: no column is one object)
    assert back[0] == row
    assert back[0].extra_reasons is not row.extra_reasons           # a list is the row's own, not the worker's


def test_rows_take_the_registrys_texts_and_share_repeated_values():
    orgs = _registry(500)
    rows = [_row(o, i) for i, o in enumerate(orgs)]
    shared = Shared()
    back = _trip(rows[:250], orgs[:250], shared) + _trip(rows[250:], orgs[250:], shared)
    assert back == rows
    assert all(r.id is o.id and r.name is o.name and r.street is o.street for r, o in zip(back, orgs))
    # one object per distinct value across partitions, as Shared.row gives them ...
    by_total: dict[str, Decimal] = {}
    for r in back:
        if r.total is not None:
            assert by_total.setdefault(str(r.total), r.total) is r.total
    assert back[1].reasons is back[121].reasons and back[1].gate_failures is back[251].gate_failures
    assert back[1].sort_key is back[121].sort_key
    # ... but 45 and 45.00 are equal Decimals that print differently: each keeps its own
    assert by_total["45"] is not by_total["45.00"]
    k45, k4500 = (next(r.sort_key for r in back if str(r.total) == t) for t in ("45", "45.00"))
    assert [str(x) for x in k45[:2]] == ["-45", "-45"] and [str(x) for x in k4500[:2]] == ["-45.00", "-45.00"]
    alike = [replace(r) for r in rows]
    reference = Shared()
    for r in alike:
        reference.row(r)
    assert alike == back


@pytest.mark.parametrize("how", ["other order", "one missing", "not rows"])
def test_rows_that_are_not_the_partitions_go_as_they_are(how):
    orgs = _registry(5)
    rows = [_row(o, i) for i, o in enumerate(orgs)]
    sent = {"other order": rows[::-1], "one missing": rows[:4], "not rows": [("x", 1)] * 5}[how]
    assert Packed.of(sent, orgs) is None


@pytest.fixture(scope="module")
def demo_round(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("demo") / "round", 240, 11)


def test_local_workers_give_the_round_the_rows_one_process_gives_it(demo_round):
    """Every row of a round scored by two local workers (packed on the way back) is the row the
    round scored in one process has, Decimals with their digits, tie-break values, reasons, and
    where it says its result is (partitions are spilled as they arrive) holds the same bytes."""
    def rows(workers):
        scored = score_round(load_round(demo_round), workers=workers, partition_size=50)
        try:
            return [(replace(r, spill=()), [str(x) for x in (r.total, r.base, r.bonus, *r.sort_key)],
                     scored.spill.get(r.spill)) for r in scored.rows]
        finally:
            scored.close()
    alone, two = rows(1), rows(2)
    assert len(two) == 240 and two == alone
