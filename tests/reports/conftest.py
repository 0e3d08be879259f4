"""Shared helpers for the report tests: the fixed round and how to read its documents. Its
documents, rendered once per session, are the fixtures `rendered` and `rendered_public` of
tests/conftest.py (tests/test_reports_cluster.py reads them too)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
ROUND = FIXTURES / "round"
PREVIOUS = FIXTURES / "previous"
GOLDEN = HERE / "golden"
# the fixture round issued as its December bulletin after three monthly ones (build_fixture.py)
BULLETIN = FIXTURES / "bulletin"
BULLETIN_CARDS = ["HD-001", "HD-003", "CH-008"]


def load_round() -> dict:
    return json.loads((ROUND / "results.json").read_text(encoding="utf-8"), parse_float=Decimal)


def write_round(results: dict, folder: Path) -> Path:
    from evaluator.reports.render import jsonable
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(jsonable(results), ensure_ascii=False, indent=1),
                                         encoding="utf-8")
    return folder


def need_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:     # fail, not skip: these checks are the point of the tests
        pytest.fail(f"'{name}' is missing; install Debian's poppler-utils (apt-get install poppler-utils)")
    return path


def pdf_text(pdf: Path, first: int | None = None, last: int | None = None) -> str:
    args = [need_tool("pdftotext"), "-raw", "-enc", "UTF-8"]      # content order = document order
    if first:
        args += ["-f", str(first)]
    if last:
        args += ["-l", str(last)]
    return subprocess.run(args + [str(pdf), "-"], check=True, capture_output=True).stdout.decode("utf-8")


def squash(text: str) -> str:
    """pdftotext breaks lines inside table cells and spaces words; compare without them."""
    return "".join(text.split())


@pytest.fixture(scope="session")
def bulletin_docs(tmp_path_factory) -> Path:
    """The December bulletin's 通报 and three of its scorecards, PDF and HTML, rendered once:
    the chart tests and the bulletin heading test read them (read only)."""
    from evaluator.reports import render_reports
    out = tmp_path_factory.mktemp("bulletin-reports")
    render_reports(BULLETIN, out, kinds=("scorecards", "summary"), formats=("pdf", "html"), workers=1,
                   only=BULLETIN_CARDS)
    return out


def boxes(box, tag: str | None = None):
    """Every box of a WeasyPrint layout under `box` (depth first, document order), optionally
    only those of one tag: how the layout tests see where things landed."""
    if tag is None or getattr(box, "element_tag", None) == tag:
        yield box
    for child in getattr(box, "children", []) or []:
        yield from boxes(child, tag)


def box_classes(box) -> list[str]:
    element = getattr(box, "element", None)
    return (element.get("class") or "").split() if element is not None else []


def box_text(box) -> str:
    return "".join(b.text for b in boxes(box) if hasattr(b, "text"))


def card_file(folder: Path, org_id: str, ext: str = "pdf") -> Path:
    """An organization's scorecard in a report folder: scorecards/<id>_<名称>.<ext>."""
    found = sorted((Path(folder) / "scorecards").glob(f"{org_id}_*.{ext}"))
    assert len(found) == 1, (org_id, found)
    return found[0]


def assert_page_image(pdf: Path, page: int, golden: str, tmp_path: Path) -> None:
    """Page `page` of `pdf` as pixels (40 dpi, grey) against tests/reports/golden/<golden>, with
    a tolerance for anti-aliasing but not for layout. AGRADE_UPDATE_GOLDEN=1 rewrites the stored
    image after an intended change (look at it before committing: see README, Reports)."""
    from PIL import Image, ImageChops, ImageStat
    subprocess.run([need_tool("pdftoppm"), "-r", "40", "-f", str(page), "-l", str(page), "-gray", "-png", "-singlefile",
                    str(pdf), str(tmp_path / "page")], check=True)
    image = Image.open(tmp_path / "page.png").convert("L")
    stored = GOLDEN / golden
    if os.environ.get("AGRADE_UPDATE_GOLDEN") or not stored.exists():
        image.save(stored, optimize=True)
        if not os.environ.get("AGRADE_UPDATE_GOLDEN"):
            pytest.fail("stored page image was missing and has been written; look at it and rerun")
    want = Image.open(stored).convert("L")
    assert image.size == want.size
    diff = ImageChops.difference(image, want)
    mean = ImageStat.Stat(diff).mean[0]
    changed = sum(diff.point(lambda v: 255 if v > 64 else 0).histogram()[255:]) / (image.size[0] * image.size[1])
    assert mean < 1.5 and changed < 0.01, (mean, changed)   # anti-aliasing may differ, layout may not
