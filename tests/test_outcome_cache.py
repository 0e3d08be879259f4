"""Outcomes shared between organizations with equal values (scoring.criteria.OutcomeCache) and
their serialized items (scoring.orgresult.Pieces) are exactly what scoring each organization
afresh gives: the same outcomes, the same result bytes."""
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from evaluator.errors import EvaluationError
from evaluator.model import Evidence, Organization, Record
from evaluator.scoring.criteria import OutcomeCache, score_all
from evaluator.scoring.engine import ConcludingRules
from evaluator.scoring.grading import grade
from evaluator.scoring.orgresult import Pieces, parts
from evaluator.standard.loader import load_standard

from conftest import FIXTURES, ROOT

PERIOD = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
STD = load_standard(FIXTURES / "mini" / "mini.yaml")

# few distinct values, so organizations often share them (and the cache is hit); Decimals
# written with different exponents (5, 5.0, 5E+0) and the values a blank can become
counts = st.sampled_from([None, Decimal(0), Decimal("0.0"), Decimal(2), Decimal("2.00"), Decimal(5),
                          Decimal("5E+0"), Decimal(12)])
areas = st.sampled_from([None, Decimal(0), Decimal(299), Decimal("300.0"), Decimal("480.5"), Decimal(520)])
ratings = st.sampled_from([None, "好", "较好", "一般", "差"])
flags = st.sampled_from([None, True, False, Decimal(0)])        # Decimal(0): a boolean left blank, as zero
meetings = st.sampled_from([None, (), tuple(Record(dt.date(2026, m, 9)) for m in range(1, 13)),
                            (Record(dt.date(2025, 12, 30)), Record(dt.date(2026, 3, 1), "三月"))])
values = st.fixed_dictionaries({
    "members_full": counts, "centre_area": areas, "grid_staff": counts, "grid_staff_party": counts,
    "secretary_rating": ratings, "unapproved_tasks": counts, "awards": counts, "serious_violation": flags,
    "committee_meetings": meetings})
notes = st.sampled_from([{}, {"awards": "市级以上表彰次数空白，按 0 计"}])


def _evidence(oid, vals, note):
    present = {k: v for k, v in vals.items() if v is not None}
    return Evidence(oid, values=present, self_values=dict(present), notes=dict(note))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(values, notes), min_size=2, max_size=12))
def test_shared_outcomes_and_items_are_what_scoring_afresh_gives(orgs):
    cache, pieces = OutcomeCache(STD), Pieces()
    rules = ConcludingRules(STD)
    try:
        for i, (vals, note) in enumerate(orgs):
            org = Organization(f"O{i}", f"组织{i}", "community", "东区", "一街道")
            ev = _evidence(org.id, vals, note)
            shared, own_shared = score_all(STD, org, ev, PERIOD, None, cache)
            fresh, own_fresh = score_all(STD, org, ev, PERIOD)
            assert [(o.criterion, o.outcome, o.points, o.reason, o.evidence, o.veto_hit) for o in shared] == \
                   [(o.criterion, o.outcome, o.points, o.reason, o.evidence, o.veto_hit) for o in fresh]
            g = grade(STD, org, ev, fresh, own_fresh, PERIOD, rules)
            assert parts(org, STD, ev, shared, own_shared, g, pieces) == parts(org, STD, ev, fresh, own_fresh, g)
    finally:
        rules.close()


def test_equal_values_of_different_types_do_not_share_an_outcome():
    # False and 0 are equal (and hash alike) in Python, but a veto reads them differently
    cache = OutcomeCache(STD)
    org = Organization("O1", "组织1", "community")
    first, _ = score_all(STD, org, Evidence("O1", values={"serious_violation": False}), PERIOD, None, cache)
    second, _ = score_all(STD, org, Evidence("O1", values={"serious_violation": Decimal(0)}), PERIOD, None, cache)
    alone, _ = score_all(STD, org, Evidence("O1", values={"serious_violation": Decimal(0)}), PERIOD)
    veto = list(STD.criteria).index("G9.2")
    assert first[veto].outcome == "pass"
    assert second[veto] == alone[veto] and second[veto].outcome == "error"


def test_a_waiver_is_never_served_from_the_cache():
    cache = OutcomeCache(STD)
    org = Organization("O1", "组织1", "community")
    ev = Evidence("O1", values={"members_full": Decimal(9)})
    plain, _ = score_all(STD, org, ev, PERIOD, None, cache)
    waived, _ = score_all(STD, org, ev, PERIOD, {("O1", "G1.1"): "经批准"}, cache)
    again, _ = score_all(STD, org, ev, PERIOD, None, cache)
    assert plain[0].outcome == "pass" and waived[0].outcome == "waived" and again[0] == plain[0]


def test_provenance_is_written_in_key_order_whatever_order_it_was_gathered_in():
    # Pieces takes provenance in the order of its standard's field ids, sorted once: keys in
    # any order come out sorted, and a key that is no field id is sorted in too
    import json
    pieces, rules = Pieces(), ConcludingRules(STD)
    gathered = [("members_full", "awards", "centre_area"), ("centre_area", "members_full", "awards"),
                ("members_full", "awards", "centre_area"), ("awards", "centre_area"),
                ("members_full", "a_note_of_the_store", "awards")]
    try:
        for i, keys in enumerate(gathered):
            org = Organization(f"O{i}", f"组织{i}", "community")
            ev = Evidence(org.id, values={"members_full": Decimal(9)},
                          provenance={k: {"source": "self", "row": n} for n, k in enumerate(keys)})
            outcomes, own = score_all(STD, org, ev, PERIOD)
            g = grade(STD, org, ev, outcomes, own, PERIOD, rules)
            head, tail = parts(org, STD, ev, outcomes, own, g, pieces)
            provenance = json.loads(tail)["provenance"]
            assert list(provenance) == sorted(keys)
            assert provenance == {k: {"source": "self", "row": keys.index(k)} for k in keys}
    finally:
        rules.close()


def test_a_cache_of_another_standard_is_refused_naming_both():
    other = load_standard(ROOT / "rules" / "community.yaml")
    org = Organization("O1", "组织1", "community")
    with pytest.raises(EvaluationError, match=f"outcome cache of standard {other.id} used for {STD.id}"):
        score_all(STD, org, Evidence("O1", values={"members_full": Decimal(9)}), PERIOD, None, OutcomeCache(other))


def test_a_note_on_one_of_two_names_a_criterion_reads_is_not_shared_through_the_cache():
    # G2.2 reads two names: an organization with intake's note on one of them gets the note in
    # its reason, though its values equal an earlier organization's without the note
    cache = OutcomeCache(STD)
    values = {"grid_staff": Decimal(10), "grid_staff_party": Decimal(4)}
    ratio = list(STD.criteria).index("G2.2")
    plain, _ = score_all(STD, Organization("O1", "组织1", "community"), Evidence("O1", values=values), PERIOD, None, cache)
    noted, _ = score_all(STD, Organization("O2", "组织2", "community"),
                         Evidence("O2", values=values, notes={"grid_staff": "网格员人数空白，按 0 计"}), PERIOD, None, cache)
    assert "网格员人数空白" not in plain[ratio].reason
    assert noted[ratio].reason.endswith("（网格员人数空白，按 0 计）")
