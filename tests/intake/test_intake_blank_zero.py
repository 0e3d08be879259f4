"""Issue 6, item 3: a field declared `blank: zero` counts a blank or absent value as 0, and every
reason that uses it says so."""
from decimal import Decimal

from helpers_intake import evidence_of, make_round, result_of

HONOURS = ("organization: C1\nvalues:\n  members_full: 5\n  awards_city: 2\n  awards_province: {blank}\n"
           "  awards_national: 1\n")


def test_bonus_counts_three_honours_with_one_blank(tmp_path):
    r = make_round(tmp_path, {"c1.yaml": HONOURS.format(blank="''")})
    ev = evidence_of(r)["C1"]
    assert ev.values["awards_province"] == Decimal(0)
    assert ev.self_values["awards_province"] == Decimal(0)
    assert ev.provenance["awards_province"] == {"source": "blank"}
    assert ev.notes["awards_province"] == "省级表彰次数空白，按 0 计"
    assert "awards_city" not in ev.notes
    g91 = next(c for c in result_of(r, "C1")["criteria"] if c["id"] == "G9.1")
    assert (g91["outcome"], g91["points"]) == ("partial", Decimal(5))        # 2 x 1 + 0 x 2 + 1 x 3
    assert "省级表彰次数空白，按 0 计" in g91["reason"]
    assert g91["evidence"]["awards_province"] == Decimal(0)


def test_absent_field_counts_zero(tmp_path):
    text = "organization: C1\nvalues:\n  awards_city: 2\n"
    ev = evidence_of(make_round(tmp_path, {"c1.yaml": text}))["C1"]
    assert ev.values["awards_province"] == 0 and ev.notes["awards_province"] == "省级表彰次数空白，按 0 计"


def test_blank_like_tokens_count_zero(tmp_path):
    for i, blank in enumerate(["无", "'-'", "null", "未填", "N/A"]):
        d = tmp_path / str(i)
        d.mkdir()
        ev = evidence_of(make_round(d, {"c1.yaml": HONOURS.format(blank=blank)}))["C1"]
        assert ev.values["awards_province"] == 0 and ev.provenance["awards_province"] == {"source": "blank"}


def test_organization_without_any_evidence_gets_zeros(tmp_path):
    ev = evidence_of(make_round(tmp_path, {"c1.yaml": HONOURS.format(blank="1")}))["C2"]
    assert {k: ev.values[k] for k in ("awards_city", "awards_province", "awards_national")} == \
        {"awards_city": 0, "awards_province": 0, "awards_national": 0}
    assert ev.values["trainings"] == ()                                  # a records field: no records
    assert ev.notes["trainings"] == "培训记录空白，按 0 计"
    assert "members_full" not in ev.values                                # blank: missing (the default)


def test_csv_blank_cell_counts_zero(tmp_path):
    csv_text = "organization,field,self\nC1,awards_city,3\nC1,awards_province,\nC1,members_full,\n"
    ev = evidence_of(make_round(tmp_path, {"values.csv": csv_text}))["C1"]
    assert ev.values["awards_city"] == 3 and ev.values["awards_province"] == 0
    assert "members_full" not in ev.values


def test_self_blank_verified_given(tmp_path):
    text = "organization: C1\nvalues:\n  awards_city: {verified: 2, inspector: 督导组-王敏}\n"
    ev = evidence_of(make_round(tmp_path, {"c1.yaml": text}))["C1"]
    assert ev.values["awards_city"] == 2 and ev.provenance["awards_city"]["source"] == "verified"
    assert ev.self_values["awards_city"] == 0                             # the self-assessment sees 0
    assert "awards_city" not in ev.notes


def test_a_bad_value_is_refused_not_zeroed(tmp_path):
    from helpers_intake import refusals
    [problem] = refusals(make_round(tmp_path, {"c1.yaml": HONOURS.format(blank="两次")}))
    assert "$.values.awards_province: 省级表彰次数（awards_province）: '两次' is not a number" in problem
