"""What a round scorer shares between organizations (the outcome cache, a frequency
criterion's plan made once, serialized pieces of results) changes nothing an organization's
result says: scored and serialized with everything shared across many organizations, each
result is byte for byte what it is scored alone, in every case a frequency criterion meets
(records in and outside the period, none given, a note from intake, not applicable)."""
import datetime as dt
import random
from decimal import Decimal

from evaluator.model import Evidence, Organization, Record
from evaluator.scoring.criteria import OutcomeCache, score_all
from evaluator.scoring.engine import ConcludingRules
from evaluator.scoring.grading import grade
from evaluator.scoring.orgresult import Pieces, parts
from evaluator.standard.loader import load_standard

from conftest import ROOT

PERIOD = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
STD = load_standard(ROOT / "rules" / "community.yaml")
RECORDS = [f.id for f in STD.fields.values() if f.type == "records"]


def _records(rng: random.Random):
    """A field's records: none given, or some meetings, now and then one dated outside 2026
    or titled."""
    if rng.random() < 0.1:
        return None
    days = sorted(rng.sample(range(-40, 400), rng.randint(0, 14)))
    return tuple(Record(dt.date(2026, 1, 1) + dt.timedelta(days=d), rng.choice(["", "", "专题学习"])) for d in days)


def _organization(n: int, rng: random.Random) -> tuple[Organization, Evidence]:
    oid = f"O{n}"
    values = {fid: r for fid in RECORDS if (r := _records(rng)) is not None}
    # party_groups decides whether 党小组会 applies (applies_if); left out, it cannot be decided
    groups = rng.choice([Decimal(0), Decimal(2), None])
    if groups is not None:
        values["party_groups"] = groups
    values.update(members_full=Decimal(rng.randint(3, 40)), members_probationary=Decimal(rng.randint(0, 3)))
    notes = {RECORDS[0]: "记录为扫描件，已核对"} if rng.random() < 0.2 else {}
    return Organization(oid, f"组织{n}", "community", "甲区", "乙街道"), Evidence(oid, values=values, notes=notes)


def test_an_organization_scored_among_many_gets_the_result_it_gets_alone():
    rng = random.Random(7)
    orgs = [_organization(n, rng) for n in range(300)]
    cache, pieces, rules = OutcomeCache(STD), Pieces(), ConcludingRules(STD)
    seen = set()
    try:
        for org, ev in orgs:
            shared, _ = score_all(STD, org, ev, PERIOD, None, cache)
            alone, _ = score_all(STD, org, ev, PERIOD)
            assert shared == alone, org.id
            g = grade(STD, org, ev, shared, None, PERIOD, rules)
            assert parts(org, STD, ev, shared, None, g, pieces) == parts(org, STD, ev, alone, None, g, Pieces()), org.id
            seen.update((o.criterion, o.outcome) for o in shared if o.criterion.startswith("G2."))
    finally:
        rules.close()
    # the cases above all came up: a frequency criterion met, partly met, not applicable, not reviewed
    assert {"pass", "partial", "not_applicable", "not_reviewed"} <= {outcome for _, outcome in seen}
