"""The migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from lehnz.store import open_store
from lehnz.store.tables import metadata


def test_migrated_schema_matches_the_tables_module(settings):
    store = open_store(settings.resolved_database_url())
    store.migrate()  # a second run finds nothing to do
    with store.engine.connect() as connection:
        dialect = connection.dialect.name

        def declared_here(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
            # An index declared for one dialect only (``ddl_if``) exists on that one only.
            condition = getattr(obj, "_ddl_if", None)
            return condition is None or condition.dialect in (None, dialect)

        context = MigrationContext.configure(connection, opts={"include_object": declared_here})
        diff = compare_metadata(context, metadata)
    store.close()
    assert diff == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    with store.read() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    store.close()
    create_engine(f"sqlite:///{tmp_path / 'x.db'}").dispose()
