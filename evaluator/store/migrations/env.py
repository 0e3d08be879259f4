"""Alembic's environment for the store: run on the connection agrade opens (db.migrate), or
from the command line for development (`alembic -c evaluator/store/alembic.ini …` with
AGRADE_DB set)."""
from alembic import context

from evaluator.store.tables import metadata

config = context.config


def run(connection):
    # batch mode: SQLite cannot ALTER most things, Alembic copies the table instead
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


conn = config.attributes.get("connection")
if conn is not None:
    run(conn)
else:
    from evaluator.store.db import make_engine, store_url
    with make_engine(store_url()).connect() as c:
        run(c)
        c.commit()
