"""Scoring a partition criterion by criterion (scoring.partition_criteria, what `evaluate` runs)
gives every organization exactly the outcomes score_all gives it scored on its own, without a
cache: on every shipped standard's golden cases, on the mini fixture, and on randomized
evidence (blanks, values at thresholds, notes, waivers, bulletin as-of dates, records outside
the period or after the as-of date, self-assessments differing from the verified values).
Graded, the partition's organizations get the rows and results they get scored one by one."""
import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from evaluator.intake.evidence import raw_from_mapping, resolve
from evaluator.model import Evidence, Organization, Record
from evaluator.resources import rules_dir
from evaluator.scoring.cases import case_files, load_cases
from evaluator.scoring.asof import evidence_as_of
from evaluator.scoring.criteria import OutcomeCache, score_all
from evaluator.scoring.rows import _values
from evaluator.scoring.run import RoundScorer
from evaluator.scoring.partition_criteria import score_partition_all
from evaluator.standard.loader import available_standards, load_standard
from evaluator.standard.periods import cut

from conftest import FIXTURES

PERIOD = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
STANDARDS = {sid: load_standard(sid) for sid in available_standards([rules_dir()])}
STANDARDS["mini"] = load_standard(FIXTURES / "mini" / "mini.yaml")


def _seen(outcomes):
    """Each field of an outcome. Points and values compare as numbers: the outcome cache gives
    3 and 3.00 one outcome by design (criteria.OutcomeCache), shown and serialized alike."""
    return None if outcomes is None else [
        (o.criterion, o.outcome, o.points, o.max_points, o.reason, o.evidence, o.veto_hit) for o in outcomes]


def _assert_same(std, orgs, evs, period, waivers, limit=50_000):
    """The partition path (one cache over two partitions, so the second finds the first's
    outcomes; a small `limit` empties it mid-column) against score_all of each organization
    alone, uncached."""
    cache, half = OutcomeCache(std, limit), len(orgs) // 2
    got = (score_partition_all(std, orgs[:half], evs[:half], period, waivers, cache)
           + score_partition_all(std, orgs[half:], evs[half:], period, waivers, cache))
    assert len(got) == len(orgs)
    for org, ev, (main, own) in zip(orgs, evs, got):
        want, want_own = score_all(std, org, ev, period, waivers)
        assert [o.criterion for o in main] == list(std.criteria)
        assert _seen(main) == _seen(want), org.id
        assert _seen(own) == _seen(want_own), org.id


def _assert_same_grades(std, orgs, evs, period, waivers):
    """RoundScorer.score_many (the partition's criteria, then each organization graded) against
    score_all and grade_row of each organization alone: every field of its compact row (status,
    total, base, bonus, vetoes, lost points, tie-break values, tier, tier reasons, veto caps,
    failing gates) and its serialized result."""
    kind = orgs[0].type
    together = RoundScorer({kind: std}, period, waivers)
    alone = RoundScorer({kind: std}, period, waivers)
    got = together.score_many(orgs, {o.id: e for o, e in zip(orgs, evs)})
    for org, ev, (row, head, tail) in zip(orgs, evs, got):
        ev = evidence_as_of(ev, period)
        outcomes, own = score_all(std, org, ev, period, waivers)
        want, _ = alone.grade_row(org, ev, outcomes, own)
        assert _row_values(row) == _row_values(want), org.id
        assert (head, tail) == alone.score(org, ev)[1:], org.id
    together.close()
    alone.close()


def _row_values(row):
    """A row's fields, Decimals with their digits (3.0 is written 3.0)."""
    return [(v, str(v)) if isinstance(v, Decimal) else v for v in _values(row)]


def _cases():
    by_standard = {}
    for case in (c for p in case_files([rules_dir()]) for c in load_cases(p)):
        by_standard.setdefault(case.standard, []).append(case)
    return by_standard


@pytest.mark.parametrize("standard,cases", sorted(_cases().items()))
def test_golden_cases_scored_as_one_partition_match_score_all(standard, cases):
    std = STANDARDS[standard]
    orgs, evs = [], []
    for i, case in enumerate(cases):
        base = ("cases", case.index, "evidence")
        raw = raw_from_mapping({"organization": case.organization.id, **case.evidence}, case.loc, case.file, base)
        ev, issues = resolve(raw, case.organization.id, std)
        if issues:
            continue
        # each case its own organization id, so two cases never share a waiver by accident
        orgs.append(dataclasses.replace(case.organization, id=f"{case.organization.id}#{i}"))
        evs.append(dataclasses.replace(ev, organization=orgs[-1].id))
    assert len(orgs) >= 3
    # a waiver for the first organization's first and last criteria: it goes score_all's way
    first, last = next(iter(std.criteria)), list(std.criteria)[-1]
    waivers = {(orgs[0].id, first): "经批准免于考核", (orgs[0].id, last): "经批准免于考核"}
    for period in (PERIOD, cut(PERIOD, dt.date(2026, 6, 30)), cut(PERIOD, dt.date(2026, 1, 20))):
        _assert_same(std, orgs, evs, period, None)
        _assert_same(std, orgs, evs, period, waivers)
        if len({o.type for o in orgs}) == 1:
            _assert_same_grades(std, orgs, evs, period, waivers)


