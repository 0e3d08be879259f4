"""An organization's result tail as orgresult.parts writes it from kept pieces (items per
outcome and per pair of outcomes with a self-assessment, a template of the sections) is, byte
for byte, the plain serialization of the result docs/FORMATS.md describes: whatever the kept
pieces hold or drop, with a self-assessment or without, and whatever a section's title says
(a "%" in it is text, not a place for the points)."""
import dataclasses
import random
from decimal import Decimal

import orjson
import pytest

from evaluator.model import Finding, Organization, Record, Section
from evaluator.scoring.criteria import OutcomeCache, score_all
from evaluator.scoring.orgresult import Pieces, parts
from evaluator.scoring.run import RoundScorer

from test_engine import PERIOD, full_evidence
from test_grading import STD
from test_grading_passes import AGENCY, _organization


def _num(d):
    """results.json's number rule: a whole Decimal an integer, any other the nearest float."""
    if isinstance(d, Decimal):
        return int(d) if d == d.to_integral_value() else float(d)
    return d


def _value(v):
    if isinstance(v, tuple):
        return [r.as_json() if isinstance(r, Record) else _value(r) for r in v]
    return _num(v)


def _plain_tail(std, ev, outcomes, own, g) -> bytes:
    """The tail written the slow, obvious way: one dict, one orjson call."""
    criteria = []
    for i, o in enumerate(outcomes):
        c = std.criteria[o.criterion]
        item = {"id": c.id, "section": c.section, "title": c.title, "method": c.method, "kind": c.kind,
                "outcome": o.outcome, "points": _num(o.points), "max_points": _num(o.max_points), "reason": o.reason,
                "evidence": {k: _value(v) for k, v in o.evidence}, "rectification": c.rectification}
        if own:
            item.update(self_outcome=own[i].outcome, self_points=_num(own[i].points))
        criteria.append(item)
    sections = [{"id": s.id, "title": s.title, "points": _num(g.sections[s.id]),
                 "max_points": _num(sum((std.criteria[c].points for c in s.criteria
                                         if std.criteria[c].kind == "base"), Decimal(0)))}
                for s in std.sections]
    order = {f: i for i, f in enumerate(std.fields)}
    findings = [{"kind": f.kind, "field": f.field, "self": _num(f.self_value), "verified": _num(f.verified_value),
                 "message": f.message} for f in sorted(ev.findings, key=lambda f: order.get(f.field, len(order)))]
    return orjson.dumps({"sections": sections, "criteria": criteria,
                         "vetoes": [{k: _num(v) for k, v in veto.items()} for veto in g.vetoes],
                         "findings": findings, "provenance": dict(sorted(ev.provenance.items()))})


def _check(kind, std, orgs):
    """Each organization's tail through long-kept pieces and through pieces that drop
    everything every few items, against the plain serialization."""
    scorer = RoundScorer({kind: std}, PERIOD)
    cache, tiny, kept = OutcomeCache(std), Pieces(limit=3), Pieces()
    seen_own = 0
    try:
        for org, ev in orgs:
            outcomes, own = score_all(std, org, ev, PERIOD, None, cache)
            _, g = scorer.grade_row(org, ev, outcomes, own)
            want = _plain_tail(std, ev, outcomes, own, g)
            for pieces in (kept, tiny):
                head, tail = parts(org, std, ev, outcomes, own, g, pieces)
                assert tail == want, org.id
                assert orjson.loads(head)["id"] == org.id
            seen_own += bool(own)
    finally:
        scorer.close()
    return seen_own


def test_tails_with_a_self_assessment_are_the_plain_serialization():
    rng = random.Random(50)
    orgs = [_organization(n, rng) for n in range(80)]
    # items met again: the pairs of (verified, self-assessed) outcomes kept are used again
    orgs += [(dataclasses.replace(org, id=org.id + "b"), ev) for org, ev in orgs[:20]]
    assert _check("agency", AGENCY, orgs) == len(orgs)


def test_tails_without_a_self_assessment_and_titles_with_percent_signs():
    titled = [Section(s.id, s.title + t, s.criteria) for s, t in
              zip(STD.sections, ["（达标率 100%）", "%b%s%%", "%", "%(x)s"] + [""] * len(STD.sections))]
    std = dataclasses.replace(STD, sections=tuple(titled))
    orgs = []
    for n in range(30):
        org = Organization(f"O{n}", f"O{n}", "community", "东区", "一街道")
        orgs.append((org, full_evidence(org.id, serious_violation=n % 7 == 0)))
    assert _check("community", std, orgs) == 0


