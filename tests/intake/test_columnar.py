"""The columnar intake of bulk CSV rows (intake.columnar) against the general path it stands
in for (partition.replay_pieces, then resolve() per organization): on messy generated
values.csv / records.csv content, over every standard in rules/, both give identical
Evidence (in the same insertion order) and identical issues, and on a demo round the
columnar path reads nearly every organization itself."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from evaluator.demo import generate
from evaluator.intake.columnar import partition_evidence
from evaluator.intake.evidence import resolve
from evaluator.intake import partition
from evaluator.intake.partition import replay_pieces, route, unpickled
from evaluator.intake.rounds import load_round
from evaluator.model import Organization
from evaluator.standard.loader import load_standard

RULES = Path(__file__).resolve().parents[2] / "rules"
# every standard in rules/, each for the organization types it is the standard of
STANDARDS = {t: load_standard(RULES / f"{name}.yaml")
             for t, name in (("community", "community"), ("village", "village"), ("agency", "agency"),
                             ("soe", "soe"), ("nonpublic", "nonpublic"), ("school", "general"))}
# half of them in a street (its evidence reaches them, through the general reader), half in none
ORGS = [Organization(f"T-{i:02d}", f"测试党组织{i}", t, "东区", "一街道" if i % 2 == 0 else "")
        for i, t in enumerate(list(STANDARDS) * 2)]
ALL_FIELDS = sorted({f for s in STANDARDS.values() for f in s.fields})
RECORD_FIELDS = sorted({f.id for s in STANDARDS.values() for f in s.fields.values() if f.type == "records"})
VALUE_FIELDS = [f for f in ALL_FIELDS if f not in RECORD_FIELDS]

def plain_cells(fid: str) -> list[str]:
    """Spellings normalize reads for the field (in every standard that has it): most rows."""
    f = next(s.fields[fid] for s in STANDARDS.values() if fid in s.fields)
    return {"integer": ["5", "５", " 12 ", "0"], "number": ["480", " 12.5 ", "５００"],
            "percentage": ["60%", "0.6", "55.8%", "100%"], "boolean": ["是", "否", "无", "是"],
            "date": ["2026-03-05", "2026/3/5", "2026年3月5日"], "text": ["某某文本"]}.get(f.type, list(f.values) or ["x"])


# blank (a cell put but read as no value) or refused for some types
ODD = ["未填", "-", "abc", "500平方米", "500 m²", "-3", "1e3", "2026-01-10;2026-02-10", "46086", "12.50", "６０％",
       "0012"]
INSPECTORS = ["督导一组-王敏", " 督导二组-李娜 "]
DAYS = ["2026-10-12", "2026/10/12", "2026年10月12日", ""]
ORG_IDS = [o.id for o in ORGS]


def pick(draw, level: int, usual: list, unusual: list):
    """One of `usual`, or with a chance of `level` in 100, one of `unusual`."""
    return draw(st.sampled_from(unusual if unusual and draw(st.integers(0, 99)) < level else usual))


@st.composite
def value_row(draw, level: int):
    """A values.csv row: a registry organization, a field, a spelling its type reads, a
    verified value (blank or not) beside its inspector; with a chance of `level` in 100 for
    each part, something else: another organization, an unknown or blank field, a value
    refused or read as blank, a verified value without its inspector, a refused date."""
    org = pick(draw, level, ORG_IDS, [" T-01 ", "NOT-IN-REGISTRY"])
    fid = pick(draw, level, VALUE_FIELDS, RECORD_FIELDS[:1] + ["no_such_field", "", " "])
    pool = plain_cells(fid) if fid in VALUE_FIELDS else ["1"]
    self_cell = pick(draw, level, pool + [""], ODD)
    verified, inspector, day = "", "", ""
    if draw(st.booleans()):
        verified = draw(st.sampled_from(pool + ["", " "]))       # blank: the inspector's "nothing found"
        inspector = pick(draw, level, INSPECTORS, [""])
        day = pick(draw, level, DAYS, ["bad", " ", "2026-02-30"])
    return org, fid, self_cell, verified, inspector, day


@st.composite
def record_row(draw, level: int):
    """A records.csv row: a date in any spelling normalize reads (无: none), a title now and
    then, self or verified beside its inspector; with a chance of `level` in 100, a refused
    date or source, a verified row without inspector, an unknown field."""
    org = pick(draw, level, ORG_IDS, [" T-01 ", "NOT-IN-REGISTRY"])
    fid = pick(draw, level, RECORD_FIELDS[:4], VALUE_FIELDS[:1] + ["no_such_records"])
    day = pick(draw, level, [f"2026-{m:02d}-{d:02d}" for m in (1, 2, 3) for d in (5, 10)] * 3
               + ["2026/1/5", "2026年1月5日", "20260105", " 2026-01-05 ", "无"], ["", "2026-02-30", "abc"])
    title = draw(st.sampled_from(["", "", "", "一月", " 一月 ", "二月主题党日"]))
    source = pick(draw, level, ["", "self", "自评", "verified", "核查"], ["bad"])
    verified = source in ("verified", "核查")
    inspector = pick(draw, level, INSPECTORS if verified else ["", "督导一组-王敏"], [""])
    day_on = pick(draw, level, DAYS if verified else ["", "2026-10-12"], ["bad"])
    return org, fid, day, title, source, inspector, day_on


def write_csv(path: Path, header: list[str], rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


WAYS = ("in place", "spilled", "sent", "spilled and sent")


def routed(paths, orgs, standards, size, way):
    """The router, and partition k's pieces as they reach the columnar path `way`: in place
    (Router.pieces, as routed), spilled (every piece written to the spill as soon as it is
    routed, read back), sent (Router.partition's bytes, as to another process), or both."""
    saved = partition._FLUSH
    partition._FLUSH = 1 if "spilled" in way else saved
    try:
        router = route(paths, orgs, size, standards=standards)
    finally:
        partition._FLUSH = saved
    if "sent" in way:
        return router, lambda k: list(unpickled(router.partition(k)))
    return router, lambda k: list(router.pieces(k))


def both_ways(paths, orgs, standards, size, way="in place"):
    """Every partition's (evidence, put issues, issues) the general way (from the pieces in
    place) and column-wise (from the pieces reaching it `way`), and how many organizations
    the columnar path left to the general one."""
    router = route(paths, orgs, size, standards=standards)
    other, pieces_of = routed(paths, orgs, standards, size, way)
    general, columnar, fell = [], [], 0
    try:
        for k in range(router.count):
            part = orgs[router.span(k)]
            raw, put_issues = replay_pieces(list(router.pieces(k)))
            evidence, issues = {}, []
            for o in part:
                evidence[o.id], errs = resolve(raw.pop(o.id, None), o.id, standards[o.type])
                issues += errs
            general.append((evidence, put_issues, issues))
            got = partition_evidence(pieces_of(k), part, standards)
            columnar.append((got.evidence, got.put_issues, got.issues))
            fell += got.general
    finally:
        router.close()
        other.close()
    return general, columnar, fell


def assert_identical(general, columnar):
    assert len(general) == len(columnar)
    for (ev_g, put_g, iss_g), (ev_c, put_c, iss_c) in zip(general, columnar):
        assert put_c == put_g
        assert iss_c == iss_g
        assert list(ev_c) == list(ev_g)
        for oid in ev_g:
            a, b = ev_c[oid], ev_g[oid]
            assert a == b, oid
            for name in ("values", "self_values", "provenance", "notes"):     # insertion order too
                assert list(getattr(a, name).items()) == list(getattr(b, name).items()), (oid, name)
            # the very values: Decimal("12.50") equals Decimal("12.5"), but a report shows it otherwise
            for name in ("values", "self_values"):
                assert repr(getattr(a, name)) == repr(getattr(b, name)), (oid, name)
            assert repr(a.findings) == repr(b.findings), oid


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), level=st.sampled_from([0, 0, 2, 10, 40]), repeat=st.lists(st.integers(0, 59), max_size=3),
       size=st.sampled_from([3, 5, 100]), document=st.booleans(), second_file=st.booleans(), street=st.booleans(),
       columns=st.sampled_from([6, 6, 5, 3]), way=st.sampled_from(WAYS))
