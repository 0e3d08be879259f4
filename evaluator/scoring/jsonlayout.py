"""results.json laid out before it is written: where each of its bytes comes from and goes.

Every organization's result is its head and tail, spilled when it was scored (intake.spill),
with the round part (tier after quotas, ranks) spliced in between: head without its closing
brace, a comma, the round part, a comma, tail without its opening brace. Once the round part
of every organization is made (`Layout.add`: the round parts go to the spill too, a chunk's
worth at a time, so memory stays flat), every organization's offset in results.json is known
before a byte of it is written, and any stretch of the file can be made on its own from the
spill: `compose` reads a chunk's heads and tails straight into their places in one buffer
(one preadv per organization: no bytes object per piece and no join of them, which cost the
main process about 0.2 s of the 20,000-organization round).

Written in place (`write_to`):
- one process (`workers` 1, or a file of a single chunk): each chunk is composed, hashed while
  it is in this core's cache (filesink explains why that matters) and written at its offset;
- `workers` >= 2: `workers` - 1 forked processes compose and pwrite chunks side by side,
  taking them from a pipe as they are free, and report each one done; one more forked
  process reads the file back in order from the page cache and hashes it (SHA-256 is one
  sequential digest of the whole file), so the standard digest is that of the bytes on disk.
  results.csv and state.jsonl are made meanwhile by forked processes of lower priority
  (`Aside(background=True)`: run.ResultsCsv, run.StateJsonl), which leave the cores to these.
Either way the descriptor is an unnamed file results._Staged names only once `result()` has
returned: a failure or a kill leaves nothing half-written under a real name.
"""
from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import pickle
import signal
import struct
import threading
from array import array
from typing import Callable

from ..errors import EvaluationError
from ..intake.spill import Spill, write_at
from .filesink import CHUNK, write_all

# Chunks are handed out as at most this many tasks (runs of consecutive chunks), their numbers
# written to a pipe before the writers start: 1 KB, which fits any pipe (Linux gives one at least
# a page, even to a user past pipe-user-pages-soft), so that write never waits for a reader.
_TASKS_MAX = 256
_DONE = struct.Struct("iii")   # (number, errno, length of what follows) from a forked process: a
                               # task done (writers), the digest (hasher); -1: it failed, and why


def spill_descriptor(spill) -> int | None:
    """The descriptor of an intake.spill.Spill (None for any other source of results, such as
    rescore's FileSpill: those are written the general way). Read here with preadv only."""
    return spill.fileno() if isinstance(spill, Spill) else None


