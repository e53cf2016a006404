"""Alembic environment: the engine (or connection) comes from lehnz, never from an ini file."""

from __future__ import annotations

from alembic import context

from lehnz.store.database import WRITE_OPTION
from lehnz.store.tables import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = config.attributes["engine"].execution_options(**{WRITE_OPTION: True})
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