def test_columnar_and_general_paths_give_identical_evidence_and_issues(tmp_path_factory, data, level, repeat,
                                                                       size, document, second_file, street, columns,
                                                                       way):
    values = data.draw(st.lists(value_row(level), max_size=60), "values")
    records = data.draw(st.lists(record_row(level), max_size=60), "records")
    folder = tmp_path_factory.mktemp("evidence")
    values = values + [values[i] for i in repeat if i < len(values)]       # rows given twice
    records = records + [records[i] for i in repeat if i < len(records)]   # records listed twice
    # files without the optional columns (no verified_on; no verified, inspector, title or source)
    values, records = [r[:columns] for r in values], [r[:columns + 1] for r in records]
    half = len(values) // 2 if second_file else len(values)
    write_csv(folder / "values.csv", ["organization", "field", "self", "verified", "inspector", "verified_on"][:columns],
              values[:half])
    if second_file:                     # a field given in two files is a duplicate across them
        write_csv(folder / "more_values.csv", ["组织编号", "指标字段", "自评值", "核查值", "核查人", "核查日期"][:columns],
                  values[half:])
    write_csv(folder / "records.csv",
              ["organization", "field", "date", "title", "source", "inspector", "verified_on"][:columns + 1], records)
    if street:                          # a street's values, given to its organizations (and clashing with theirs)
        write_csv(folder / "street_values.csv", ["街道", "指标字段", "自评值"],
                  [("东区/一街道", VALUE_FIELDS[0], "5"), ("一街道", VALUE_FIELDS[1], "3")])
    if document:                        # one organization's evidence also in a YAML document
        (folder / "T-02.yaml").write_text("organization: T-02\nvalues:\n  members_full: 12\n"
                                          "records:\n  committee_meetings: [2026-01-10]\n", encoding="utf-8")
    general, columnar, _ = both_ways([folder], ORGS, STANDARDS, size, way)
    assert_identical(general, columnar)