class Layout:
    """results.json's layout: the header, per organization (in file order) where its head and
    tail are in the spill and its four numbers (`positions`: offset in the file, length,
    length before the round part, length of the round part), and its chunks."""

    def __init__(self, spill, fd: int, header: bytes | None, closing: bytes):
        """`header` None: given to `done` (the organizations are laid out before the header
        is known, their offsets counted from its end until then)."""
        self.spill, self.fd, self.header, self.closing = spill, fd, header, closing
        self.positions = array("q")            # 4 per organization, as ScoredRound.where reads them
        self.spilled = array("q")              # per organization: where its head is in the spill
        # per chunk: first organization, where its round parts start in the spill, their length
        self.chunks = array("q")
        self.size = len(header or b"")         # the file's length so far (closing added by `done`)
        self._middles: list[bytes] = []
        self._middle_bytes = 0
        self._chunk_at = 0                     # where the open chunk starts in the file
        self._open = 0                         # its first organization

    @property
    def count(self) -> int:
        return len(self.spilled)

    def add(self, spilled: tuple[int, int, int], middle: bytes) -> None:
        """The next organization: its spill place (offset, head length, tail length) and its
        round part (without braces)."""
        at, nh, nt = spilled
        n = self.count
        if n:
            self.size += 2                     # ",\n" before it
        size = nh + nt + len(middle)
        self.positions.extend((self.size, size, nh - 1, len(middle)))
        self.spilled.append(at)
        self._middles.append(middle)
        self._middle_bytes += len(middle)
        self.size += size
        if self.size - self._chunk_at >= CHUNK:
            self._close_chunk(n + 1)

    def done(self, header: bytes | None = None) -> None:
        """No more organizations (the last chunk closed; the file's length known); `header`
        if it was not given at first, every offset moved past it."""
        if header is not None:
            if self.header is not None:
                raise EvaluationError("results.json's header was laid out twice")
            self.header, shift = header, len(header)
            for i in range(0, len(self.positions), 4):
                self.positions[i] += shift
            self.size += shift
        if self.header is None:
            raise EvaluationError("results.json laid out without its header")
        self._close_chunk(self.count)
        if not self.chunks:                    # no organizations: one chunk of header and closing
            self.chunks.extend((0, 0, 0))
        self.size += len(self.closing)

    def _close_chunk(self, end: int) -> None:
        """Organizations [first of the open chunk, end) make a chunk: their round parts to the spill."""
        if end <= self._open:
            return
        at = self.spill.add_pieces(self._middles)
        self.chunks.extend((self._open, at, self._middle_bytes))
        self._middles, self._middle_bytes = [], 0
        self._chunk_at, self._open = self.size, end

    # ---------------------------------------------------------------- chunk geometry

    def chunk_orgs(self, c: int) -> tuple[int, int]:
        start = self.chunks[3 * c]
        end = self.chunks[3 * c + 3] if 3 * c + 3 < len(self.chunks) else self.count
        return start, end

    def chunk_span(self, c: int) -> tuple[int, int]:
        """(offset, end) of chunk c in the file: from its first organization's separator (the
        header, for the first) to the next chunk's (the file's end, for the last)."""
        start, end = self.chunk_orgs(c)
        p = self.positions
        begin = 0 if c == 0 else p[4 * start] - 2
        return begin, (p[4 * end] - 2 if end < self.count else self.size)

    @property
    def chunk_count(self) -> int:
        return len(self.chunks) // 3

    def buffer(self) -> bytearray:
        """A buffer the largest chunk fits in (a chunk is about CHUNK bytes, more when one
        organization's result is larger), used again for every chunk."""
        return bytearray(max(end - begin for begin, end in map(self.chunk_span, range(self.chunk_count))))

    def compose(self, c: int, buf: bytearray) -> memoryview:
        """Chunk c's bytes, made in `buf` (from `buffer()`); a view of them."""
        begin, end = self.chunk_span(c)
        view = memoryview(buf)
        start, stop = self.chunk_orgs(c)
        _, mid_at, mid_len = self.chunks[3 * c: 3 * c + 3]
        middles = os.pread(self.fd, mid_len, mid_at) if mid_len else b""
        if len(middles) != mid_len:
            raise EvaluationError(f"the spill ended early (round parts of organizations {start + 1}-{stop})")
        p, m, pos, spilled = 0, 0, self.positions, self.spilled
        pair = bytearray(2)                    # head's "}" and tail's "{", read and dropped
        if c == 0:
            view[:len(self.header)] = self.header
            p = len(self.header)
        for n in range(start, stop):
            if n:
                view[p:p + 2] = b",\n"
                p += 2
            _, size, before, nm = pos[4 * n: 4 * n + 4]
            comma = p + before                 # head without its "}" fills [p, comma)
            rest = comma + 1 + nm + 1          # tail without its "{" from here
            tail_end = p + size
            got = os.preadv(self.fd, [view[p:comma], pair, view[rest:tail_end]], spilled[n])
            if got != size - nm:
                raise EvaluationError(f"the spill ended early (organization {n + 1} of results.json)")
            view[comma] = 44                   # b","
            view[comma + 1:comma + 1 + nm] = middles[m:m + nm]
            view[rest - 1] = 44
            m += nm
            p = tail_end
        if stop == self.count:
            view[p:p + len(self.closing)] = self.closing
            p += len(self.closing)
        if p != end - begin:
            raise EvaluationError(f"results.json chunk {c}: {p} bytes made, {end - begin} laid out")
        return view[:p]

    # ---------------------------------------------------------------- writing

    def stream(self, write: Callable[[bytes], None]) -> None:
        """The file's bytes to `write`, a chunk at a time (bytes: the buffer is used again)."""
        buf = self.buffer()
        for c in range(self.chunk_count):
            write(bytes(self.compose(c, buf)))

    def write_to(self, out: int, workers: int = 1):
        """Write the file into descriptor `out` at its offsets: with `workers` >= 2 and more
        than one chunk, in forked processes; returns a sink whose `result()` waits until it is
        written and fsynced and gives {"sha256", "bytes"}."""
        if workers >= 2 and self.chunk_count > 1 and hasattr(os, "fork"):
            return _Parallel(self, out, workers)
        return _Serial(self, out)


