"""The PDFs: Chinese text that extracts back, embedded CJK fonts, A4 with running headers and
page numbers, repeated table headers, metadata, the attached result JSON, identical bytes
across runs and processes, and one page compared as an image."""
from __future__ import annotations

import json
import subprocess
from decimal import Decimal

import pytest
from pypdf import PdfReader

from evaluator.reports import render_reports
from evaluator.reports.html import render_html

from tests.reports.conftest import (PREVIOUS, ROUND, assert_page_image, card_file, load_round, need_tool,
                                    pdf_text, squash)


def test_scorecard_text_extracts_as_the_expected_chinese(rendered):
    text = squash(pdf_text(card_file(rendered, "HD-001", "pdf")))
    results = load_round()
    org = results["organizations"][0]
    expected = ["中共示例市委组织部", "示例市2026年度基层党组织“创A”考评", "新华街道三东社区党委",
                "基层党组织“创A”测评报告", "组织编号HD-001", "社区党组织“创A”标准（2026.1版）",
                "总得分98", "A档", "升档（上轮B档）", "第1名/共7个", "一、分项得分", "二、失分明细",
                "党群服务中心面积480平方米，达到“≥300平方米”档，得6分（满分10分）", "党群服务中心面积：480平方米",
                "三、自评与核查差异", "520平方米", "督导三组-王敏", "四、整改清单", "2027年3月31日", "张建国",
                "党组织书记签字", "中共示例市委组织部（盖章）", "2026年12月31日", "第1页/共2页", "第2页/共2页"]
    expected += [squash(c["title"]) for c in org["criteria"]]
    expected += [squash(c["rectification"]) for c in org["criteria"] if c["id"] in ("G2.3", "G3.1")]
    missing = [e for e in expected if e not in text]
    assert missing == []
    assert "\ufffd" not in text


def test_summary_and_lists_text(rendered):
    summary = squash(pdf_text(rendered / "summary.pdf"))
    for e in ["考评情况通报", "一、总体情况", "“创A”目标完成情况", "未达标", "二、分街道（镇）情况", "花都区秀全街道",
              "三、分区县情况", "从化区", "花都区", "四、分领域情况", "两新组织", "五、失分较多的指标",
              "网格员中党员占比不低于60%", "六、档次变动（较上轮）", "七、需要关注的情况", "触发一票否决", "不予定档",
              "八、排名情况（通报排队）", "从化某某物流有限公司党支部", "升档", "降档"]:
        assert e in summary, e
    # the analysis first, the long ranking table last
    assert summary.index("二、分街道（镇）情况") < summary.index("五、失分较多的指标") < summary.index("八、排名情况（通报排队）")
    lists = squash(pdf_text(rendered / "lists.pdf"))
    for e in ["红榜（2个）", "黑榜（2个）", "列入条件：处于最高档次且未触发一票否决", "新华街道三东社区党委",
              "江埔街道锦绣村党支部", "符合条件：处于最低档次", "中共示例市委组织部", "2026年12月31日"]:
        assert e in lists, e


def test_running_header_and_repeated_table_header(rendered):
    pdf = card_file(rendered, "HD-007", "pdf")
    assert len(PdfReader(pdf).pages) >= 2
    first, second = squash(pdf_text(pdf, 1, 1)), squash(pdf_text(pdf, 2, 2))
    # the criteria table continues on page 2 under its repeated header row
    assert second.startswith("编号考评指标计分方式结果得分分值")
    assert first.count("编号考评指标计分方式结果得分分值") == 1
    # running header (round title, organization) and page number, not on the title page
    assert "示例市2026年度基层党组织“创A”考评秀全街道马溪村党支部" in second
    assert "第2页/共3页" in second and "第1页/共3页" in first
    assert first.count("示例市2026年度基层党组织“创A”考评") == 1         # the title block only


def test_cjk_font_embedded_and_a4_pages(rendered):
    reader = PdfReader(card_file(rendered, "HD-001", "pdf"))
    fonts = {}
    for page in reader.pages:
        assert (round(float(page.mediabox.width), 1), round(float(page.mediabox.height), 1)) == (595.3, 841.9)
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            desc = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            fonts[str(font["/BaseFont"])] = any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    assert fonts and all(fonts.values()), fonts                    # every font embedded
    assert any("agrade-CJK-SC" in name for name in fonts), fonts     # our CJK face, not a fallback


