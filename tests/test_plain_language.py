"""No program text on any official document (issue 9, "Plain language on every official document").

Scorecards, 整改清单, the 通报 and the red/black lists — internal and public, PDF and HTML — and
`agrade explain` are read by secretaries, inspectors and the public. Every criterion, gate, veto
and list rule must read in Chinese there: field ids, tier ids, snake_case names, expression
operators (`>=`, `and`, `[`) and the scoring methods' English words may appear only in the
technical exports (results.json, CSV).

Rendered here: a demo round of a few hundred organizations (a sample of scorecards chosen to
show every criterion's every outcome that occurs, the summary and the lists, internal and
public), the March bulletin of a small demo round with its movement chart and trend lines, and
every golden case of every shipped standard (rules/*.cases.yaml). Every reason in the demo
round's results is checked too, since documents print them.
"""
from __future__ import annotations

import dataclasses
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from evaluator import resources
from evaluator.scoring.cases import load_cases
from evaluator.scoring.explain import explain_text
from evaluator.standard.loader import available_standards, load_standard
from evaluator.standard.methods import REGISTRY
from evaluator.terms import ORG_TYPES

STANDARDS = [load_standard(s) for s in available_standards([resources.rules_dir()])]
FIELD_IDS = sorted({f for s in STANDARDS for f in s.fields})
STANDARD_IDS = sorted({s.id for s in STANDARDS})
TIERS = {t.id: t.name for s in STANDARDS for t in s.grading.tiers}
# words of the expression language and of the scoring methods' YAML
CODE_WORDS = sorted(set(REGISTRY) | {"proportional", "all_or_nothing", "and", "or", "not", "in", "true", "false",
                                     "len", "count", "exists", "min", "max", "abs", "days_since", "points",
                                     "outcome", "section_points", "date", "org", "tier", "total", "base",
                                     "bonus", "veto_count", "top_tier", "bottom_tier", "rank", "status",
                                     "previous"} | set(ORG_TYPES) | set(STANDARD_IDS))


def _word(words) -> str:
    return r"(?<![A-Za-z0-9_.])(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")(?![A-Za-z0-9_])"


# A tier id printed where its name belongs: S1 (named 一星级) anywhere as a word; A (named A档)
# when it stands alone, not in A档 or 创A.
# A tier id that is also a section's number (S1 is a tier of one standard and a section of
# another) counts only where a tier is meant: after 档次, 定为, 达到, 降为, 上限….
SECTION_IDS = {sec.id for s in STANDARDS for sec in s.sections}
_NAMED_AFTER = [t for t, name in TIERS.items() if name.startswith(t) and t not in SECTION_IDS]
_OTHER_TIERS = [t for t, name in TIERS.items() if not name.startswith(t) and t not in SECTION_IDS]
_TIER_CONTEXT = r"(?:档次|定为|达到|降为|升为|最高为|上限)[：:为\s]*"
PROGRAM_TEXT = [
    ("field id", re.compile(_word(FIELD_IDS))),
    ("snake_case name", re.compile(r"[A-Za-z0-9]+_[A-Za-z0-9_]+")),
    ("operator", re.compile(r">=|<=|==|!=|\[|\]")),
    ("code word", re.compile(_word(CODE_WORDS))),
    ("tier id", re.compile(_word(_OTHER_TIERS))),
    ("tier id", re.compile(r"(?<![A-Za-z0-9_.创])(?:" + "|".join(map(re.escape, _NAMED_AFTER)) + r")(?![A-Za-z0-9_]|\s*档)")),
    ("tier id", re.compile(_TIER_CONTEXT + r"(?:" + "|".join(map(re.escape, sorted(TIERS))) + r")(?![A-Za-z0-9_.]|\s*档)")),
]


def program_text(text: str) -> list[str]:
    """Each piece of program text in `text`, with what it is and the line it is on."""
    found = []
    for what, pattern in PROGRAM_TEXT:         # over the whole text: a PDF line may end inside "C档"
        for m in pattern.finditer(text):
            start = text.rfind("\n", 0, m.start()) + 1
            end = text.find("\n", m.end())
            found.append(f"{what} {m.group()!r} in: {text[start:end if end >= 0 else None].strip()[:200]}")
    return found