# ------------------------------------------------------------------ randomized evidence

_INTEGERS = [Decimal(0), Decimal("0.0"), Decimal(1), Decimal(2), Decimal(3), Decimal("3.00"), Decimal(5),
             Decimal(7), Decimal(12), Decimal(30), Decimal(100)]
_NUMBERS = [Decimal(0), Decimal(299), Decimal("300.0"), Decimal(300), Decimal("480.5"), Decimal(500), Decimal(520)]
_SHARES = [Decimal(0), Decimal("0.5"), Decimal("0.59"), Decimal("0.6"), Decimal("0.600"), Decimal("0.8"),
           Decimal("0.95"), Decimal(1)]
_DATES = [dt.date(2022, 5, 1), dt.date(2023, 12, 31), dt.date(2024, 1, 1), dt.date(2026, 3, 15), dt.date(2027, 1, 2)]
_RECORDS = [(), tuple(Record(dt.date(2026, m, 9)) for m in range(1, 13)),
            tuple(Record(dt.date(2026, m, 28)) for m in (1, 2, 3, 5, 8, 9, 11, 12)),
            tuple(Record(dt.date(2026, m, 1 + m)) for m in range(1, 13) for _ in range(2)),
            (Record(dt.date(2025, 12, 30)), Record(dt.date(2026, 3, 1), "三月"), Record(dt.date(2026, 7, 1))),
            (Record(dt.date(2026, 1, 5)), Record(dt.date(2026, 4, 5)), Record(dt.date(2026, 7, 5)),
             Record(dt.date(2026, 10, 5)), Record(dt.date(2027, 1, 3), "年后"))]


def _value(field):
    pool = {"integer": _INTEGERS, "number": _NUMBERS, "percentage": _SHARES, "boolean": [True, False, Decimal(0)],
            "enum": list(field.values), "date": _DATES, "records": _RECORDS}.get(field.type)
    if not pool:
        return st.none()
    # None: the value is missing (a blank cell not counted as zero)
    return st.sampled_from([None, *pool])


def _organizations(std):
    fields = sorted(std.fields.values(), key=lambda f: f.id)
    values = st.fixed_dictionaries({f.id: _value(f) for f in fields})
    noted = st.sampled_from([f.id for f in fields])
    return st.tuples(values, values, st.booleans(), st.lists(noted, max_size=2), st.sampled_from(["东区", "西区"]))


def _evidence(oid, values, own, same, noted):
    present = {k: v for k, v in values.items() if v is not None}
    own_values = dict(present) if same else {k: v for k, v in own.items() if v is not None}
    return Evidence(oid, values=present, self_values=own_values, notes={f: "空白，按 0 计" for f in noted})