def test_plain_rows_are_read_column_wise_and_the_unusual_go_the_general_way(tmp_path):
    write_csv(tmp_path / "values.csv", ["organization", "field", "self", "verified", "inspector", "verified_on"], [
        ("T-00", "members_full", "30", "28", "督导一组-王敏", "2026-10-12"),      # plain, verified differs
        ("T-00", "centre_area", "500平方米", "", "", ""),                          # plain
        ("T-01", "members_full", "30", "", "", ""),
        ("T-01", "members_full", "31", "", "", ""),                                 # given twice
        ("T-03", "members_full", "30", "29", "", ""),                               # verified, no inspector
    ])
    write_csv(tmp_path / "records.csv", ["organization", "field", "date", "title", "source", "inspector", "verified_on"], [
        ("T-00", "committee_meetings", "2026-01-10", "", "self", "", ""),
        ("T-00", "committee_meetings", "2026/2/10", "", "self", "", ""),           # read column-wise all the same
        ("T-00", "committee_meetings", "2026-01-10", "", "self", "", ""),          # listed twice: a finding
        ("T-04", "committee_meetings", "无", "", "self", "", ""),
        ("T-04", "committee_meetings", "2026-01-10", "", "self", "", ""),          # 无 and a record: refused
        ("T-05", "committee_meetings", "2026-03-10", "", "verified", "督导一组-王敏", "2026-10-12"),
        ("T-05", "committee_meetings", "2026-03-10", "", "verified", "", ""),      # verified first, listed twice
        ("T-05", "committee_meetings", "2026-02-10", "", "self", "", ""),
        ("T-05", "committee_meetings", "2026-02-10", "", "self", "", ""),          # then self, listed twice
    ])
    general, columnar, fell = both_ways([tmp_path], ORGS, STANDARDS, 100)
    assert_identical(general, columnar)
    assert fell == 3                    # T-01, T-03, T-04; T-00 column-wise
    ev = columnar[0][0]["T-00"]
    assert [f.kind for f in ev.findings] == ["duplicate_record", "self_report_mismatch"]
    assert ev.provenance["members_full"] == {"source": "verified", "inspector": "督导一组-王敏", "verified_on": "2026-10-12"}
    messages = [i.message for i in columnar[0][1] + columnar[0][2]]
    assert any("duplicate self value for organization 'T-01'" in m for m in messages)
    assert any("needs the inspector" in m for m in messages)
    assert any("这一行写“无”" in m for m in messages)
    # each source's duplicates in the order the sources were first given: verified, then self
    assert [f.message.split("重复记录 ")[-1] for f in columnar[0][0]["T-05"].findings] == [
        "2026-03-10 列出 2 次，只计 1 次", "2026-02-10 列出 2 次，只计 1 次"]


@pytest.fixture(scope="module")
def demo_round(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("demo") / "round", 300, 7)


