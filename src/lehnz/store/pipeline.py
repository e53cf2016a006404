"""Queries the pipeline makes: its cursors, user states, prices, links and attributions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    delete,
    exists,
    insert,
    literal,
    select,
    tuple_,
    update,
)

from lehnz.store.bulk import insert_many, json_value, time_value
from lehnz.store.tables import (
    attributions,
    events,
    identity_links,
    organizations,
    pipeline_cursors,
    recommendation_logs,
    user_states,
)
from lehnz.store.upsert import insert_ignoring_duplicates

_CHUNK = 500


def _encode_state(state: dict[str, Any]) -> str:
    """Compact JSON text (SQLite's JSON functions read text, not orjson's bytes)."""
    return orjson.dumps(state).decode()


def _chunks(values: Sequence[str]) -> Iterable[list[str]]:
    values = list(values)
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def organizations_without_cursor(connection: Connection) -> list[str]:
    return list(
        connection.execute(
            select(organizations.c.id).where(
                ~exists().where(pipeline_cursors.c.organization_id == organizations.c.id)
            )
        ).scalars()
    )


def create_cursors(
    connection: Connection, organization_ids: Sequence[str], *, at: datetime
) -> None:
    """Cursors at 0 for new organisations (a concurrent worker may have made them already)."""
    rows = [{"organization_id": org, "last_seq": 0, "updated_at": at} for org in organization_ids]
    insert_ignoring_duplicates(connection, pipeline_cursors, rows, key=["organization_id"])


@dataclass(frozen=True, slots=True)
class Cursor:
    """The pipeline's position in one organisation's log: past ``last_seq`` on SQLite, past
    ``(last_txid, last_seq)`` on PostgreSQL (see ``events.txid``)."""

    last_seq: int
    generation: int = 0
    last_txid: int = 0


_CURSOR_COLUMNS = (
    pipeline_cursors.c.last_seq,
    pipeline_cursors.c.generation,
    pipeline_cursors.c.last_txid,
)


def has_events_after(connection: Connection, organization_id: str, cursor: Cursor) -> bool:
    found = connection.execute(
        select(events.c.seq)
        .where(events.c.organization_id == organization_id, past(connection, cursor))
        .limit(1)
    ).first()
    return found is not None


def past(connection: Connection, cursor: Cursor) -> ColumnElement[bool]:
    """Events past ``cursor``: not applied yet (on PostgreSQL, some may not be safe to apply
    yet either; ``events.after`` reads only those that are)."""
    if connection.dialect.name == "postgresql":
        return tuple_(events.c.txid, events.c.seq) > tuple_(
            literal(cursor.last_txid), literal(cursor.last_seq)
        )
    return events.c.seq > cursor.last_seq


def cursors(connection: Connection) -> list[tuple[str, Cursor]]:
    rows = connection.execute(select(pipeline_cursors.c.organization_id, *_CURSOR_COLUMNS))
    return [(row[0], Cursor(int(row[1]), int(row[2]), int(row[3]))) for row in rows]


def read_cursor(connection: Connection, organization_id: str) -> Cursor | None:
    row = connection.execute(
        select(*_CURSOR_COLUMNS).where(pipeline_cursors.c.organization_id == organization_id)
    ).first()
    return None if row is None else Cursor(int(row[0]), int(row[1]), int(row[2]))


def lock_cursor(connection: Connection, organization_id: str) -> Cursor | None:
    """PostgreSQL: the cursor, locked until commit; None when another worker holds it, so
    several workers share organisations without waiting on each other."""
    row = connection.execute(
        select(*_CURSOR_COLUMNS)
        .where(pipeline_cursors.c.organization_id == organization_id)
        .with_for_update(skip_locked=True)
    ).first()
    return None if row is None else Cursor(int(row[0]), int(row[1]), int(row[2]))


def advance_cursor(
    connection: Connection,
    organization_id: str,
    *,
    read: Cursor,
    to_seq: int,
    to_txid: int | None,
    at: datetime,
) -> bool:
    """Move the cursor from ``read`` to the event ``(to_txid, to_seq)``; False when it is no
    longer as read (another worker moved it, or an erasure bumped its generation), and the
    batch must be dropped.

    On PostgreSQL the row stays locked until commit, so a concurrent erasure waits for this
    batch, or this batch, re-checking after the erasure's commit, finds it stale."""
    result = connection.execute(
        update(pipeline_cursors)
        .where(
            pipeline_cursors.c.organization_id == organization_id,
            pipeline_cursors.c.last_seq == read.last_seq,
            pipeline_cursors.c.generation == read.generation,
        )
        .values(last_seq=to_seq, last_txid=to_txid or 0, updated_at=at)
    )
    return result.rowcount == 1


def invalidate_batches(connection: Connection, organization_id: str) -> None:
    """Make any pipeline batch read before this transaction stale (used by erasure)."""
    connection.execute(
        update(pipeline_cursors)
        .where(pipeline_cursors.c.organization_id == organization_id)
        .values(generation=pipeline_cursors.c.generation + 1)
    )


