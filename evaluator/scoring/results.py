"""Write and read result sets: results.json (byte-identical for the same inputs), results.csv
and run.json, replaced together or not at all.

Writing (`write_result_set`): each file's bytes go to an anonymous O_TMPFILE inode in the output
folder (Linux; elsewhere a hidden named temp file), are fsynced, and only then get a name:
linked to a hidden temp name and renamed over the final one, in the order results.json,
results.csv, run.json. run.json comes last and records the SHA-256 digest and byte size of
the other two, so a run killed between two renames leaves a set whose run.json does not
describe its results: every reader checks the digests (`read_results_bytes`) and refuses
such a set. A folder without a run.json gets a placeholder run.json (no digests, so
"incomplete") before the first rename. Writers hold an exclusive lock on the folder; at the
start they remove hidden temp names a killed run left behind (only the instant between link
and rename can leave one). Readers take a shared lock, so they never see a set half-replaced
by a live writer. results.json of a scored round is written into its inode in place
(scoring.jsonlayout): by forked processes side by side with several workers, while two more
make results.csv and state.jsonl at a lower priority; it is named, as the others, only once
all of it is written, hashed and fsynced.

A results.json without a run.json beside it (copied on its own) is read as it is, with
nothing to check it against; a folder that holds results.csv but no run.json is incomplete.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import secrets
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator

try:
    import fcntl
except ImportError:          # not on Linux: no locking, the digests still catch mixed sets
    fcntl = None

from ..errors import InputError, Issue
from ..model import Record
from ..terms import RANK_ZH, STATUS_ZH, UNCOUNTED
from .filesink import FileSink, write_all

RESULT_FILES = ("results.json", "results.csv")   # what run.json's digests cover, in write order
RUN_FILE = "run.json"
STATE_FILE = "state.jsonl"                       # optional: the round's compact rows, for rescoring
TMP_PREFIX = ".agrade-tmp-"                      # hidden temp names; stale ones are removed
_LEGACY_TMP_DIR = re.compile(r"\.agrade-[a-z0-9_]{8}")   # temp folders of agrade <= 0.1.0


def tier_names_of(results: dict) -> dict[str, str]:
    """Tier id -> name over a results payload's standards block (an id two standards name
    differently reads as both: A档／五星级党组织): how a written round names its tiers, without
    depending on which standards this process happens to have compiled."""
    out: dict[str, list[str]] = {}
    for s in (results.get("standards") or {}).values():
        for t in (s or {}).get("tiers") or []:
            if isinstance(t, dict) and t.get("id") is not None:
                name = str(t.get("name") or t["id"])
                if name not in out.setdefault(str(t["id"]), []):
                    out[str(t["id"])].append(name)
    return {tid: "／".join(v) for tid, v in out.items()}


def to_jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    if isinstance(obj, Decimal):
        return _decimal(obj)
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    if hasattr(obj, "date") and hasattr(obj, "title"):          # a normalize.Record
        return Record.as_json(obj)
    raise TypeError(f"cannot serialize {type(obj).__name__}")


def _decimal(obj: Decimal) -> int | float:
    """Integral values as ints; others as the shortest float that round-trips the decimal:
    exact for totals, scores and evidence (a few decimal places); a proportional ratio's
    points, kept to 28 digits until the total's rounding, are shown to 17 significant digits."""
    return int(obj) if obj == obj.to_integral_value() else float(obj)


def dumps(payload: dict) -> str:
    return json.dumps(to_jsonable(payload), ensure_ascii=False, indent=1) + "\n"


# ------------------------------------------------------------------ spreadsheets

# A cell starting with one of these is run as a formula by Excel, WPS or LibreOffice (the
# full-width forms too: spreadsheet input methods fold them), and a leading tab or CR can hide
# one. Organizations type these cells, so such text gets a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20", "\t", "\r")


