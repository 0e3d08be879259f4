"""Scorecard rendering speed: agrade's renderer against a naive WeasyPrint loop doing the same
work and against WeasyPrint's layout alone; the pipeline on 1 and W local processes and on a
Dask cluster of 1 and 2 workers; worker and client memory over many scorecards.

    python bench/bench_reports.py [N] [RESULTS] [--workers W] [--repeats R] [--memory M]
                                  [--cluster tcp://HOST:PORT]

N scorecards (default 60) from RESULTS (a results folder or results.json, read one organization
at a time), or from the test fixture round scaled up to N organizations. All figures are
measured in this run; speeds are medians.

1. Per card, in this process, interleaved card by card so that other load on the machine hits
   all alike (rate = 1 / median seconds per card):
   - agrade: exactly what a report worker does per organization (`Job.render`: the report
     model, Jinja2, the attached result JSON, the PDF from the process's reused PdfRenderer);
   - naive: the same work done the obvious way, fresh each time: the same model, HTML and
     attachment, `CSS(report.css)` with its @font-face (the same embedded font) parsed into a
     new FontConfiguration, `HTML(...).write_pdf(...)`; its output is checked to be the same
     document (bytes, or pages and text);
   - layout only: WeasyPrint laying out the prepared HTML with the same stylesheet and font,
     fresh each time (`render()`, no PDF written); and with the stylesheet and fonts reused.
2. `agrade report` of those N scorecards as PDF (a results.json of just them), run as a command,
   wall clock including start-up, median of R runs: 1 local worker process vs W; then on a Dask
   cluster this script starts on 127.0.0.1 with 1 worker vs 2 workers (long-lived workers,
   warmed up by one run first; the command still starts, connects, reads the round and writes
   the files in every timed run).
3. `--memory M`: M scorecards rendered by `render_reports` on the 2-worker cluster (organizations
   streamed from RESULTS, cycling through them if it has fewer than M), the workers' and this
   client's resident memory sampled every few seconds.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import weasyprint  # noqa: E402
from weasyprint.text.fonts import FontConfiguration  # noqa: E402

from evaluator.reports import model, render_reports  # noqa: E402
from evaluator.reports.html import CSS_FILE, assets_dir, render_html  # noqa: E402
from evaluator.reports.pdf import AssetFetcher, fixed_datetime, rss_mb, stable_id  # noqa: E402
from evaluator.reports.render import Job, jsonable  # noqa: E402
from evaluator.scoring.source import open_results  # noqa: E402

FIXTURE = ROOT / "tests" / "reports" / "fixtures" / "round" / "results.json"


def scaled_results(n: int, folder: Path) -> Path:
    """The fixture round with its organizations copied until there are n (ids made unique),
    written as the evaluator writes results.json (the round, then one organization per line)."""
    base = json.loads(FIXTURE.read_text(encoding="utf-8"), parse_float=Decimal)
    orgs = base.pop("organizations")
    path = folder / "results.json"
    head = json.dumps(jsonable(base), ensure_ascii=False, indent=2)
    with path.open("w", encoding="utf-8") as f:
        f.write(head[:-2] + ',\n  "organizations": [\n')
        for i in range(n):
            o = copy.deepcopy(orgs[i % len(orgs)])
            o["id"] = f"{o['id']}-{i:05d}"
            if o.get("rank", {}).get("round") is not None:
                o["rank"]["round"] = i + 1
            f.write((",\n" if i else "") + json.dumps(jsonable(o), ensure_ascii=False, separators=(",", ":")))
        f.write("\n  ]\n}\n")
    return path


def median_rate(seconds: list[float]) -> float:
    return 1 / statistics.median(seconds)


# ------------------------------------------------------------------ 1. per card

def per_card(results: Path, n: int) -> dict:
    with open_results(results, lambda: model.RoundFacts(compact=False)) as src:
        ctx = model.context(src.header | {"organizations": []}, public=False, has_previous=False,
                            facts=src.collected)
        counts = dict(src.collected.counts)
        standards = {sid: {k: s.get(k) for k in ("version", "title", "digest") if k in s}
                     for sid, s in (src.header.get("standards") or {}).items()}
        orgs = list(src.organizations(range(n)))
    job = Job("", ("pdf",), ctx, counts, standards)
    fetcher = AssetFetcher()
    base_url = assets_dir().as_uri() + "/"
    css_path = str(assets_dir() / CSS_FILE)
    created = fixed_datetime(ctx["issued_iso"])

    def naive(org: dict) -> bytes:
        """One organization's scorecard PDF, the obvious way: everything fresh."""
        card = model.scorecard(org, ctx, None, counts)
        html = render_html("scorecard", card, standalone=False, attached=True)
        sid = org["standard"]["id"] if isinstance(org.get("standard"), dict) else org.get("standard")
        data = json.dumps(jsonable({"round": ctx["round"], "evidence_digest": ctx["evidence_digest"],
                                    "standard": {"id": sid, **(standards.get(sid) or {})}, "organization": org}),
                          ensure_ascii=False, indent=1).encode("utf-8")
        fonts = FontConfiguration()
        css = weasyprint.CSS(filename=css_path, url_fetcher=fetcher, font_config=fonts)
        attachment = weasyprint.Attachment(string=data, name=f"{org['id']}.result.json",
                                           description=f"{org['name']} 考评结果数据", url_fetcher=fetcher,
                                           created=created, modified=created, relationship="Data")
        ident = stable_id("scorecard", ctx["round"]["id"], ctx["evidence_digest"], org["id"], "internal",
                          ctx["agrade_version"])
        return weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher).write_pdf(
            stylesheets=[css], font_config=fonts, attachments=[attachment], pdf_identifier=ident)

    def layout(html: str):
        fonts = FontConfiguration()
        css = weasyprint.CSS(filename=css_path, url_fetcher=fetcher, font_config=fonts)
        return weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher).render(
            stylesheets=[css], font_config=fonts)

    pages_html = [render_html("scorecard", model.scorecard(o, ctx, None, counts), standalone=False, attached=True)
                  for o in orgs]
    # warm-up: first-use costs (fonts, templates, the renderer) are not per-card costs
    mine = dict(job.render(("scorecard", orgs[0], None, orgs[0]["id"])))[f"scorecards/{orgs[0]['id']}.pdf"]
    theirs = naive(orgs[0])
    same = "identical bytes" if mine == theirs else same_document(mine, theirs)
    spent: dict[str, list[float]] = {"agrade": [], "naive": [], "layout": [], "layout_reused": []}
    pages = 0
    for i, org in enumerate(orgs):
        t0 = time.perf_counter()
        job.render(("scorecard", org, None, org["id"]))
        t1 = time.perf_counter()
        naive(org)
        t2 = time.perf_counter()
        doc = layout(pages_html[i])
        t3 = time.perf_counter()
        job.renderer().document(pages_html[i])
        t4 = time.perf_counter()
        for k, v in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            spent[k].append(v)
        pages += len(doc.pages)
    rates = {k: median_rate(v) for k, v in spent.items()}
    rates["pages_per_card"] = pages / n
    rates["same"] = same
    return rates


