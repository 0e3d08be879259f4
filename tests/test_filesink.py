"""The file sink hashes, writes and syncs on its own thread: the same bytes and digest as doing
it in line, and a failure there reaches the code making the bytes instead of hanging it."""
import hashlib
import os

import pytest

from evaluator.scoring import filesink
from evaluator.scoring.filesink import FileSink


def test_bytes_and_digest_are_those_given_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(filesink, "CHUNK", 1000)             # many hand-overs
    pieces = [os.urandom(n) for n in (0, 1, 999, 1000, 1001, 5000, 3)] * 50
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    try:
        sink = FileSink(fd)
        for p in pieces:
            sink.write(p)
        sink.close()
        whole = b"".join(pieces)
        assert sink.result() == {"sha256": hashlib.sha256(whole).hexdigest(), "bytes": len(whole)}
    finally:
        os.close(fd)
    assert (tmp_path / "f").read_bytes() == whole


def test_a_write_that_fails_is_raised_to_the_maker(tmp_path, monkeypatch):
    monkeypatch.setattr(filesink, "CHUNK", 10)
    fd = os.open(tmp_path / "f", os.O_RDONLY | os.O_CREAT)    # not writable: os.write fails
    try:
        sink = FileSink(fd)
        with pytest.raises(OSError):
            for _ in range(10_000):                           # more than the queue holds
                sink.write(b"x" * 10)
            sink.close()
            sink.result()
        sink.close()
        with pytest.raises(OSError):
            sink.result()
    finally:
        os.close(fd)