class _Text(HTMLParser):
    """The text a reader sees in an HTML document (no style, script or attribute values)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self.hidden += 1
        elif tag in ("br", "p", "div", "tr", "li", "td", "th", "h1", "h2", "h3", "section"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self.hidden -= 1
        elif tag in ("td", "th"):
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def document_text(path: Path) -> str:
    if path.suffix == ".pdf":
        return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                              capture_output=True).stdout.decode("utf-8")
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return "".join(parser.parts)


def check_documents(folder: Path) -> tuple[int, list[str]]:
    docs = sorted(p for p in folder.rglob("*") if p.suffix in (".pdf", ".html"))
    problems = []
    for p in docs:
        problems += [f"{p.relative_to(folder)}: {x}" for x in program_text(document_text(p))]
    return len(docs), problems


def _covering_sample(orgs: list[dict], limit: int) -> list[str]:
    """Organizations whose scorecards together show as many kinds of reason as possible: every
    (criterion, outcome) pair, veto and ungraded status that occurs, greedily."""
    def kinds(o):
        k = {(c["id"], c["outcome"]) for c in o["criteria"]}
        k |= {("veto", v["criterion"]) for v in o["vetoes"]} | {("status", o["status"])}
        k |= {("tier reason", r.split("（")[0][:6]) for r in o["tier_reasons"]}
        return k
    left = {o["id"]: kinds(o) for o in orgs}
    seen: set = set()
    chosen = []
    while left and len(chosen) < limit:
        best = max(sorted(left), key=lambda i: len(left[i] - seen))
        if not left[best] - seen:
            break
        chosen.append(best)
        seen |= left.pop(best)
    return chosen


# ------------------------------------------------------------------ the demo round

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from evaluator.cli import evaluate_to
    from evaluator.demo import generate
    from evaluator.reports import render_reports
    from evaluator.scoring.results import load_results
    root = tmp_path_factory.mktemp("plain-demo")
    round_yaml = generate(root / "round", n_orgs=300, seed=2026)
    evaluate_to(round_yaml, root / "results", quiet=True, workers=2)
    payload = load_results(root / "results")
    sample = _covering_sample(payload["organizations"], 24)
    # A render worker costs ~1.4 s of CPU to start (imports, fonts): two of them pay for the
    # internal version's 26 documents on an idle machine; the smaller jobs here and below
    # render in this process, which costs least on the shared two cores.
    render_reports(root / "results", root / "internal", kinds=("scorecards", "summary", "lists"),
                   formats=("pdf", "html"), workers=2, only=sample)
    render_reports(root / "results", root / "public", kinds=("scorecards", "summary", "lists"),
                   formats=("pdf", "html"), workers=1, only=sample[:6], public=True)
    return root, payload, sample


def test_every_document_of_the_demo_round_reads_without_program_text(demo):
    root, _, sample = demo
    for version in ("internal", "public"):
        count, problems = check_documents(root / version)
        assert count >= 2 * (len(sample[:6]) + 2), f"{version}: only {count} documents rendered"
        assert not problems, f"{version}: {len(problems)} piece(s) of program text:\n" + "\n".join(problems[:40])


def demo_reasons(payload: dict) -> list[str]:
    """Every reason documents print, for every organization, not only the sample's."""
    texts = []
    for o in payload["organizations"]:
        texts += [c["reason"] for c in o["criteria"]] + list(o["tier_reasons"])
        texts += [v["reason"] for v in o["vetoes"]] + [f["message"] for f in o["findings"]]
    for kind in ("lists", "designations"):
        for lst in (payload.get(kind) or {}).values():
            texts += list(lst.get("description") or [])
            texts += [r for e in lst["entries"] for r in e["reasons"]]
    return texts


def test_every_reason_in_the_demo_round_reads_without_program_text(demo):
    _, payload, _ = demo
    problems = [x for t in demo_reasons(payload) for x in program_text(t)]
    assert not problems, "\n".join(sorted(set(problems))[:40])


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# a space between two Chinese words (未满足 A档 条件, 自报 是, 定为 一星级党组织): prose has none
SPACED_WORDS = re.compile(r"[\u4e00-\u9fff] +[\u4e00-\u9fff]")


