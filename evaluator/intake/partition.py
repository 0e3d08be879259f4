"""Evidence routed to partitions of the registry, so a round of any size is read in pieces.

A partition is a run of consecutive organizations of the registry (`size` of them). Reading
the evidence files once, every value is routed to its organization's partition; a partition's
pieces are pickled to an anonymous temporary file once they pile up, so memory holds only what
is being read. Each partition is then replayed, on its own and in any process, into the
ordinary collector and resolved (`replay`): the same checks, the same messages, in the same
order as reading the round in one piece.

Bulk CSV files, most of a large round's evidence, are read by pyarrow's CSV reader and split
by partition column-wise; their rows are turned into values only when a partition is
replayed (in a worker). A CSV that pyarrow would read differently from Python's csv module
(empty lines, ragged rows, control characters, bad encoding) is read by the general reader,
whose messages are the reference.
"""
from __future__ import annotations

import bisect
import difflib
import functools
import hashlib
import mmap
import os
import pickle
import re
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import Issue
from ..model import Organization
from ..standard.yamlsafe import check_size, decode_text, find_control, gc_paused, read_limited
from .evidence import (RawEvidence, _Collector, digest_file, evidence_files, _read_csv, _read_file, csv_kind,
                       records_head, records_rows, streets_sheet, values_head, values_rows)
from .spill import Spill

DEFAULT_SIZE = 500            # organizations per partition: bounds the memory of resolving one
_FLUSH = 250_000              # entries held in memory, all partitions together, before spilling
_PICKLE = pickle.HIGHEST_PROTOCOL