def load_states(
    connection: Connection, organization_id: str, user_ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """The stored states of ``user_ids`` (those that have one). Read at the driver level:
    SQLAlchemy's per-row result processing cost more than the query."""
    postgres = connection.dialect.name == "postgresql"
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(set(user_ids))):
        rows = _driver_rows(
            connection,
            "SELECT user_id, state FROM user_states WHERE organization_id = {mark} "
            "AND user_id IN ({marks})",
            organization_id,
            chunk,
        )
        if postgres:
            found.update({user: dict(state) for user, state in rows})
        else:
            loads = orjson.loads
            found.update({user: loads(state) for user, state in rows})
    return found


def _driver_rows(
    connection: Connection, sql: str, organization_id: str, values: Sequence[str]
) -> Sequence[Any]:
    """``sql`` with ``{mark}`` for the organisation and ``{marks}`` for ``values``, run on
    the driver's cursor."""
    mark = "%s" if connection.dialect.name == "postgresql" else "?"
    query = sql.format(mark=mark, marks=", ".join(mark for _ in values))
    cursor = connection.exec_driver_sql(query, (organization_id, *values)).cursor
    assert cursor is not None
    return cursor.fetchall()


def save_states(
    connection: Connection, organization_id: str, states: dict[str, dict[str, Any]], *, at: datetime
) -> None:
    """Upsert the batch's states in one statement (see ``bulk``: the pipeline writes while
    ingest requests keep the GIL busy)."""
    dialect = connection.dialect.name
    stamp = time_value(dialect, at)
    if dialect == "sqlite":  # compact, and no check for cycles a state cannot have
        encode = _encode_state
        rows = [(organization_id, user, encode(state), stamp) for user, state in states.items()]
    else:
        rows = [
            (organization_id, user, json_value(dialect, state), stamp)
            for user, state in states.items()
        ]
    insert_many(
        connection,
        table="user_states",
        columns=("organization_id", "user_id", "state", "updated_at"),
        rows=rows,
        postgres_types=("text", "text", "jsonb", "timestamptz"),
        conflict="ON CONFLICT (organization_id, user_id) DO UPDATE "
        "SET state = excluded.state, updated_at = excluded.updated_at",
    )


def delete_states(connection: Connection, organization_id: str, user_ids: Iterable[str]) -> None:
    for chunk in _chunks(sorted(set(user_ids))):
        connection.execute(
            delete(user_states).where(
                user_states.c.organization_id == organization_id, user_states.c.user_id.in_(chunk)
            )
        )


def item_prices(
    connection: Connection, organization_id: str, item_ids: Iterable[str]
) -> dict[str, float]:
    """``item_id`` -> its ``price`` attribute, for the items whose price is a number.

    The database picks the price out of each item's attributes: reading them whole and
    parsing every document in Python was a fifth of the pipeline's time."""
    if connection.dialect.name == "postgresql":
        sql = (
            "SELECT item_id, (attributes->>'price')::float8 FROM items "
            "WHERE organization_id = {mark} AND item_id IN ({marks}) "
            "AND jsonb_typeof(attributes->'price') = 'number'"
        )
    else:
        sql = (
            "SELECT item_id, json_extract(attributes, '$.price') FROM items "
            "WHERE organization_id = {mark} AND item_id IN ({marks}) "
            "AND json_type(attributes, '$.price') IN ('integer', 'real')"
        )
    prices: dict[str, float] = {}
    for chunk in _chunks(sorted(set(item_ids))):
        for item_id, price in _driver_rows(connection, sql, organization_id, chunk):
            prices[item_id] = float(price)
    return prices


def canonical_map(
    connection: Connection, organization_id: str, user_ids: Iterable[str]
) -> dict[str, str]:
    links: dict[str, str] = {}
    for chunk in _chunks(sorted(set(user_ids))):
        rows = connection.execute(
            select(identity_links.c.alias_user_id, identity_links.c.canonical_user_id).where(
                identity_links.c.organization_id == organization_id,
                identity_links.c.alias_user_id.in_(chunk),
            )
        )
        links.update({row[0]: row[1] for row in rows})
    return links


def recommendation_sources(
    connection: Connection, organization_id: str, recommendation_ids: Iterable[str]
) -> dict[str, tuple[str, str | None]]:
    """``recommendation_id`` -> (endpoint, placement) for the ids this organisation served."""
    found: dict[str, tuple[str, str | None]] = {}
    for chunk in _chunks(sorted(set(recommendation_ids))):
        rows = connection.execute(
            select(
                recommendation_logs.c.id,
                recommendation_logs.c.endpoint,
                recommendation_logs.c.placement,
            ).where(
                recommendation_logs.c.organization_id == organization_id,
                recommendation_logs.c.id.in_(chunk),
            )
        )
        found.update({row[0]: (row[1], row[2]) for row in rows})
    return found


def insert_attributions(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        connection.execute(insert(attributions), list(rows))
