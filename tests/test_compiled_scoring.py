"""The cached scoring loop (scoring.criteria.score_all with an OutcomeCache) looks outcomes up
itself; waivers are found per organization: only its own apply, whatever waivers are given."""
import datetime as dt
from decimal import Decimal

from evaluator.model import Evidence, Organization
from evaluator.scoring.criteria import OutcomeCache, score_all
from evaluator.standard.loader import load_standard

from conftest import FIXTURES

PERIOD = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
STD = load_standard(FIXTURES / "mini" / "mini.yaml")


def test_only_an_organizations_own_waivers_apply_and_new_waivers_are_read():
    cache = OutcomeCache(STD)
    ev = {oid: Evidence(oid, values={"members_full": Decimal(9)}) for oid in ("O1", "O2")}
    orgs = {oid: Organization(oid, f"组织{oid}", "community") for oid in ev}
    first = {("O1", "G1.1"): "经批准"}
    for oid in ("O1", "O2", "O1"):
        got, _ = score_all(STD, orgs[oid], ev[oid], PERIOD, first, cache)
        assert got[0].outcome == ("waived" if oid == "O1" else "pass")
    second = {("O2", "G1.1"): "经批准"}                    # other waivers: read afresh
    got1, _ = score_all(STD, orgs["O1"], ev["O1"], PERIOD, second, cache)
    got2, _ = score_all(STD, orgs["O2"], ev["O2"], PERIOD, second, cache)
    assert (got1[0].outcome, got2[0].outcome) == ("pass", "waived")
    alone, _ = score_all(STD, orgs["O2"], ev["O2"], PERIOD, second)
    assert got2 == alone


def test_a_value_that_cannot_be_a_key_is_scored_each_time():
    cache = OutcomeCache(STD)
    org = Organization("O1", "组织1", "community")
    ev = Evidence("O1", values={"members_full": [Decimal(9)]})     # a list: not hashable
    got, _ = score_all(STD, org, ev, PERIOD, None, cache)
    alone, _ = score_all(STD, org, ev, PERIOD)
    assert got == alone