def partition_starts(n: int, size: int, small_tail: bool = False) -> list[int]:
    """Where each partition of n organizations starts: runs of `size`; with `small_tail`, the
    last 2 × size organizations cut into quarter-size partitions instead. Workers take
    partitions in order as they finish them, so at the end of a round one worker scored the
    last partition while the others waited: half a partition on average, 0.25 s of a 500-
    organization partition's 0.5 s, with 2 workers about 2% of the round. Small partitions
    only at the end keep the per-partition costs of the rest."""
    size = max(1, size)
    if not small_tail or n <= 2 * size:
        return list(range(0, n, size))
    cut = n - 2 * size
    return list(range(0, cut, size)) + list(range(cut, n, max(1, size // 4)))


class Router:
    """A collector (the readers' interface: named, put, issues, notices, digest, files) that
    routes each entry to its organization's partition instead of keeping it."""

    def __init__(self, organizations: list[Organization], size: int = DEFAULT_SIZE, spill_dir=None,
                 small_tail: bool = False):
        self.ids = [o.id for o in organizations]
        self.organizations = organizations             # a street's evidence goes to its organizations
        self.index = {oid: i for i, oid in enumerate(self.ids)}
        self.size = max(1, size)
        self.starts = partition_starts(len(organizations), self.size, small_tail)
        self.count = len(self.starts)
        self.issues: list[Issue] = []
        self.notices: list[Issue] = []
        self.digest = hashlib.sha256()
        self.files: list[str] = []
        self.unknown: dict[str, RawEvidence] = {}       # organizations not in the registry: where named
        self._pieces: dict[int, list] = {}              # partition -> pieces in reading order
        self._open: dict[int, list] = {}                # partition -> the list entries are added to
        self._n_held = 0
        self._spill: Spill | None = None
        self._spill_dir = spill_dir
        self._ahead: dict = {}                          # file -> its pieces read ahead (ReadAhead.pending)
        self._last_org: str | None = None
        self._last_list: list | None = None

    # -------------------------------------------------------------- the collector interface

    def _entries_of(self, org_id: str) -> list | None:
        """The list an organization's entries go to (None: not in the registry). Rows of one
        organization usually follow each other: the last answer is kept."""
        if org_id == self._last_org:
            return self._last_list
        i = self.index.get(org_id)
        held = None
        if i is not None:
            k = self.of(i)
            held = self._open.get(k)
            if held is None:
                held = self._open[k] = []
                self._pieces.setdefault(k, []).append(("entries", held))
        self._last_org, self._last_list = org_id, held
        return held

    def named(self, org_id: str, file: str, where):
        # Where a known organization is named matters to nothing after reading (values carry
        # their own locations); an unknown one is reported there.
        if org_id in self.index:
            return None
        raw = self.unknown.get(org_id)
        if raw is None:
            raw = self.unknown[org_id] = RawEvidence(org_id)
            raw.where = where
        raw.files.add(file)
        return raw

    def put(self, org_id, fid, source, value, where, inspector=None, verified_on=None, append=False,
            verified_on_where=None, street=None):
        held = self._entries_of(org_id)
        if held is None:
            raw = self.unknown.setdefault(org_id, RawEvidence(org_id))
            raw.files.add(where.file)
            if raw.where is None:
                raw.where = where
            return
        held.append((org_id, fid, source, value, where, inspector, verified_on, append, verified_on_where)
                    + ((street,) if street else ()))
        self._n_held += 1
        if self._n_held >= _FLUSH:
            self._flush()

    def of(self, i: int) -> int:
        """The partition of the registry's i-th organization."""
        return bisect.bisect_right(self.starts, i) - 1

    def span(self, k: int) -> slice:
        """Partition k's organizations: registry[span]."""
        return slice(self.starts[k], self.starts[k + 1] if k + 1 < self.count else len(self.ids))

    # -------------------------------------------------------------- bulk CSV, column-wise

    def file_bytes(self, path: Path):
        """A file's bytes for evidence._read_file: a bulk file a helper process reads ahead
        (`_ahead`) mapped from the page cache rather than read, since this process only hashes
        it and takes the helper's pieces (reading the 106 MB of 20,000 organizations into
        memory cost 0.05 s more than hashing them in place, and as much memory)."""
        if str(path) in self._ahead:
            check_size(path)
            try:
                with open(path, "rb") as fh:
                    return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):               # (an empty file cannot be mapped)
                pass                                    # read, or refused, as any other file
        return read_limited(path)

    def read_csv(self, path: Path, data) -> None:
        ahead = self._ahead.pop(str(path), None)
        got = ahead.result() if ahead is not None else None
        if got is None:                                 # not read ahead, or left to this process
            data = data if isinstance(data, bytes) else bytes(data)   # (file_bytes mapped it)
            got = self._split(path, data, self._rows)
            if got is None:
                _read_csv(self, path, data)             # the general reader and its messages
                return
        for k, piece in got:
            self._open.pop(k, None)                     # later entries start a new piece
            self._pieces.setdefault(k, []).append(piece)
            if piece[0] != "spilled":
                self._n_held += len(piece[5])
        self._last_org = self._last_list = None
        if self._n_held >= _FLUSH:
            self._flush()

    def _split(self, path: Path, data: bytes, loose) -> list[tuple[int, tuple]] | None:
        """A bulk CSV's rows cut into one piece per partition, [(partition, piece)] in order, or
        None when the general reader must read it. Rows naming no known organization (blank or
        not in the registry) go to `loose(kind, head, name, table, numbers)` first."""
        parsed = parse_bulk(path, data)
        return None if parsed is None else cut_bulk(parsed, self.ids, self.starts, loose)

    def _rows(self, kind, head, name, table, numbers) -> None:
        rows = zip(*(c.to_pylist() for c in table.columns))
        reader = values_rows if kind == "values" else records_rows
        args = (head, zip(numbers.tolist(), rows), name) + ((None,) if kind == "records" else ())
        reader(self, *args, _cell_text=str.strip, full=True)     # Arrow rows: as in replay

    # -------------------------------------------------------------- pieces to and from disk

    def _spilled(self, piece: tuple) -> tuple:
        if self._spill is None:
            self._spill = Spill(self._spill_dir)
        return spilled(self._spill, piece)

    def _unspilled(self, where: tuple) -> tuple:
        """A spilled piece read back (a bulk piece's rows: the IPC stream's bytes, not copied)."""
        _, at, n, m = where
        data = self._spill.read(at, n)
        if not m:
            return pickle.loads(data)
        view = memoryview(data)
        kind, name, head, numbers = pickle.loads(view[:m])
        return ("csv", kind, name, head, view[m:], numbers)

    def _flush(self) -> None:
        for k, pieces in self._pieces.items():
            for i, piece in enumerate(pieces):
                if piece[0] != "spilled":
                    pieces[i] = self._spilled(piece)
        self._open.clear()
        self._n_held = 0
        self._last_org = self._last_list = None

    def partition(self, k: int) -> bytes:
        """Partition k's pieces, as one pickled list (what a worker elsewhere replays)."""
        out = []
        for piece in self._pieces.get(k, []):
            if piece[0] == "spilled" and not piece[3]:
                out.append(self._spill.read(piece[1], piece[2]))      # pickled already
                continue
            if piece[0] == "spilled":
                piece = self._unspilled(piece)
            if piece[0] == "csv":                                       # its rows as IPC bytes
                rows = piece[4]
                piece = piece[:4] + (bytes(rows if isinstance(rows, memoryview) else _ipc(rows)), piece[5])
            out.append(pickle.dumps(piece, protocol=_PICKLE))
        return pickle.dumps(out, protocol=_PICKLE)

    def pieces(self, k: int) -> Iterator[tuple]:
        """Partition k's pieces themselves, in reading order: what `partition` would send, for
        a partition replayed in this process or in one forked from it once reading was done
        (it shares this router's memory and spill file), without pickling it to bytes and back."""
        for piece in self._pieces.get(k, []):
            yield self._unspilled(piece) if piece[0] == "spilled" else piece

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        self._pieces.clear()
        self._open.clear()


def parse_bulk(path: Path, data: bytes) -> tuple | None:
    """A bulk CSV read as a table, before anything is known of the registry: (kind, name,
    head, body: its rows after the header), or None when the general reader must read it (its
    messages are the reference). A refused header raises InputError."""
    kind = csv_kind(path)
    name = str(path)
    start = len(_BOM) if data.startswith(_BOM) else 0
    # the text only where the bytes cannot say what it would (a C1 control character, a line
    # that may be blank): decoding 106 MB at 20,000 organizations cost 0.15 s. Not UTF-8:
    # refused here, at line and column, or by the general reader when pyarrow finds it
    # (its check and Python's refuse the same bytes: tests/intake/test_partition_fast_checks.py)
    text = decode_text(data, name) if b"\xc2" in data or not plain_lines(data, start) else None
    table = None if has_control(data, text) else _arrow_rows(data, text, start)
    if table is None:
        return None
    header = [str(v) for v in table.slice(0, 1).to_pylist()[0].values()]
    if streets_sheet(header):                       # a street's evidence: the general reader expands it
        return None
    head = values_head(header, name) if kind == "values" else records_head(header, name, None)
    return kind, name, head, table.slice(1)


def cut_bulk(parsed: tuple, ids: list[str], starts: list[int], loose) -> list[tuple[int, tuple]]:
    """parse_bulk's rows cut by partition (the registry's `ids`, partitions beginning at
    `starts`): [(partition, piece)] in partition order. Rows naming no known organization go
    to `loose(kind, head, name, table, numbers)` first."""
    kind, name, head, body = parsed
    if body.num_rows == 0:                          # a header alone: no evidence (was an IndexError)
        return []
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    registry = pa.array(ids, pa.string())
    # each row's organization as the row readers read it (stripped), found in the registry:
    # a cell spelled exactly as a registry id (which is stripped) is that id, so only a file
    # with another cell (padded, or naming no known organization) is trimmed, all of it
    # (trimming a million cells that all matched as they were cost 0.02 s per file)
    pos = pc.index_in(body.column(head["organization"]), value_set=registry)
    if pos.null_count or not _stripped(ids):
        pos = pc.index_in(pc.utf8_trim_whitespace(body.column(head["organization"])), value_set=registry)
    pos = pos.to_numpy(zero_copy_only=False)
    numbers = np.arange(2, body.num_rows + 2)
    # each registry position's partition found once, then looked up per row: searching the
    # partition starts for each of a file's million rows cost 0.02 s
    part_of = np.searchsorted(np.asarray(starts), np.arange(len(ids)), side="right") - 1
    if pos.dtype.kind == "f":                       # NaN: a row naming no known organization
        known = ~np.isnan(pos)
        part = np.where(known, part_of[np.nan_to_num(pos).astype(np.intp)], -1).astype(np.int64)
    else:
        known = np.ones(len(pos), bool)
        part = part_of[pos].astype(np.int64)
    loose_rows = np.flatnonzero(~known)
    if len(loose_rows):
        loose(kind, head, name, body.take(pa.array(loose_rows)), numbers[loose_rows])
    # (a file in registry order, as files usually are, is in partition order already: no sort)
    in_order = bool((part[1:] >= part[:-1]).all())
    order = np.arange(len(part)) if in_order else np.argsort(part, kind="stable")
    sorted_part = part if in_order else part[order]
    cuts = np.flatnonzero(np.r_[True, sorted_part[1:] != sorted_part[:-1]])
    ends = np.r_[cuts[1:], len(order)]
    # The rows in partition order, then each partition's run of them cut off: one take of
    # the whole table (none when the file is in registry order already, as files usually
    # are) instead of one per partition, which cost 4x more. A piece holds its rows as a
    # slice of that table until it is spilled or pickled (`spilled`, `Router.partition`),
    # then as an Arrow IPC stream of its own rows: a slice pickled would carry the whole table.
    if not in_order and not np.array_equal(order, np.arange(len(order))):
        body, numbers = body.take(pa.array(order)), numbers[order]
    return [(int(sorted_part[s]), ("csv", kind, name, head, body.slice(s, e - s), numbers[s:e].copy()))
            for s, e in zip(cuts, ends) if sorted_part[s] >= 0]


def _stripped(ids: list[str]) -> bool:
    """Whether every registry id is its own str.strip() (the registry reader strips them)."""
    return all(map(str.__eq__, ids, map(str.strip, ids)))


def spilled(spill: Spill, piece: tuple) -> tuple:
    """A piece written to `spill`: ("spilled", offset, length, length of the pickled part
    before a bulk piece's rows; 0: all of it is pickled)."""
    if piece[0] == "csv":
        # the rows' IPC stream written as it is, after the rest pickled: pickling the
        # stream too copied it twice more (0.1 s for the 106 MB of a 20,000-organization round)
        head = pickle.dumps(piece[1:4] + (piece[5],), protocol=_PICKLE)
        rows = memoryview(_ipc(piece[4]))
        return ("spilled", spill.add_pieces([head, rows]), len(head) + len(rows), len(head))
    data = pickle.dumps(piece, protocol=_PICKLE)
    return ("spilled", spill.add_blob(data), len(data), 0)


@functools.cache
def arrow():
    """pyarrow, set up once per process: jemalloc as its memory pool. Its default, mimalloc,
    made a process's first large read 45% slower (splitting a 70 MB records.csv: 0.82 s
    against 0.56 s) and every read in a process forked from one that had used it 35% slower
    (helpers and workers); jemalloc measured the same as mimalloc's best, cold or forked."""
    import pyarrow as pa
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:         # a pyarrow built without it keeps its default
        pass
    return pa


def _ipc(table):
    """A table as an Arrow IPC stream (only its own rows, also of a slice), in a pyarrow Buffer."""
    import pyarrow as pa
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue()


def arrow_table(data):
    """A piece's rows as a table: a table (a slice) as routed, or an Arrow IPC stream's bytes
    (bytes, or a memoryview of what was read back from the spill) read without copying them."""
    import pyarrow as pa
    if isinstance(data, pa.Table):
        return data
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


_OTHER_BREAKS = ("\r", "\u2028", "\u2029")   # line breaks of str.splitlines but \n and control characters
_BLANK_FIRST = re.compile(r"[^\S\n]*(?:\n|\Z)")   # (match) the first line is blank
_BLANK_LATER = re.compile(r"\n(?:[^\S\n]*\n|[^\S\n]+\Z)")   # (search) a later one is


def first_line(text: str) -> str | None:
    """For text without control characters (find_control): its first line, or None when it
    has no lines or a blank one (nothing but whitespace) — what str.splitlines and str.strip
    say. When \n is its only line break, as in nearly every file, two regular expressions
    say it without making a str per line (a million lines: 0.19 s against 0.09 s)."""
    if any(b in text for b in _OTHER_BREAKS):
        lines = text.splitlines()
        return None if not lines or "" in map(str.strip, lines) else lines[0]
    if _BLANK_FIRST.match(text) or _BLANK_LATER.search(text):
        return None
    end = text.find("\n")
    return text if end < 0 else text[:end]


# every byte but the C0 control characters other than tab, line feed and carriage return
_NOT_C0 = bytes(range(32, 127)) + bytes(range(128, 256)) + b"\t\n\r"


def has_control(data: bytes, text: str | None) -> bool:
    """find_control(text) is not None, for `text` decoded from the UTF-8 `data`, four times as
    fast on a large file: C0 and DEL bytes are what bytes.translate does not delete, and a C1
    character (U+0080-U+009F) is encoded with a 0xC2 lead byte; only a file with one (é, ·, °
    are too) is searched character by character (`text` may be None for any other)."""
    return bool(data.translate(None, _NOT_C0)) or (b"\xc2" in data and find_control(text) is not None)


_BOM = b"\xef\xbb\xbf"
# a line feed and a byte that may begin a blank line after it: a line feed, a carriage return,
# ASCII whitespace, a lead byte of non-ASCII whitespace (U+00A0 0xC2, U+1680 0xE1, U+2000-U+205F
# 0xE2, U+3000 0xE3; the control characters among str.isspace's are refused before)
_BLANK_LEADS = b"\n\r \t\xc2\xe1\xe2\xe3"
_MAY_BE_BLANK = re.compile(b"\n[" + re.escape(_BLANK_LEADS) + b"]")
# U+2028 and U+2029 break lines too (0xE2 0x80 0xA8/0xA9)
_LINE_SEPARATOR = re.compile(b"\xe2\x80[\xa8\xa9]")


def plain_lines(data: bytes, start: int = 0) -> bool:
    """For UTF-8 `data` (from `start`, past a BOM) without control characters: whether its
    lines are what splitting at \n (a \r\n's \r dropped) gives, none after the first blank —
    so first_line of its text is its first line unless that one is blank (first_line_utf8).
    Told from the bytes after each line feed without decoding them; False says: ask the text.
    Two regular expressions scan the bytes once each (their literal prefixes are searched in C)
    with no array per byte: the 70 MB records.csv of 20,000 organizations in 0.08 s, where
    numpy masks and the line feeds' positions took 0.10-0.2 s and 80 MB of temporary arrays."""
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return False
    return (_MAY_BE_BLANK.search(data, start, len(data)) is None
            and _LINE_SEPARATOR.search(data) is None)


def first_line_utf8(data: bytes, start: int = 0) -> str | None:
    """first_line of the text of UTF-8 `data` (from `start`) when plain_lines(data, start):
    only the first line is decoded. None also when that line is not UTF-8 (the general reader
    says where)."""
    end = data.find(b"\n", start)
    line = data[start:end if end >= 0 else len(data)]
    try:
        first = line.decode("utf-8").removesuffix("\r")
    except UnicodeDecodeError:
        return None
    return first if first.strip() else None


def _arrow_rows(data: bytes, text: str | None, start: int):
    """The CSV as a table of strings (the header as its first row), or None when pyarrow might
    read it differently from Python's csv module, which then reads it. `text` is the decoded
    `data`, or None when plain_lines(data, start) says the bytes suffice."""
    first = first_line(text) if text is not None else first_line_utf8(data, start)
    if first is None:                                    # empty lines: the csv module's business
        return None
    import csv
    import io
    import pyarrow as pa
    import pyarrow.csv as pcsv
    try:
        width = len(next(csv.reader(io.StringIO(first))))
        names = [f"c{i}" for i in range(width)]
        return pcsv.read_csv(
            pa.BufferReader(memoryview(data)[start:]),     # (a slice of bytes would copy them)
            read_options=pcsv.ReadOptions(column_names=names, use_threads=False),
            # a line break inside a value needs quotes around it: without any quote character
            # in the file, pyarrow may cut rows at every line break, twice as fast
            parse_options=pcsv.ParseOptions(newlines_in_values=b'"' in data),
            convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, csv.Error, StopIteration):
        return None


def route(paths: Iterable[Path], organizations: list[Organization], size: int = DEFAULT_SIZE,
          spill_dir=None, helpers: int = 0, standards=None, small_tail: bool = False) -> Router:
    """Read every evidence file under `paths` into partitions (`small_tail`: see
    partition_starts). File-level problems are in `router.issues`, evidence naming unknown
    organizations in `router.unknown`. With `helpers`, that many processes read bulk CSV
    files ahead (ReadAhead; taken over when `read_ahead` started them for these files)."""
    arrow()
    r = Router(organizations, size, spill_dir, small_tail)
    r.standards = standards          # org type -> Standard: reads workbooks' Chinese headers (intake.workbook)
    files = evidence_files(paths, r.issues)
    ahead = _started_for(files) if helpers > 0 else None
    stop_read_ahead()                # helpers started for other files
    if ahead is None and helpers > 0:
        ahead = ReadAhead.start(files, helpers, spill_dir)
    if ahead is not None:
        r._spill, r._ahead = ahead.spill, dict(ahead.pending)
        ahead.route_by(r.ids, r.starts)
        hashed = ahead.evidence_digest()
        if hashed is not None:       # the files' digest is known: reading them adds nothing to it
            r.digest = _Hashed(hashed)
    try:
        for f in files:
            with gc_paused():            # bulk building of acyclic data (see gc_paused)
                _read_file(r, f)
    finally:
        if ahead is not None:
            ahead.close()
            r._ahead.clear()
    return r


class _Hashed:
    """A router's digest when the digest of its files was computed ahead
    (ReadAhead.evidence_digest): what reading them would add to it is left out."""

    def __init__(self, hexdigest: str):
        self._hex = hexdigest

    def update(self, data) -> None:
        pass

    def hexdigest(self) -> str:
        return self._hex


_AHEAD_MIN = 1 << 20                     # bytes: a smaller file is read faster than a fork
_EARLY: list = [None]                    # the ReadAhead `read_ahead` started, until route takes it


def local_cores(workers: int | None) -> int:
    """How many local processes `--workers` asks for: that many, or one per core (None)."""
    return (os.cpu_count() or 1) if workers is None else workers


def read_ahead_helpers(workers: int | None, cluster: str | None) -> int:
    """How many helper processes read bulk files ahead for a round scored by `workers` local
    worker processes (None: one per core) or on a cluster: one per core the workers will use;
    none on one core or for a cluster."""
    cores = local_cores(workers)
    return 0 if cluster or cores < 2 else cores


def read_ahead(paths: Iterable[Path], helpers: int, spill_dir=None) -> None:
    """Start reading the bulk evidence files under `paths` in `helpers` processes now, before
    the registry is known, for the next `route` of the same files to take over. The CLI calls
    it before it loads the round (imports, standards, registry: 0.5-1 s at 20,000
    organizations, on one core while the other waited): the helpers parse the files on the
    idle core meanwhile and only cut them by partition once route sends the registry. Does
    nothing without helpers; stop_read_ahead lets them go when the round is not routed."""
    stop_read_ahead()
    if helpers > 0:
        issues: list[Issue] = []
        _EARLY[0] = ReadAhead.start(evidence_files(paths, issues), helpers, spill_dir, digest=True)


def stop_read_ahead() -> None:
    """Let go of helpers `read_ahead` started that no route took (the round was refused)."""
    early, _EARLY[0] = _EARLY[0], None
    if early is not None:
        early.close()
        early.spill.close()          # (a route that takes the helpers takes their spill)


def _started_for(files: list[Path]) -> "ReadAhead | None":
    early = _EARLY[0]
    if early is not None and early.files == [str(f) for f in files]:
        _EARLY[0] = None
        return early
    return None


class ReadAhead:
    """Bulk CSV files, most of a large round's evidence (106 MB at 20,000 organizations: 2.4 s
    of reading while every worker waited), parsed and split by partition in helper processes
    forked from this one, side by side, while this one reads the other files (or, started by
    `read_ahead`, loads the round). Each helper parses its files (parse_bulk) at once, and cuts
    each by partition (cut_bulk) once the registry comes (`route_by`); it leaves the pieces in
    the shared spill and sends back only where they are. The router takes them when it comes
    to the file in reading order (`Router.read_csv`), so the pieces, and all that follows, are
    the same. A file a helper cannot settle alone (the general reader's business, rows of
    unknown organizations, a refused header, any error) is read by the router again, as
    without helpers."""

    def __init__(self, files: list[Path], spill: Spill):
        self.files = [str(f) for f in files]
        self.spill = spill
        self.pending: dict[str, _Pending] = {}      # file -> its pieces, when its helper sends them
        self._helpers: list[_Helper] = []
        self._routed = False
        self._digest: _Helper | None = None         # the process hashing the files, if any

    @classmethod
    def start(cls, files: list[Path], helpers: int, spill_dir=None, digest: bool = False) -> "ReadAhead | None":
        """Helpers forked for the bulk files among `files`; None when there are none. With
        `digest`, one more process computes the files' evidence digest (`evidence_digest`)."""
        big = [f for f in files if f.suffix.lower() == ".csv" and _size(f) >= _AHEAD_MIN]
        if not big or helpers < 1:
            return None
        import importlib
        import multiprocessing as mp
        ctx = mp.get_context("fork")
        hashing = None
        if digest:                      # forked first, before pyarrow: see _digest_helper
            conn, theirs = ctx.Pipe()
            proc = ctx.Process(target=_digest_helper, args=(files, theirs), daemon=True)
            proc.start()
            theirs.close()
            hashing = _Helper(proc, conn)
        arrow()
        for module in ("pyarrow.compute", "pyarrow.csv"):     # imported once here, not in every helper
            importlib.import_module(module)
        self = cls(files, Spill(spill_dir))
        self._digest = hashing
        self.spill.share(ctx)
        for share in _shares(big, helpers):
            conn, theirs = ctx.Pipe()
            proc = ctx.Process(target=_helper, args=(share, theirs, self.spill, os.getpid()), daemon=True)
            proc.start()
            theirs.close()              # a helper that dies leaves this end at end of file
            helper = _Helper(proc, conn)
            self._helpers.append(helper)
            self.pending.update((str(f), _Pending(helper, str(f))) for f in share)
        return self

    def route_by(self, ids: list[str], starts: list[int]) -> None:
        """The registry the helpers cut their files by. Left in the spill, and only where it
        is sent: the registry itself (300 KB at 20,000 organizations) would fill the pipe, and
        this process would wait until a helper busy parsing read it (0.45 s)."""
        self._routed = True
        blob = pickle.dumps((ids, starts), protocol=_PICKLE)
        where = (self.spill.add_blob(blob), len(blob))
        for h in self._helpers:
            h.send(where)

    def evidence_digest(self) -> str | None:
        """The files' evidence digest (hex) when a process computed it and is done by now
        (intake.evidence.digest_file of each file, in order: what reading them gives), else
        None: route hashes them as it reads them, as without it, never waiting for it."""
        h, self._digest = self._digest, None
        if h is None:
            return None
        got = h.result("digest") if h.conn.poll(0) else None
        h.close(finished=got is not None)
        return got

    def close(self) -> None:
        """The helpers gone (stopped when they were not routed or not all taken), the spill
        appended to by this process alone again."""
        if self._digest is not None:
            self._digest.close(finished=False)
            self._digest = None
        for h in self._helpers:
            h.close(finished=self._routed and all(p.taken for p in self.pending.values() if p.helper is h))
        self._helpers = []
        self.spill.unshare()


def _shares(files: list[Path], helpers: int) -> list[list[Path]]:
    """The files dealt to at most `helpers` helpers, largest first to the least loaded, each
    share in reading order."""
    shares: list[list[Path]] = [[] for _ in range(min(helpers, len(files)))]
    load = [0] * len(shares)
    for f in sorted(files, key=_size, reverse=True):
        i = load.index(min(load))
        shares[i].append(f)
        load[i] += _size(f)
    order = {str(f): n for n, f in enumerate(files)}
    return [sorted(s, key=lambda f: order[str(f)]) for s in shares]


class _Helper:
    """A helper process and this end of its pipe; what it sent, by file (or "digest"), until taken."""

    def __init__(self, proc, conn):
        self.proc, self.conn = proc, conn
        self.sent: dict[str, list | None] = {}

    def send(self, message) -> None:
        try:
            self.conn.send(message)
        except OSError:                 # it died: its files are read in order
            pass

    def result(self, name: str) -> list | None:
        while name not in self.sent:
            try:
                file, pieces = self.conn.recv()
            except (EOFError, OSError):  # it died: its files are read in order
                return None
            self.sent[file] = pieces
        return self.sent.pop(name)

    def close(self, finished: bool) -> None:
        if not finished:                # waiting for a registry that will not come, or unread
            self.proc.terminate()
        self.proc.join()
        self.conn.close()


class _Pending:
    """One file's pieces from its helper: `result()` waits for them (None: read it here)."""

    def __init__(self, helper: _Helper, name: str):
        self.helper, self.name = helper, name
        self.taken, self._pieces = False, None

    def result(self) -> list | None:
        if not self.taken:
            self._pieces, self.taken = self.helper.result(self.name), True
        return self._pieces


def _size(f: Path) -> int:
    try:
        return f.stat().st_size
    except OSError:
        return 0


class _Unsettled(Exception):
    """Rows of organizations not in the registry: the process reading in order reads them."""


def _digest_helper(files: list[Path], conn) -> None:
    """In a process forked before this one imports pyarrow (0.1 s, while the other core waited
    for the helpers it then forks): the evidence digest of `files` sent as ("digest", hex), or
    ("digest", None) when one cannot be read (route hashes them as it reads them, and says
    why). At 20,000 organizations hashing the 106 MB took route 0.14 s of a core that the
    helpers wanted, 0.04 s of it after waiting for them (values.csv hashed once records.csv's
    pieces came). Hashing beside the imports slows them too (0.05-0.08 s: this host's two cores
    slow each other), less than it takes off route. A process, not a thread: a thread would
    have had to finish before the helpers are forked (a fork while another thread runs is
    unsafe), and the helpers started later. The files are mapped, not read, as route maps
    them (file_bytes)."""
    h = hashlib.sha256()
    try:
        for f in files:
            with open(f, "rb") as fh:
                try:
                    data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
                except ValueError:      # (an empty file cannot be mapped)
                    data = fh.read()
                digest_file(h, f, data)
        got = h.hexdigest()
    except OSError:
        got = None
    conn.send(("digest", got))


def _helper(files: list[Path], conn, spill: Spill, parent: int) -> None:
    """In a helper process: each file parsed, then, once the registry has come, cut by
    partition, its pieces spilled and (file, where they are) sent; (file, None) leaves a file
    to the parent. At most one parsed file waits for the registry."""
    def loose(*_):
        raise _Unsettled
    registry = None
    for f in files:
        try:
            parsed = parse_bulk(f, read_limited(f))
        except Exception:                # a refusal, anything: said again in order
            parsed = None
        if registry is None:
            registry = _registry(conn, spill, parent)
            if registry is None:         # the round was not routed: nothing to send
                return
        try:
            got = None if parsed is None else [(k, spilled(spill, piece)) for k, piece in cut_bulk(parsed, *registry, loose)]
        except Exception:                # _Unsettled, anything: said again in order
            got = None
        parsed = None
        conn.send((str(f), got))


def _registry(conn, spill: Spill, parent: int):
    """The registry (ids, starts) the parent left in the spill, or None: the parent is gone."""
    while not conn.poll(0.5):
        if os.getppid() != parent:
            return None
    try:
        return pickle.loads(spill.read(*conn.recv()))
    except EOFError:
        return None


def unknown_issues(router: Router, organizations: list[Organization]) -> list[Issue]:
    """Evidence for organizations not in the registry, at the first place each is named."""
    ids = [o.id for o in organizations]
    issues = []
    for n, u in enumerate(sorted(router.unknown)):
        raw = router.unknown[u]
        w = raw.where or Issue(sorted(raw.files)[0] if raw.files else "evidence", 0, 0, "$.organization")
        hint = difflib.get_close_matches(u, ids, 1) if n < 20 else []      # a hint costs a registry scan
        issues.append(Issue(w.file, w.line, w.col, w.path, f"evidence for organization '{u}', which is not in the registry"
                            + (f"; did you mean '{hint[0]}'?" if hint else "")))
    return issues


def replay(data: bytes) -> tuple[dict[str, RawEvidence], list[Issue]]:
    """A partition's pieces (`Router.partition`'s bytes) back into the ordinary collector, in
    reading order: its raw evidence by organization and the problems found putting it
    together (duplicate values)."""
    return replay_pieces(unpickled(data))


def unpickled(data: bytes) -> Iterator[tuple]:
    """A partition's pieces from `Router.partition`'s bytes, one at a time."""
    return (pickle.loads(blob) for blob in pickle.loads(data))


def replay_pieces(pieces: Iterable[tuple]) -> tuple[dict[str, RawEvidence], list[Issue]]:
    """`replay` of the pieces themselves (`Router.pieces`)."""
    arrow()
    c = _Collector()
    with gc_paused():
        for piece in pieces:
            if piece[0] == "entries":
                put = c.put
                for entry in piece[1]:
                    put(*entry)
            else:
                _, kind, name, head, table, numbers = piece
                rows = zip(*(col.to_pylist() for col in arrow_table(table).columns))
                # an Arrow table's cells are all text (never null) and its rows full: each cell's
                # text is its str.strip(), called directly
                if kind == "values":
                    values_rows(c, head, zip(numbers.tolist(), rows), name, None, str.strip, full=True)
                else:
                    records_rows(c, head, zip(numbers.tolist(), rows), name, None, None, str.strip, full=True)
    return c.by_org, c.issues


def partitions(router: Router) -> Iterator[tuple[int, bytes]]:
    for k in range(router.count):
        yield k, router.partition(k)
