"""考评细则: a standard rendered as the department publishes it (`agrade doc`).

    write_docs([load_standard("community")], Path("out"), formats=("pdf", "html", "md"))

The content is `evaluator.standard.published` (plain data read out from the compiled, merged
standard); this module only lays it out: HTML through the reports' Jinja2 environment and base
template (the same red head, running header, page numbers and issuer footer as every other
document), PDF through the shared WeasyPrint renderer (deny-by-default fetcher, reproducible
bytes: the PDF's identity and dates come from the standard, never the clock) and Markdown for
pasting into a notice. The version is on the first page and the digest in small print at the
end and in the PDF's metadata, so a printed copy can be matched to the file that scored.

Files are named `<id>_<version>_考评细则.<ext>`; every file of a call is rendered in memory
first and only then written, so a failure leaves nothing half-written.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from functools import cache
from pathlib import Path

from markupsafe import Markup

from .. import __version__
from ..errors import InputError, Issue
from ..model import Standard
from ..scoring.placement import ranking_info
from ..scoring.run import with_round_overrides
from ..standard.plain import tier_names
from ..standard.published import Published, date_text, published
from ..terms import num
from .html import assets_dir, environment, screen_css_text
from .render import jsonable, safe_name
from .labels import zh_numeral

__all__ = ["DOC_FORMATS", "doc_model", "render_doc", "markdown", "write_docs", "doc_stem"]

DOC_FORMATS = ("pdf", "html", "md")
TEMPLATE = "standard.html.j2"
CSS_FILE = "standard.css"


@cache
def _css() -> str:
    return (assets_dir() / CSS_FILE).read_text(encoding="utf-8")


def doc_stem(std: Standard) -> str:
    return f"{safe_name(std.id)}_{safe_name(std.version)}_考评细则"


def publish(std: Standard, rnd=None) -> Published:
    """The standard as published (standard.published), ranked as the results say it is
    (placement.ranking_info's sentence); with a round (intake.rounds.Round), as that round
    applies it: its grading overrides (quotas, target, ranking order), its lists and
    designations."""
    if rnd is not None:
        std = with_round_overrides(std, rnd.grading_override)
    g = std.grading
    ranking = ranking_info(g.ranking, g.tie_breaks, {s.id: s.title for s in std.sections})["description"]
    ranking = ranking.partition("：")[2] or ranking          # '排名方式：…' is the item's own label
    if rnd is None:
        return published(std, ranking)
    return published(std, ranking, rnd.lists, rnd.designations, tier_names({s.id for s in rnd.standards.values()}),
                     rnd.raw.get("title", ""))


def doc_model(pub: Published) -> dict:
    """The template's data: the published standard with numbers as they print."""
    std = asdict(pub)
    std["effective_from"], std["effective_to"] = date_text(pub.effective_from), date_text(pub.effective_to)
    # a bonus section's heading states the cap it counts under (加分合计最多计 10 分), not a
    # reference to a cap printed pages later
    cap = next((p.text for p in pub.scoring if p.key == "bonus_cap"), "加分项")
    for s in std["sections"]:
        s["heading_points"] = (f"（{num(s['points'])} 分）" if s["points"] else
                               f"（{cap}）" if s["bonus"] else "")
        for c in s["criteria"]:
            c["points_shown"] = {"base": num(c["points"]), "bonus": f"最多 {num(c['points'])}"}.get(c["kind"], "—")
    ctx = {"round": {"id": "", "title": "考评细则", "issuer": pub.issuer, "footer": pub.issuer}, "public": False}
    doc = {"title": f"{pub.title}（{pub.version}版）", "author": pub.issuer, "subject": "考评细则",
           "keywords": f"考评细则, {pub.version}, {pub.digest}", "created": _created(pub),
           "generator": f"agrade {__version__}"}
    return {"std": std, "ctx": ctx, "doc": doc, "lists_intro": lists_intro(pub)}


def _created(pub: Published) -> str:
    """The PDF's dates: the day the standard takes effect, never the clock (same bytes every run)."""
    return pub.effective_from or "2000-01-01"


def render_html(pub: Published, *, standalone: bool) -> str:
    css = (screen_css_text() + "\n\n" + _css()) if standalone else _css()
    return environment().get_template(TEMPLATE).render(**doc_model(pub), inline_css=Markup(css),
                                                        attached=False, standalone=standalone)


def render_pdf(pub: Published, std: Standard) -> bytes:
    from .pdf import fixed_datetime, stable_id
    from .render import renderer
    data = json.dumps(jsonable(pub.as_json()), ensure_ascii=False, indent=1).encode("utf-8")
    return renderer().pdf(render_html(pub, standalone=False),
                          identifier=stable_id("standard", std.id, std.version, std.digest, __version__),
                          created=fixed_datetime(_created(pub)),
                          attachments=[(f"{safe_name(std.id)}_{safe_name(std.version)}.json", data, f"{pub.title} 考评细则数据")])


def markdown(pub: Published) -> str:
    """The same content as Markdown (for a notice or a wiki page)."""
    m = doc_model(pub)["std"]
    out = [f"# {pub.title}", "", f"**考评细则（{pub.version}版）**　发布单位：{pub.issuer or '—'}", "",
           f"- 施行期间：{m['effective_from']}至{m['effective_to']}",
           f"- 适用范围：{'、'.join(pub.applies_to) or '—'}党组织"]
    if pub.based_on:
        out.append(f"- 制定依据：在{'、'.join(pub.based_on)}基础上增补、调整，以下为合并后的完整细则")
    if pub.lists_of:
        out.append(f"- 执行轮次：{pub.lists_of}（比例控制、目标、排名方式和红黑榜按本轮规定）")
    out += ["", "## 一、考评指标及评分标准", ""]
    for i, s in enumerate(m["sections"]):
        out += [f"### （{_numeral(i)}）{s['title']}{s['heading_points']}", "",
                "| 编号 | 考评指标 | 分值 | 评分标准 |", "|---|---|---|---|"]
        for c in s["criteria"]:
            extra = "".join(f"<br>{_cell(x)}" for x in c["conditions"])
            guide = f"<br>说明：{_cell(c['guidance'])}" if c["guidance"] else ""
            out.append(f"| {c['id']} | {_cell(c['title'])} | {c['points_shown']} | {_cell(c['rule'])}。{extra}{guide} |")
        out.append("")
    out += ["## 二、定档办法", "", "| 档次 | 总分要求 |", "|---|---|"]
    out += [f"| {t.label} | {t.text} |" for t in pub.tiers]
    out.append("")
    if pub.gates:
        out += ["**定档条件**（总分达到档次分数线但不符合该档次条件的，依次降档）：", ""] + [f"- {g.text}" for g in pub.gates] + [""]
    if pub.vetoes:
        out += ["**一票否决**（有下列情形之一的，一票否决，不论得分多少按所列办理）：", ""]
        out += [f"- {v.label}：{v.text}" for v in pub.vetoes] + [""]
    if pub.quotas or pub.target:
        out += ["**比例控制与目标**：", ""] + [f"- {q.text}" for q in pub.quotas]
        out += [f"- {t.label}：{t.text}" for t in pub.target] + [""]
    out += ["**计分与排名**：", ""] + [f"- {p.label}：{p.text}" for p in pub.scoring] + [""]
    out += ["## 三、红黑榜", "", lists_intro(pub), ""]
    for title, lines in pub.lists:
        out += [f"- **{title}**：" + "；".join(lines)]
    out += ["", f"{pub.issuer}　{m['effective_from']}", "",
            f"<small>本细则由考评标准文件生成（{pub.version}版），标准摘要 {pub.digest}，可据此核对评分所用标准与本细则一致。</small>", ""]
    return "\n".join(out)


def lists_intro(pub: Published) -> str:
    if pub.lists_of:
        named = "红黑榜及认定" if any(title.startswith("认定") for title, _ in pub.lists) else "红黑榜"
        return f"{pub.lists_of}的{named}按下列规则产生："
    return "各考评轮次未另行规定时，红黑榜按下列规则产生："


def _numeral(i: int) -> str:
    return zh_numeral(i + 1)


def _cell(text: str) -> str:
    """Text inside a Markdown table cell: a | would end the cell, a newline the row."""
    return str(text).replace("|", "｜").replace("\n", " ")


def render_doc(std: Standard, formats=DOC_FORMATS, rnd=None) -> dict[str, bytes]:
    """The files of one standard's 考评细则 (as `rnd` applies it, when given), in memory:
    {file name: content}."""
    pub = publish(std, rnd)
    stem = doc_stem(std)
    files = {}
    if "html" in formats:
        files[f"{stem}.html"] = render_html(pub, standalone=True).encode("utf-8")
    if "md" in formats:
        files[f"{stem}.md"] = markdown(pub).encode("utf-8")
    if "pdf" in formats:
        files[f"{stem}.pdf"] = render_pdf(pub, std)
    return files


def check_formats(formats) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(f.strip() for f in formats if f.strip()))
    bad = [f for f in chosen if f not in DOC_FORMATS]
    if bad or not chosen:
        raise InputError(Issue("command line", 0, 0, "--format", f"unknown format {', '.join(map(repr, bad)) or '(none given)'}; "
                               f"choose from {', '.join(DOC_FORMATS)}"))
    return chosen


def write_docs(standards: list[Standard], out_dir: Path, formats=DOC_FORMATS, rnd=None) -> list[Path]:
    """Render every standard's 考评细则 (as the round `rnd` applies them, when given), then write
    them all into `out_dir` (nothing is written when any fails); returns the files written."""
    formats = check_formats(formats)
    files: dict[str, bytes] = {}
    for std in standards:
        files.update(render_doc(std, formats, rnd))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in sorted(files.items()):
        tmp = out_dir / f".{name}.{os.getpid()}.part"     # opened as an ordinary file: the umask applies
        try:
            tmp.write_bytes(data)
            os.replace(tmp, out_dir / name)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        written.append(out_dir / name)
    return written