def neutralize(value: Any) -> Any:
    """Text a spreadsheet would run as a formula, prefixed with an apostrophe so it stays text.
    Only text is touched: a number (a negative total is data) is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


CSV_COLUMNS = [("rank", "排名"), ("id", "组织编号"), ("name", "组织名称"), ("type_name", "领域"), ("district", "区县"),
               ("street", "街道"), ("standard", "标准"), ("status", "状态"), ("total", "总分"), ("base", "基础得分"),
               ("bonus", "加分"), ("tier", "档次"), ("tier_name", "档次名称"), ("rank_district", RANK_ZH["district"]),
               ("rank_street", RANK_ZH["street"]), ("rank_type", RANK_ZH["type"]), ("vetoes", "一票否决"), ("findings", "核查发现"), ("lost", "失分指标数")]


def csv_lines(rows, batch: int = 1000) -> Iterator[bytes]:
    """results.csv, `batch` lines at a time, from rows (evaluator.scoring.rows.Row) in rank
    order: UTF-8 with a BOM (Excel opens the Chinese correctly), typed text neutralized. The
    csv module writes a batch of rows at once (one call and one encoding per batch, not per
    line: 0.3 s of a 20,000-organization round, after scoring, before)."""
    from ..terms import ORG_TYPES
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")

    def lines(cells_of_rows) -> bytes:
        buf.seek(0)
        buf.truncate()
        w.writerows(cells_of_rows)
        return buf.getvalue().encode("utf-8")
    yield "\ufeff".encode("utf-8") + lines([[zh for _, zh in CSV_COLUMNS]])
    out = []
    for r in rows:
        # in CSV_COLUMNS order (_CSV_ORDER). Ranks and counts (int or None) and the status (our
        # own words) as they are: the csv module writes None as "" and an int as _cell would
        # (seven calls a row fewer: 0.04 s of 0.16 at 20,000 organizations)
        out.append([
            r.rank_round, _cell(r.id), _cell(r.name), _cell(ORG_TYPES.get(r.type, r.type)), _cell(r.district),
            _cell(r.street), _cell(r.standard), STATUS_ZH[r.status], _cell(r.total), _cell(r.base), _cell(r.bonus),
            _cell(r.tier), _cell(r.tier_name), r.rank_district, r.rank_street, r.rank_type, _cell(r.vetoes), r.findings,
            r.lost])
        if len(out) >= batch:
            yield lines(out)
            out.clear()
    if out:
        yield lines(out)


_CSV_ORDER = ("rank", "id", "name", "type_name", "district", "street", "standard", "status", "total", "base",
              "bonus", "tier", "tier_name", "rank_district", "rank_street", "rank_type", "vetoes", "findings", "lost")
assert tuple(k for k, _ in CSV_COLUMNS) == _CSV_ORDER, "csv_lines writes the cells in this order"


def _cell(v: Any) -> Any:
    """A CSV cell: "" for None, text neutralized, numbers as results.json writes them."""
    t = type(v)
    if t is str:
        return "'" + v if v.startswith(FORMULA_START) else v
    if v is None:
        return ""
    if t is int:
        return v
    if t is Decimal:                       # (totals: to_jsonable's five type tests first)
        return _decimal(v)
    return neutralize(to_jsonable(v))


def results_csv(payload: dict) -> str:
    """results.csv of a results payload (results.json as read back)."""
    from .lists import _row_of
    rows = []
    for o in payload["organizations"]:
        r = _row_of(o)
        r.vetoes = "；".join(v["criterion"] for v in o["vetoes"])
        r.findings = len(o["findings"])
        r.lost = sum(1 for c in o["criteria"] if c["points"] < c["max_points"] and c["outcome"] not in UNCOUNTED)
        r.standard = o["standard"]["id"]
        rows.append(r)
    return b"".join(csv_lines(rows)).decode("utf-8")


# ------------------------------------------------------------------ writing

def _bytes(content: bytes | str) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


def _lock(fd: int, exclusive: bool) -> None:
    """flock the folder open as `fd` (released when it is closed). Where locks are not
    supported, go on without: the digests still catch a mixed set."""
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)


@contextlib.contextmanager
def _reading(folder: Path) -> Iterator[None]:
    """Hold a shared lock on the folder: a writer (exclusive lock) waits until we are done."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        yield
        return
    try:
        _lock(fd, exclusive=False)
        yield
    finally:
        os.close(fd)


