"""results.csv written a batch of rows at a time gives the bytes of the reference: each row's
cells through to_jsonable and neutralize, one csv line at a time (differential, hypothesis)."""
import csv
import io
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from evaluator.model import Organization
from evaluator.scoring.results import CSV_COLUMNS, csv_lines, neutralize, to_jsonable
from evaluator.scoring.rows import Row
from evaluator.terms import ORG_TYPES, STATUS_ZH


def reference(rows) -> bytes:
    out = []
    for cells in [[zh for _, zh in CSV_COLUMNS]] + [
            [{"rank": r.rank_round, "id": r.id, "name": r.name, "type_name": ORG_TYPES.get(r.type, r.type),
              "district": r.district, "street": r.street, "standard": r.standard, "status": STATUS_ZH[r.status],
              "total": r.total, "base": r.base, "bonus": r.bonus, "tier": r.tier, "tier_name": r.tier_name,
              "rank_district": r.rank_district, "rank_street": r.rank_street, "rank_type": r.rank_type, "vetoes": r.vetoes,
              "findings": r.findings, "lost": r.lost}[k] for k, _ in CSV_COLUMNS] for r in rows]:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(["" if c is None else neutralize(to_jsonable(c)) for c in cells])
        out.append(buf.getvalue().encode("utf-8"))
    return "\ufeff".encode("utf-8") + b"".join(out)


text = st.sampled_from(["", "甲社区", "=1+1", "+86", "-", "@x", "＝", "\tx", "a,b", 'say "hi"', "x\ny"])
number = st.one_of(st.none(), st.integers(-5, 200))
decimal = st.one_of(st.none(), st.decimals(-10, 120, places=2, allow_nan=False, allow_infinity=False))


@st.composite
def row(draw, i=st.integers(0, 10**6)):
    org = Organization(id=f"O{draw(i)}" + draw(text), name=draw(text), type=draw(st.sampled_from(sorted(ORG_TYPES) + ["x"])),
                       district=draw(text), street=draw(text))
    graded = draw(st.booleans())
    r = Row.of(org, draw(text) or "s", graded=graded, total=draw(decimal), base=draw(decimal) or Decimal(0),
               bonus=draw(decimal) or Decimal(0), veto_count=0, vetoes=draw(text), findings=draw(number) or 0,
               lost=draw(number) or 0, sort_key=(), tier_index=None)
    r.tier, r.tier_name = draw(st.one_of(st.none(), text)), draw(st.one_of(st.none(), text))
    r.rank_round, r.rank_district, r.rank_street, r.rank_type = draw(number), draw(number), draw(number), draw(number)
    return r


@settings(max_examples=300, deadline=None)
@given(st.lists(row(), max_size=12), st.integers(1, 5))
def test_batched_csv_is_the_reference(rows, batch):
    assert b"".join(csv_lines(rows, batch)) == reference(rows)
