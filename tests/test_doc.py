"""`agrade doc STANDARD`: the standard as the department publishes it (考评细则; issue 10, "Rules
published from the rules").

Rendered here: every shipped standard as PDF, HTML and Markdown. Checked: the facts a reader
needs (title, issuer, version, effective dates, what a field standard was built on), every
criterion with its points and scoring rule as the merged standard scores it, vetoes, gates,
tiers, quotas, the target and the list rules; the digest in small print and in the PDF's
metadata; no program text anywhere (tests/test_plain_language.py's checker); the same bytes
every time; the first page of the community standard as pixels; bad input refused with
nothing written.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import run_cli

from evaluator.standard.loader import load_standard
from evaluator.standard.methods import REGISTRY
from evaluator.standard import published as published_module
from test_plain_language import STANDARD_IDS, check_documents, document_text, program_text



def _squash(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    code, stdout, err = run_cli("doc", *STANDARD_IDS, "--out", out)
    assert code == 0, err
    assert f"已生成 {3 * len(STANDARD_IDS)} 个文件" in stdout
    return out


def _doc(folder: Path, sid: str, ext: str) -> Path:
    std = load_standard(sid)
    return folder / f"{sid}_{std.version}_考评细则.{ext}"


def test_every_shipped_standard_is_written_in_three_formats(docs):
    names = sorted(p.name for p in docs.iterdir())
    assert names == sorted(f"{sid}_{load_standard(sid).version}_考评细则.{ext}"
                           for sid in STANDARD_IDS for ext in ("html", "md", "pdf"))


def test_the_first_page_names_the_standard_its_version_and_what_it_extends(docs):
    std = load_standard("community")
    first = _squash(subprocess.run(["pdftotext", "-l", "1", "-enc", "UTF-8", str(_doc(docs, "community", "pdf")), "-"],
                                   check=True, capture_output=True).stdout.decode("utf-8"))
    for text in (std.issuer, std.title, f"{std.version}版", "自2026年1月1日起施行", "2026年1月1日至2026年12月31日",
                 "适用范围社区党组织", "《基层党组织“创A”定档管理通用标准》（2026.1版）基础上增补、调整"):
        assert _squash(text) in first, text


def test_the_merged_standard_is_what_is_printed(docs):
    """A field standard prints its parent's criteria as it overrides them, its own sections,
    and not what it removes; the parent prints its own values."""
    child = _squash(document_text(_doc(docs, "community", "html")))
    parent = _squash(document_text(_doc(docs, "general", "html")))
    std = load_standard("community")
    for c in std.criteria.values():
        assert _squash(f"{c.id}{c.title}") in child, c.id
    assert _squash("党群服务中心（党员活动室）面积达到 500 平方米得 6 分，达到 300 平方米得 4 分；低于 300 平方米不得分") in child
    assert _squash("党群服务中心（党员活动室）面积达到 120 平方米得 6 分") in parent
    assert "智慧党建平台应用" in parent and "智慧党建平台应用" not in child         # remove: [G4.4]
    assert _squash("距上次换届超过 6 年（2192 天）的，一票否决，档次最高定为 C档") in child    # an overridden veto
    assert _squash("（一）组织设置（12 分）") in child and _squash("（一）组织设置（16 分）") in parent


def test_vetoes_gates_tiers_quotas_target_and_lists_are_printed(docs):
    text = _squash(document_text(_doc(docs, "general", "pdf")))
    for line in ("A档总分 90 分及以上", "B档总分 80 分及以上、不足 90 分", "D档总分不足 60 分",
                 "评为 A档须未触发一票否决，且组织生活（G2）得分不低于 17 分",
                 "发生严重违纪违法问题：班子成员发生严重违纪违法问题，档次最高定为 D档",
                 "A档不超过各区县已定档组织的 40%", "A档占比目标：不低于 20%（各领域分别统计",
                 "加分合计最多计 10 分", "已核查指标的分值不足适用指标分值的 80% 的，不予定档",
                 "排名方式：先比档次（高档在前），档次相同再比总分高者在前", "红榜", "列入条件：处于最高档次且未触发一票否决", "黑榜",
                 "获国家级表彰，每个加 3 分", "支部委员会会议记录应每月至少 1 次", "每缺 1 次扣 0.5 分",
                 "适用条件：党小组数不少于 1 个（不符合的不考核此项）", "缺少材料时：不计入满分"):
        assert _squash(line) in text, line


def test_the_digest_is_in_small_print_and_in_the_metadata(docs):
    std = load_standard("village")
    pdf = _doc(docs, "village", "pdf")
    assert _squash(f"标准摘要 {std.digest}") in _squash(document_text(pdf))
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True).stdout.decode("utf-8")
    assert std.digest in info and f"{std.title}（{std.version}版）" in info
    assert "CreationDate:    Thu Jan  1 00:00:00 2026" in info           # the effective date, not the clock
    assert std.digest in _doc(docs, "village", "html").read_text(encoding="utf-8")
    assert std.digest in _doc(docs, "village", "md").read_text(encoding="utf-8")


def test_no_program_text_in_any_format(docs):
    count, problems = check_documents(docs)
    assert count == 2 * len(STANDARD_IDS)
    assert not problems, "\n".join(problems[:40])
    for sid in STANDARD_IDS:
        md = _doc(docs, sid, "md").read_text(encoding="utf-8")
        assert not program_text(md), f"{sid}: " + "\n".join(program_text(md)[:20])


def test_every_scoring_method_has_its_published_wording():
    """A method added to the registry without wording would print only its title."""
    assert set(published_module._RULES) == set(REGISTRY)


def test_the_same_standard_gives_the_same_bytes(docs, tmp_path):
    code, _, err = run_cli("doc", "community", "--out", tmp_path, "--format", "pdf,html,md")
    assert code == 0, err
    for ext in ("pdf", "html", "md"):
        assert _doc(tmp_path, "community", ext).read_bytes() == _doc(docs, "community", ext).read_bytes(), ext


def test_first_page_image_matches_the_stored_one(docs, tmp_path):
    """The community standard's first page at 40 dpi, grey, against tests/reports/golden/
    standard-community-p1.png (rewrite with AGRADE_UPDATE_GOLDEN=1 after an intended change)."""
    from tests.reports.conftest import assert_page_image
    assert_page_image(_doc(docs, "community", "pdf"), 1, "standard-community-p1.png", tmp_path)


def test_bad_input_exits_2_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    code, _, err = run_cli("doc", "communty", "--out", out)
    assert code == 2 and "no standard 'communty'" in err and "did you mean 'community'?" in err
    code, _, err = run_cli("doc", "general", "--out", out, "--format", "pdf,docx")
    assert code == 2 and "unknown format 'docx'; choose from pdf, html, md" in err
    broken = tmp_path / "rules" / "general.yaml"
    broken.parent.mkdir()
    source = Path(load_standard("general").files[0]).read_text(encoding="utf-8")
    broken.write_text(source.replace('condition: "members_full >= 3"', 'condition: "member_full >= 3"'), encoding="utf-8")
    code, _, err = run_cli("doc", "village", broken, "--out", out)      # one good, one bad: nothing at all
    assert code == 2 and f"{broken}:" in err and "did you mean 'members_full'?" in err
    assert not out.exists()
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    code, _, err = run_cli("doc", "general", "--out", afile)
    assert code == 2 and "--out must name a folder" in err


def test_the_demo_writes_the_documents_of_its_standards(tmp_path):
    """`agrade demo` writes, beside its reports, one 考评细则 per standard its round uses."""
    from evaluator.intake.rounds import load_round
    code, out, err = run_cli("demo", "--out", tmp_path / "demo", "--orgs", "30", "--scorecards", "1", "--no-store")
    assert code == 0, err
    ids = sorted({s.id for s in load_round(tmp_path / "demo" / "round" / "round.yaml").standards.values()})
    assert len(ids) >= 3
    folder = tmp_path / "demo" / "reports" / "考评细则"
    assert f"考评细则：{3 * len(ids)} 个文件 → {folder}" in out
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{sid}_{load_standard(sid).version}_考评细则.{ext}"
                                                              for sid in ids for ext in ("html", "md", "pdf"))
    # as the round applies them: its own lists, not the defaults
    md = (folder / f"community_{load_standard('community').version}_考评细则.md").read_text(encoding="utf-8")
    assert "执行轮次：示例区2026年度基层党组织“创A”定档考评" in md
    assert "**示例区2026年度基层党组织“创A”红榜**：列入条件：（档次为 A档或五星级党组织）且未触发一票否决；每个街道按排名取前 3 名" in md
    assert "各考评轮次未另行规定时" not in md and not program_text(md)


def test_a_round_prints_its_standards_as_it_applies_them(tmp_path):
    """--round: the round's ranking order, lists and designations replace the standard's and the
    defaults on the document; a standard the round does not use is refused."""
    from evaluator.demo import generate
    round_yaml = generate(tmp_path / "round", n_orgs=30, seed=3)
    round_yaml.write_text(round_yaml.read_text(encoding="utf-8") + """\
