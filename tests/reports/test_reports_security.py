"""Text typed by organizations never becomes markup, and the PDF renderer fetches nothing but
agrade's own report assets (design invariant 4)."""
from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest
from pypdf import PdfReader

from evaluator.reports import render_reports
from evaluator.reports.pdf import AssetFetcher, PdfRenderer, fixed_datetime

from tests.reports.conftest import card_file, load_round, pdf_text, squash, write_round


@pytest.fixture
def server():
    """A local HTTP server that records every request it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):                     # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { color: red }")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()


def hostile(url: str) -> dict:
    """The fixture's first organization with markup in every text an organization can type."""
    results = load_round()
    org = results["organizations"][0]
    img = '<img src="file:///etc/hostname">'
    link = f'<link rel="stylesheet" href="{url}/evil.css">'
    script = "<script>alert(1)</script>"
    org["name"] = f"三东社区{script}"
    org["street"] = f'{link}新华街道'
    org["parent"] = f'<style>@import url("{url}/import.css");</style><a rel="attachment" href="file:///etc/hostname">附件</a>'
    org["responsible"] = f'<iframe src="{url}/frame"></iframe>张三'
    crit = next(c for c in org["criteria"] if c["id"] == "G3.1")
    crit["reason"] = f"面积不足{img}"
    crit["evidence"]["remarks"] = f"{img}{link}{script}"
    crit["rectification"] = f'<object data="{url}/obj"></object>扩建'
    org["findings"][0]["message"] = f'<svg><image href="{url}/svg.png"/></svg>'
    org["vetoes"] = [{"criterion": "G9.2", "cap_tier": "C", "reason": f'<img src="{url}/veto.png">'}]
    results["organizations"] = [org]
    results["standards"]["community"]["fields"]["remarks"]["label"] = f'备注<img src="{url}/label.png">'
    return results


def test_hostile_text_is_shown_as_text_and_nothing_is_fetched(server, tmp_path):
    url, hits = server
    src = write_round(hostile(url), tmp_path / "round")
    out = tmp_path / "out"
    render_reports(src, out, kinds=("scorecards", "summary", "lists"), formats=("pdf", "html"), workers=1)
    assert hits == []                                           # the local server saw no request

    html = (card_file(out, "HD-001", "html")).read_text(encoding="utf-8")
    assert "三东社区&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for tag in ("<script", "<img", "<iframe", "<object", "<link", "<a ", "<svg><image"):
        assert tag not in html.replace("<svg class=", ""), tag

    pdf = card_file(out, "HD-001", "pdf")
    text = squash(pdf_text(pdf))
    assert "三东社区<script>alert(1)</script>" in text          # the typed text, as text
    assert '面积不足<imgsrc="file:///etc/hostname">' in text
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else ""
    if hostname:
        assert hostname not in text
    reader = PdfReader(pdf)
    assert list(reader.attachments) == ["HD-001.result.json"]   # nothing else embedded
    for page in reader.pages:
        xobjects = page["/Resources"].get("/XObject", {})
        assert not any(x.get_object().get("/Subtype") == "/Image" for x in xobjects.values())
    for name in ("summary", "lists"):
        assert "&lt;script&gt;" in (out / f"{name}.html").read_text(encoding="utf-8")


def test_renderer_refuses_every_fetch_even_of_raw_markup(server):
    """Defence in depth: if markup did reach WeasyPrint, the fetcher still refuses it."""
    url, hits = server
    r = PdfRenderer()
    served_at_start = list(r.fetcher.served)
    html = f"""<html lang="zh-CN"><head>
<link rel="stylesheet" href="{url}/link.css">
<style>@import url("{url}/import.css"); body {{ background: url("file:///etc/passwd") }}
@font-face {{ font-family: x; src: url("{url}/font.otf") }}</style></head><body>
<img src="file:///etc/hostname"><img src="{url}/img.png"><img src="../../../../etc/hostname">
<img src="fonts/../../../../../etc/hostname"><object data="{url}/obj"></object>
<iframe src="{url}/frame"></iframe><svg><image href="{url}/svg.png"/></svg>
<a rel="attachment" href="file:///etc/hostname">附件</a><a rel="attachment" href="{url}/att">附件</a>
<img src="data:image/png;base64,iVBORw0KGgo="><p>正文</p></body></html>"""
    pdf = r.pdf(html, identifier=b"x", created=fixed_datetime("2026-12-31"))
    assert hits == []
    assert r.fetcher.served == served_at_start                 # only the fonts, fetched at start-up
    refused = " ".join(r.fetcher.refused)
    for what in ("link.css", "import.css", "/etc/passwd", "font.otf", "img.png", "/etc/hostname", "obj",
                 "svg.png", "/att", "data:image"):
        assert what in refused, what
    import io
    assert PdfReader(io.BytesIO(pdf)).attachments == {}


def test_asset_fetcher_serves_only_files_inside_its_folder(tmp_path):
    root = tmp_path / "assets"
    (root / "fonts").mkdir(parents=True)
    (root / "fonts" / "a.otf").write_bytes(b"font")
    (root / "style.css").write_text("p {}")
    (root / "notes.txt").write_text("not an asset")
    (root / "escape.css").symlink_to("/etc/hostname")
    outside = tmp_path / "outside.css"
    outside.write_text("p {}")
    f = AssetFetcher(root)
    assert f.fetch((root / "fonts" / "a.otf").as_uri()).read() == b"font"
    assert f.fetch((root / "style.css").as_uri()).read() == b"p {}"
    for url in [(root / "notes.txt").as_uri(), (root / "escape.css").as_uri(), outside.as_uri(),
                (root / "fonts" / ".." / ".." / "outside.css").as_uri(), (root / "missing.css").as_uri(),
                "http://127.0.0.1:9/x.css", "https://example.org/x.css", "data:text/css,p{}",
                "ftp://example.org/x.css", f"file://otherhost{root / 'style.css'}",
                (root / "style.css").as_uri() + "?x=1"]:
        with pytest.raises(ValueError):
            f.fetch(url)
    assert len(f.refused) == 11