def same_document(a: bytes, b: bytes) -> str:
    """'same pages and text' when pdftotext reads both alike (else what differs)."""
    if not shutil.which("pdftotext"):
        return "not compared (no pdftotext)"
    with tempfile.TemporaryDirectory() as tmp:
        texts = []
        for name, data in (("a.pdf", a), ("b.pdf", b)):
            (Path(tmp) / name).write_bytes(data)
            texts.append(subprocess.run(["pdftotext", "-raw", str(Path(tmp) / name), "-"], capture_output=True,
                                        check=True).stdout)
    return "same pages and text" if texts[0] == texts[1] else "DIFFERENT text"


# ------------------------------------------------------------------ 2. the pipeline

def pipeline(results: Path, n: int, repeats: int, *options: str) -> float:
    """Median scorecards per second of `agrade report RESULTS --kind scorecards --format pdf
    OPTIONS` run as a command (wall clock: start-up, reading the round and writing included)."""
    seconds = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as out:
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "evaluator", "report", str(results), "--out", out, "--kind",
                            "scorecards", "--format", "pdf", *options], check=True, cwd=ROOT,
                           stdout=subprocess.DEVNULL)
            seconds.append(time.perf_counter() - t)
            assert len(list(Path(out, "scorecards").iterdir())) == n
    return n / statistics.median(seconds)


@contextlib.contextmanager
def local_cluster(workers: int, logs: Path):
    """A Dask scheduler and `workers` worker processes (one thread each) on 127.0.0.1, stopped
    after; yields the scheduler's address."""
    import distributed
    from evaluator.scoring.localdask import start_scheduler, start_worker, stop
    logs.mkdir(parents=True, exist_ok=True)
    address, scheduler = start_scheduler(logs)
    procs = [scheduler]
    try:
        procs += [start_worker(address, f"w{i}", logs / f"w{i}.log") for i in range(workers)]
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        stop(procs, grace=20)


# ------------------------------------------------------------------ 3. memory

def soak(results: Path, m: int, address: str, every: float = 5.0) -> dict:
    """Render m scorecards on the cluster at `address`, sampling the workers' and this process's
    resident memory every `every` seconds."""
    import distributed
    with open_results(results) as src:
        ids = list(src.ids)
    folder = Path(tempfile.mkdtemp(prefix="agrade-soak-"))
    try:
        if len(ids) < m:          # a round of m organizations: the given ones repeated under new ids
            src_file = results if results.is_file() else results / "results.json"
            results = cycled(src_file, m, folder / "round")
            ids = None
        else:
            ids = ids[:m]
        samples: list[tuple[float, int, float, float]] = []     # (seconds, cards done, max worker MB, client MB)
        done = [0]
        stop = threading.Event()
        with distributed.Client(address, timeout=30) as client:
            t0 = time.perf_counter()

            def sample():
                while not stop.wait(every):
                    mem = client.run(rss_mb)
                    samples.append((time.perf_counter() - t0, done[0], max(mem.values()), rss_mb()))
            th = threading.Thread(target=sample, daemon=True)
            th.start()
            try:
                render_reports(results, folder / "out", kinds=("scorecards",), formats=("pdf",), only=ids,
                               cluster=address, progress=lambda n, total: done.__setitem__(0, n))
            finally:
                stop.set()
                th.join()
            wall = time.perf_counter() - t0
            samples.append((wall, done[0], max(client.run(rss_mb).values()), rss_mb()))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"wall": wall, "samples": samples}


