"""Issue 10, Excel evidence: the workbook `agrade template` writes, filled in with a demo
round's evidence as a department would (typed text as typed, numbers as numbers, dates in date
cells, a row's inspector once), is evaluated to the same results.json as the demo's own
YAML and CSV evidence. Only the evidence digest and the list of evidence files differ: they
describe the files read, and these are other files."""
import datetime as dt
import json
import shutil
from decimal import Decimal

import openpyxl
import pytest

from conftest import run_cli
from evaluator.intake.evidence import collect
from evaluator.intake.normalize import normalize
from evaluator.intake.rounds import load_round
from evaluator.intake.template import RECORDS, field_header

ORGS = 30
# what differs between two evidence sets that say the same: the files' own digest and names
FILE_KEYS = ("evidence_digest", "evidence_files")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("demo")
    code, _, err = run_cli("demo", "--out", base / "demo", "--orgs", ORGS, "--no-reports", "--no-store")
    assert code == 0, err
    return base


def _cell(v):
    """A raw evidence value as it would sit in an Excel cell."""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return dt.datetime(v.year, v.month, v.day)
    return v


def fill(template, rnd, out):
    """The template filled with the round's evidence (read as typed, before normalizing)."""
    raw, *_ = collect(rnd.evidence_paths, rnd.organizations, rnd.standards)
    wb = openpyxl.load_workbook(template)
    records = wb[RECORDS]
    heads = {ws.title: {c.value: c.column for c in ws[1]} for ws in wb.worksheets}
    rows = {ws.cell(n, 1).value: (ws, n) for ws in wb.worksheets if ws.title in ("社区", "村", "机关", "国有企业", "两新组织")
            for n in range(2, ws.max_row + 1)}
    filled = 0
    for org in rnd.organizations:
        std = rnd.standards[org.type]
        ws, n = rows[org.id]
        head = heads[ws.title]
        assert ws.cell(n, 2).value == org.name
        inspectors = set()
        for fid, entry in (raw[org.id].fields.items() if org.id in raw else ()):
            f = std.fields[fid]
            if f.type == "records":
                for source, items in entry.values.items():
                    if not items:                        # reported: none of these
                        records.append([org.id, org.name, f.label, "无", None, "核查" if source == "verified" else "自评"])
                    for item in items:
                        rec, = normalize([item], f, excel=False)
                        records.append([org.id, org.name, f.label, _cell(rec.date), rec.title or None,
                                        "核查" if source == "verified" else "自评",
                                        entry.inspector if source == "verified" else None,
                                        _cell(normalize(entry.verified_on, _date_field())) if source == "verified" else None])
                continue
            for source, v in entry.values.items():
                ws.cell(n, head[field_header(f, source)], _cell(v) if v is not None and v != "" else "无")
                filled += 1
            if "verified" in entry.values:
                inspectors.add((entry.inspector, str(entry.verified_on)))
                ws.cell(n, head["核查人"], entry.inspector)
                ws.cell(n, head["核查日期"], _cell(normalize(entry.verified_on, _date_field())))
        assert len(inspectors) <= 1, "one inspector and date per row of a wide sheet"
    wb.save(out)
    return filled


def _date_field():
    from evaluator.model import Field
    return Field(id="verified_on", type="date", label="核查日期")


def test_template_filled_with_the_demo_evidence_evaluates_to_the_same_results(demo, tmp_path, monkeypatch):
    src = demo / "demo" / "round"
    code, _, err = run_cli("evaluate", src / "round.yaml", "--out", tmp_path / "yaml")
    assert code == 0, err

    xl = tmp_path / "xl"
    shutil.copytree(src, xl, ignore=shutil.ignore_patterns("evidence"))
    (xl / "evidence").mkdir()
    code, out, err = run_cli("template", xl / "round.yaml", "--out", tmp_path / "证据采集表.xlsx")
    assert code == 0, err
    assert "证据采集表" in out
    filled = fill(tmp_path / "证据采集表.xlsx", load_round(src / "round.yaml"), xl / "evidence" / "证据采集表.xlsx")
    assert filled > 20 * ORGS                            # most of every organization's evidence is in the wide sheets

    code, _, err = run_cli("validate", xl / "round.yaml")
    assert code == 0, err
    code, _, err = run_cli("evaluate", xl / "round.yaml", "--out", tmp_path / "xlsx")
    assert code == 0, err

    a = json.loads((tmp_path / "yaml" / "results.json").read_text(encoding="utf-8"))
    b = json.loads((tmp_path / "xlsx" / "results.json").read_text(encoding="utf-8"))
    assert b["evidence_files"] == 1                      # the workbook alone
    assert a["evidence_digest"] != b["evidence_digest"]
    assert {k: v for k, v in a.items() if k not in FILE_KEYS} == {k: v for k, v in b.items() if k not in FILE_KEYS}
    # read in partitions by two workers (the workbook's labels routed by each row's standard): the same
    monkeypatch.setenv("AGRADE_PARTITION_SIZE", "7")
    code, _, err = run_cli("evaluate", xl / "round.yaml", "--out", tmp_path / "parts", "--workers", 2)
    assert code == 0, err
    assert (tmp_path / "parts" / "results.json").read_bytes() == (tmp_path / "xlsx" / "results.json").read_bytes()
    # the evidence really came through: findings (self vs. verified) and verified provenance
    assert any(o["findings"] for o in b["organizations"])
    assert any(p.get("source") == "verified" for o in b["organizations"] for p in o["provenance"].values())
