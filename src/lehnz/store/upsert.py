"""``INSERT ... ON CONFLICT`` for SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def upsert(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert ``rows``; where ``key`` already exists, overwrite only the ``update`` columns.

    ``rows`` must share one set of columns and hold each key once (PostgreSQL refuses to
    update one row twice in a statement).
    """
    if not rows:
        return
    dialect = sqlite if connection.dialect.name == "sqlite" else postgresql
    statement = dialect.insert(table)
    if update:
        statement = statement.on_conflict_do_update(
            index_elements=list(key),
            set_={column: statement.excluded[column] for column in update},
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(key))
    connection.execute(statement, list(rows))


def insert_ignoring_duplicates(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], *, key: Sequence[str]
) -> None:
    upsert(connection, table, rows, key=key, update=())
