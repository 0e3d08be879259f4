"""The store as the rest of agrade sees it: opened by URL, read freely, changed only through
`change()`, which serializes writers, audits, and commits the change with its audit entries."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from ..errors import InputError, Issue
from .audit import Log, ensure_head
from .db import make_engine, migrate, reading, store_url, writing


class Refused(InputError):
    """A change the store refuses (a finalized round, a step out of order, a conflict of
    interest): nothing was written."""

    def __init__(self, where: str, message: str):
        super().__init__(Issue(where, 0, 0, "$", message))


class Conflict(Refused):
    """Someone else saved this first: the version the writer started from is not the current one."""

    def __init__(self, where: str, message: str, current: int):
        super().__init__(where, message)
        self.current = current


@dataclass
class Tx:
    conn: Connection
    log: Log


class Store:
    def __init__(self, url: str | None = None):
        self.url = store_url(url)
        self.engine = make_engine(self.url)
        migrate(self.engine)
        with writing(self.engine) as conn:
            ensure_head(conn)

    @property
    def where(self) -> str:
        """The store as messages name it (no password)."""
        return self.engine.url.render_as_string(hide_password=True)

    def read(self):
        return reading(self.engine)

    @contextlib.contextmanager
    def change(self, actor: str):
        """A write transaction with its audit log, the head taken first."""
        if not actor or not actor.strip():
            raise Refused(self.where, "every change names who makes it (--by NAME or AGRADE_USER)")
        with writing(self.engine) as conn:
            log = Log(conn, actor.strip())
            log.lock()
            yield Tx(conn, log)

    def close(self) -> None:
        self.engine.dispose()