def remove_stale_temps(folder: Path) -> list[str]:
    """Remove the hidden temp names a killed writer left in `folder`; returns their names.
    Call with the folder locked exclusively."""
    removed = []
    for entry in os.scandir(folder):
        try:
            if entry.name.startswith(TMP_PREFIX) and not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.path)
            elif _LEGACY_TMP_DIR.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                continue
        except FileNotFoundError:
            continue
        removed.append(entry.name)
    return removed


Content = bytes | str | Callable[[Callable[[bytes], None]], None]
"""A file's content: its bytes, or a function that writes them piece by piece (a stream). A
content with a `write_to(fd)` method (run.ResultsJson) writes itself into the descriptor at
its offsets, possibly in other processes, and returns a sink to wait on (`result()`: the
digest once written and fsynced), or None to be streamed instead."""


class _Staged:
    """One file's bytes, written and fsynced but not yet visible under its final name.
    Names are relative to the output folder's descriptor `dir_fd`. Content given as a
    function is streamed (a results.json of a million organizations is never in memory);
    `digest` is its SHA-256 and size, computed on the way. Hashing, writing and fsyncing
    happen on a thread of the file's own (filesink), or in the content's own writers (a
    content with `write_to`), so they overlap the making of its bytes and of the next
    file's: `digest` and `commit` wait for them."""

    def __init__(self, dir_fd: int, data: Content):
        self.dir_fd, self.named, self._sink = dir_fd, None, None
        # an inode without a name: a kill while writing leaves nothing (one killed in commit,
        # between naming it and renaming it, leaves a hidden temp name the next write removes)
        try:
            self.fd = os.open(".", os.O_TMPFILE | os.O_RDWR, 0o666, dir_fd=dir_fd)
        except (AttributeError, OSError):          # no O_TMPFILE here (kernel, file system, OS)
            self.named = _temp_name()
            self.fd = os.open(self.named, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666, dir_fd=dir_fd)
        try:
            place = getattr(data, "write_to", None)
            self._sink = place(self.fd) if place is not None else None
            if self._sink is None:
                self._sink = FileSink(self.fd)
                try:
                    data(self._sink.write) if callable(data) else self._sink.write(_bytes(data))
                finally:
                    self._sink.close()
        except BaseException:
            self.close()
            raise

    @property
    def digest(self) -> dict:
        """SHA-256 and size of the bytes, once they are written and fsynced."""
        return self._sink.result()

    def commit(self, name: str) -> None:
        """Give the file its final name in one rename (replacing any file there)."""
        self._sink.result()                        # written and on disk first
        tmp = self.named
        if tmp is None:
            tmp = _temp_name()
            try:
                # linkat(AT_SYMLINK_FOLLOW) of the /proc link names the anonymous inode; Python
                # only calls linkat (not link, which fails with EXDEV here) when a dir_fd is given
                os.link(f"/proc/self/fd/{self.fd}", tmp, dst_dir_fd=self.dir_fd, follow_symlinks=True)
            except OSError:                        # no /proc: write a named copy instead
                self.named = tmp
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666, dir_fd=self.dir_fd)
                try:
                    offset = 0
                    while chunk := os.pread(self.fd, 1 << 20, offset):
                        write_all(fd, chunk)
                        offset += len(chunk)
                    os.fsync(fd)
                finally:
                    os.close(fd)
        try:
            os.replace(tmp, name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=self.dir_fd)
            raise
        self.named = None

    def close(self) -> None:
        if self._sink is not None:                 # its thread done with the descriptor first
            with contextlib.suppress(BaseException):
                self._sink.result()
            self._sink = None
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.named is not None:                 # a named temp that never got committed
            with contextlib.suppress(OSError):
                os.unlink(self.named, dir_fd=self.dir_fd)
            self.named = None


