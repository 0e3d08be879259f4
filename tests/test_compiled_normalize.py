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


# ---------------------------------------------------------------- many texts of one field at once

from hypothesis import given, settings, strategies as st                       # noqa: E402

# what bulk CSV cells hold: full-width digits, units, percentages, Excel day numbers (refused
# outside an .xlsx file), blanks, refusals, the same text twice
_CELLS = st.lists(st.sampled_from(
    ["12", "１２", " 12 ", "12人", "12 人", "500平方米", "500 m²", "60%", "６０％", "0.6", "55.8%", "100%", "46086",
     "2026-03-05", "2026/3/5", "2026年3月5日", "20260305", "", "-", "未填", "无", "是", "否", "好", "abc", "约500",
     "-3", "1e3", "600", "12.50", "12.5", "0012"]), max_size=30)
_BULK_FIELDS = [Field("members", "integer", label="党员人数", unit="人", min=D(0), max=D(500)),
                Field("area", "number", label="面积", unit="m2", min=D(0)),
                Field("share", "percentage", label="占比"), Field("when", "date", label="日期"),
                Field("flag", "boolean", label="是否"), Field("rating", "enum", label="等次", values=("好", "一般"))]


def _one_by_one(text, f):
    try:
        return normalize(text, f)
    except NormalizeError:
        return norm.REFUSED


@settings(max_examples=300)
@given(_CELLS, st.sampled_from(_BULK_FIELDS), st.booleans())
def test_texts_read_together_read_as_each_alone_digits_and_exponent_too(texts, f, cold):
    if cold:
        norm._MEMO.clear()
    together = norm.normalize_texts(texts, f)
    alone = [_one_by_one(t, f) for t in texts]
    assert [type(v) for v in together] == [type(v) for v in alone]
    assert [repr(v) for v in together] == [repr(v) for v in alone]     # Decimal("12.50") is not Decimal("12.5")


def test_fields_alike_but_for_id_and_label_share_a_reading_and_a_refusal_is_said_again():
    members = Field("members", "integer", label="党员人数", unit="人", min=D(0), max=D(500))
    staff = Field("staff", "integer", label="工作人员数", unit="人", min=D(0), max=D(500))
    capped = Field("capped", "integer", label="上限为五", unit="人", min=D(0), max=D(5))
    first = norm.normalize_texts(["12人"], members)[0]
    assert first == D(12) and norm.normalize_texts(["12人"], staff)[0] is first      # read once for both
    assert norm.normalize_texts(["12人", "600"], capped) == [norm.REFUSED, norm.REFUSED]   # other bounds: read again
    assert norm.normalize_texts(["600", "600"], members) == [norm.REFUSED, norm.REFUSED]
    with pytest.raises(NormalizeError, match="600"):
        normalize("600", staff)
