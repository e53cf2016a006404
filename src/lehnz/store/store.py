"""The ``Store``: one engine, read and write transactions, and driver errors translated."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from lehnz.errors import Conflict
from lehnz.store.database import WRITE_OPTION, create_db_engine
from lehnz.store.migrate import upgrade_to_head


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        # SQLite has one writer at a time. Threads of this process queue on a lock, woken the
        # moment it frees, instead of on SQLite's busy handler, which polls with sleeps of up
        # to 100 ms (seconds of tail latency under concurrent ingest). Other processes on the
        # same file still meet the busy handler.
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction; under SQLite's WAL it never waits for a writer."""
        with self.engine.connect() as connection:
            yield connection

    def sqlite_path(self) -> str | None:
        """The SQLite database's file, for readers with connections of their own; None for
        PostgreSQL or a database in memory."""
        url = self.engine.url
        if url.get_backend_name() != "sqlite":
            return None
        database = url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return database

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read-only transaction whose every statement sees the same moment: SQLite's WAL
        gives that to any read; PostgreSQL needs REPEATABLE READ (its default, READ
        COMMITTED, gives each statement its own moment)."""
        with self.engine.connect() as connection:
            if self.dialect == "postgresql":
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            yield connection

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that commits on success and rolls back on any error.

        A unique-key violation surfaces as ``Conflict`` so callers never see the driver.
        """
        lock = self._write_lock or contextlib.nullcontext()
        try:
            with lock, self._writer.begin() as connection:
                yield connection
        except IntegrityError as exc:
            raise Conflict("A record with the same unique key already exists") from exc

    def migrate(self) -> None:
        upgrade_to_head(self.engine)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str, *, migrate: bool = True) -> Store:
    store = Store(create_db_engine(url))
    if migrate:
        store.migrate()
    return store