grading:
  ranking: score_first
designations:
  weak: {title: 软弱涣散党组织, include_any: ["veto_count > 0", "bottom_tier"], rectification_deadline: 2027-03-31}
""", encoding="utf-8")
    code, _, err = run_cli("doc", "community", "--round", round_yaml, "--out", tmp_path / "docs", "--format", "md,html")
    assert code == 0, err
    md = _doc(tmp_path / "docs", "community", "md").read_text(encoding="utf-8")
    assert "- A档不超过各区县已定档组织的 40%" in md                       # the standard's own quota
    assert "排名方式：先比总分高者在前" in md
    assert "- **认定软弱涣散党组织**：符合下列任一条件即列入：触发一票否决；处于最低档次；整改期限：2027年3月31日" in md
    assert "红黑榜及认定按下列规则产生" in md
    assert not program_text(md)
    assert sorted(p.suffix for p in (tmp_path / "docs").iterdir()) == [".html", ".md"]
    code, _, err = run_cli("doc", "general", "--round", round_yaml, "--out", tmp_path / "other")
    assert code == 2 and "the round does not use the standard 'general'" in err
    assert not (tmp_path / "other").exists()


def test_a_flag_only_veto_and_a_declared_distribution_are_printed_and_compared(tmp_path):
    """A veto that only designates (mark:, no cap) and grading.distribution (a cap, a target with
    tolerance, a floor) read in plain Chinese on the document, and `agrade diff` names them."""
    from test_diff import V2
    changed = V2.replace("cap_tier: D", "mark: 软弱涣散党组织") + (
        "  distribution: {scope: district, tiers: [{tier: A, max: 10%}, {tier: B, target: 30%, tolerance: 5%}, "
        "{tier: C, min: 20%}]}\n")
    for name, text in (("before", V2), ("after", changed)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "pilot.yaml").write_text(text, encoding="utf-8")
    code, _, err = run_cli("doc", tmp_path / "after" / "pilot.yaml", "--out", tmp_path / "docs", "--format", "md")
    assert code == 0, err
    md = (tmp_path / "docs" / "pilot_2026.2_考评细则.md").read_text(encoding="utf-8")
    assert "班子成员发生严重违纪问题的，一票否决，认定为软弱涣散党组织，不限定档次" in md
    assert "- 严重违纪：班子成员发生严重违纪问题，认定为软弱涣散党组织，不限定档次" in md
    for share in ("各区县已定档组织中A档 不超过 10%", "各区县已定档组织中B档 约 30%（±5%）",
                  "各区县已定档组织中C档 不少于 20%", "- 按排名分配：某档超过比例时"):
        assert share in md, share
    assert not program_text(md)
    code, out, err = run_cli("diff", tmp_path / "before" / "pilot.yaml", tmp_path / "after" / "pilot.yaml")
    assert code == 0, err
    for line in ("P9.2 严重违纪 档次上限：D档 → 不限定档次", "P9.2 严重违纪 新增认定：软弱涣散党组织",
                 "新增比例控制：A档比例，各区县已定档组织中A档 不超过 10%"):
        assert line in out, line


def test_sections_after_the_tenth_are_numbered_in_chinese(docs):
    """The community standard has twelve sections: the eleventh is （十一）, not （11）."""
    md = _doc(docs, "community", "md").read_text(encoding="utf-8")
    pdf = _squash(subprocess.run(["pdftotext", "-enc", "UTF-8", str(_doc(docs, "community", "pdf")), "-"],
                                 check=True, capture_output=True).stdout.decode("utf-8"))
    assert "### （十一）" in md and "### （十二）" in md and "（11）" not in md
    assert "（十一）" in pdf and "（11）" not in pdf


def test_a_bonus_sections_heading_states_its_cap(docs):
    md = _doc(docs, "community", "md").read_text(encoding="utf-8")
    cap = load_standard("community").grading.bonus_cap
    assert f"### （七）加分项（加分合计最多计 {cap} 分）" in md
    assert "不超过加分上限）" not in md