@pytest.mark.parametrize("way", WAYS)
def test_on_a_demo_round_nearly_every_organization_is_read_column_wise(demo_round, way):
    rnd = load_round(demo_round)
    general, columnar, fell = both_ways(rnd.evidence_paths, rnd.organizations, rnd.standards, 60, way)
    assert_identical(general, columnar)
    documents = len(list((demo_round.parent / "evidence").rglob("*.yaml")))
    # the demo's messy cells (其他 date spellings, 无, verified blanks, 500平方米...) are read column-wise;
    # the organizations with a YAML document of their own are the general path's
    assert documents > 0 and fell <= documents + len(rnd.organizations) // 50, (fell, documents)


def test_a_bulk_csv_holding_only_its_header_is_no_evidence(tmp_path):
    # routing one stopped with an IndexError (a traceback instead of a round)
    write_csv(tmp_path / "values.csv", ["organization", "field", "self", "verified", "inspector", "verified_on"], [])
    write_csv(tmp_path / "records.csv", ["organization", "field", "date", "title", "source"], [
        ("T-00", "committee_meetings", "2026-01-10", "", "self")])
    general, columnar, fell = both_ways([tmp_path], ORGS, STANDARDS, 100)
    assert_identical(general, columnar)
    assert fell == 0 and columnar[0][0]["T-00"].values["committee_meetings"][0].date.isoformat() == "2026-01-10"


def test_a_record_listed_twice_in_two_spellings_or_two_files_counts_once_column_wise(tmp_path):
    # the columnar path skips the duplicate check where its integer codes show none: a date
    # spelled two ways, or the same row in two files, is still one record listed twice
    header = ["organization", "field", "date", "title", "source", "inspector", "verified_on"]
    write_csv(tmp_path / "records.csv", header, [
        ("T-00", "committee_meetings", "2026-01-10", "", "self", "", ""),
        ("T-00", "committee_meetings", "2026/1/10", "", "self", "", ""),            # the same day
        ("T-00", "committee_meetings", "2026-02-10", "", "self", "", ""),
        ("T-01", "committee_meetings", "2026-03-10", "", "self", "", ""),
        ("T-03", "committee_meetings", "2026-03-10", "", "self", "", ""),
        ("T-03", "committee_meetings", "2026-04-10", "", "self", "", ""),           # none twice
    ])
    write_csv(tmp_path / "more_records.csv", header, [
        ("T-01", "committee_meetings", "2026-03-10", "", "self", "", ""),           # again, in another file
    ])
    general, columnar, fell = both_ways([tmp_path], ORGS, STANDARDS, 100)
    assert_identical(general, columnar)
    assert fell == 0
    evidence = columnar[0][0]
    for oid, day in (("T-00", "2026-01-10"), ("T-01", "2026-03-10")):
        assert [f.kind for f in evidence[oid].findings] == ["duplicate_record"]
        assert evidence[oid].findings[0].message.endswith(f"重复记录 {day} 列出 2 次，只计 1 次")
    assert [r.date.isoformat() for r in evidence["T-00"].values["committee_meetings"]] == ["2026-01-10", "2026-02-10"]
    assert len(evidence["T-01"].values["committee_meetings"]) == 1
    assert evidence["T-03"].findings == [] and len(evidence["T-03"].values["committee_meetings"]) == 2


