"""Reports: organization scorecards (测评报告), the round summary (考评情况通报) and the red and
black lists (红黑榜) as PDF and HTML, with CSV/XLSX exports.

    render_reports(Path("out/results"), Path("out/reports"))

The flow is results.json -> report model (plain data, `model.py`) -> Jinja2 HTML
(`reports/*.html.j2`, autoescaped) -> WeasyPrint PDF (`pdf.py`, deny-by-default fetcher,
reproducible bytes). This package is a front end: the core never imports it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Collection

from ..errors import InputError, Issue
from . import model, tables
from .render import (BUNDLE_SCOPES, EXTRA_FORMATS, FORMATS, KINDS, Job, NamedFacts, Stage, bundle_name, jsonable,
                     run_tasks, write_bundles)
from ..scoring.previous import load_previous
from ..scoring.source import CLOSING, END_LINES, ORGS_LINE, RoundSource, open_results, opening, results_path

__all__ = ["render_reports", "KINDS", "FORMATS", "BUNDLE_SCOPES"]


def _previous_entries(results: Path) -> dict[str, dict]:
    """The previous round's organizations by id, as the documents show them (tier movement)."""
    before = load_previous(results)
    title = before.round.get("title", "")
    return {oid: {"tier": p.tier, "tier_name": p.tier_name, "total": p.total, "rank": p.rank, "round_title": title}
            for oid, p in before.organizations.items()}


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
                   only: Collection[str] | None = None, cluster: str | None = None,
                   reviews: dict[str, dict] | None = None, bundle=()) -> list[Path]:
    """Render the chosen documents of a round into `out_dir`; return the files written.

    kinds: scorecards, summary, lists. formats: pdf, html (documents), xlsx, csv (rankings,
    lists and rectification items); json (not by default) writes results.json again, redacted
    when public. public: leave out evidence details and personal names.
    only: organization ids whose scorecards to render (default: every organization).
    workers: processes for the documents (default: all cores). cluster: a Dask scheduler's
    address (tcp://HOST:PORT): the documents are rendered on its workers instead.
    previous_results: the last round's results.json (or its folder) for tier movement.
    reviews: organization id -> an appeal's decision ({no, date, reason, before: {total,
    tier}}): its scorecard is re-issued stamped 复核 with them.
    bundle: "street" and/or "district": the scorecards rendered are also zipped, one zip per
    street (bundles/街道/<区县>_<街道>.zip) and per district (bundles/区县/<区县>.zip); PDFs,
    or the HTML files when no PDF is made.
    results.json is read one organization at a time (`source.py`). Nothing is left in
    `out_dir` if rendering fails.
    """
    kinds = _choices(kinds, KINDS, "kind")
    formats = _choices(formats, FORMATS + EXTRA_FORMATS, "format")
    bundle = _choices(bundle, BUNDLE_SCOPES, "bundle") if bundle else ()
    if bundle and not ("scorecards" in kinds and ({"pdf", "html"} & set(formats))):
        raise InputError(Issue("command line", path="--bundle", message="bundles hold scorecards: "
                               "--kind must include scorecards and --format pdf or html"))
    results_file = results_path(Path(results_dir))
    if "json" in formats and Path(out_dir).resolve() == results_file.resolve().parent:
        raise InputError(Issue(str(out_dir), path="--out", message="the json format would overwrite the "
                               "results.json it reads; choose another output folder"))
    docs = [f for f in formats if f in ("pdf", "html")]
    sheets = [f for f in formats if f in ("csv", "xlsx", "json")]
    # the summary, the lists and the rankings need every organization in brief; scorecards
    # need nothing of the others but counts
    compact = "summary" in kinds or "lists" in kinds
    pool = None
    if cluster and docs:
        from .cluster import ReportCluster
        pool = ReportCluster(cluster)           # a wrong address fails before the round is read
    try:
        with open_results(Path(results_dir), lambda: NamedFacts(compact)) as src:
            return _render(src, Path(out_dir), kinds, docs, sheets, public, workers, previous_results, progress,
                           only, pool, reviews, bundle)
    finally:
        if pool is not None:
            pool.close()


