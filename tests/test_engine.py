"""The durable-rules engine: owned host, isolation, and the "nothing silently skipped" invariant."""
import datetime as dt
import threading
from decimal import Decimal

import pytest

from evaluator.scoring import engine as engine_mod
from evaluator.scoring.engine import Engine
from evaluator.errors import EvaluationError
from evaluator.model import Evidence, Organization
from evaluator.model import Record
from evaluator.standard.loader import load_standard

from conftest import FIXTURES

PERIOD = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
STD = load_standard(FIXTURES / "mini" / "mini.yaml")


def org(i, **kw):
    return Organization(f"O{i}", f"组织{i}", "community", kw.get("district", "东区"), kw.get("street", "一街道"))


def full_evidence(oid, **values):
    base = {"members_full": Decimal(9), "centre_area": Decimal(520), "grid_staff": Decimal(10),
            "grid_staff_party": Decimal(6), "secretary_rating": "好", "unapproved_tasks": Decimal(0),
            "awards": Decimal(0), "serious_violation": False,
            "committee_meetings": tuple(Record(dt.date(2026, m, 9)) for m in range(1, 13))}
    base.update(values)
    return Evidence(oid, values=base, self_values=dict(base))


def test_every_criterion_gets_exactly_one_outcome_in_order():
    with Engine(STD, PERIOD) as eng:
        outcomes, own = eng.evaluate(org(1), full_evidence("O1"))
    assert [o.criterion for o in outcomes] == list(STD.criteria)
    assert own is None            # mini has no self-assessment component
    assert all(o.outcome == "pass" for o in outcomes if o.criterion != "G9.1")


def test_host_starts_no_background_threads():
    before = threading.active_count()
    with Engine(STD, PERIOD) as eng:
        eng.evaluate(org(1), full_evidence("O1"))
        assert threading.active_count() == before


def test_organizations_are_isolated():
    with Engine(STD, PERIOD) as eng:
        first, _ = eng.evaluate(org(1), full_evidence("O1", centre_area=Decimal(100)))
        second, _ = eng.evaluate(org(2), Evidence("O2"))
    assert first[1].points == 0 and first[1].outcome == "fail"
    assert {o.outcome for o in second if o.criterion != "G9.2"} == {"not_reviewed"}
    assert second[1].evidence == (("centre_area", None),)


def test_a_criterion_without_an_outcome_fails_the_run(monkeypatch):
    real = Engine._action

    def sabotaged(self, c):
        return (lambda closure: None) if c.id == "G2.3" else real(self, c)

    monkeypatch.setattr(Engine, "_action", sabotaged)
    with Engine(STD, PERIOD) as eng:
        with pytest.raises(EvaluationError, match=r"organization O7: no outcome for criterion G2\.3"):
            eng.evaluate(org(7), full_evidence("O7"))


def test_an_exception_inside_a_rule_action_fails_the_run(monkeypatch):
    real = engine_mod.score_criterion

    def boom(c, env, waiver=None, fields=None):
        if c.id == "G1.2":
            raise RuntimeError("disk on fire")
        return real(c, env, waiver, fields)

    monkeypatch.setattr(engine_mod, "score_criterion", boom)
    with Engine(STD, PERIOD) as eng:
        with pytest.raises(EvaluationError, match=r"organization O3: G1\.2: RuntimeError: disk on fire"):
            eng.evaluate(org(3), full_evidence("O3"))


def test_waiver_counts_full_points_and_says_why():
    with Engine(STD, PERIOD, {("O1", "G1.2"): "场所改造中，经批准免于考核"}) as eng:
        outcomes, _ = eng.evaluate(org(1), full_evidence("O1", centre_area=Decimal(10)))
    o = outcomes[1]
    assert (o.outcome, o.points, o.max_points) == ("waived", Decimal(20), Decimal(20))
    assert "场所改造中" in o.reason


def test_ratio_with_zero_denominator_is_an_error_outcome():
    with Engine(STD, PERIOD) as eng:
        outcomes, _ = eng.evaluate(org(1), full_evidence("O1", grid_staff=Decimal(0), grid_staff_party=Decimal(0)))
    o = outcomes[3]
    assert o.outcome == "error" and "分母" in o.reason


def test_closed_engine_frees_its_ruleset():
    eng = Engine(STD, PERIOD)
    name = eng.ruleset
    eng.close()
    assert name not in eng._host._ruleset_directory
