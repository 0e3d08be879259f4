"""Scorecard rendering speed: agrade's renderer against the naive WeasyPrint loop and layout alone.

    python bench/bench_reports.py [N] [RESULTS_JSON] [--workers W] [--memory M]

N scorecards (default 60) from RESULTS_JSON, or from the test fixture round scaled up to N
organizations. Measured in the same run, interleaved organization by organization so that
other load on the machine hits all three alike:

- agrade: the report model, Jinja2 and a PDF from one reused PdfRenderer (parsed stylesheet
  and FontConfiguration kept), attachment included - everything render_reports does per card;
- naive: `HTML(string=page_with_inline_css).write_pdf()`, fresh each time;
- layout: `HTML(string=page_with_inline_css).render()`, fresh each time (no PDF written);
  also layout with the reused stylesheet and fonts, for reference.

Then the whole pipeline (`render_reports`, scorecards as PDF) with 1 worker and with W workers
(default: all cores), wall-clock including process start, and the workers' resident memory
over M extra scorecards (default 0: skip) to show it stays flat.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import weasyprint  # noqa: E402

from evaluator.reports import model, render_reports  # noqa: E402
from evaluator.reports.html import render_html  # noqa: E402
from evaluator.reports.render import Job, jsonable, run_tasks  # noqa: E402
from evaluator.reports.source import load_results  # noqa: E402

FIXTURE = ROOT / "tests" / "reports" / "fixtures" / "round" / "results.json"


def scaled_results(n: int, folder: Path) -> Path:
    """The fixture round with its organizations copied until there are n (ids made unique)."""
    base = json.loads(FIXTURE.read_text(encoding="utf-8"), parse_float=Decimal)
    orgs = []
    for i in range(n):
        o = copy.deepcopy(base["organizations"][i % len(base["organizations"])])
        o["id"] = f"{o['id']}-{i:05d}"
        if o.get("rank", {}).get("round") is not None:
            o["rank"]["round"] = i + 1
        orgs.append(o)
    base["organizations"] = orgs
    path = folder / "results.json"
    path.write_text(json.dumps(jsonable(base), ensure_ascii=False), encoding="utf-8")
    return path


def per_card(results: dict, n: int) -> dict[str, float]:
    from evaluator.reports.pdf import PdfRenderer, fixed_datetime, stable_id
    ctx = model.context(results, public=False, has_previous=False)
    counts = model.rank_counts(results)
    renderer = PdfRenderer()
    orgs = results["organizations"][:n]
    pages_html = [render_html("scorecard", model.scorecard(o, ctx, None, counts), standalone=True) for o in orgs]
    # warm-up: first-use costs (font loading, template compilation) are not per-card costs
    weasyprint.HTML(string=pages_html[0]).write_pdf()
    spent = {"agrade": 0.0, "naive": 0.0, "layout": 0.0, "layout_reused": 0.0}
    pages = 0
    for i, org in enumerate(orgs):
        t = time.perf_counter()
        card = model.scorecard(org, ctx, None, counts)
        html = render_html("scorecard", card, standalone=False, attached=True)
        data = json.dumps(jsonable(org), ensure_ascii=False).encode("utf-8")
        renderer.pdf(html, identifier=stable_id("bench", org["id"]), created=fixed_datetime(ctx["issued_iso"]),
                     attachments=[(f"{org['id']}.json", data, "result")])
        t1 = time.perf_counter()
        weasyprint.HTML(string=pages_html[i]).write_pdf()
        t2 = time.perf_counter()
        doc = weasyprint.HTML(string=pages_html[i]).render()
        t3 = time.perf_counter()
        renderer.document(html)
        t4 = time.perf_counter()
        spent["agrade"] += t1 - t
        spent["naive"] += t2 - t1
        spent["layout"] += t3 - t2
        spent["layout_reused"] += t4 - t3
        pages += len(doc.pages)
    rates = {k: n / v for k, v in spent.items()}
    rates["pages_per_card"] = pages / n
    return rates


def pipeline(results_path: Path, ids: list[str], workers: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        files = render_reports(results_path.parent, Path(out), kinds=("scorecards",), formats=("pdf",),
                               workers=workers, only=ids)
        return len(files) / (time.perf_counter() - t)


def memory(results_path: Path, m: int, workers: int) -> list[float]:
    results = load_results(results_path)
    orgs = results["organizations"]
    ctx = model.context(results, public=False, has_previous=False)
    with tempfile.TemporaryDirectory() as stage:
        job = Job(stage, ("pdf",), ctx, model.rank_counts(results), {})
        tasks = (("scorecard", orgs[i % len(orgs)], None, f"m{i}") for i in range(m))
        _, rss = run_tasks(job, tasks, m, workers, None)
    return rss


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=60)
    ap.add_argument("results", nargs="?", type=Path)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--memory", type=int, default=0, metavar="M")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.results or scaled_results(args.n, Path(tmp))
        results = load_results(path)
        n = min(args.n, len(results["organizations"]))
        print(f"{n} scorecards, weasyprint {weasyprint.__version__}, {os.cpu_count()} cores")
        r = per_card(results, n)
        print(f"  pages per scorecard        {r['pages_per_card']:.2f}")
        print(f"  agrade renderer (1 core)   {r['agrade']:6.2f} scorecards/s")
        print(f"  naive write_pdf loop       {r['naive']:6.2f} scorecards/s   agrade/naive  = {r['agrade'] / r['naive']:.2f}")
        print(f"  layout only, render()      {r['layout']:6.2f} scorecards/s   agrade/layout = {r['agrade'] / r['layout']:.2f}")
        print(f"  layout only, reused CSS    {r['layout_reused']:6.2f} scorecards/s   agrade/this   = "
              f"{r['agrade'] / r['layout_reused']:.2f}")
        ids = [o["id"] for o in results["organizations"][:n]]     # the same N cards as above
        one = pipeline(path, ids, 1)
        many = pipeline(path, ids, args.workers)
        print(f"  render_reports, 1 worker   {one:6.2f} scorecards/s (wall, incl. start-up)")
        print(f"  render_reports, {args.workers} workers  {many:6.2f} scorecards/s   speed-up = {many / one:.2f}")
        if args.memory:
            rss = memory(path, args.memory, args.workers)
            k = max(1, len(rss) // 10)
            print(f"  worker RSS over {args.memory} scorecards: after {k}: {max(rss[:k]):.0f} MB, "
                  f"last {k}: {max(rss[-k:]):.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
