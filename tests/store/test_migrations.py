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


def test_sqlite_migration_moves_the_sequence_past_every_number_still_remembered(tmp_path):
    """A database from before 0005 whose newest events were erased: the numbers the pipeline
    has passed must not be handed out again after the upgrade."""
    from alembic import command
    from sqlalchemy import text

    from lehnz.store.migrate import alembic_config

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(engine), "0004")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO organizations (id, name, settings, created_at) "
                "VALUES ('o', 'o', '{}', '2026-01-01')"
            )
        )
        for seq in (1, 2, 3):
            connection.execute(
                text(
                    "INSERT INTO events "
                    "(seq, organization_id, user_id, event_name, occurred_at, received_at) "
                    "VALUES (:seq, 'o', 'u', 'view', '2026-01-01', '2026-01-01')"
                ),
                {"seq": seq},
            )
        connection.execute(
            text(
                "INSERT INTO pipeline_cursors (organization_id, last_seq, updated_at) "
                "VALUES ('o', 3, '2026-01-01')"
            )
        )
        connection.execute(text("DELETE FROM events WHERE seq > 1"))
    engine.dispose()

    store = open_store(f"sqlite:///{tmp_path / 'old.db'}")
    with store.write() as connection:
        connection.execute(
            text(
                "INSERT INTO events "
                "(organization_id, user_id, event_name, occurred_at, received_at) "
                "VALUES ('o', 'v', 'view', '2026-01-01', '2026-01-01')"
            )
        )
        seqs = [row[0] for row in connection.execute(text("SELECT seq FROM events ORDER BY seq"))]
    store.close()
    assert seqs == [1, 4]
