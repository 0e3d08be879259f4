"""The working fonts shipped in `reports/fonts/`: Noto Sans CJK SC cut down to GB 2312 and the
symbols documents use, renamed "agrade CJK SC".

Why: WeasyPrint subsets every embedded font per PDF. On the full Noto Sans CJK face (65,535
glyphs, a 19 MB collection) that costs ~45 ms per weight per document and leaves ~150 KB of
empty glyph slots in each file; on this 8,000-glyph face it is ~8 ms and the PDFs are a third
of the size. Characters outside the set (rare name characters) fall back to the system's
Noto Sans CJK SC, the same design, so `fonts-noto-cjk` is still recommended.

Rebuild (from Debian's fonts-noto-cjk; takes ~20 s):

    python -m evaluator.reports.fonts [SOURCE_DIR]
"""
from __future__ import annotations

import sys
from pathlib import Path

FAMILY = "agrade CJK SC"
FILES = {"Regular": "agrade-cjk-sc-regular.otf", "Bold": "agrade-cjk-sc-bold.otf"}
SOURCE_DIR = Path("/usr/share/fonts/opentype/noto")
SC_INDEX = 2          # Noto Sans CJK SC inside NotoSansCJK-*.ttc
_BLOCKS = [(0x20, 0x7E), (0xA0, 0x17F), (0x2000, 0x206F), (0x20A0, 0x20BF), (0x2100, 0x218F),
           (0x2190, 0x21FF), (0x2200, 0x22FF), (0x2460, 0x24FF), (0x2500, 0x257F), (0x25A0, 0x25FF),
           (0x2600, 0x26FF), (0x3000, 0x303F), (0x3200, 0x32FF), (0x3300, 0x33FF), (0xFE30, 0xFE4F),
           (0xFF00, 0xFFEF)]


def charset() -> set[int]:
    """GB 2312 (6,763 hanzi and its symbols) plus Latin, punctuation, arrows, maths, circled
    numbers, box drawing, CJK symbols, ㎡ and the full-width forms."""
    chars = {cp for lo, hi in _BLOCKS for cp in range(lo, hi + 1)}
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.update(map(ord, bytes([hi, lo]).decode("gb2312")))
            except UnicodeDecodeError:
                pass
    return chars


def build(source_dir: Path = SOURCE_DIR, out_dir: Path | None = None) -> list[Path]:
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from .html import assets_dir
    out_dir = out_dir or assets_dir() / "fonts"
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    notice = ""
    for weight, name in FILES.items():
        font = TTFont(source_dir / f"NotoSansCJK-{weight}.ttc", fontNumber=SC_INDEX, lazy=True,
                       recalcTimestamp=False)       # same source, same bytes
        opts = subset.Options()
        opts.layout_features = []           # WeasyPrint shapes with these faces only for CJK/Latin text
        opts.drop_tables += ["GSUB", "GPOS", "BASE", "VORG", "vhea", "vmtx"]
        opts.name_IDs = ["*"]
        opts.notdef_outline = True
        opts.hinting = False
        opts.desubroutinize = False
        sub = subset.Subsetter(opts)
        sub.populate(unicodes=charset())
        sub.subset(font)
        _rename(font, weight)
        path = out_dir / name
        font.save(path)
        written.append(path)
        notice = (font["name"].getDebugName(0) or notice).rstrip(".")
    lic = out_dir / "OFL.txt"
    lic.write_text(_license(notice), encoding="utf-8")
    return written + [lic]


def _rename(font, weight: str) -> None:
    """A modified font must not present itself under the original's name (OFL §3)."""
    ps = f"agradeCJKSC-{weight}"
    names = {1: FAMILY, 2: weight, 3: f"{ps};subset of Noto Sans CJK SC 2.004", 4: f"{FAMILY} {weight}".replace(
        " Regular", ""), 6: ps, 16: FAMILY, 17: weight}
    table = font["name"]
    table.names = [n for n in table.names if n.nameID not in names]
    for nid, text in names.items():
        table.setName(text, nid, 3, 1, 0x409)
        table.setName(text, nid, 1, 0, 0)
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [ps]
        top = cff.topDictIndex[0]
        top.FullName = f"{FAMILY} {weight}"
        top.FamilyName = FAMILY


def _license(copyright_notice: str) -> str:
    src = Path("/usr/share/doc/fonts-noto-cjk/copyright")
    text = src.read_text(encoding="utf-8") if src.exists() else ""
    start = text.find(" SIL OPEN FONT LICENSE Version 1.1")
    body = text[start:text.find("\nLicense:", start)] if start >= 0 else ""
    lines = [ln[1:] if ln.startswith(" ") else ln for ln in body.splitlines()]
    body = "\n".join("" if ln == "." else ln for ln in lines).strip()
    return (f"agrade CJK SC is a subset of Noto Sans CJK SC (https://github.com/notofonts/noto-cjk),\n"
            f"renamed as the SIL Open Font License requires for modified versions.\n\n"
            f"{copyright_notice}, with Reserved Font Name 'Source'.\n\n"
            f"This Font Software is licensed under the SIL Open Font License, Version 1.1.\n\n{body}\n")


if __name__ == "__main__":
    for p in build(Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE_DIR):
        print(p, p.stat().st_size)
