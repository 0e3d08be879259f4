"""The migrations build exactly the schema evaluator/store/tables.py declares, on both backends,
and each step down and up again leaves the same schema."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from evaluator.store.base import Store
from evaluator.store.db import MIGRATIONS
from evaluator.store.tables import metadata

INSPECTION_TABLES = {"inspection_plans", "inspectors", "inspector_units", "inspection_teams", "team_members",
                     "assignments", "samples", "sample_members"}


def _differences(engine) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        return compare_metadata(ctx, metadata)


def _config(conn) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def _run(engine, fn, target: str) -> None:
    with engine.connect() as conn:
        conn.info["write"] = True
        fn(_config(conn), target)
        conn.commit()


def _revision(engine) -> str:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_migrations_give_exactly_the_declared_schema(db_url):
    store = Store(db_url)                                   # migrates to head on open
    try:
        head = ScriptDirectory.from_config(_config(None)).get_current_head()
        assert _revision(store.engine) == head == "0004"
        assert _differences(store.engine) == []
    finally:
        store.close()


def test_down_to_0001_and_up_again(db_url):
    store = Store(db_url)
    try:
        _run(store.engine, command.downgrade, "0001")
        assert _revision(store.engine) == "0001"
        missing = _differences(store.engine)
        # at 0001 exactly the later tables are missing (0002 inspection, 0003 evidence digest, 0004 attachments)
        assert {d[1].name for d in missing if d[0] == "add_table"} == INSPECTION_TABLES | {"round_evidence", "submission_attachments"}
        assert all(d[0] == "add_table" or (d[0] == "add_index" and d[1].table.name in INSPECTION_TABLES)
                   for d in missing), missing
        _run(store.engine, command.upgrade, "head")
        assert _differences(store.engine) == []
    finally:
        store.close()
