"""One correction round fixes a file: every bad cell is named at once, including cells that
nothing would have read (a verified_on without a verified value)."""
from helpers_intake import cli_refuses_alike, make_round


def test_every_bad_record_of_a_list_is_named_in_one_message(tmp_path):
    rnd = make_round(tmp_path, {"c1.yaml": (
        "organization: C1\nrecords:\n"
        "  committee_meetings: [2023, 202603, \"2026-03-05 25:00\", 46000, \"2026-13-01\", 2026-04-01]\n")})
    out = cli_refuses_alike(rnd, "record 1: 2023 is a year", "record 2: 202603 is a year and month",
                            "record 3: '2026-03-05 25:00' has an impossible time of day",
                            "record 4: 46000 is a number, not a date", "record 5: '2026-13-01' is not a valid date")
    assert out.count("\n") == 0 and "c1.yaml:3:3:" in out        # one issue, at the list


def test_a_bad_verified_on_is_refused_even_without_a_verified_value(tmp_path):
    rnd = make_round(tmp_path, {"values.csv": (
        "organization,field,self,verified,inspector,verified_on\nC1,centre_area,600,,,2026\n")})
    cli_refuses_alike(rnd, "values.csv:2:6: row 2.verified_on: verified_on: 2026 is a year, not a date")


def test_every_verified_on_of_a_records_field_is_checked(tmp_path):
    rnd = make_round(tmp_path, {"records.csv": (
        "organization,field,date,title,source,inspector,verified_on\n"
        "C1,committee_meetings,2026-01-05,,verified,王敏,2026-13-45\n"
        "C1,committee_meetings,2026-02-05,,verified,王敏,2026-10-01\n")})
    cli_refuses_alike(rnd, "records.csv:2:7: row 2.verified_on: verified_on:")