def cycled(src_file: Path, m: int, folder: Path) -> Path:
    """A results.json of m organizations: those of `src_file` again and again, ids made unique."""
    folder.mkdir(parents=True)
    with open_results(src_file) as src:
        head = json.dumps(jsonable(src.header), ensure_ascii=False, indent=2)
        with (folder / "results.json").open("w", encoding="utf-8") as f:
            f.write(head[:-2] + ',\n  "organizations": [\n')
            for i in range(m):
                o = src.organization(i % len(src))
                o["id"] = f"{o['id']}-c{i // len(src)}"
                f.write((",\n" if i else "") + json.dumps(jsonable(o), ensure_ascii=False, separators=(",", ":")))
            f.write("\n  ]\n}\n")
    return folder / "results.json"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=60)
    ap.add_argument("results", nargs="?", type=Path)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--memory", type=int, default=0, metavar="M")
    ap.add_argument("--cluster", metavar="tcp://HOST:PORT", help="an existing scheduler (else one is started here)")
    ap.add_argument("--skip-speed", action="store_true", help="only the --memory run")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.results or scaled_results(args.n, Path(tmp))
        with open_results(path) as src:
            n = min(args.n, len(src))
        print(f"{n} scorecards from {path}; weasyprint {weasyprint.__version__}, {os.cpu_count()} cores", flush=True)
        if not args.skip_speed:
            r = per_card(path, n)
            print(f"  pages per scorecard          {r['pages_per_card']:.2f}")
            print(f"  agrade (Job.render, 1 core)  {r['agrade']:6.2f} scorecards/s")
            print(f"  naive write_pdf, same work   {r['naive']:6.2f} scorecards/s   agrade/naive  = "
                  f"{r['agrade'] / r['naive']:.2f}   (naive output: {r['same']})")
            print(f"  layout only, render()        {r['layout']:6.2f} scorecards/s   agrade/layout = "
                  f"{r['agrade'] / r['layout']:.2f}")
            print(f"  layout only, reused CSS      {r['layout_reused']:6.2f} scorecards/s   agrade/this   = "
                  f"{r['agrade'] / r['layout_reused']:.2f}", flush=True)
            cards = cycled(path if path.is_file() else path / "results.json", n, Path(tmp) / "cards")
            one = pipeline(cards, n, args.repeats, "--workers", "1")
            many = pipeline(cards, n, args.repeats, "--workers", str(args.workers))
            print(f"  agrade report, 1 process     {one:6.2f} scorecards/s (wall, start-up included)")
            print(f"  agrade report, {args.workers} processes   {many:6.2f} scorecards/s   speed-up = {many / one:.2f}",
                  flush=True)
            if args.cluster:
                print("  (--cluster given: the 1- vs 2-worker comparison needs clusters of its own; skipped)")
            else:
                rates = {}
                for w in (1, 2):
                    with local_cluster(w, Path(tmp) / f"dask{w}") as address:
                        pipeline(cards, n, 1, "--cluster", address)    # warm-up: imports, fonts, once per worker
                        rates[w] = pipeline(cards, n, args.repeats, "--cluster", address)
                print(f"  agrade report --cluster, 1 worker   {rates[1]:6.2f} scorecards/s")
                print(f"  agrade report --cluster, 2 workers  {rates[2]:6.2f} scorecards/s   speed-up = "
                      f"{rates[2] / rates[1]:.2f}", flush=True)
        if args.memory:
            with (contextlib.nullcontext(args.cluster) if args.cluster
                  else local_cluster(2, Path(tmp) / "dask-soak")) as address:
                res = soak(path, args.memory, address)
            s = res["samples"]
            k = max(1, len(s) // 10)
            first, last = s[:k], s[-k:]
            print(f"  {args.memory} scorecards on Dask (2 workers): {res['wall']:.0f} s, "
                  f"{args.memory / res['wall']:.2f} scorecards/s; {len(s)} memory samples")
            print(f"  worker RSS  first {k} samples (to card {first[-1][1]}): {max(x[2] for x in first):.0f} MB; "
                  f"last {k} (to card {last[-1][1]}): {max(x[2] for x in last):.0f} MB; "
                  f"peak {max(x[2] for x in s):.0f} MB")
            print(f"  client RSS  first {k} samples: {max(x[3] for x in first):.0f} MB; last {k}: "
                  f"{max(x[3] for x in last):.0f} MB; peak {max(x[3] for x in s):.0f} MB", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
