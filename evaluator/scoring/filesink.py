"""A file's bytes hashed, written and fsynced on a thread of their own, in the order given.

Writing a result set is making its bytes (Python: the main thread) and hashing, writing and
syncing them (hashlib and os.write/fsync, which release the GIL). At 20,000 organizations
results.json is 485 MB: SHA-256 and the copy into the page cache took about 1 s of the 1.3 s
spent writing it, after every worker had finished. Done here, on a second core, they overlap
the making of the next megabyte, and a file's fsync overlaps the making of the next file.
The bytes and their digest are the same whichever thread computes them.
"""
from __future__ import annotations

import hashlib
import os
import queue
import threading

CHUNK = 1 << 20                # bytes gathered before they are handed over
_IN_FLIGHT = 8                 # chunks handed over and not yet written: bounds the memory


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class FileSink:
    """`write(piece)` pieces of one file, then `close()`; `result()` waits until they are
    hashed, written and fsynced and gives {"sha256", "bytes"} (or raises what went wrong)."""

    def __init__(self, fd: int):
        self.fd = fd
        self._buf: list[bytes] = []
        self._held = 0
        self._queue: queue.Queue = queue.Queue(_IN_FLIGHT)
        self._error: BaseException | None = None
        self._digest: dict | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="agrade-file-sink", daemon=True)
        self._thread.start()

    def write(self, piece: bytes) -> None:
        self._buf.append(piece)
        self._held += len(piece)
        if self._held >= CHUNK:
            self._hand_over()

    def _hand_over(self) -> None:
        if self._error is not None:              # stop making bytes nobody will write
            raise self._error
        if self._buf:
            self._queue.put(b"".join(self._buf))
            self._buf.clear()
            self._held = 0

    def close(self) -> None:
        """No more pieces (the thread then syncs the file); a failure is raised by `result`."""
        if self._closed:
            return
        self._closed = True
        if self._error is None and self._buf:
            self._queue.put(b"".join(self._buf))
        self._buf.clear()
        self._queue.put(None)

    def result(self) -> dict:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digest

    def _run(self) -> None:
        h, size = hashlib.sha256(), 0
        while (chunk := self._queue.get()) is not None:
            if self._error is not None:
                continue                         # keep draining: the maker must never block
            try:
                h.update(chunk)
                write_all(self.fd, chunk)
                size += len(chunk)
            except BaseException as e:           # disk full...: raised in the maker's thread
                self._error = e
        if self._error is None:
            try:
                os.fsync(self.fd)
                self._digest = {"sha256": h.hexdigest(), "bytes": size}
            except BaseException as e:
                self._error = e
