"""A round's grading overrides are read as the standard's own grading numbers are
(standard.quantity.read_decimal): "15%" and 0.15 are the same quota."""
from decimal import Decimal

import pytest

from evaluator.scoring.run import with_round_overrides
from evaluator.standard.loader import load_standard
from evaluator.standard.quantity import read_decimal


def test_a_round_quota_and_target_written_as_percentages_replace_the_standards():
    std = load_standard("rules/community.yaml")
    for share, target in (("15%", "25%"), (Decimal("0.15"), "0.25")):
        got = with_round_overrides(std, {"quotas": [{"tier": "A", "max_share": share, "scope": "street"}],
                                         "target": {"tier": "A", "min_share": target}}).grading
        assert [(q.tier, q.max_share, q.scope) for q in got.quotas] == [("A", Decimal("0.15"), "street")]
        assert (got.target.tier, got.target.min_share, got.target.scope) == ("A", Decimal("0.25"), "round")
    assert with_round_overrides(std, {}) is std


@pytest.mark.parametrize("raw, want", [(85, Decimal(85)), (" 85.5 ", Decimal("85.5")), ("60%", Decimal("0.6")),
                                       (Decimal("0.2"), Decimal("0.2"))])
def test_read_decimal_reads_what_a_standard_writes(raw, want):
    assert read_decimal(raw) == want


@pytest.mark.parametrize("raw, percent_ok, message", [
    (True, True, "expected a number, got True"),
    ("sixty", True, "expected a number or a percentage like 60%, got 'sixty'"),
    ("60%", False, "expected a number, got '60%'"),
    (None, True, "expected a number or a percentage like 60%, got None")])
def test_read_decimal_says_what_it_expected(raw, percent_ok, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(") + "$"):
        read_decimal(raw, percent_ok)
