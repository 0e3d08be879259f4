"""The harness the store's tests run on: a PostgreSQL server on 127.0.0.1 only, a fresh database
per test on both backends, and scripts/postgres.sh's start and stop."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

POSTGRES_SH = Path(__file__).resolve().parents[2] / "scripts" / "postgres.sh"
ENV_SERVER = "AGRADE_TEST_PG"
OUTSIDE_SERVER = pytest.mark.skipif(bool(os.environ.get(ENV_SERVER)),
                                    reason=f"{ENV_SERVER} names an outside server, not one of ours")


def scalar(url: str, sql: str):
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as c:
            return c.exec_driver_sql(sql).scalar()
    finally:
        engine.dispose()


def refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError:   # refused, or (::1) no IPv6 here
        return True
    return False


def alive(pid: int) -> bool:
    """Is process pid running (a zombie, exited but not yet reaped, is not)?"""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def start_server(*args: str) -> str:
    r = subprocess.run(["bash", str(POSTGRES_SH), "start", *args], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1, r.stdout   # stdout is the URL and nothing else
    assert re.fullmatch(r"postgresql\+psycopg://postgres@127\.0\.0\.1:\d+/postgres", lines[0])
    return lines[0]


def stop_server(url: str) -> None:
    r = subprocess.run(["bash", str(POSTGRES_SH), "stop", url], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def data_dir_and_pid(url: str) -> tuple[Path, int]:
    data = Path(scalar(url, "SHOW data_directory"))
    return data, int((data / "postmaster.pid").read_text().split()[0])


@OUTSIDE_SERVER
def test_the_server_listens_on_127_0_0_1_only(pg_url):
    assert scalar(pg_url, "SHOW listen_addresses") == "127.0.0.1"
    assert scalar(pg_url, "SELECT host(inet_server_addr())") == "127.0.0.1"
    port = make_url(pg_url).port
    # Bound to 127.0.0.1 itself, not to every address: another loopback address, or ::1, is refused.
    assert not refused("127.0.0.1", port)
    assert refused("127.0.0.2", port)
    assert refused("::1", port)
    # It trusts everyone, so only the unix socket and 127.0.0.1 may connect at all.
    rules = scalar(pg_url, "SELECT string_agg(type || ' ' || coalesce(address, '-'), ', ' ORDER BY line_number) "
                           "FROM pg_hba_file_rules")
    assert rules == "local -, host 127.0.0.1"


_seen: dict[str, list[str]] = {"sqlite": [], "postgresql": []}


@pytest.mark.parametrize("turn", [1, 2, 3])
def test_db_url_is_a_fresh_empty_database_per_test(db_url, request, tmp_path, turn):
    backend = request.node.callspec.params["db_url"]
    if backend == "sqlite":
        assert db_url == f"sqlite:///{tmp_path}/agrade.db"
    else:
        assert db_url.startswith("postgresql+psycopg://")
    assert db_url not in _seen[backend]
    engine = sa.create_engine(db_url, poolclass=NullPool)
    try:
        # Empty, though every turn leaves a table behind in its own database.
        assert sa.inspect(engine).get_table_names() == []
        with engine.begin() as c:
            c.exec_driver_sql("CREATE TABLE leftover (turn integer)")
            c.exec_driver_sql(f"INSERT INTO leftover VALUES ({turn})")
        assert sa.inspect(engine).get_table_names() == ["leftover"]
    finally:
        engine.dispose()
    if backend == "postgresql":
        # The earlier tests' databases were dropped after them.
        names = [make_url(u).database for u in _seen[backend]]
        if names:
            listed = ", ".join(f"'{n}'" for n in names)
            assert scalar(db_url, f"SELECT count(*) FROM pg_database WHERE datname IN ({listed})") == 0
    _seen[backend].append(db_url)


def test_new_db_url_gives_other_fresh_databases(db_url, new_db_url):
    other = new_db_url()
    assert other != db_url and make_url(other).get_backend_name() == make_url(db_url).get_backend_name()
    engine = sa.create_engine(db_url, poolclass=NullPool)
    with engine.begin() as c:
        c.exec_driver_sql("CREATE TABLE only_here (x integer)")
    engine.dispose()
    assert scalar(other, "SELECT 1") == 1
    engine = sa.create_engine(other, poolclass=NullPool)
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()


@OUTSIDE_SERVER
def test_postgres_sh_start_then_stop(pg_url):
    url = start_server("--owner", str(os.getpid()))   # --owner: stopped anyway should stop fail
    try:
        port = make_url(url).port
        assert port != make_url(pg_url).port   # a server of its own beside the session's
        assert scalar(url, "SELECT 1") == 1
        data, pid = data_dir_and_pid(url)
        assert alive(pid)
    finally:
        stop_server(url)
    assert refused("127.0.0.1", port)
    assert not data.parent.exists()
    for _ in range(50):   # the postmaster's last moments
        if not alive(pid):
            break
        time.sleep(0.1)
    assert not alive(pid)
    stop_server(url)   # again: harmless
    assert scalar(pg_url, "SELECT 1") == 1   # it stopped only its own server


@OUTSIDE_SERVER
def test_postgres_sh_stops_the_server_when_its_owner_dies(pg_url):
    owner = subprocess.Popen(["sleep", "600"])
    try:
        url = start_server("--owner", str(owner.pid))
        data, pid = data_dir_and_pid(url)
    finally:
        owner.kill()
        owner.wait()
    deadline = time.monotonic() + 30
    while (data.parent.exists() or alive(pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not data.parent.exists() and not alive(pid)
    assert refused("127.0.0.1", make_url(url).port)