def test_documents_and_reasons_print_dates_and_words_as_chinese_text(demo):
    """Dates read 2026年3月5日 on every document (ISO only in the technical exports' data
    fields), and no reason puts a space between two Chinese words (docs/FORMATS.md, house style)."""
    root, payload, _ = demo
    for version in ("internal", "public"):
        for p in sorted(p for p in (root / version).rglob("*") if p.suffix in (".pdf", ".html")):
            found = ISO_DATE.findall(document_text(p))
            assert not found, f"{version}/{p.relative_to(root / version)}: {found[:5]}"
    bad = sorted({t for t in demo_reasons(payload) if ISO_DATE.search(t) or SPACED_WORDS.search(t)})
    assert not bad, "\n".join(bad[:20])


def test_shares_on_scorecards_read_as_percentages(demo):
    """Evidence values of percentage fields (网格员中党员占比：55%, not 0.55)."""
    root, _, _ = demo
    labels = sorted({f.label for s in STANDARDS for f in s.fields.values() if f.type == "percentage"})
    share = re.compile("(?:" + "|".join(map(re.escape, labels)) + r")[：:]\s*(?:核查 |自报 )?0\.\d")
    for p in sorted((root / "internal" / "scorecards").glob("*.html")):
        found = share.findall(document_text(p))
        assert not found, f"{p.name}: {found}"


def test_explain_reads_without_program_text(demo):
    _, payload, sample = demo
    orgs = {o["id"]: o for o in payload["organizations"]}
    for oid in sample:
        text = explain_text(payload, orgs[oid])
        assert not program_text(text), f"{oid}:\n" + "\n".join(program_text(text)[:20])


def test_percentages_read_as_percentages(demo):
    _, payload, _ = demo
    shares = re.compile(r"(?<![0-9.])0\.\d+(?![0-9%]|\s*分)")        # a share, not points nor 0.75%
    for o in payload["organizations"]:
        for c in o["criteria"]:
            if c["method"] == "ratio":
                assert not shares.search(c["reason"]), c["reason"]


# ------------------------------------------------------------------ a monthly bulletin's documents

@pytest.fixture(scope="module")
def bulletin_rendered(tmp_path_factory):
    """The March bulletin of a small demo round after January's and February's (agrade
    bulletin), with its movement chart and each scorecard's trend line, internal and public."""
    import datetime as dt
    from evaluator.cli import bulletin_to
    from evaluator.demo import generate
    from evaluator.reports import render_reports
    from evaluator.scoring.results import load_results
    root = tmp_path_factory.mktemp("plain-bulletin")
    round_yaml = generate(root / "round", n_orgs=80, seed=2026)
    done: list[Path] = []
    for as_of in (dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31)):
        bulletin_to(round_yaml, as_of, root / as_of.isoformat(), list(done), quiet=True, workers=2)
        done.append(root / as_of.isoformat())
    payload = load_results(done[-1])
    sample = _covering_sample(payload["organizations"], 8)
    for version, public in (("internal", False), ("public", True)):
        render_reports(done[-1], root / version, kinds=("scorecards", "summary", "lists"), formats=("pdf", "html"),
                       workers=1, only=sample[:3] if public else sample, public=public)
    return root, sample, payload["bulletin"]["trend"]


def test_a_bulletins_charts_read_without_program_text(bulletin_rendered):
    root, sample, trend = bulletin_rendered
    lines = 0
    for version, cards in (("internal", len(sample)), ("public", 3)):
        count, problems = check_documents(root / version)
        assert count == 2 * (cards + 2), f"{version}: {count} documents"
        assert not problems, f"{version}: {len(problems)} piece(s) of program text:\n" + "\n".join(problems[:40])
        # the charts were there to be read: the movement chart, and the trend line of every
        # scorecard whose organization was graded in some bulletin (none for one never graded)
        assert "各期通报档次变动" in document_text(root / version / "summary.pdf")
        for oid in sample[:cards]:
            graded = any(p["total"] is not None for p in trend[oid])
            for card in (root / version / "scorecards").glob(f"{oid}_*.*"):
                assert ("各期通报得分与档次" in document_text(card)) == graded, card.name
                lines += graded
    assert lines >= 2 * 3


