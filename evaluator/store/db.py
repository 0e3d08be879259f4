"""Where the store is and how it is opened: one URL, migrated on open, one writer at a time.

The URL comes from --db, else AGRADE_DB, else a SQLite file `agrade.db` in the working
directory (zero set-up). `postgresql://…` means PostgreSQL through psycopg 3.

Writes are serialized: every write transaction first takes the audit log's head (see
audit.py), so the hash chain never forks and two writers never interleave half-changes.
SQLite does that with BEGIN IMMEDIATE (pysqlite's own transaction handling would start the
transaction lazily, at the first write, too late to take the lock first).
"""
from __future__ import annotations

import contextlib
import datetime
import os
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError

from ..errors import InputError, Issue

DEFAULT_FILE = "agrade.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def store_url(given: str | None = None) -> str:
    """The store's SQLAlchemy URL: --db, AGRADE_DB, or ./agrade.db. A bare path is a SQLite file."""
    url = given or os.environ.get("AGRADE_DB") or DEFAULT_FILE
    if "://" not in url:
        url = f"sqlite:///{Path(url).resolve()}"
    elif url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InputError(Issue("--db", 0, 0, "$", f"not a database URL: {url!r} ({exc})")) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise InputError(Issue("--db", 0, 0, "$", f"agrade stores rounds in SQLite or PostgreSQL, not "
                                                  f"{parsed.get_backend_name()} ({url})"))
    return url


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None          # we say when transactions begin (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")       # readers do not wait for the writer
            cur.execute("PRAGMA synchronous=FULL")       # an acknowledged change survives power loss
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")
        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema (Alembic, programmatically)."""
    from alembic import command
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as conn:
        conn.info["write"] = True
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()


def now() -> datetime.datetime:
    """The time a change is recorded, in UTC (stored and compared as UTC everywhere)."""
    return datetime.datetime.now(datetime.timezone.utc)


@contextlib.contextmanager
def reading(engine: Engine):
    """A read transaction: all its statements see the store as one moment (a snapshot), so
    a reader never sees half of one change and half of the next. SQLite's deferred transaction
    in WAL mode is one already. PostgreSQL's default (READ COMMITTED) gives every statement its
    own moment: an evaluation committed between two statements of a reader showed its outcomes
    beside the previous evaluation's placements, and an evaluation's evidence digest could be
    that of other evidence than it scored. REPEATABLE READ is PostgreSQL's snapshot (a read
    never waits and is never refused for it)."""
    with engine.connect() as conn:
        # conn.info belongs to the pooled connection: one that served a write keeps "write",
        # and its next read began with BEGIN IMMEDIATE, holding every other writer off (on
        # SQLite) for as long as the read lasted.
        conn.info["write"] = False
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        yield conn


@contextlib.contextmanager
def writing(engine: Engine):
    """A write transaction (committed on success, rolled back on any error); the caller takes
    the audit head first (audit.Log.lock), which serializes writers on PostgreSQL too."""
    with engine.connect() as conn:
        conn.info["write"] = True
        with conn.begin():
            yield conn


def backend(conn: Connection) -> str:
    return conn.engine.dialect.name