def _render(src: RoundSource, out_dir: Path, kinds, docs, sheets, public, workers, previous_results, progress,
            only, pool, reviews=None, bundle=()) -> list[Path]:
    facts: NamedFacts = src.collected
    facts.counts = dict(facts.counts)
    results = {**src.header, "organizations": facts.orgs if facts.orgs is not None else []}
    # a bulletin compares with the latest earlier bulletin it names, unless --previous says otherwise
    previous = _previous_entries(Path(previous_results)) if previous_results else model.bulletin_previous(results)
    ctx = model.context(results, public=public, has_previous=previous_results is not None or bool(previous), facts=facts)
    ctx["reviews"] = dict(reviews or {})
    names = facts.namer.stems
    indices: list[int] | range = range(len(src))
    if only is not None:
        wanted = set(only)
        unknown = sorted(wanted - set(src.ids))
        if unknown:
            raise InputError(Issue(str(src.path), path="--only", message=f"no organization {', '.join(unknown)} in the results"))
        indices = [i for i, oid in enumerate(src.ids) if oid in wanted]

    tasks: list[tuple] = []
    if docs and "summary" in kinds:
        tasks.append(("summary", model.summary(results, ctx, previous, facts), "summary"))
    lists_model = None
    if "lists" in kinds:
        lists_model = model.lists(results, ctx, _lists_of(results))
        if docs:
            tasks.append(("lists", lists_model, "lists"))
    n_cards = len(indices) if docs and "scorecards" in kinds else 0
    total = len(tasks) + n_cards + (1 if sheets else 0)

    stage = Stage(out_dir)
    standards = {sid: {k: s.get(k) for k in ("version", "title", "digest") if k in s}
                 for sid, s in (results.get("standards") or {}).items() if isinstance(s, dict)}
    job = Job(str(stage.path), tuple(docs), ctx, facts.counts, standards)
    try:
        written: list[str] = []
        if sheets:
            written += _exports(job, src, results, previous, kinds, sheets, lists_model)
            if progress:
                progress(1, total)
        members: dict[str, list[str]] = {}        # bundle -> the staged scorecards it holds
        card_tasks = _cards(src, indices, previous, names, members, bundle, docs) if n_cards else iter(())
        all_tasks = _chain(tasks, card_tasks)
        # a worker costs ~1 s to start (imports, fonts), so small jobs use fewer of them
        n_workers = max(1, min(workers or os.cpu_count() or 1, (len(tasks) + n_cards) // 4))
        files, _ = run_tasks(job, all_tasks, total, n_workers, progress, done_before=1 if sheets else 0,
                             cluster=pool)
        written += files
        if bundle:
            written += write_bundles(stage.path, members, ctx.get("issued_iso", ""))
        return stage.commit(written)
    finally:
        stage.cleanup()


def _cards(src: RoundSource, indices, previous: dict, names: dict[str, str], members: dict[str, list[str]],
           bundle, docs):
    """The scorecard tasks, one organization at a time; each card's file is noted in the
    bundles of its street and district as it goes by."""
    ext = "pdf" if "pdf" in docs else "html"
    for o in src.organizations(indices):
        stem = names[o["id"]]
        for scope in bundle:
            members.setdefault(bundle_name(scope, o.get("district") or "", o.get("street") or ""), []).append(
                f"scorecards/{stem}.{ext}")
        yield ("scorecard", o, previous.get(o["id"]), stem)


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


def _exports(job: Job, src: RoundSource, results: dict, previous: dict, kinds, sheets, lists_model) -> list[str]:
    """`results`: the header with the organizations in brief; full ones are read from `src`."""
    ctx = job.ctx
    when = model.parse_date(ctx["issued_iso"])
    out: dict[str, list[tables.Table]] = {}
    if "summary" in kinds:
        out["rankings"] = [tables.rankings(results, previous)]
    if "lists" in kinds and lists_model is not None:
        out["lists"] = tables.list_tables(lists_model)
    if "scorecards" in kinds and ("csv" in sheets or "xlsx" in sheets):
        cards = (model.scorecard(o, ctx, previous.get(o["id"]), job.counts) for o in src.organizations())
        out["rectification"] = [tables.rectification(results, cards)]
    written = []
    if "json" in sheets:
        written.append(_results_json(job, src, ctx["public"]))
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


def _results_json(job: Job, src: RoundSource, public: bool) -> str:
    """results.json again, in the evaluator's layout (the round indented, then one organization
    per line), written as it is read; in public mode without evidence, findings' values or
    names."""
    data = dict(src.header)
    if public and isinstance(data.get("lists"), dict):
        data["lists"] = {k: {**v, "entries": [{key: e.get(key) for key in (
            "organization", "name", "district", "street", "type", "tier", "tier_name", "total", "rank", "reasons")}
            for e in v.get("entries") or []]} for k, v in data["lists"].items() if isinstance(v, dict)}
    head = json.dumps(jsonable(data), ensure_ascii=False, indent=2)
    path = Path(job.stage) / "results.json"
    with open(path, "wb") as f:
        f.write(opening(head.encode("utf-8")) if data else b"{\n" + ORGS_LINE)
        for n, o in enumerate(src.organizations()):
            if n:
                f.write(b",\n")
            f.write(json.dumps(jsonable(model.public_result(o) if public else o), ensure_ascii=False,
                               separators=(",", ":")).encode("utf-8"))
        f.write(CLOSING if len(src) else b"".join(END_LINES))
    return "results.json"
