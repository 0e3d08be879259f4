"""Grading reads an organization's outcomes in one pass and finds each by its place in the
standard; serialized pieces are kept and dropped when many. What an organization is told must
not depend on any of that: the order the outcomes come in, which of them were met before, or
how often the kept pieces were dropped."""
import dataclasses
import datetime as dt
import random
from decimal import Decimal

import orjson

from evaluator.model import Evidence, Organization, Record
from evaluator.scoring.criteria import OutcomeCache, score_all
from evaluator.scoring.engine import ConcludingRules
from evaluator.scoring.grading import grade
from evaluator.scoring.orgresult import Pieces, parts
from evaluator.scoring.run import RoundScorer
from evaluator.standard.loader import load_standard
from evaluator.terms import UNCOUNTED

from conftest import ROOT
from test_engine import PERIOD, full_evidence
from test_grading import STD

AGENCY = load_standard(ROOT / "rules" / "agency.yaml")


def _grade(std, org, ev, outcomes, own=None):
    with ConcludingRules(std) as rules:
        return grade(std, org, ev, outcomes, own, PERIOD, rules)


def test_a_veto_caps_the_tier_whatever_order_the_outcomes_come_in():
    org = Organization("O1", "O1", "community", "东区", "一街道")
    ev = full_evidence("O1", serious_violation=True)
    outcomes, _ = score_all(STD, org, ev, PERIOD)
    in_order = _grade(STD, org, ev, outcomes)
    assert (in_order.tier, in_order.caps) == ("C", [("G9.2", 2)])
    # outcomes not at their criterion's place in the standard are found all the same
    for shuffled in (outcomes[::-1], outcomes[1:] + outcomes[:1]):
        g = _grade(STD, org, ev, shuffled)
        assert (g.tier, g.caps, g.total, g.tier_reasons, g.sections) == \
               (in_order.tier, in_order.caps, in_order.total, in_order.tier_reasons, in_order.sections)


def _organization(n: int, rng: random.Random) -> tuple[Organization, Evidence]:
    """An agency organization (graded on its own self-assessment as well) with a few values
    left out (not reviewed), some records and a self-reported value now and then differing."""
    values = {"members_full": Decimal(rng.randint(3, 40)), "members_probationary": Decimal(rng.randint(0, 3))}
    for f in AGENCY.fields.values():
        if f.type == "records" and rng.random() < 0.8:
            values[f.id] = tuple(Record(dt.date(2026, m, 9), rng.choice(["", "学习"]))
                                 for m in sorted(rng.sample(range(1, 13), rng.randint(0, 12))))
        elif f.type == "boolean" and rng.random() < 0.7:
            values[f.id] = rng.random() < 0.8
    own = dict(values)
    if rng.random() < 0.5:
        own["members_full"] = values["members_full"] + 1
    return (Organization(f"A{n}", f"机关{n}", "agency", "东区", "一街道"),
            Evidence(f"A{n}", values=values, self_values=own))


def test_results_and_lost_counts_do_not_depend_on_what_the_kept_pieces_hold():
    """Pieces that drop everything every few items write each organization
    byte for byte as fresh ones do; and the CSV's 失分指标数 is what results.json's criteria
    show, as reading results.json back counts it (results.py)."""
    rng = random.Random(44)
    orgs = [_organization(n, rng) for n in range(60)]
    cache, tiny = OutcomeCache(AGENCY), Pieces(limit=3)
    scorer = RoundScorer({"agency": AGENCY}, PERIOD)
    seen_own = seen_lost = 0
    try:
        for org, ev in orgs:
            outcomes, own = score_all(AGENCY, org, ev, PERIOD, None, cache)
            row, g = scorer.grade_row(org, ev, outcomes, own)
            assert parts(org, AGENCY, ev, outcomes, own, g, tiny) == parts(org, AGENCY, ev, outcomes, own, g, Pieces())
            # the scorer's own pieces, used by every organization so far
            head, tail = parts(org, AGENCY, ev, outcomes, own, g, scorer._pieces)
            assert (head, tail) == parts(org, AGENCY, ev, outcomes, own, g, Pieces())
            criteria = orjson.loads(tail)["criteria"]
            assert row.lost == sum(1 for c in criteria if c["points"] < c["max_points"] and c["outcome"] not in UNCOUNTED)
            seen_own += own is not None
            seen_lost += row.lost > 0
    finally:
        scorer.close()
    assert seen_own == len(orgs) and seen_lost > 0


def test_a_not_applicable_criterion_short_of_its_maximum_is_not_a_lost_one():
    org = Organization("O1", "O1", "community", "东区", "一街道")
    ev = full_evidence("O1", centre_area=Decimal(100))
    outcomes, _ = score_all(STD, org, ev, PERIOD)
    # G1.2 (centre area) failed and the bonus G9.1 gave nothing of its 5 points
    assert _grade(STD, org, ev, outcomes).lost == 2

    def g11_as(state):
        return [dataclasses.replace(o, outcome=state, points=Decimal(0)) if o.criterion == "G1.1" else o
                for o in outcomes]
    assert outcomes[0].criterion == "G1.1" and outcomes[0].max_points == 10
    assert _grade(STD, org, ev, g11_as("fail")).lost == 3
    assert _grade(STD, org, ev, g11_as("not_applicable")).lost == 2
