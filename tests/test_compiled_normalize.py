"""Each field's texts are read once (intake.normalize keeps what each text read as): the same
values as reading them afresh, refusals said every time, and nothing shared between fields."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from evaluator.intake import normalize as norm
from evaluator.intake.normalize import NormalizeError, normalize
from evaluator.model import Field


def test_a_text_read_again_gives_the_same_value_and_a_refusal_is_said_again():
    f = Field("members", "integer", label="党员人数", unit="人", min=D(0), max=D(500))
    first = normalize("12人", f)
    assert first == D(12) and normalize("12人", f) is first
    for _ in range(2):
        with pytest.raises(NormalizeError, match="600"):
            normalize("600", f)


def test_fields_alike_but_for_their_bounds_do_not_share_what_a_text_read_as():
    small = Field("n", "integer", label="数", max=D(5))
    large = Field("n", "integer", label="数", max=D(500))
    assert normalize("100", large) == D(100)
    with pytest.raises(NormalizeError):
        normalize("100", small)
    yes = Field("b", "boolean", label="是否")
    assert normalize("无", yes) is False                     # 无 means no for a yes/no field...
    assert normalize("无", Field("x", "integer", label="数")) is None    # ...and blank for a number


def test_the_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(norm, "_MEMO", norm.FieldMemo(10))
    fields = [Field(f"n{k}", "number", label="数") for k in range(3)]
    for i in range(25):
        for f in fields:
            assert normalize(str(i), f) == D(i)
            assert len(norm._MEMO) <= 10
    assert normalize("3", fields[0]) == D(3)
