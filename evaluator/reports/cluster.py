"""Documents rendered on a Dask distributed cluster (`agrade report --cluster tcp://HOST:PORT`).

The client (this process) reads results.json one organization at a time, builds the summary
and list models and the exports, and sends each document as a task (`render_remote`): the
organization's result (or the document's model) with the round's `Job` (context, counts,
standards), made once by a task of its own and fetched once by each worker. A worker renders the files in memory with its
own PdfRenderer (one per worker thread, kept for every task it gets) and sends them back;
the client writes them into the staging folder exactly as a local run does, so the
documents are the same bytes wherever they were rendered. A worker that dies mid-run loses
nothing: the scheduler runs its tasks again elsewhere (the same task gives the same bytes).

Workers need agrade installed, the same version with the same WeasyPrint and report assets
(checked when connecting: they would draw different bytes), a CJK font, and reach nothing but
the scheduler. Start them with one thread each (`dask worker ADDRESS --nthreads 1`, as many
processes as cores): WeasyPrint's layout holds the GIL, so threads would only take turns.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from typing import Iterable, Iterator

from ..errors import InputError, Issue
from ..scoring.cluster import task_result
from .render import Files, Job

IN_FLIGHT_PER_WORKER = 4       # enough that no worker waits for its next task, little held here


_ADDRESS = re.compile(r"(?:(?:tcp|tls|ws|wss|ucx)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})")


def check_address(address: str) -> None:
    """A scheduler address as Dask prints it; anything else is refused at once (Dask itself
    would wait out its connection timeout and then fail without saying why)."""
    m = _ADDRESS.fullmatch(address)
    if m is None or not 0 < int(m.group(2)) < 65536:
        raise InputError(Issue("--cluster", 0, 0, "$", f"expected a Dask scheduler address such as "
                               f"tcp://HOST:PORT (port 1-65535), got {address!r}"))


def versions() -> dict[str, str]:
    """What decides the bytes of a rendered document, besides its model: run on each worker."""
    import pydyf
    import weasyprint
    from weasyprint.text.ffi import pango

    from .. import __version__
    from .html import assets_dir
    h = hashlib.sha256()
    root = assets_dir()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return {"agrade": __version__, "weasyprint": weasyprint.__version__, "pydyf": pydyf.__version__,
            "pango": str(pango.pango_version()), "report assets": h.hexdigest()[:16]}


def render_remote(job: Job, task: tuple) -> tuple[Files, float]:
    """One task on a worker: its files and the worker's resident memory afterwards."""
    from .pdf import rss_mb
    return job.render(task), rss_mb()


class ReportCluster:
    """The workers of a Dask scheduler, rendering documents."""

    def __init__(self, address: str, timeout: float = 30):
        from ..scoring.cluster import DaskCluster
        check_address(address)
        try:
            self._dask = DaskCluster(address, timeout)      # the same connection and errors as evaluate
        except TimeoutError as e:
            raise InputError(Issue("--cluster", 0, 0, "$", f"cannot reach the Dask scheduler at {address}: {e}")) from None
        self.client = self._dask.client
        self.address = address
        try:
            self._check_versions()
        except BaseException:
            self.close()
            raise

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def _check_versions(self) -> None:
        here = versions()
        for worker, theirs in sorted(self.client.run(versions).items()):
            diff = [f"{k} {theirs.get(k)} (here {v})" for k, v in here.items() if theirs.get(k) != v]
            if diff:
                raise InputError(Issue("--cluster", 0, 0, "$", f"the Dask worker {worker} would render different "
                                       f"documents: {', '.join(diff)}; install the same agrade and WeasyPrint "
                                       "on every worker"))

    def render(self, job: Job, tasks: Iterable[tuple]) -> Iterator[tuple[Files, float]]:
        """Each task's files (in the order they finish) and the memory of the worker that made
        them; at most IN_FLIGHT_PER_WORKER tasks per worker are out at a time."""
        from distributed import as_completed
        client = self.client
        run = secrets.token_hex(6)          # task keys of this run only, however many share the scheduler
        # The job is a task's result rather than scattered data: the scheduler can make it again
        # when the worker that held it dies (scattered data would be lost, and every task with it).
        job_future = client.submit(task_result, job, key=f"agrade-report-{run}-job", pure=False)
        window = as_completed(loop=client.loop)
        out: set = set()                    # submitted, not yet handed back
        limit = IN_FLIGHT_PER_WORKER * self.workers

        def finished():
            future = next(window)
            out.discard(future)
            result = future.result()        # a rendering error stops the run here
            future.release()
            return result
        try:
            for i, task in enumerate(tasks):
                future = client.submit(render_remote, job_future, task, key=f"agrade-report-{run}-{i}",
                                       retries=3, pure=False)
                out.add(future)
                window.add(future)
                while len(out) >= limit:
                    yield finished()
            while out:
                yield finished()
        finally:
            if out:
                client.cancel(list(out))
            job_future.release()

    def close(self) -> None:
        self._dask.close()