@pytest.mark.parametrize("sid", sorted(STANDARDS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_randomized_evidence_matches_score_all(sid, data):
    std = STANDARDS[sid]
    rows = data.draw(st.lists(_organizations(std), min_size=1, max_size=14), label="organizations")
    kind = std.applies_to[0] if std.applies_to else "community"
    orgs = [Organization(f"O{i}", f"组织{i}", kind, district, "一街道") for i, (*_, district) in enumerate(rows)]
    evs = [_evidence(o.id, v, own, same, noted) for o, (v, own, same, noted, _) in zip(orgs, rows)]
    waived = data.draw(st.lists(st.tuples(st.sampled_from([o.id for o in orgs]), st.sampled_from(list(std.criteria))),
                                max_size=3), label="waivers")
    waivers = {k: "经区委组织部复核同意免于考核" for k in waived} or None
    as_of = data.draw(st.sampled_from([None, dt.date(2026, 1, 20), dt.date(2026, 3, 31), dt.date(2026, 7, 1),
                                       dt.date(2026, 12, 30)]), label="as_of")
    limit = data.draw(st.sampled_from([3, 50_000]), label="cache limit")
    _assert_same(std, orgs, evs, cut(PERIOD, as_of) if as_of else PERIOD, waivers, limit)
    _assert_same_grades(std, orgs, evs, cut(PERIOD, as_of) if as_of else PERIOD, waivers)


def test_a_partition_of_no_organizations_scores_none():
    std = STANDARDS["mini"]
    assert score_partition_all(std, [], [], PERIOD, None, OutcomeCache(std)) == []


def test_a_cache_of_another_standard_is_refused():
    from evaluator.errors import EvaluationError
    with pytest.raises(EvaluationError, match="outcome cache of standard"):
        score_partition_all(STANDARDS["mini"], [], [], PERIOD, None, OutcomeCache(STANDARDS["community"]))


def _mini_with_meetings_checked(tmp_path, self_assessed=False):
    """mini with G2.3 a check that reads dated records through an expression (never cached,
    not being a frequency criterion), and, if asked, a total weighing in the self-assessment."""
    text = (FIXTURES / "mini" / "mini.yaml").read_text(encoding="utf-8").replace(
        "{id: G2.3, title: 述职评议, points: 10, method: bands, field: secretary_rating, bands: [{equals: 好, points: 10}, "
        "{equals: 较好, points: 8}, {equals: 一般, points: 5}], rectification: 改进}",
        '{id: G2.3, title: 会议次数, points: 10, method: check, condition: "len(committee_meetings) >= 4", '
        'rectification: 按时开会}')
    if self_assessed:
        text = text.replace("  base: 100\n", (
            "  base: 100\n  components:\n"
            "    - {id: verified, label: 考核组评分, source: criteria, weight: 0.7}\n"
            "    - {id: self, label: 自评得分, source: self_assessment, weight: 0.3}\n"))
    (tmp_path / "mini.yaml").write_text(text, encoding="utf-8")
    std = load_standard(tmp_path / "mini.yaml")
    assert std.criteria["G2.3"].method == "check" and std.needs_self_assessment == self_assessed
    return std


def test_a_criterion_reading_records_through_an_expression_is_scored_for_each_organization(tmp_path):
    # not a frequency criterion but it reads dated records, so it is never cached: the
    # partition scores it organization by organization, each on its own records
    std = _mini_with_meetings_checked(tmp_path)
    meetings = [tuple(Record(dt.date(2026, m, 9)) for m in range(1, n + 1)) for n in (5, 2, 4, 0)]
    orgs = [Organization(f"O{i}", f"组织{i}", "community", "东区", "一街道") for i in range(len(meetings))]
    evs = [Evidence(o.id, values={"committee_meetings": r, "members_full": Decimal(9)}) for o, r in zip(orgs, meetings)]
    got = score_partition_all(std, orgs, evs, PERIOD, None, OutcomeCache(std))
    g23 = list(std.criteria).index("G2.3")
    assert [main[g23].outcome for main, _ in got] == ["pass", "fail", "pass", "fail"]
    _assert_same(std, orgs, evs, PERIOD, None)
    # score_all with a cache, as a waived organization is scored, goes the same way
    cache = OutcomeCache(std)
    assert [score_all(std, o, e, PERIOD, None, cache)[0][g23].outcome for o, e in zip(orgs, evs)] == \
        ["pass", "fail", "pass", "fail"]


def test_the_self_assessment_of_a_criterion_reading_records_through_an_expression_is_what_was_declared(tmp_path):
    # the inspectors counted fewer meetings than the organizations declared (or more): the
    # self-assessed outcome is scored on the declared records, with a cache as without one
    std = _mini_with_meetings_checked(tmp_path, self_assessed=True)
    dated = lambda n: tuple(Record(dt.date(2026, m, 9)) for m in range(1, n + 1))   # noqa: E731
    counted, declared = (2, 5, 4, 0), (5, 5, 1, 4)
    orgs = [Organization(f"O{i}", f"组织{i}", "community", "东区", "一街道") for i in range(len(counted))]
    evs = [Evidence(o.id, values={"committee_meetings": dated(n), "members_full": Decimal(9)},
                    self_values={"committee_meetings": dated(m), "members_full": Decimal(9)})
           for o, n, m in zip(orgs, counted, declared)]
    g23 = list(std.criteria).index("G2.3")
    for cache in (None, OutcomeCache(std)):
        got = [score_all(std, o, e, PERIOD, None, cache) for o, e in zip(orgs, evs)]
        assert [main[g23].outcome for main, _ in got] == ["fail", "pass", "pass", "fail"]
        assert [own[g23].outcome for _, own in got] == ["pass", "pass", "fail", "pass"]
    got = score_partition_all(std, orgs, evs, PERIOD, None, OutcomeCache(std))
    assert [own[g23].outcome for _, own in got] == ["pass", "pass", "fail", "pass"]
    _assert_same(std, orgs, evs, PERIOD, None)


def test_a_value_that_cannot_be_a_cache_key_is_scored_as_alone():
    # evidence made through the Python API may hold a list: it cannot key the outcome cache,
    # so each such organization's outcome is computed afresh, in the partition as alone
    std = STANDARDS["mini"]
    ratings = [["好"], "好", ["差"], "一般", ["好"]]
    orgs = [Organization(f"O{i}", f"组织{i}", "community", "东区", "一街道") for i in range(len(ratings))]
    evs = [Evidence(o.id, values={"secretary_rating": r, "members_full": Decimal(9)}, notes=n)
           for o, r, n in zip(orgs, ratings, [{}, {}, {"secretary_rating": "手工录入"}, {}, {}])]
    got = score_partition_all(std, orgs, evs, PERIOD, None, OutcomeCache(std))
    g23 = list(std.criteria).index("G2.3")
    assert [main[g23].outcome for main, _ in got][1::2] == ["pass", "partial"]
    _assert_same(std, orgs, evs, PERIOD, None)
    _assert_same(std, orgs[::-1], evs[::-1], PERIOD, None)