def _temp_name() -> str:
    return f"{TMP_PREFIX}{secrets.token_hex(8)}"


def write_atomically(out_dir: Path, files: dict[str, Content],
                     placeholders: dict[str, Content] | None = None,
                     last: tuple[str, Callable[[dict[str, dict]], Content]] | None = None,
                     begin_first: tuple[str, ...] = ()) -> list[Path]:
    """Write `files` (plain names in `out_dir`), each atomically, in the given order
    (`begin_first`: files of them begun before the others, named in that order all the same).

    Every file is complete on disk before the first one is renamed into place, so a failure
    while writing changes nothing. `placeholders` are put in place first, only where no file
    of that name exists yet. `last`: (name, function of the other files' digests) for a file
    written after them (run.json). Returns the paths written."""
    out_dir = Path(out_dir)
    for name in list(files) + list(placeholders or {}) + ([last[0]] if last else []):
        if not name or name != Path(name).name or name.startswith("."):
            raise ValueError(f"not a plain file name: {name!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    dir_fd = os.open(out_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    staged: list[tuple[str, _Staged]] = []
    try:
        _lock(dir_fd, exclusive=True)             # one writer at a time; readers wait for us
        remove_stale_temps(out_dir)
        for name, content in (placeholders or {}).items():
            if not os.path.lexists(out_dir / name):
                staged.append((name, _Staged(dir_fd, content)))
        n_placeholders = len(staged)
        begun = {}
        for name in [n for n in begin_first if n in files] + [n for n in files if n not in begin_first]:
            begun[name] = _Staged(dir_fd, files[name])
            staged.append((name, begun[name]))    # (closed whatever happens next: see finally)
        staged[n_placeholders:] = [(name, begun[name]) for name in files]
        if last is not None:
            written = {name: s.digest for name, s in staged[n_placeholders:]}
            staged.append((last[0], _Staged(dir_fd, last[1](written))))
        for i, (name, s) in enumerate(staged):
            s.commit(name)
            if i == n_placeholders - 1:
                os.fsync(dir_fd)                   # the placeholder is on disk before anything moves
        os.fsync(dir_fd)
    finally:
        for _, s in staged:
            s.close()
        os.close(dir_fd)                           # releases the lock
    return [out_dir / name for name in list(files) + ([last[0]] if last else [])]


def digest(data: bytes) -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def write_result_set(out_dir: Path, results_json: Content, results_csv_text: Content, run_meta: dict,
                     state: Content | None = None) -> list[Path]:
    """Replace results.json, results.csv (and state.jsonl, what `agrade rescore` starts from)
    and run.json in `out_dir` together; run.json (written last) gets `files`: the digest and
    size of the others. The results may be streamed (functions given a `write`)."""
    placeholder = {k: run_meta[k] for k in ("agrade_version", "round", "started") if k in run_meta}
    placeholder["incomplete"] = "agrade evaluate was writing these results and did not finish"

    def run_json(written: dict[str, dict]) -> str:
        return json.dumps({**run_meta, "files": written}, ensure_ascii=False, indent=1) + "\n"
    files = {"results.json": results_json, "results.csv": results_csv_text}
    if state is not None:
        files[STATE_FILE] = state
    # results.csv begun first: made by a forked process (ScoredRound.write_csv with several
    # writers), it is then made while this one lays results.json out
    return write_atomically(out_dir, files,
                            placeholders={RUN_FILE: json.dumps(placeholder, ensure_ascii=False, indent=1) + "\n"},
                            last=(RUN_FILE, run_json), begin_first=("results.csv",))


# ------------------------------------------------------------------ reading

def results_file(path: Path) -> Path:
    """results.json inside a results folder, or the file itself."""
    path = Path(path)
    return path / "results.json" if path.is_dir() else path


def inconsistent(folder: Path, why: str) -> InputError:
    return InputError(Issue(str(Path(folder) / RUN_FILE), 0, 0, "$",
                            f"results in {folder} are incomplete or from two different runs (interrupted?); "
                            f"run agrade evaluate again ({why})"))


def _file_digest(path: Path) -> dict | None:
    h = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
                size += len(chunk)
    except FileNotFoundError:
        return None
    return {"sha256": h.hexdigest(), "bytes": size}


def _recorded(folder: Path) -> dict:
    """run.json's digests of the result files; InputError when there are none."""
    try:
        meta = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise inconsistent(folder, f"run.json cannot be read: {exc}") from None
    files = meta.get("files") if isinstance(meta, dict) else None
    if not isinstance(files, dict) or not all(isinstance(files.get(n), dict) for n in RESULT_FILES):
        raise inconsistent(folder, "run.json records no digests of the result files")
    return files


def check_result_set(folder: Path, results_data: bytes | None = None) -> None:
    """Raise InputError unless run.json in `folder` describes the result files beside it.
    `results_data`: results.json's bytes when already read (checked instead of the file)."""
    folder = Path(folder)
    files = _recorded(folder)
    extra = [n for n in files if n not in RESULT_FILES and isinstance(files[n], dict)
             and n == Path(n).name and not n.startswith(".")]          # plain names beside it, nothing else
    for name in list(RESULT_FILES) + extra:
        want = files[name]
        got = digest(results_data) if name == "results.json" and results_data is not None else _file_digest(folder / name)
        if got is None:
            raise inconsistent(folder, f"{name} is missing")
        if got["bytes"] != want.get("bytes") or got["sha256"] != want.get("sha256"):
            raise inconsistent(folder, f"{name} is not the one run.json describes")


def result_set_issues(path: Path) -> list[Issue]:
    """The problems `read_results_bytes` would refuse `path` (a results folder, results.json or
    run.json) for; [] for a consistent set or a results.json standing alone."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    if not (folder / RUN_FILE).exists():
        if path.is_dir() and (folder / "results.csv").exists():
            return inconsistent(folder, "run.json is missing").issues
        return []
    if not path.is_dir() and path.name not in ("results.json", RUN_FILE):
        return []
    with _reading(folder):
        try:
            check_result_set(folder)
        except InputError as e:
            return e.issues
    return []


def read_results_bytes(path: Path) -> tuple[Path, bytes]:
    """results.json's bytes from a results folder or the file, checked against run.json.

    A folder must hold a complete set (run.json's digests match results.json and results.csv);
    a file named results.json is checked the same way when a run.json is beside it, and read as
    it is when it stands alone (copied on its own). Raises InputError otherwise."""
    path = Path(path)
    given_folder = path.is_dir()
    file = results_file(path)
    folder = file.parent
    with _reading(folder):
        has_run = (folder / RUN_FILE).exists() and file.name == "results.json"
        if given_folder and not has_run and (folder / "results.csv").exists():
            raise inconsistent(folder, "run.json is missing")
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            if has_run:
                raise inconsistent(folder, "results.json is missing") from None
            raise InputError(Issue(str(file), 0, 0, "$", "no results.json here (run `agrade evaluate` first)")) from None
        except IsADirectoryError:
            raise InputError(Issue(str(file), 0, 0, "$", "expected a results.json file")) from None
        if has_run:
            check_result_set(folder, data)
    return file, data


def load_results(path: Path) -> dict:
    """results.json (a file or its folder), checked as `read_results_bytes` does; numbers as Decimal."""
    file, data = read_results_bytes(path)
    try:
        return json.loads(data.decode("utf-8-sig"), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line, col = (exc.lineno, exc.colno) if isinstance(exc, json.JSONDecodeError) else (0, 0)
        raise InputError(Issue(str(file), line, col, "$", f"not valid JSON: {exc}")) from None