def test_records_of_each_organization_are_its_own_through_one_pieces():
    """A record's JSON is kept by the record's identity (intake shares equal records); here
    each organization's records are objects of its own, dropped once it is written, and one
    Pieces writes 150 organizations: each tail quotes its own records, titled or not."""
    rng = random.Random(9)
    scorer = RoundScorer({"agency": AGENCY}, PERIOD)
    pieces = Pieces()
    try:
        for n in range(150):
            org, ev = _organization(n, rng)
            outcomes, own = score_all(AGENCY, org, ev, PERIOD)
            _, g = scorer.grade_row(org, ev, outcomes, own)
            assert parts(org, AGENCY, ev, outcomes, own, g, pieces)[1] == _plain_tail(AGENCY, ev, outcomes, own, g), n
            del org, ev, outcomes, own, g
    finally:
        scorer.close()


def _findings_written(std, findings):
    org = Organization("O1", "O1", "community", "东区", "一街道")
    ev = dataclasses.replace(full_evidence("O1"), findings=findings)
    outcomes, own = score_all(std, org, ev, PERIOD)
    scorer = RoundScorer({"community": std}, PERIOD)
    try:
        _, g = scorer.grade_row(org, ev, outcomes, own)
        return orjson.loads(parts(org, std, ev, outcomes, own, g, Pieces())[1])["findings"]
    finally:
        scorer.close()


@pytest.mark.parametrize("gathered, written", [
    # two findings gathered against the field order (awards is mini's eighth field, members_full its first)
    (("awards", "members_full"), ["members_full", "awards"]),
    # a field the standard does not have (evidence kept from another version of it) goes last
    (("retired_field", "awards", "members_full"), ["members_full", "awards", "retired_field"]),
])
def test_findings_are_written_in_the_standards_field_order(gathered, written):
    findings = [Finding("self_report_mismatch", f, f"{f} 自评与核查不一致", Decimal(3), Decimal("2.5")) for f in gathered]
    assert _findings_written(STD, findings) == [
        {"kind": "self_report_mismatch", "field": f, "self": 3, "verified": 2.5, "message": f"{f} 自评与核查不一致"}
        for f in written]


@pytest.mark.parametrize("responsible", ["", "张三"])
def test_the_head_names_the_organization_then_its_scores(responsible):
    # results.json's keys in the order docs/FORMATS.md gives; `responsible` only when known.
    # 90 points of 100: G1.1 lost (members_full 2 < 3); the self-assessment is not weighed
    org = Organization("O7", "七里社区党委", "community", "东区", "一街道", "街道党工委", responsible)
    ev = full_evidence("O7", members_full=Decimal(2))
    outcomes, own = score_all(STD, org, ev, PERIOD)
    scorer = RoundScorer({"community": STD}, PERIOD)
    try:
        _, g = scorer.grade_row(org, ev, outcomes, own)
        head = orjson.loads(parts(org, STD, ev, outcomes, own, g, Pieces())[0])
    finally:
        scorer.close()
    want = {"id": "O7", "name": "七里社区党委", "type": "community", "type_name": "社区", "district": "东区",
            "street": "一街道", "parent": "街道党工委", **({"responsible": "张三"} if responsible else {}),
            "standard": {"id": "mini", "version": "1"}, "status": "graded", "total": 90, "base": 90, "bonus": 0,
            "components": {"verified": 90}, "reviewed_share": 1}
    assert list(head.items()) == list(want.items())


def test_one_pieces_writes_two_standards_of_one_id_each_with_its_own_words():
    """What Pieces makes once per standard (criteria frames, the sections' template and
    maxima) is found by the standard's id but is that standard object's: another version of it
    under the same id (other titles, G1 35 and G2 65 points) gets its own."""
    other = dataclasses.replace(
        STD, sections=tuple(Section(s.id, s.title + "（修订）", s.criteria) for s in STD.sections),
        criteria={cid: dataclasses.replace(c, title=c.title + "（修订）", rectification="限期整改",
                                           points={"G1.2": Decimal(25), "G2.2": Decimal(15)}.get(cid, c.points))
                  for cid, c in STD.criteria.items()})
    pieces = Pieces()
    org = Organization("O1", "O1", "community", "东区", "一街道")
    ev = dataclasses.replace(full_evidence("O1", members_full=Decimal(2)), provenance={"awards": "核查", "members_full": "自评"})
    for std in (STD, other, STD):
        outcomes, own = score_all(std, org, ev, PERIOD)
        scorer = RoundScorer({"community": std}, PERIOD)
        try:
            _, g = scorer.grade_row(org, ev, outcomes, own)
            assert parts(org, std, ev, outcomes, own, g, pieces)[1] == _plain_tail(std, ev, outcomes, own, g)
        finally:
            scorer.close()