class _Serial:
    """Compose, hash (in cache) and pwrite each chunk in this thread; fsync on a thread of its
    own, so syncing overlaps the making of the next file (as filesink does)."""

    def __init__(self, layout: Layout, out: int):
        self.out, self._error = out, None
        h = hashlib.sha256()
        buf = layout.buffer()
        for c in range(layout.chunk_count):
            data = layout.compose(c, buf)
            h.update(data)
            at = layout.chunk_span(c)[0]
            write_at(out, [memoryview(data)], at)
            start_writeback(out, at, len(data))
        self._digest = {"sha256": h.hexdigest(), "bytes": layout.size}
        self._thread = threading.Thread(target=self._sync, name="agrade-fsync", daemon=True)
        self._thread.start()

    def _sync(self) -> None:
        try:
            os.fsync(self.out)
        except BaseException as e:             # raised by result(), in the thread that asks
            self._error = e

    def result(self) -> dict:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digest


class _Parallel:
    """Chunks composed and written by `workers` - 1 forked writers, and hashed in file order by
    one more forked process (`_hasher`), which reads them back as the writers report them done.

    One core of `workers` is the hasher's: it is the critical path (SHA-256 is sequential:
    0.35 CPU-s for 485 MB against 0.3 for composing and writing them), and beside as many
    writers as cores it got a share of one while they ran, then finished alone, 0.2-0.25 s
    after them, the other core idle. One writer and the hasher on two cores: the hasher
    follows the writer closely and ends soon after it. Tried and dropped: a writer that
    composes, hashes and writes in file order whatever others, working from the file's end,
    have not written yet (hashing in cache, no waiting): it became the critical path itself
    (0.68 against 0.63 s wall, the same CPU, five alternated runs on the loaded host).

    Not a thread of this process: when this was measured, this process made state.jsonl
    meanwhile (a forked process does now), in Python, holding the GIL, and a hashing thread
    needs the GIL back after every megabyte it reads and hashes (up to the 5 ms switch
    interval each time). A thread and a process measured alike on the shared host, which
    then gave about one core (two CPU-bound processes ran 1.0-1.4x one): with either,
    results.csv took 0.6-0.7 s beside the writers instead of 0.15 alone, for want of a core,
    not of the GIL. The process is kept for a host with two."""

    def __init__(self, layout: Layout, out: int, workers: int):
        self.layout, self.out = layout, out
        self.pids: list[int] = []
        self._digest: dict | None = None
        self._error: BaseException | None = None
        chunks = layout.chunk_count
        per = -(-chunks // _TASKS_MAX)                 # chunks per task
        tasks = [(c, min(c + per, chunks)) for c in range(0, chunks, per)]
        os.ftruncate(out, layout.size)
        task_r, task_w = os.pipe()
        done_r, done_w = os.pipe()
        self._result_r, result_w = os.pipe()
        try:
            write_all(task_w, array("i", range(len(tasks))).tobytes())
            os.close(task_w)
            task_w = -1
            for _ in range(min(max(1, workers - 1), len(tasks))):
                self.pids.append(_fork((layout.fd, out, task_r, done_w), _writer, layout, out, task_r, done_w, tasks))
            self.pids.append(_fork((out, done_r, result_w), _hasher, layout, out, done_r, result_w, tasks))
        except BaseException:
            self._stop()
            os.close(self._result_r)
            raise
        finally:
            for fd in (task_r, task_w, done_r, done_w, result_w):
                if fd >= 0:
                    os.close(fd)

    def _stop(self) -> None:
        """Stop the forked processes (ours, by their ids) after a failure, and reap them."""
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._reap()

    def _reap(self) -> list[int]:
        """Wait for the forked processes; those that exited otherwise than with 0."""
        failed = []
        for pid in self.pids:
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, 0)[1]:
                    failed.append(pid)
        self.pids = []
        return failed

    def result(self) -> dict:
        if self._digest is None and self._error is None:
            try:
                ok, said = _report(self._result_r, "the process hashing results.json ended before it was done")
                os.fsync(self.out)
                if self._reap():
                    raise EvaluationError("a process writing results.json failed")
                self._digest = {"sha256": said, "bytes": self.layout.size}
            except BaseException as e:             # kept: result() is asked again (commit, close)
                self._error = e
                self._stop()
            finally:
                os.close(self._result_r)
        if self._error is not None:
            raise self._error
        return self._digest


