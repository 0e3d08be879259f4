"""HTML -> PDF with WeasyPrint, safely and reproducibly.

- Every HTML, CSS and Attachment object gets `AssetFetcher`, which serves only files inside
  agrade's own `reports/` folder and refuses everything else (http, file:// elsewhere, data:).
- One `PdfRenderer` per process keeps the parsed stylesheet and the FontConfiguration, so
  each document only pays for its own layout and drawing.
- Same input, same bytes: no clock anywhere (dates come from the round), a fixed PDF
  identifier derived from the content's identity, attachments with fixed dates.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import mimetypes
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import weasyprint
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .html import CSS_FILE, assets_dir

LOG = logging.getLogger("agrade.reports")
CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Serif CJK SC", "WenQuanYi", "Droid Sans Fallback")
_ASSET_TYPES = {".css", ".svg", ".png", ".jpg", ".jpeg", ".otf", ".ttf", ".woff", ".woff2"}


class ReportError(RuntimeError):
    """Rendering cannot produce a correct document (for example no CJK font installed)."""


class AssetFetcher(URLFetcher):
    """Deny-by-default URL fetcher: only files under `root` with an asset extension.

    Refused URLs are remembered in `refused` (tests and logs use it); WeasyPrint logs a
    warning and renders without the resource.
    """

    def __init__(self, root: Path | None = None):
        super().__init__(timeout=1, allowed_protocols=("file",), allow_redirects=False)
        self.root = Path(root or assets_dir()).resolve()
        self.refused: list[str] = []
        self.served: list[str] = []

    def fetch(self, url, headers=None):
        path = self._allowed_path(url)
        if path is None:
            self.refused.append(url)
            raise ValueError(f"agrade: fetching {url[:200]!r} is not allowed (only agrade's report assets)")
        self.served.append(url)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), body=path.read_bytes(), headers={"Content-Type": mime})

    def _allowed_path(self, url: str) -> Path | None:
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost") or parts.query:
            return None
        try:
            path = Path(unquote(parts.path)).resolve(strict=True)     # follows symlinks
        except (OSError, RuntimeError, ValueError):
            return None
        if path.suffix.lower() not in _ASSET_TYPES or not path.is_file():
            return None
        return path if path.is_relative_to(self.root) else None


def stable_id(*parts: str) -> bytes:
    """The PDF /ID: a digest of what the document is, not of when it was made."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32].encode("ascii")


class PdfRenderer:
    """Renders HTML strings to PDF bytes, reusing the parsed stylesheet and fonts."""

    def __init__(self, *, check_fonts: bool = True):
        self.fetcher = AssetFetcher()
        self.font_config = FontConfiguration()
        self.missing_glyphs: set[str] = set()
        root = assets_dir()
        self.base_url = root.as_uri() + "/"
        self.stylesheets = [weasyprint.CSS(filename=str(root / CSS_FILE), url_fetcher=self.fetcher,
                                           font_config=self.font_config)]
        if check_fonts:
            self.check_cjk_font()

    def document(self, html: str):
        """Lay out one document (weasyprint.Document)."""
        return weasyprint.HTML(string=html, base_url=self.base_url, url_fetcher=self.fetcher).render(
            stylesheets=self.stylesheets, font_config=self.font_config)

    def pdf(self, html: str, *, identifier: bytes, created: dt.datetime,
            attachments: list[tuple[str, bytes, str]] = ()) -> bytes:
        """`attachments`: (file name, content, description), embedded with fixed dates."""
        files = [weasyprint.Attachment(string=data, name=name, description=desc, url_fetcher=self.fetcher,
                                       created=created, modified=created, relationship="Data")
                 for name, data, desc in attachments]
        doc = self.document(html)
        pdf = doc.write_pdf(attachments=files or None, pdf_identifier=identifier)
        missing = {chr(cp) for font in doc.fonts.values() for cp in font.missing}
        if missing:         # drawn as boxes: say so instead of publishing them silently
            self.missing_glyphs |= missing
            LOG.warning("characters without a glyph in any installed font (shown as boxes): %s",
                        " ".join(sorted(missing)))
        return pdf

    def check_cjk_font(self) -> None:
        """Fail loudly when Chinese would come out as boxes: lay out a line of Chinese and see
        which font the layout picked."""
        doc = self.document('<html lang="zh-CN"><body><p>基层党组织测评报告</p></body></html>')
        doc.write_pdf()         # fills doc.fonts with the faces actually drawn
        families = {f.family for f in doc.fonts.values()}
        if not any(any(c.lower() in fam.lower() for c in CJK_FAMILIES) or "CJK" in fam for fam in families):
            raise ReportError(
                "no Chinese (CJK) font found, so the PDFs would show boxes instead of text; install one, "
                "e.g. on Debian/Ubuntu: apt-get install fonts-noto-cjk libharfbuzz-subset0 "
                f"(fonts seen: {', '.join(sorted(families)) or 'none'})")


def fixed_datetime(iso_date: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(iso_date), dt.time(0, 0))


def rss_mb() -> float:
    """Resident memory of this process (Linux), for the memory-flatness check."""
    try:
        with open(f"/proc/{os.getpid()}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return 0.0