# ------------------------------------------------------------------ every golden case

def _case_payload(path: Path) -> dict:
    """Every case of one cases file, scored as one round (ids made unique, quotas off as
    `agrade test` runs them), with the round's heading the documents need."""
    from evaluator.intake.evidence import raw_from_mapping, resolve
    from evaluator.scoring.run import evaluate_organizations
    cases = load_cases(path)
    std = load_standard(cases[0].standard)
    std = dataclasses.replace(std, grading=dataclasses.replace(std.grading, quotas=()))
    orgs, evidence = [], {}
    for c in cases:
        org = dataclasses.replace(c.organization, id=f"K{c.index + 1:02d}", name=f"{c.name}（{c.organization.id}）",
                                  district=c.organization.district or "示例区",
                                  street=c.organization.street or "示例街道")
        raw = raw_from_mapping({"organization": org.id, **c.evidence}, c.loc, c.file, ("cases", c.index, "evidence"))
        ev, issues = resolve(raw, org.id, std)
        assert not issues, issues
        orgs.append(org)
        evidence[org.id] = ev
    payload = evaluate_organizations(orgs, evidence, {o.type: std for o in orgs}, cases[0].period)
    period = cases[0].period
    payload["round"] = {"id": f"cases-{std.id}", "title": f"{std.title}示例案例", "issuer": std.issuer or "示例组织部",
                        "period": {"from": period[0].isoformat(), "to": period[1].isoformat()}}
    return payload


@pytest.fixture(scope="module")
def cases_rendered(tmp_path_factory):
    from evaluator.reports import render_reports
    from evaluator.reports.render import jsonable
    import json
    root = tmp_path_factory.mktemp("plain-cases")
    out = {}
    for path in sorted(resources.rules_dir().glob("*.cases.yaml")):
        sid = path.name[: -len(".cases.yaml")]
        payload = _case_payload(path)
        results = root / sid / "results"
        results.mkdir(parents=True)
        (results / "results.json").write_text(json.dumps(jsonable(payload), ensure_ascii=False), encoding="utf-8")
        ids = [o["id"] for o in payload["organizations"]]
        for version, public in (("internal", False), ("public", True)):
            render_reports(results / "results.json", root / sid / version, kinds=("scorecards", "summary", "lists"),
                           formats=("pdf", "html"), workers=1, public=public, only=ids[:2] if public else None)
        out[sid] = (root / sid, payload)
    return out


def test_every_document_of_every_golden_case_reads_without_program_text(cases_rendered):
    assert len(cases_rendered) >= 6
    for sid, (folder, payload) in cases_rendered.items():
        for version in ("internal", "public"):
            count, problems = check_documents(folder / version)
            cards = len(payload["organizations"]) if version == "internal" else 2
            assert count >= 2 * (cards + 2), f"{sid} {version}: {count} documents"
            assert not problems, f"{sid} {version}: {len(problems)} piece(s) of program text:\n" + "\n".join(problems[:40])
        for o in payload["organizations"]:
            text = explain_text(payload, o)
            assert not program_text(text), f"{sid} {o['id']}:\n" + "\n".join(program_text(text)[:20])


# ------------------------------------------------------------------ the checker itself

@pytest.mark.parametrize("text", [
    "未达到要求：micro_power_list and micro_power_items > 0 不成立", "（days_since(last_election) > 2192）",
    "档次属于[D,S1]", "（owners_committees_covered）", "触发一票否决，档次最高定为 C", "centre_area >= 500",
    "缺少材料：城市子网格数（grids）", "按 proportional 计分", "档次最高定为 S3",
])
def test_the_checker_finds_program_text(text):
    assert program_text(text)


@pytest.mark.parametrize("text", [
    "党群服务中心面积不少于 500 平方米", "距上次换届超过 6 年（2192 天）", "档次为 D档或一星级",
    "目标 A 档占比", "基层党组织“创A”定档", "G1.2 支部委员会配备齐全", "SL-0001", "A4", "S1.2 “双向进入、交叉任职”",
    "S1 党的领导融入公司治理", "档次最高定为 三星级",
])
def test_the_checker_leaves_plain_text_alone(text):
    assert not program_text(text)
