"""Reports: organization scorecards (测评报告), the round summary (考评情况通报) and the red and
black lists (红黑榜) as PDF and HTML, with CSV/XLSX exports.

    render_reports(Path("out/results"), Path("out/reports"))

The flow is results.json -> report model (plain data, `model.py`) -> Jinja2 HTML
(`reports/*.html.j2`, autoescaped) -> WeasyPrint PDF (`pdf.py`, deny-by-default fetcher,
reproducible bytes). This package is a front end: the core never imports it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Collection

from ..errors import InputError, Issue
from . import model, tables
from .render import EXTRA_FORMATS, FORMATS, KINDS, Job, Stage, file_names, jsonable, run_tasks
from .source import load_previous, load_results, results_path

__all__ = ["render_reports", "KINDS", "FORMATS"]


def _choices(values, allowed, what) -> tuple[str, ...]:
    values = tuple(dict.fromkeys(v.strip() for v in ([values] if isinstance(values, str) else values) if v.strip()))
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise InputError(Issue("command line", path=f"--{what}",
                               message=f"unknown {what} {', '.join(map(repr, bad)) or '(none given)'}; "
                                       f"choose from {', '.join(allowed)}"))
    return values


def render_reports(results_dir: Path, out_dir: Path, *, kinds=KINDS, formats=FORMATS, public: bool = False,
                   workers: int | None = None, previous_results: Path | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   only: Collection[str] | None = None) -> list[Path]:
    """Render the chosen documents of a round into `out_dir`; return the files written.

    kinds: scorecards, summary, lists. formats: pdf, html (documents), xlsx, csv (rankings,
    lists and rectification items); json (not by default) writes results.json again, redacted
    when public. public: leave out evidence details and personal names.
    only: organization ids whose scorecards to render (default: every organization).
    workers: processes for the scorecards (default: all cores). previous_results: the last
    round's results.json (or its folder) for tier movement. Nothing is left in `out_dir`
    if rendering fails.
    """
    kinds = _choices(kinds, KINDS, "kind")
    formats = _choices(formats, FORMATS + EXTRA_FORMATS, "format")
    results_file = results_path(Path(results_dir))
    if "json" in formats and Path(out_dir).resolve() == results_file.resolve().parent:
        raise InputError(Issue(str(out_dir), path="--out", message="the json format would overwrite the "
                               "results.json it reads; choose another output folder"))
    results = load_results(Path(results_dir))
    previous = load_previous(Path(previous_results) if previous_results else None)
    ctx = model.context(results, public=public, has_previous=previous_results is not None)
    counts = model.rank_counts(results)
    orgs = results["organizations"]
    names = file_names(orgs)
    if only is not None:
        wanted = set(only)
        unknown = sorted(wanted - {o["id"] for o in orgs})
        if unknown:
            raise InputError(Issue(str(results_file), path="--only", message=f"no organization {', '.join(unknown)} in the results"))
        orgs = [o for o in orgs if o["id"] in wanted]
    docs = [f for f in formats if f in ("pdf", "html")]
    sheets = [f for f in formats if f in ("csv", "xlsx", "json")]

    tasks: list[tuple] = []
    if docs and "summary" in kinds:
        tasks.append(("summary", model.summary(results, ctx, previous), "summary"))
    lists_model = None
    if "lists" in kinds:
        lists_model = model.lists(results, ctx, _lists_of(results))
        if docs:
            tasks.append(("lists", lists_model, "lists"))
    n_cards = len(orgs) if docs and "scorecards" in kinds else 0
    total = len(tasks) + n_cards + (1 if sheets else 0)

    stage = Stage(Path(out_dir))
    standards = {sid: {k: s.get(k) for k in ("version", "title", "digest") if k in s}
                 for sid, s in (results.get("standards") or {}).items() if isinstance(s, dict)}
    job = Job(str(stage.path), tuple(docs), ctx, counts, standards)
    try:
        written: list[str] = []
        if sheets:
            written += _exports(job, results, previous, kinds, sheets, lists_model)
            if progress:
                progress(1, total)
        card_tasks = (("scorecard", o, previous.get(o["id"]), names[o["id"]]) for o in orgs) if n_cards else iter(())
        all_tasks = _chain(tasks, card_tasks)
        # a worker costs ~1 s to start (imports, fonts), so small jobs use fewer of them
        n_workers = max(1, min(workers or os.cpu_count() or 1, (len(tasks) + n_cards) // 4))
        files, _ = run_tasks(job, all_tasks, total, n_workers, progress, done_before=1 if sheets else 0)
        written += files
        return stage.commit(written)
    finally:
        stage.cleanup()


def _chain(first: list, rest):
    yield from first
    yield from rest


def _lists_of(results: dict) -> dict:
    """The lists the evaluator wrote, or the default rules applied to the results."""
    lists = results.get("lists")
    if isinstance(lists, dict) and lists:
        return lists
    from ..scoring.lists import derive_lists
    return derive_lists(results, None)


def _exports(job: Job, results: dict, previous: dict, kinds, sheets, lists_model) -> list[str]:
    ctx = job.ctx
    when = model.parse_date(ctx["issued_iso"])
    out: dict[str, list[tables.Table]] = {}
    if "summary" in kinds:
        out["rankings"] = [tables.rankings(results, previous)]
    if "lists" in kinds and lists_model is not None:
        out["lists"] = tables.list_tables(lists_model)
    if "scorecards" in kinds:
        cards = (model.scorecard(o, ctx, previous.get(o["id"]), job.counts) for o in results["organizations"])
        out["rectification"] = [tables.rectification(results, cards)]
    written = []
    if "json" in sheets:
        written.append(job.write("results.json", _results_json(results, ctx["public"])))
    for stem, tbls in out.items():
        if "csv" in sheets:
            written.append(job.write(f"{stem}.csv", tables.to_csv(_one_table(tbls))))
        if "xlsx" in sheets:
            written.append(job.write(f"{stem}.xlsx", tables.to_xlsx(
                tbls, title=f"{ctx['round']['title']} {stem}", author=ctx["round"]["issuer"], when=when)))
    return written


def _one_table(tbls: list[tables.Table]) -> tables.Table:
    """CSV holds one table: several lists go into one with a 榜单 column."""
    if len(tbls) == 1:
        return tbls[0]
    cols = [("list", "榜单", "text")] + tbls[0].columns
    rows = [{**r, "list": t.name} for t in tbls for r in t.rows]
    return tables.Table("红黑榜", cols, rows)


def _results_json(results: dict, public: bool) -> str:
    """The results as JSON; in public mode without evidence, findings' values or names."""
    import json
    data = dict(results)
    if public:
        data["organizations"] = [model.public_result(o) for o in results["organizations"]]
        if isinstance(data.get("lists"), dict):
            data["lists"] = {k: {**v, "entries": [{key: e.get(key) for key in (
                "organization", "name", "district", "street", "type", "tier", "tier_name", "total", "rank", "reasons")}
                for e in v.get("entries") or []]} for k, v in data["lists"].items() if isinstance(v, dict)}
    return json.dumps(jsonable(data), ensure_ascii=False, indent=1) + "\n"