def test_metadata_and_the_attached_result(rendered):
    reader = PdfReader(card_file(rendered, "HD-003", "pdf"))
    meta = reader.metadata
    assert meta.title == "秀全街道大华村党总支 测评报告"
    assert meta.author == "中共示例市委组织部"
    assert meta.subject == "示例市2026年度基层党组织“创A”考评"
    assert meta["/CreationDate"].startswith("D:20261231")          # from the round, not the clock
    assert reader.trailer["/Root"]["/Lang"] == "zh-CN"
    attached = reader.attachments
    assert list(attached) == ["HD-003.result.json"]
    data = json.loads(attached["HD-003.result.json"][0], parse_float=Decimal)
    org = next(o for o in load_round()["organizations"] if o["id"] == "HD-003")
    assert data["organization"] == org
    assert data["round"]["id"] == "gz-2026"
    assert data["standard"]["digest"].startswith("sha256:")
    assert data["evidence_digest"].startswith("sha256:")


def test_public_attachment_is_redacted(rendered_public):
    data = json.loads(PdfReader(card_file(rendered_public, "HD-001", "pdf")).attachments["HD-001.result.json"][0])
    org = data["organization"]
    assert "provenance" not in org and "responsible" not in org
    assert all("evidence" not in c and "reason" not in c for c in org["criteria"])
    text = squash(pdf_text(card_file(rendered_public, "HD-001", "pdf")))
    assert "王敏" not in text and "张建国" not in text and "公开发布版" in text


def test_same_results_same_bytes_in_other_processes(rendered, tmp_path):
    """Rendered again, now by 2 worker processes: every PDF identical to the session's."""
    out = tmp_path / "again"
    seen = []
    files = render_reports(ROUND, out, formats=("pdf",), workers=2, previous_results=PREVIOUS,
                           progress=lambda done, total: seen.append((done, total)))
    assert len(files) == 10 and seen[-1] == (10, 10)
    for f in files:
        rel = f.relative_to(out)
        assert f.read_bytes() == (rendered / rel).read_bytes(), rel
    assert not any(p.name.startswith(".agrade") for p in out.iterdir())      # staging folder gone


def test_no_missing_glyphs_and_rare_characters_fall_back(tmp_path):
    from evaluator.reports.pdf import PdfRenderer, fixed_datetime
    r = PdfRenderer()
    html = render_html("lists", {"doc": {"title": "t", "author": "a", "subject": "s", "keywords": "k",
                                         "created": "2026-12-31", "generator": "g"},
                                 "ctx": {"round": {"issuer": "组织部", "title": "考评", "period": "2026年"},
                                         "public": False, "agrade_version": "0", "issued": "2026年"},
                                 "lists": [{"id": "red", "cls": "red", "title": "红榜", "rules": ["规则"],
                                            "entries": [{"no": 1, "name": "王喆（堃）同志所在党支部", "district": "区",
                                                         "street": "街", "type": "村", "tier": "A档", "total": "90",
                                                         "rank": 1, "reasons": ["理由"]}]}]},
                       standalone=False)
    pdf = tmp_path / "rare.pdf"
    pdf.write_bytes(r.pdf(html, identifier=b"x", created=fixed_datetime("2026-12-31")))
    assert r.missing_glyphs == set()
    assert "王喆（堃）同志所在党支部" in squash(pdf_text(pdf))          # 喆 and 堃 are not in GB 2312
    fonts = subprocess.run([need_tool("pdffonts"), str(pdf)], capture_output=True, text=True).stdout
    assert "agrade-CJK-SC" in fonts and "Noto" in fonts                 # the system face filled in
    r.pdf("<p lang=zh-CN>\U0010fffd</p>", identifier=b"y", created=fixed_datetime("2026-12-31"))
    assert r.missing_glyphs == {"\U0010fffd"}                           # reported, not silent


PAGE_IMAGES = [  # (stored image, document, page): a scorecard, a 通报 page with charts, a list page
    ("scorecard-HD-001-p1.png", "HD-001", 1),
    ("summary-p1.png", "summary.pdf", 1),
    ("lists-p1.png", "lists.pdf", 1),
]


@pytest.mark.parametrize("golden, document, page", PAGE_IMAGES, ids=[g[0] for g in PAGE_IMAGES])
def test_page_image_matches_the_stored_one(golden, document, page, rendered, tmp_path):
    """A page as pixels (40 dpi, grey), against tests/reports/golden/<golden>; rewrite the
    stored images after an intended change with AGRADE_UPDATE_GOLDEN=1 (see README, Reports)."""
    pdf = rendered / document if document.endswith(".pdf") else card_file(rendered, document)
    assert_page_image(pdf, page, golden, tmp_path)