def test_organizations_settled_column_wise_and_field_by_field_in_one_partition_agree(tmp_path):
    # most organizations' Evidence is built column-wise at once; one with an inspector's
    # "nothing found" is settled field by field; both in one partition, as the general path
    header = ["organization", "field", "self", "verified", "inspector", "verified_on"]
    write_csv(tmp_path / "values.csv", header, [
        ("T-00", "members_full", "30", "", "督导一组-王敏", "2026-10-12"),          # nothing found: field by field
        ("T-00", "members_probationary", "3", "2", "督导一组-王敏", "2026-10-12"),
        ("T-06", "members_probationary", "3", "2", "督导二组-李娜", "2026/10/13"),   # the same two texts
        ("T-06", "dues_paid_share", "0.3201", "", "", ""),                           # a share written as a fraction
        ("T-06", "members_full", "", "", "", ""),                                    # no value at all
        ("T-06", "centre_area", "500平方米", "500", "督导二组-李娜", "2026-10-13"),   # agree: no finding
    ])
    write_csv(tmp_path / "records.csv", ["organization", "field", "date", "title", "source", "inspector", "verified_on"], [
        ("T-06", "committee_meetings", "2026/2/10", "", "self", "", ""),            # one spelling, two fields
        ("T-06", "theme_party_days", "2026/2/10", "", "self", "", ""),
        ("T-06", "theme_party_days", "2026-03-05", "三月主题党日", "verified", "督导二组-李娜", "2026-10-13"),
    ])
    general, columnar, fell = both_ways([tmp_path], ORGS, STANDARDS, 100)
    assert_identical(general, columnar)
    assert fell == 0
    evidence = columnar[0][0]
    t00, t06 = evidence["T-00"], evidence["T-06"]
    assert [f.kind for f in t00.findings] == ["verified_blank", "self_report_mismatch"]
    assert "members_full" not in t00.values and t00.notes["members_full"].startswith("核查值为空")
    # the mismatch of the same two texts is each organization's own finding
    assert [f.kind for f in t06.findings] == ["self_report_mismatch"]
    assert t06.findings[0] == t00.findings[1] and t06.findings[0] is not t00.findings[1]
    assert set(t06.values) == {"members_probationary", "dues_paid_share", "centre_area", "committee_meetings",
                               "theme_party_days"}
    assert str(t06.values["dues_paid_share"]) == "0.3201" and "members_full" not in t06.self_values
    assert t06.provenance["members_probationary"] == {"source": "verified", "inspector": "督导二组-李娜",
                                                      "verified_on": "2026-10-13"}
    assert t06.provenance["dues_paid_share"] == {"source": "self"}
    assert [r.date.isoformat() for r in t06.self_values["committee_meetings"]] == ["2026-02-10"]
    assert [r.date.isoformat() for r in t06.self_values["theme_party_days"]] == ["2026-02-10"]
    assert [(r.date.isoformat(), r.title) for r in t06.values["theme_party_days"]] == [("2026-03-05", "三月主题党日")]


def test_fields_counting_a_blank_as_zero_are_zero_column_wise_too(tmp_path):
    # a standard with `blank: zero` fields: an organization that leaves them out gets 0, and
    # says so, whichever way it was read (rules/ has none, so one is made here)
    import dataclasses
    community = STANDARDS["community"]
    zero = {fid: dataclasses.replace(f, blank="zero") for fid, f in community.fields.items()
            if fid in ("honors_city", "theme_party_days")}
    standards = dict(STANDARDS, community=dataclasses.replace(community, fields={**community.fields, **zero}))
    write_csv(tmp_path / "values.csv", ["organization", "field", "self", "verified", "inspector", "verified_on"], [
        ("T-00", "members_full", "30", "", "", ""),                     # honors_city left out: 0
        ("T-06", "honors_city", "2", "", "", ""),
        ("T-06", "members_full", "", "", "督导一组-王敏", "2026-10-12"),  # nothing found, field by field
        ("T-01", "members_full", "12", "", "", ""),                     # a village: no such fields
    ])
    write_csv(tmp_path / "records.csv", ["organization", "field", "date", "title", "source", "inspector", "verified_on"], [
        ("T-06", "theme_party_days", "2026-03-05", "", "self", "", ""),
    ])
    general, columnar, fell = both_ways([tmp_path], ORGS, standards, 100)
    assert_identical(general, columnar)
    assert fell == 0
    evidence = columnar[0][0]
    t00, t06 = evidence["T-00"], evidence["T-06"]
    assert t00.values["honors_city"] == 0 and t00.values["theme_party_days"] == ()
    assert t00.provenance["honors_city"] == {"source": "blank"} and t00.notes["honors_city"].endswith("空白，按 0 计")
    assert t06.values["honors_city"] == 2 and t06.values["theme_party_days"][0].date.isoformat() == "2026-03-05"
    assert "honors_city" not in evidence["T-01"].values


@given(st.lists(st.integers(0, 2000), max_size=300), st.integers(0, 100_000))
def test_distinct_keys_are_what_numpy_unique_gives(keys, extra):
    """_distinct, the columnar path's np.unique for small-range keys (a table, not a sort),
    gives the same distinct keys and the same row -> distinct key, whatever the range."""
    import numpy as np
    from evaluator.intake.columnar import _distinct
    keys = np.array(keys, dtype=np.int64)
    distinct, inverse = _distinct(keys, 2001 + extra)
    want, want_inverse = np.unique(keys, return_inverse=True)
    assert distinct.tolist() == want.tolist() and inverse.tolist() == want_inverse.reshape(-1).tolist()
