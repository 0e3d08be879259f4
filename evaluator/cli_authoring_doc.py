"""Authoring commands: `agrade doc` (the standard as published, 考评细则) and `agrade diff`
(what changed between two versions of a standard). Registered on the main `app` when
evaluator.cli is imported (the import at its end)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .cli import app, check_out_dir, command, out
from .errors import InputError, Issue

RULES = typer.Option([], "--rules", metavar="DIR", help="另行查找标准的目录（可重复）— extra folders searched for standards")


def _standard(ref: str, rules: list[Path]):
    """A standard by file path or id (ids are searched in --rules, then the shipped rules/)."""
    from .standard.loader import load_standard
    return load_standard(Path(ref) if ref.endswith((".yaml", ".yml")) else ref, rules)


@app.command("doc")
@command
def doc(standards: List[str] = typer.Argument(..., metavar="STANDARD...",
                                              help="标准文件或编号 — standard files (.yaml) or ids"),
        out_dir: Path = typer.Option(..., "--out", help="输出目录 — folder for the documents"),
        fmt: str = typer.Option("pdf,html,md", "--format", help="格式（逗号分隔）— formats: pdf,html,md"),
        rules: List[Path] = RULES):
    """生成考评细则（按标准发布的文本）— render a standard as the department publishes it (考评细则)."""
    from .reports.standard_doc import check_formats, write_docs
    formats = check_formats(fmt.split(","))
    check_out_dir(out_dir)
    loaded = [_standard(s, rules) for s in standards]
    written = write_docs(loaded, out_dir, formats)
    for std in loaded:
        out.print(f"《{std.title}》（{std.version}版）考评细则", markup=False)
    out.print(f"已生成 {len(written)} 个文件 → {out_dir}", markup=False)


def write_round_docs(round_path: Path, out_dir: Path) -> list[Path]:
    """The 考评细则 of every standard a round uses (`agrade demo`), loaded as the round loads
    them (its standards_dirs, then the shipped rules): the documents are the rules that score."""
    from .intake.rounds import load_round
    from .reports.standard_doc import write_docs
    standards = {s.id: s for s in load_round(round_path).standards.values()}
    return write_docs([standards[k] for k in sorted(standards)], out_dir)


@app.command("diff")
@command
def diff(old: str = typer.Argument(..., metavar="OLD", help="旧版本标准文件或编号 — the earlier version (file or id)"),
         new: str = typer.Argument(..., metavar="NEW", help="新版本标准文件或编号 — the later version (file or id)"),
         fmt: Optional[str] = typer.Option("text", "--format", help="输出格式 text|md|json — output format"),
         rules: List[Path] = RULES):
    """比较标准的两个版本 — list what changed between two versions of a standard, grouped by section."""
    from .standard import diff as d
    if fmt not in ("text", "md", "json"):
        raise InputError(Issue("command line", 0, 0, "--format", f"unknown format {fmt!r}; choose from text, md, json"))
    a, b = (_published(ref, rules) for ref in (old, new))
    changes = d.compare(a, b)
    write = {"text": d.text, "md": d.markdown, "json": d.as_json}[fmt]
    out.print(write(changes, a, b), markup=False, end="")


def _published(ref: str, rules: list[Path]):
    from .standard.published import published
    return published(_standard(ref, rules))
