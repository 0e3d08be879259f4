"""Fixtures for the round store's tests: every store test runs on SQLite and on PostgreSQL.

    def test_round_trip(db_url):                  # runs twice: [sqlite] and [postgresql]
        store = open_store(db_url)                # db_url: a fresh, empty database of its own

    def test_copy_between_stores(db_url, new_db_url):
        other = new_db_url()                      # another fresh database, same backend as db_url

    def test_eight_writers(new_db_url):           # PostgreSQL only
        url = new_db_url("postgresql")            # (pg_url is the server's own URL)

PostgreSQL is a real server: the one AGRADE_TEST_PG names (a SQLAlchemy URL of a server on which
the tests may create and drop databases), or else a throwaway one that scripts/postgres.sh starts
on 127.0.0.1 the first time a test asks for it, and stops when the session ends (a Ctrl-C too; if
pytest is killed, the script stops it once pytest has gone). If PostgreSQL cannot be had, the
tests that need it fail: they are not skipped, so a run without PostgreSQL is never green.
Every database a test gets is dropped after it (WITH (FORCE): open connections do not block it).
"""
from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_SH = ROOT / "scripts" / "postgres.sh"
BACKENDS = ["sqlite", "postgresql"]
ENV_SERVER = "AGRADE_TEST_PG"


def _start_server() -> str:
    """Start a throwaway server with scripts/postgres.sh; its URL, or the test fails."""
    try:
        # --owner: the script stops the server itself if this process dies without stopping it.
        r = subprocess.run(["bash", str(POSTGRES_SH), "start", "--owner", str(os.getpid())],
                           capture_output=True, text=True, timeout=900)
        code, out, err = r.returncode, r.stdout.strip(), r.stderr.strip()
    except subprocess.TimeoutExpired as e:
        code, out, err = "no answer in 900 s", "", str(e.stderr or "")
    if code != 0 or len(out.splitlines()) != 1:
        pytest.fail(f"PostgreSQL could not be started for the store's tests "
                    f"(bash scripts/postgres.sh start: exit {code}):\n{err}\n{out}\n"
                    f"Install Debian's postgresql (bash scripts/setup.sh does), or set {ENV_SERVER} to "
                    f"the URL of a server the tests may create databases on.", pytrace=False)
    return out


def _admin(server_url: str) -> sa.Engine:
    # AUTOCOMMIT: CREATE/DROP DATABASE cannot run inside a transaction. NullPool: no connection
    # to the server's own database is kept open between uses.
    return sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)


@pytest.fixture(scope="session")
def pg_url():
    """The session's PostgreSQL server: the URL of its own database (postgres). Tests that write
    should take a fresh database of their own with new_db_url("postgresql")."""
    url = os.environ.get(ENV_SERVER)
    if url:
        try:
            with _admin(url).connect() as c:
                c.exec_driver_sql("SELECT 1")
        except sa.exc.SQLAlchemyError as e:
            pytest.fail(f"{ENV_SERVER}={url}: cannot connect: {e}", pytrace=False)
        yield url
        return
    url = _start_server()
    try:
        yield url
    finally:
        r = subprocess.run(["bash", str(POSTGRES_SH), "stop", url], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.fail(f"could not stop the test server {url}:\n{r.stderr}", pytrace=False)


@pytest.fixture
def new_db_url(request, tmp_path):
    """new_db_url(backend=None) -> the URL of another fresh, empty database, dropped after the test.
    backend is "sqlite" or "postgresql"; by default that of the test's db_url."""
    made: list[tuple[sa.Engine, str]] = []
    sqlite_count = 0

    def new(backend: str | None = None) -> str:
        nonlocal sqlite_count
        if backend is None:
            callspec = getattr(request.node, "callspec", None)
            backend = callspec.params.get("db_url") if callspec else None
            if backend is None:
                raise TypeError("new_db_url(): name the backend, 'sqlite' or 'postgresql' (the test has no db_url)")
        if backend == "sqlite":
            sqlite_count += 1
            name = "agrade.db" if sqlite_count == 1 else f"agrade-{sqlite_count}.db"
            return f"sqlite:///{tmp_path}/{name}"
        if backend == "postgresql":
            server = request.getfixturevalue("pg_url")   # the server starts only when needed
            name = f"agrade_test_{uuid.uuid4().hex[:16]}"
            admin = _admin(server)
            with admin.connect() as c:
                # template0: copying template1 fails while anyone else is connected to it.
                c.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
            made.append((admin, name))
            return make_url(server).set(database=name).render_as_string(hide_password=False)
        raise ValueError(f"new_db_url(): unknown backend {backend!r} (one of {BACKENDS})")

    yield new
    for admin, name in made:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS, ids=BACKENDS)
def db_url(request, new_db_url):
    """A fresh, empty database for this test: sqlite:///{tmp_path}/agrade.db, or a new database on
    the session's PostgreSQL server."""
    return new_db_url(request.param)
