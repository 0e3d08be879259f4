"""Running a report job: which files to make, in which process, and writing them safely.

Scorecards (one WeasyPrint document per organization) are rendered in worker processes; each
worker builds its `PdfRenderer` once and reuses the parsed stylesheet and fonts for every
document it gets. The parent builds the summary and list models and the CSV/XLSX exports,
feeds the workers a bounded number of tasks at a time (memory stays flat however many
organizations there are), and moves the finished files into place only when all succeeded.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import tempfile
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator

from . import model

KINDS = ("scorecards", "summary", "lists")
FORMATS = ("pdf", "html", "xlsx", "csv")
EXTRA_FORMATS = ("json",)      # results.json again (redacted in public mode); not made by default


NAME_MAX_BYTES = 200     # a file stem's UTF-8 bytes; file systems allow 255 for the whole name


def _cut_bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` bytes of UTF-8, on a character boundary."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def safe_name(org_id: str) -> str:
    """A file name from an organization id (ids are typed by people: no paths, no dots first,
    at most NAME_MAX_BYTES bytes however many CJK characters the id has)."""
    name = re.sub(r"[^\w.-]", "_", org_id, flags=re.UNICODE).lstrip(".") or "_"
    return _cut_bytes(name, NAME_MAX_BYTES)


def file_names(orgs: list[dict]) -> dict[str, str]:
    """Organization id -> unique file stem (case-insensitively, within NAME_MAX_BYTES),
    deterministic in the results' order."""
    out, used = {}, set()
    for o in orgs:
        stem = base = safe_name(o["id"])
        n = 2
        while stem.lower() in used:
            suffix = f"-{n}"
            stem, n = _cut_bytes(base, NAME_MAX_BYTES - len(suffix)) + suffix, n + 1
        used.add(stem.lower())
        out[o["id"]] = stem
    return out


def jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    return obj


@dataclass
class Job:
    """Everything a worker needs besides its tasks; picklable."""
    stage: str
    formats: tuple[str, ...]
    ctx: dict
    counts: dict
    standards: dict
    _renderer: Any = field(default=None, repr=False)

    def __getstate__(self):          # workers build their own renderer
        return {**self.__dict__, "_renderer": None}

    def renderer(self):
        if self._renderer is None:
            from .pdf import PdfRenderer
            self._renderer = PdfRenderer()
        return self._renderer

    def write(self, rel: str, data: bytes | str) -> str:
        path = Path(self.stage) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return rel

    def run(self, task: tuple) -> tuple[list[str], float]:
        kind = task[0]
        try:
            if kind == "scorecard":
                written = self.scorecard(*task[1:])
            else:
                written = self.document(*task)
        except Exception as exc:   # name the document; the parent stops the run
            what = f"organization {task[1]['id']}" if kind == "scorecard" else "round"
            raise RuntimeError(f"rendering the {kind} for {what} failed: {type(exc).__name__}: {exc}") from None
        from .pdf import rss_mb
        return written, rss_mb()

    def scorecard(self, org: dict, prev: dict | None, stem: str) -> list[str]:
        from .html import render_html
        card = model.scorecard(org, self.ctx, prev, self.counts)
        written = []
        if "html" in self.formats:
            written.append(self.write(f"scorecards/{stem}.html", render_html("scorecard", card, standalone=True)))
        if "pdf" in self.formats:
            payload = model.public_result(org) if self.ctx["public"] else org
            sid = org.get("standard", {}).get("id") if isinstance(org.get("standard"), dict) else org.get("standard")
            attached = {"round": self.ctx["round"], "evidence_digest": self.ctx["evidence_digest"],
                        "standard": {"id": sid, **(self.standards.get(sid) or {})}, "organization": payload}
            data = json.dumps(jsonable(attached), ensure_ascii=False, indent=1).encode("utf-8")
            html = render_html("scorecard", card, standalone=False, attached=True)
            written.append(self.write(f"scorecards/{stem}.pdf", self._pdf(
                html, "scorecard", org["id"], [(f"{stem}.result.json", data, f"{org['name']} 考评结果数据")])))
        return written

    def document(self, kind: str, doc_model: dict, stem: str) -> list[str]:
        from .html import render_html
        written = []
        if "html" in self.formats:
            written.append(self.write(f"{stem}.html", render_html(kind, doc_model, standalone=True)))
        if "pdf" in self.formats:
            written.append(self.write(f"{stem}.pdf", self._pdf(render_html(kind, doc_model, standalone=False),
                                                               kind, stem, [])))
        return written

    def _pdf(self, html: str, kind: str, key: str, attachments) -> bytes:
        from .pdf import fixed_datetime, stable_id
        ident = stable_id(kind, self.ctx["round"]["id"], self.ctx["evidence_digest"], key,
                          "public" if self.ctx["public"] else "internal", self.ctx["agrade_version"])
        return self.renderer().pdf(html, identifier=ident, created=fixed_datetime(self.ctx["issued_iso"]),
                                   attachments=attachments)


_WORKER_JOB: Job | None = None


def _init_worker(job: Job) -> None:
    global _WORKER_JOB
    _WORKER_JOB = job
    job.renderer()        # parse the stylesheet, load fonts, check for a CJK font: once per worker


def _run_in_worker(task: tuple) -> tuple[list[str], float]:
    assert _WORKER_JOB is not None
    return _WORKER_JOB.run(task)


def run_tasks(job: Job, tasks: Iterator[tuple], total: int, workers: int,
              progress: Callable[[int, int], None] | None, done_before: int = 0) -> tuple[list[str], list[float]]:
    """Render tasks in `workers` processes (in this process when 1), at most 4 per worker in
    flight. Returns the files written and the workers' resident memory after each task."""
    written: list[str] = []
    rss: list[float] = []
    done = done_before
    if workers <= 1:
        for task in tasks:
            files, mem = job.run(task)
            written += files
            rss.append(mem)
            done += 1
            if progress:
                progress(done, total)
        return written, rss
    ctx = multiprocessing.get_context("spawn")     # no fork: WeasyPrint's C libraries are not fork-safe
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(job,)) as pool:
        pending = set()
        window = workers * 4
        try:
            for task in tasks:
                pending.add(pool.submit(_run_in_worker, task))
                if len(pending) >= window:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    done = _collect(finished, written, rss, done, total, progress)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                done = _collect(finished, written, rss, done, total, progress)
        except BaseException:
            for f in pending:
                f.cancel()
            raise
    return written, rss


def _collect(finished, written, rss, done, total, progress) -> int:
    for f in finished:
        files, mem = f.result()          # re-raises a worker's error here
        written += files
        rss.append(mem)
        done += 1
        if progress:
            progress(done, total)
    return done


class Stage:
    """A temporary folder inside the output folder; files move into place only on success."""

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=".agrade-reports-", dir=self.out_dir))

    def commit(self, rel_paths: list[str]) -> list[Path]:
        final = []
        for rel in sorted(set(rel_paths)):
            dest = self.out_dir / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.path / rel, dest)
            final.append(dest)
        return final

    def cleanup(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
