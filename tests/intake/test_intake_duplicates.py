"""Issue 6, item 6: the same record (same date, same title) listed twice counts once."""
import datetime as dt

from helpers_intake import evidence_of, make_round, result_of


def test_duplicate_record_in_yaml_counts_once_with_a_finding(tmp_path):
    text = ("organization: C1\nrecords:\n  committee_meetings:\n"
            "    - {date: 2026-03-05, title: 三月支委会}\n    - 2026-01-05\n    - {date: 2026-03-05, title: 三月支委会}\n"
            "    - {date: 2026-03-05, title: 临时支委会}\n    - 2026-01-05\n    - 2026/1/5\n")
    r = make_round(tmp_path, {"c1.yaml": text})
    ev = evidence_of(r)["C1"]
    assert [(x.date.isoformat(), x.title) for x in ev.values["committee_meetings"]] == [
        ("2026-01-05", ""), ("2026-03-05", "三月支委会"), ("2026-03-05", "临时支委会")]     # sorted by (date, title)
    messages = sorted(f.message for f in ev.findings)
    assert messages == ["支部委员会会议记录：重复记录 2026-01-05 列出 3 次，只计 1 次",
                        "支部委员会会议记录：重复记录 2026-03-05《三月支委会》 列出 2 次，只计 1 次"]
    assert {(f.kind, f.field) for f in ev.findings} == {("duplicate_record", "committee_meetings")}
    assert {f["kind"] for f in result_of(r, "C1")["findings"]} == {"duplicate_record"}


def test_duplicate_rows_of_a_bulk_file(tmp_path):
    csv_text = ("organization,field,date,title,source\n"
                "C1,committee_meetings,2026-01-05,一月,self\nC1,committee_meetings,2026-04-05,,self\n"
                "C1,committee_meetings,2026-01-05,一月,self\n")
    ev = evidence_of(make_round(tmp_path, {"records.csv": csv_text}))["C1"]
    assert len(ev.values["committee_meetings"]) == 2
    assert [f.message for f in ev.findings] == ["支部委员会会议记录：重复记录 2026-01-05《一月》 列出 2 次，只计 1 次"]


def test_frequency_counts_the_duplicate_once(tmp_path):
    text = "organization: C1\nrecords:\n  committee_meetings: [2026-01-05, 2026-01-05, 2026-01-05, 2026-01-05]\n"
    g13 = next(c for c in result_of(make_round(tmp_path, {"c1.yaml": text}), "C1")["criteria"] if c["id"] == "G1.3")
    assert g13["points"] == 15                         # 3 quarters missing x 5 points, whatever the repeats
    assert len(g13["evidence"]["committee_meetings"]) == 1


def test_mismatch_compares_distinct_records(tmp_path):
    text = ("organization: C1\nrecords:\n  committee_meetings:\n    self: [2026-01-05, 2026-01-05, 2026-04-05]\n"
            "    verified: [2026-01-05, 2026-04-05]\n    inspector: 督导组-王敏\n")
    ev = evidence_of(make_round(tmp_path, {"c1.yaml": text}))["C1"]
    assert [f.kind for f in ev.findings] == ["duplicate_record"]


def test_records_outside_the_period_are_kept_for_the_engine(tmp_path):
    text = "organization: C1\nrecords:\n  committee_meetings: [2025-12-09, 2026-01-05]\n"
    ev = evidence_of(make_round(tmp_path, {"c1.yaml": text}))["C1"]
    assert [r.date for r in ev.values["committee_meetings"]] == [dt.date(2025, 12, 9), dt.date(2026, 1, 5)]
