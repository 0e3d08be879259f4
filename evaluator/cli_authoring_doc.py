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
def doc(standards: List[str] = typer.Argument(None, metavar="STANDARD...",
                                              help="标准文件或编号（给出 --round 时可省略）— standard files (.yaml) or ids"),
        out_dir: Path = typer.Option(..., "--out", help="输出目录 — folder for the documents"),
        fmt: str = typer.Option("pdf,html,md", "--format", help="格式（逗号分隔）— formats: pdf,html,md"),
        round_file: Optional[Path] = typer.Option(
            None, "--round", metavar="ROUND.yaml",
            help="按该轮次的规定（比例控制、目标、排名方式、红黑榜、认定）印发其所用标准 — the standards as this round "
                 "applies them (its grading overrides, lists and designations); all of its standards when none is named"),
        rules: List[Path] = RULES):
    """生成考评细则（按标准发布的文本）— render a standard as the department publishes it (考评细则)."""
    from .reports.standard_doc import check_formats, write_docs
    formats = check_formats(fmt.split(","))
    check_out_dir(out_dir)
    if round_file is None and not standards:
        raise InputError(Issue("command line", 0, 0, "STANDARD", "name a standard (file or id), or a round with --round"))
    rnd, loaded = _chosen(standards or [], round_file, rules)
    written = write_docs(loaded, out_dir, formats, rnd)
    for std in loaded:
        out.print(f"《{std.title}》（{std.version}版）考评细则", markup=False)
    out.print(f"已生成 {len(written)} 个文件 → {out_dir}", markup=False)


def _chosen(refs: list[str], round_file: Path | None, rules: list[Path]):
    """(the round or None, the standards to print): named ones, or all of the round's; a named
    standard must be one the round uses."""
    if round_file is None:
        return None, [_standard(s, rules) for s in refs]
    from .intake.rounds import load_round
    rnd = load_round(round_file)
    used = {s.id: s for s in rnd.standards.values()}
    if not refs:
        return rnd, [used[k] for k in sorted(used)]
    chosen = []
    for ref in refs:
        std = _standard(ref, rules)
        if std.id not in used or used[std.id].digest != std.digest:
            raise InputError(Issue(str(round_file), 0, 0, "$.standards", f"the round does not use the standard '{ref}' "
                                   f"(it uses {', '.join(sorted(used))})"))
        chosen.append(used[std.id])
    return rnd, chosen


def write_round_docs(round_path: Path, out_dir: Path) -> list[Path]:
    """The 考评细则 of every standard a round uses (`agrade demo`), as the round applies them."""
    from .reports.standard_doc import write_docs
    rnd, standards = _chosen([], round_path, [])
    return write_docs(standards, out_dir, rnd=rnd)


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
    from .reports.standard_doc import publish
    return publish(_standard(ref, rules))
