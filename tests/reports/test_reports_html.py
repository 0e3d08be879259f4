"""Golden HTML for each document kind (volatile parts masked), the report model, and the
public-release redaction.

Regenerate the golden files after an intended change with:

    AGRADE_UPDATE_GOLDEN=1 python -m pytest -q tests/reports/test_reports_html.py
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from evaluator.reports import model

from tests.reports.conftest import card_file, GOLDEN, load_round

GOLDENS = [  # (golden file, rendered file, public?)
    ("scorecard-HD-007.html", "scorecards/HD-007_秀全街道马溪村党支部.html", False),
    ("scorecard-CH-006-public.html", "scorecards/CH-006_江埔街道锦绣村党支部.html", True),
    ("summary.html", "summary.html", False),
    ("lists.html", "lists.html", False),
    ("lists-public.html", "lists.html", True),
]


def mask(html: str) -> str:
    """Hide what changes without the document changing: the agrade version and the inlined
    stylesheet (styling is checked by the page image test)."""
    html = re.sub(r"<style>.*?</style>", "<style>[stylesheet]</style>", html, flags=re.S)
    return re.sub(r"agrade \d+\.\d+[\w.+-]*", "agrade [version]", html)


@pytest.mark.parametrize("golden, produced, public", GOLDENS, ids=[g[0] for g in GOLDENS])
def test_golden_html(golden, produced, public, rendered, rendered_public):
    html = mask(((rendered_public if public else rendered) / produced).read_text(encoding="utf-8"))
    path = GOLDEN / golden
    if os.environ.get("AGRADE_UPDATE_GOLDEN") or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(html, encoding="utf-8")
        if not os.environ.get("AGRADE_UPDATE_GOLDEN"):
            pytest.fail(f"golden file {path.name} was missing and has been written; check it and rerun")
    assert html == path.read_text(encoding="utf-8"), (
        f"{produced} differs from {path}; if the change is intended, rerun with AGRADE_UPDATE_GOLDEN=1")


def test_html_is_a_standalone_chinese_document(rendered):
    html = (card_file(rendered, "HD-001", "html")).read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>\n<html lang=\"zh-CN\">")
    assert '<meta charset="utf-8">' in html
    assert "<style>" in html and "@font-face" not in html      # fonts stay with agrade
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert "<title>新华街道三东社区党委 测评报告</title>" in html


# ------------------------------------------------------------------ the model

@pytest.fixture(scope="module")
def results():
    return load_round()


def card(results, org_id, public=False, previous=None):
    ctx = model.context(results, public=public, has_previous=previous is not None)
    org = next(o for o in results["organizations"] if o["id"] == org_id)
    return model.scorecard(org, ctx, (previous or {}).get(org_id), model.rank_counts(results))


def test_scorecard_model_quota_move_and_ranks(results):
    c = card(results, "HD-003")
    assert c["score"]["tier_name"] == "B档" and c["score"]["quota_moved"]
    assert c["score"]["tier_before_name"] == "A档"
    assert any("名额" in r for r in c["score"]["reasons"])
    assert [{k: r[k] for k in ("label", "value")} for r in c["ranks"]] == [
        {"label": "全域排名", "value": "第 3 名 / 共 7 个"},
        {"label": "区县内排名", "value": "第 2 名 / 共 4 个"},
        {"label": "街道内排名", "value": "第 1 名 / 共 2 个"},
        {"label": "领域内排名", "value": "第 1 名 / 共 3 个"}]
    assert [r["id"] for r in c["rectification"]] == ["G2.1", "G4.1", "G5.1"]
    assert c["rectification"][0]["deadline"] == "2027年3月31日"      # period end + 90 days


def test_scorecard_model_veto_and_not_graded(results):
    veto = card(results, "CH-006")
    assert veto["vetoes"] == [{"id": "G9.2", "title": "发生严重违纪违法问题", "cap": "C档",
                               "reason": "触发一票否决（发生严重违纪违法问题）：是否发生严重违纪违法问题为“是”，档次最高定为 C档"}]
    assert veto["losses"][-1]["lost"] == "否决"
    assert veto["rectification"][-1]["problem"].startswith("触发一票否决")
    ng = card(results, "CH-008")
    assert not ng["score"]["graded"] and ng["score"]["tier_name"] == "不予定档"
    assert ng["score"]["total"] == "—"
    assert {r["value"] for r in ng["ranks"]} == {"—"}


def test_scorecard_model_evidence_values_and_findings(results):
    c = card(results, "HD-007")
    area = next(x for x in c["losses"] if x["id"] == "G3.1")
    assert {"label": "党群服务中心面积", "value": "150 平方米"} in area["evidence"]
    days = next(x for x in c["losses"] if x["id"] == "G2.3")
    assert days["evidence"][0]["value"].endswith("（共 7 条）")
    assert c["findings"][0] == {"kind": "自评与核查不一致", "field": "主题党日记录", "self": "12", "verified": "7",
                                "message": "主题党日记录：自报 12 条，核查 7 条，超出允许误差",
                                "inspector": "督导二组-刘洋", "verified_on": "2026年10月20日"}
    assert c["rectification"][0]["responsible"] == "黄志明"


def test_tier_movement_against_the_previous_round(results):
    from evaluator.reports import _previous_entries as load_previous
    from tests.reports.conftest import PREVIOUS
    prev = load_previous(PREVIOUS)
    moves = {oid: card(results, oid, previous=prev)["movement"] for oid in ("HD-001", "CH-002", "HD-003", "CH-008")}
    assert {k: v and v["label"] for k, v in moves.items()} == {
        "HD-001": "升档", "CH-002": "保持", "HD-003": "降档", "CH-008": None}   # CH-008: new and not graded
    prev["CH-008"] = {"tier": "B", "tier_name": "B档"}
    assert card(results, "CH-008", previous=prev)["movement"]["label"] == "本轮不予定档"
    assert card(results, "HD-001")["movement"] is None          # no previous round given


def test_public_model_has_no_evidence_and_no_names(results):
    for org in results["organizations"]:
        c = card(results, org["id"], public=True)
        flat = repr(c)
        for name in ("王敏", "刘洋", "陈立", "张建国", "黄志明"):
            assert name not in flat, (org["id"], name)
        assert all(not x["evidence"] and not x["reason"] for x in c["losses"])
        assert all(not f["self"] and not f["verified"] and not f["message"] for f in c["findings"])
    redacted = model.public_result(next(o for o in results["organizations"] if o["id"] == "HD-001"))
    assert "provenance" not in redacted and "responsible" not in redacted
    assert all("evidence" not in c and "reason" not in c for c in redacted["criteria"])


def test_public_documents_have_no_names(rendered_public):
    for path in sorted(Path(rendered_public).rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for name in ("王敏", "刘洋", "陈立", "张建国", "黄志明", "serious_violation"):
            assert name not in text, (path.name, name)
        assert "公开发布版" in text


def test_a_round_mixing_tier_schemes(results):
    """Field standards may grade in stars while others use A-D: each scheme gets its own
    distribution tables, and the top tier looks the same in both."""
    import copy
    mixed = copy.deepcopy(results)
    stars = [{"id": f"S{i}", "name": f"{'五四三二一'[5 - i]}星级", "min": 0} for i in range(5, 0, -1)]
    mixed["standards"]["general"]["tiers"] = stars
    hd5 = next(o for o in mixed["organizations"] if o["id"] == "HD-005")
    hd5.update(tier="S5", tier_name="五星级", tier_before_quota="S5")
    mixed["summary"]["target"].append({"scope": "type", "value": "nonpublic", "tier": "S5", "count": 1, "graded": 1,
                                       "share": 1, "target": 0.2, "met": True})
    ctx = model.context(mixed, public=False, has_previous=False)
    assert [[t["id"] for t in sc["tiers"]] for sc in ctx["schemes"]] == [["A", "B", "C", "D"],
                                                                        ["S5", "S4", "S3", "S2", "S1"]]
    s = model.summary(mixed, ctx, {})
    assert [sc["label"] for sc in s["schemes"]] == ["A档至D档（村、社区）", "五星级至一星级（两新组织）"]
    assert s["schemes"][1]["overview"]["counts"] == [1, 0, 0, 0, 0]
    assert s["schemes"][1]["by_type"][0]["label"] == "两新组织" and s["schemes"][1]["by_type"][0]["not_graded"] == 1
    assert s["targets"][-1]["tier"] == "五星级"
    assert next(r for r in s["ranking"] if r["id"] == "HD-005")["cls"] == "tier-i0"
    assert model.scorecard(hd5, ctx, None, model.rank_counts(mixed))["score"]["tier_cls"] == "tier-i0"


def test_field_labels_come_from_the_shipped_standard_when_the_digest_matches():
    from evaluator.standard.loader import load_standard
    std = load_standard("community")
    found = model.field_labels("community", {"digest": std.digest})
    assert found["members_full"] == {"label": "正式党员人数", "unit": "人", "type": "integer"}
    assert model.field_labels("community", {"digest": "sha256:other"}) == {}
    assert model.field_labels("no-such-standard", {"digest": std.digest}) == {}
