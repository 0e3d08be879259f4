"""A spill: bytes kept on disk until they are needed, read back by offset — the pieces of
evidence routed to partitions (intake.partition) and every organization's serialized result
until the round is written (scoring).

An anonymous temporary file (no name on disk on Linux), so a killed run leaves nothing
behind. Written with pwrite at offsets this object hands out, never through a shared file
position, so that processes forked from the one that made it can append themselves
(`share`): a partition's results (about 12 MB per 500 organizations) then never travel back
through a pipe to be written by the parent, which spent about 2 s of a 20,000-organization
round doing so while both workers wanted its core; a bulk file read in a helper process
leaves its routed pieces here the same way.
"""
from __future__ import annotations

import os
import tempfile

_IOV_MAX = min(os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024, 1024)   # buffers per pwritev
# Bytes per write, each within one aligned block of this size. The kernel sizes the page-cache
# folios a write fills by its length (up to 2 MB), and nearly all of an append's time is the
# kernel copying into them (perf: copy_folio_from_iter_atomic), which this host makes slow at
# times, more often for large folios: 455 MB appended a partition (12 MB) per pwritev took a
# median 0.64 s of system time over 10 runs (0.09-0.87), in writes of 64 KB 0.12 s (0.11-0.54);
# 32 KB the same, 128 KB and more slow again at times (python bench/bench_spill.py --kb 32 128).
_WRITE = 64 << 10


class Spill:
    """Append-only store of serialized results, read back by offset."""

    def __init__(self, directory=None):
        directory = str(directory or tempfile.gettempdir())
        try:
            fd = os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o600)
        except (AttributeError, OSError):        # no O_TMPFILE: a named file, unlinked at once
            fd, name = tempfile.mkstemp(prefix=".agrade-tmp-spill-", dir=directory)
            os.unlink(name)
        self._fd = fd
        self._end = 0
        self._shared = None                      # the end in shared memory while shared

    def add(self, head: bytes, tail: bytes) -> tuple[int, int, int]:
        at = self.add_blob(head + tail)
        return (at, len(head), len(tail))

    def add_blob(self, blob: bytes) -> int:
        """Append serialized results; the offset they start at."""
        return self.add_pieces([blob])

    def add_pieces(self, pieces: list[bytes]) -> int:
        """add_blob(b"".join(pieces)) without joining them first (a partition's results are
        about 12 MB: one copy and its page faults less); the offset they start at."""
        at = self._reserve(sum(map(len, pieces)))
        write_at(self._fd, [memoryview(p) for p in pieces], at)
        return at

    def _reserve(self, n: int) -> int:
        if self._shared is None:
            at = self._end
            self._end += n
            return at
        with self._shared.get_lock():
            at = self._shared.value
            self._shared.value = at + n
            return at

    def share(self, context) -> None:
        """From now on, processes forked (with multiprocessing `context`) from this one may
        append too: the end moves to shared memory, and each append reserves its own range."""
        self._shared = context.Value("q", self._end)

    def unshare(self) -> None:
        """Only this process appends again (the forked ones are done)."""
        if self._shared is not None:
            self._end, self._shared = self._shared.value, None

    def get(self, where: tuple[int, int, int]) -> tuple[bytes, bytes]:
        at, nh, nt = where
        data = self.read(at, nh + nt)
        return data[:nh], data[nh:]

    def read(self, at: int, n: int) -> bytes:
        return os.pread(self._fd, n, at)

    def fileno(self) -> int | None:
        """The spill file's descriptor, for readers that pread it in bulk (scoring.jsonlayout);
        they never move or close it. None once closed."""
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def write_at(fd: int, views: list[memoryview], pos: int) -> None:
    """`views` written one after the other into file `fd` from offset `pos`, in writes of at
    most _WRITE bytes that each stay within one aligned _WRITE block (why: see _WRITE); a write
    the system takes only part of goes on where it stopped. For any large file written anew
    (results.json too), not only a spill."""
    views = [v for v in views if len(v)]            # (an empty one would never count as written)
    i = 0
    while i < len(views):
        room = _WRITE - pos % _WRITE
        batch, j = [], i
        while j < len(views) and room and len(batch) < _IOV_MAX:
            v = views[j] if len(views[j]) <= room else views[j][:room]
            batch.append(v)
            room -= len(v)
            j += 1
        n = os.pwritev(fd, batch, pos)
        pos += n
        while n and n >= len(views[i]):                 # pieces wholly written
            n -= len(views[i])
            i += 1
        if n:                                           # one partly: its rest next time
            views[i] = views[i][n:]