# How much a `background` Aside gives way (os.nice): weight 335 against a normal process's 1,024
# (Linux CFS), so it runs on a core nothing else wants and takes about a quarter of one that a
# process on the critical path wants too; not more, so that a host busy with other work still
# gives it a share.
BACKGROUND_NICE = 5


class Aside:
    """`make()` run in a forked process while this one goes on (a scored round's lists are
    derived there while this process lays results.json out); `result()` waits for its value,
    pickled back through a pipe, or raises here what it raised there. `cancel()` stops it."""

    def __init__(self, make: Callable[[], object], keep: tuple[int, ...] = (), background: bool = False):
        """`keep`: descriptors of this process `make` uses there (a file it writes).
        `background`: work nothing waits for until the end (results.csv, state.jsonl), run at
        a lower priority than the processes that make and hash results.json, whose chain is
        the one the command waits for: beside them on two cores, it took a third of the core
        they each needed and made the chain (and the command) that much longer."""
        r, w = os.pipe()
        try:
            self.pid = _fork((w, *keep), _aside, make, w, BACKGROUND_NICE if background else 0)
        except BaseException:
            os.close(r)
            raise
        finally:
            os.close(w)
        self._r: int | None = r
        self._outcome: tuple | None = None

    def result(self):
        if self._outcome is None:
            try:
                data = _read_all(self._r)
            finally:
                os.close(self._r)
                self._r = None
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(self.pid, 0)
            self._outcome = pickle.loads(data) if data else (
                False, EvaluationError("the process deriving the lists ended before it was done"))
        ok, value = self._outcome
        if not ok:
            raise value
        return value

    def cancel(self) -> None:
        if self._r is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            os.close(self._r)
            self._r = None
            self._outcome = (False, EvaluationError("cancelled"))


def _aside(make: Callable[[], object], w: int, nice: int = 0) -> None:
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)
    try:
        out = (True, make())
    except Exception as e:                     # raised again in the parent, as it was
        out = (False, e)
    try:
        data = pickle.dumps(out, pickle.HIGHEST_PROTOCOL)
    except Exception as e:                     # an exception that cannot travel: said in a sentence
        data = pickle.dumps((False, EvaluationError(f"{type(out[1]).__name__}: {out[1]}" if not out[0]
                                                    else f"a result that cannot be sent back: {e}")))
    write_all(w, data)


def _read_all(fd: int) -> bytes:
    parts = []
    while chunk := os.read(fd, 1 << 20):
        parts.append(chunk)
    return b"".join(parts)


