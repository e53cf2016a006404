"""Opening a database by URL: SQLite (embedded) or PostgreSQL (scaled out).

SQLite specifics live here and nowhere else: WAL so readers never wait for the writer, a busy
timeout so concurrent writers queue instead of failing, foreign keys switched on, and a new
database file readable by lehnz's user alone (see ``lehnz.private_files``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from lehnz.private_files import create_private_file, make_private_dir

#: Execution option marking a connection that will write (see ``_sqlite_engine``).
WRITE_OPTION = "lehnz_write"


def create_db_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        # Created here, before SQLite opens it, so it never exists with the umask's mode.
        make_private_dir(Path(database).parent)
        create_private_file(Path(database))
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # The sqlite3 module's own transaction handling issues BEGIN lazily and gets in the
        # way of BEGIN IMMEDIATE; let SQLAlchemy emit BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit survives power loss, which is what a 202 promises.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # A writer takes the write lock up front: a deferred transaction that later tries to
        # write can fail with "database is locked" instead of waiting its turn. Readers begin
        # deferred, so under WAL they never wait for a writer.
        if connection.get_execution_options().get(WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    return engine
