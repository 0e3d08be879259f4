"""Running a report job: which files to make, in which process, and writing them safely.

Documents (one WeasyPrint document per organization, the summary, the lists) are rendered in
worker processes, or on the workers of a Dask cluster (`cluster.py`); each process builds its
`PdfRenderer` once and reuses the parsed stylesheet and fonts for every document it gets. The
parent builds the summary and list models and the CSV/XLSX exports, feeds the workers a
bounded number of tasks at a time (memory stays flat however many organizations there are),
and moves the finished files into place only when all succeeded.
"""
from __future__ import annotations

import atexit
import datetime as dt
import json
import multiprocessing
import multiprocessing.util
import os
import re
import shutil
import tempfile
import threading
import zipfile
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from . import model

KINDS = ("scorecards", "summary", "lists")
FORMATS = ("pdf", "html", "xlsx", "csv")
EXTRA_FORMATS = ("json",)      # results.json again (redacted in public mode); not made by default


NAME_MAX_BYTES = 200     # a file stem's UTF-8 bytes; file systems allow 255 for the whole name
ID_MAX_BYTES = 80        # of which at most this much for the organization id when it has a name


def _cut_bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` bytes of UTF-8, on a character boundary."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def _safe(text: str) -> str:
    """Letters (CJK included), digits, `_ . -` and nothing else: no paths, no spaces, no
    characters a Windows or zip tool refuses; never a leading dot."""
    return re.sub(r"[^\w.-]", "_", text, flags=re.UNICODE).lstrip(".")


def safe_name(org_id: str) -> str:
    """A file name from an organization id (ids are typed by people: no paths, no dots first,
    at most NAME_MAX_BYTES bytes however many CJK characters the id has)."""
    return _cut_bytes(_safe(org_id) or "_", NAME_MAX_BYTES)


def card_stem(org_id: str, name: str | None = None) -> str:
    """`<id>_<名称>`, as departments file scorecards: the id first (it sorts and is unique), the
    name cut to what is left of NAME_MAX_BYTES; just the id when there is no name."""
    ident = _safe(org_id) or "_"
    title = re.sub(r"_+", "_", _safe(name or "")).strip("_.")
    if not title:
        return _cut_bytes(ident, NAME_MAX_BYTES)
    ident = _cut_bytes(ident, ID_MAX_BYTES)
    return ident + "_" + _cut_bytes(title, NAME_MAX_BYTES - len(ident.encode("utf-8")) - 1)


class FileNamer:
    """Organization id -> unique file stem (case-insensitively, within NAME_MAX_BYTES), given
    one organization at a time in the results' order (deterministic)."""

    def __init__(self):
        self.stems: dict[str, str] = {}
        self._used: set[str] = set()

    def add(self, org_id: str, name: str | None = None) -> str:
        stem = base = card_stem(org_id, name)
        n = 2
        while stem.lower() in self._used:
            suffix = f"-{n}"
            stem, n = _cut_bytes(base, NAME_MAX_BYTES - len(suffix)) + suffix, n + 1
        self._used.add(stem.lower())
        self.stems[org_id] = stem
        return stem


def file_names(orgs: Iterable[dict | str]) -> dict[str, str]:
    """Organization id -> unique file stem `<id>_<名称>` (see card_stem, FileNamer).
    `orgs`: organizations (or just their ids: the stem is the id alone)."""
    namer = FileNamer()
    for o in orgs:
        if isinstance(o, dict):
            namer.add(o["id"], o.get("name"))
        else:
            namer.add(o)
    return namer.stems


class NamedFacts(model.RoundFacts):
    """The round's facts (model.RoundFacts) plus each scorecard's file stem, gathered in the
    same single pass over results.json."""

    def __init__(self, compact: bool = True):
        super().__init__(compact)
        self.namer = FileNamer()

    def add(self, o: dict) -> None:
        super().add(o)
        self.namer.add(o.get("id"), o.get("name"))


# ------------------------------------------------------------------ bundles (one zip per scope)

BUNDLE_SCOPES = ("street", "district")
BUNDLE_ZH = {"street": "街道", "district": "区县"}


def bundle_name(scope: str, district: str, street: str) -> str:
    """bundles/<区县>.zip or bundles/<区县>_<街道>.zip (safe characters, byte-bounded)."""
    parts = [district or "未填区县"] + ([street or "未填街道"] if scope == "street" else [])
    stem = _cut_bytes("_".join(_safe(p) or "_" for p in parts), NAME_MAX_BYTES)
    return f"bundles/{BUNDLE_ZH[scope]}/{stem}.zip"


def write_bundles(stage: Path, members: dict[str, list[str]], issued: str = "") -> list[str]:
    """Zip the staged scorecards: `members` maps a bundle's path to the staged files it holds
    (paths relative to `stage`). Fixed dates and order: the same files, the same bytes.
    Each file is dated the round's issue date (`issued`, ISO), which is what a department sees
    when it opens the zip (zip's own epoch, 1980-01-01, when there is none).
    Each file is copied from disk into the zip, never held whole in memory."""
    try:
        day = dt.date.fromisoformat(issued[:10])
        stamp = (day.year, day.month, day.day, 0, 0, 0) if day.year >= 1980 else (1980, 1, 1, 0, 0, 0)
    except ValueError:
        stamp = (1980, 1, 1, 0, 0, 0)
    written = []
    for rel, files in sorted(members.items()):
        path = Path(stage) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(set(files)):
                info = zipfile.ZipInfo(Path(f).name, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with open(Path(stage) / f, "rb") as src, zf.open(info, "w") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        written.append(rel)
    return written


def jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    return obj


_LOCAL = threading.local()


def renderer():
    """This thread's PdfRenderer: built once (stylesheet parsed, fonts loaded, the CJK font
    checked) and reused for every document the thread renders."""
    r = getattr(_LOCAL, "renderer", None)
    if r is None:
        from .pdf import PdfRenderer
        r = _LOCAL.renderer = PdfRenderer()
    return r


def drop_renderer() -> None:
    """Let this thread's renderer go while Python still runs: WeasyPrint's font configuration
    removes its temporary font folder when collected (not at interpreter teardown)."""
    _LOCAL.__dict__.pop("renderer", None)


atexit.register(drop_renderer)


class RenderError(RuntimeError):
    """A document could not be rendered (its organization named); nothing is written."""


Files = list[tuple[str, bytes]]
"""What rendering one task makes: (path relative to the output folder, content)."""


@dataclass
class Job:
    """Everything a worker needs besides its tasks; picklable, without any open resource.
    A task is ("scorecard", organization, previous round's entry, file stem) or (kind,
    document model, file stem) for the summary and the lists."""
    stage: str
    formats: tuple[str, ...]
    ctx: dict
    counts: dict
    standards: dict

    def renderer(self):
        return renderer()

    def write(self, rel: str, data: bytes | str) -> str:
        path = Path(self.stage) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return rel

    def render(self, task: tuple) -> Files:
        """The files of one task, in memory (a Dask worker sends them back)."""
        kind = task[0]
        try:
            if kind == "scorecard":
                return self.scorecard(*task[1:])
            return self.document(*task)
        except Exception as exc:   # name the document; the parent stops the run
            what = f"organization {task[1]['id']}" if kind == "scorecard" else "round"
            raise RenderError(f"rendering the {kind} for {what} failed: {type(exc).__name__}: {exc}") from None

    def run(self, task: tuple) -> tuple[list[str], float]:
        """Render one task into the stage folder; the files written and this process's memory."""
        from .pdf import rss_mb
        return [self.write(rel, data) for rel, data in self.render(task)], rss_mb()

    def scorecard(self, org: dict, prev: dict | None, stem: str) -> Files:
        from .html import render_html
        card = model.scorecard(org, self.ctx, prev, self.counts)
        files: Files = []
        if "html" in self.formats:
            files.append((f"scorecards/{stem}.html", render_html("scorecard", card, standalone=True).encode("utf-8")))
        if "pdf" in self.formats:
            payload = model.public_result(org) if self.ctx["public"] else org
            sid = org.get("standard", {}).get("id") if isinstance(org.get("standard"), dict) else org.get("standard")
            attached = {"round": self.ctx["round"], "evidence_digest": self.ctx["evidence_digest"],
                        "standard": {"id": sid, **(self.standards.get(sid) or {})}, "organization": payload}
            data = json.dumps(jsonable(attached), ensure_ascii=False, indent=1).encode("utf-8")
            html = render_html("scorecard", card, standalone=False, attached=True)
            files.append((f"scorecards/{stem}.pdf", self._pdf(
                html, "scorecard", org["id"], [(f"{safe_name(org['id'])}.result.json", data,
                                                f"{org['name']} 考评结果数据")])))
        return files

    def document(self, kind: str, doc_model: dict, stem: str) -> Files:
        from .html import render_html
        files: Files = []
        if "html" in self.formats:
            files.append((f"{stem}.html", render_html(kind, doc_model, standalone=True).encode("utf-8")))
        if "pdf" in self.formats:
            files.append((f"{stem}.pdf", self._pdf(render_html(kind, doc_model, standalone=False), kind, stem, [])))
        return files

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
    multiprocessing.util.Finalize(None, drop_renderer, exitpriority=10)   # worker processes skip atexit
    job.renderer()        # parse the stylesheet, load fonts, check for a CJK font: once per worker


def _run_in_worker(task: tuple) -> tuple[list[str], float]:
    assert _WORKER_JOB is not None
    return _WORKER_JOB.run(task)


def run_tasks(job: Job, tasks: Iterator[tuple], total: int, workers: int,
              progress: Callable[[int, int], None] | None, done_before: int = 0,
              cluster=None) -> tuple[list[str], list[float]]:
    """Render tasks in `workers` processes (in this process when 1), at most 4 per worker in
    flight, or on `cluster` (a cluster.ReportCluster: the files come back and are written
    here). Returns the files written and the workers' resident memory after each task."""
    written: list[str] = []
    rss: list[float] = []
    done = done_before
    if cluster is not None:
        for files, mem in cluster.render(job, tasks):
            written += [job.write(rel, data) for rel, data in files]
            rss.append(mem)
            done += 1
            if progress:
                progress(done, total)
        return written, rss
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