def _fork(keep: tuple[int, ...], work: Callable, *args) -> int:
    """Run work(*args) in a forked process holding only the descriptors `keep` (none of the
    parent's other files, the output folder's lock among them, stays open in a process that
    outlives a killed parent); it exits without running anything of the parent's (no atexit,
    no buffers flushed twice). Returns its process id."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        gc.disable()
        low = 3
        for fd in sorted(set(keep)):
            if fd > low:
                os.closerange(low, fd)
            low = max(low, fd + 1)
        os.closerange(low, 1 << 20)
        work(*args)
        code = 0
    finally:
        os._exit(code)


def _writer(layout: Layout, out: int, task_r: int, done_w: int, tasks: list[tuple[int, int]]) -> None:
    """A forked writer: take tasks from the pipe until it is empty, compose and write their
    chunks, report each task done (or what went wrong) to the hasher."""
    try:
        buf = layout.buffer()
        while True:
            got = _read_exactly(task_r, 4)
            if not got:
                return
            t = array("i", got)[0]
            for c in range(*tasks[t]):
                write_at(out, [memoryview(layout.compose(c, buf))], layout.chunk_span(c)[0])
            os.write(done_w, _DONE.pack(t, 0, 0))
    except BaseException as e:
        _send_failure(done_w, e)
        raise


def _hasher(layout: Layout, out: int, done_r: int, result_w: int, tasks: list[tuple[int, int]]) -> None:
    """The forked hasher: SHA-256 of the file in order, each task's bytes read back (from the
    page cache) once its writer reports it done, their writeback started; the hex digest (or
    what went wrong, here or in a writer) to the parent."""
    try:
        h = hashlib.sha256()
        done = bytearray(len(tasks))
        nxt, hashed = 0, 0
        view = memoryview(bytearray(CHUNK))
        while nxt < len(tasks):
            task = _report(done_r, "a process writing results.json ended before it was done")[0]
            done[task] = 1
            while nxt < len(tasks) and done[nxt]:
                begin, end = hashed, layout.chunk_span(tasks[nxt][1] - 1)[1]
                while hashed < end:
                    n = os.preadv(out, [view[:min(CHUNK, end - hashed)]], hashed)
                    if n <= 0:
                        raise EvaluationError("results.json is shorter than laid out")
                    h.update(view[:n])
                    hashed += n
                start_writeback(out, begin, end - begin)
                nxt += 1
        digest = h.hexdigest().encode()
        write_all(result_w, _DONE.pack(0, 0, len(digest)) + digest)
    except BaseException as e:
        _send_failure(result_w, e)
        raise


def _send_failure(fd: int, e: BaseException) -> None:
    """What went wrong in a forked process, as one record (a write of at most PIPE_BUF bytes
    is never mixed with another process's): its errno, and a sentence."""
    if isinstance(e, OSError) and e.errno:
        said = str(e.strerror)
    elif isinstance(e, EvaluationError):
        said = str(e)
    else:
        said = f"a process writing results.json failed: {type(e).__name__}: {e}"
    data = said.encode("utf-8", "replace")[:2000]
    with contextlib.suppress(BaseException):
        os.write(fd, _DONE.pack(-1, getattr(e, "errno", None) or 0, len(data)) + data)


def _report(fd: int, ended: str) -> tuple[int, str]:
    """The next record from a forked process: (its number, what follows it); what it reported
    going wrong raised here (OSError with its errno, or EvaluationError), `ended` if none came."""
    record = _read_exactly(fd, _DONE.size)
    if not record:
        raise EvaluationError(ended)
    n, err, length = _DONE.unpack(record)
    said = _read_exactly(fd, length).decode("utf-8", "replace") if length else ""
    if n < 0:
        raise OSError(err, f"writing results.json: {said}") if err else EvaluationError(said)
    return n, said


def start_writeback(fd: int, at: int, n: int) -> None:
    """Have the kernel start writing bytes [at, at + n) of `fd` to disk now, without waiting.
    Left to itself it starts only 30 s later (vm.dirty_expire_centisecs) or past gigabytes of
    dirty memory, so the fsync before results.json is named wrote all of its 485 MB then, at
    the disk's pace (here ~260 MB/s: ~2 s with the workers idle). Started chunk by chunk, the
    disk writes while the rest of the file, results.csv and state.jsonl are made.
    POSIX_FADV_DONTNEED starts writeback of dirty pages (Linux: WB_SYNC_NONE) and drops only
    pages already clean; the fsync still makes sure of all of it."""
    if n > 0 and hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError):
            os.posix_fadvise(fd, at, n, os.POSIX_FADV_DONTNEED)


def _read_exactly(fd: int, n: int) -> bytes:
    """n bytes from a pipe, or b"" at its end."""
    data = b""
    while len(data) < n:
        got = os.read(fd, n - len(data))
        if not got:
            return b""
        data += got
    return data


