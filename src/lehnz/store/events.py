"""The event log: appended in batches, read back by user."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from lehnz.store.bulk import insert_many, sqlite_time
from lehnz.store.pipeline import Cursor
from lehnz.store.tables import events


def append(connection: Connection, *, organization_id: str, rows: Sequence[dict[str, Any]]) -> int:
    """Append ``rows`` of one organisation inside the caller's transaction; the number stored.

    A row whose ``event_id`` the organisation already sent (earlier, or earlier in this
    batch) is skipped, which makes retries safe, and counted as not stored. The database's
    unique key finds the earlier ones, in the same statement as the insert: a look-up first
    would depend on the planner knowing the table's size, and with stale statistics it
    scanned all of an organisation's events for every batch.
    """
    seen: set[str] = set()
    fresh: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    for row in rows:
        event_id = row.get("event_id")
        if not event_id:
            missing.append(row)
        elif event_id in seen:
            continue
        else:
            seen.add(event_id)
        fresh.append(row)
    for row, event_id in zip(missing, new_event_ids(len(missing)), strict=True):
        row["event_id"] = event_id
    if not fresh:
        return 0
    return insert_prepared(connection, prepare(connection.dialect.name, fresh))


def new_event_id() -> str:
    """``evt_``, the time in milliseconds, then 64 random bits: ids made later sort later,
    so the unique index on them grows at its end, as the log does, instead of at a random
    page for every event (which, once the index outgrew SQLite's page cache, read a page
    from the OS for most rows of a large import)."""
    return new_event_ids(1)[0]


def new_event_ids(count: int) -> list[str]:
    """``count`` ids as ``new_event_id`` makes them, with one call for the randomness."""
    prefix = f"evt_{time.time_ns() // 1_000_000:012x}"
    random = secrets.token_hex(8 * count)
    return [prefix + random[start : start + 16] for start in range(0, 16 * count, 16)]


class StoredEvent(NamedTuple):
    """One row of the log. A named tuple, not a frozen dataclass: the pipeline makes one per
    event, and a frozen dataclass's ``__init__`` (a guarded ``__setattr__`` per field) was
    half of the pipeline's read."""

    seq: int
    event_id: str | None
    user_id: str
    event_name: str
    item_id: str | None
    session_id: str | None
    recommendation_id: str | None
    previous_user_id: str | None
    context: Any
    occurred_at: datetime
    received_at: datetime
    txid: int | None = None  # PostgreSQL only (see ``tables.events``)


_STORED_COLUMNS = [events.c[name] for name in StoredEvent._fields]


def for_users(
    connection: Connection,
    *,
    organization_id: str,
    user_ids: Sequence[str],
    before_seq: int | None,
    limit: int,
) -> list[StoredEvent]:
    """Events of any of ``user_ids``, newest first, below ``before_seq`` if given."""
    query = select(*_STORED_COLUMNS).where(
        events.c.organization_id == organization_id, events.c.user_id.in_(list(user_ids))
    )
    if before_seq is not None:
        query = query.where(events.c.seq < before_seq)
    rows = connection.execute(query.order_by(events.c.seq.desc()).limit(limit))
    return [StoredEvent(**row._mapping) for row in rows]


def newest_after_sql(
    postgres: bool, organization_id: str, user_ids: Sequence[str], cursor: Cursor, limit: int
) -> tuple[str, tuple[Any, ...]]:
    """The newest ``limit`` events of ``user_ids`` past ``cursor``, newest first, as SQL and
    parameters for the driver: what the pipeline has not applied to these users yet.

    On PostgreSQL, where "past" is by (txid, seq), only the users' newest ``2 * limit``
    events are looked at, to bound the index scan for a user with a long history; on SQLite
    past the cursor means the highest sequence numbers, a range of the index.
    Every recommendation for a known user runs this, so it is read at the driver level
    (building the subquery anew each time was most of its cost in SQLAlchemy).
    """
    names = ", ".join(StoredEvent._fields)
    mark = "%s" if postgres else "?"
    users = ", ".join(mark for _ in user_ids)
    if not postgres:
        # Past the cursor is a range of the (organisation, user, seq) index: only the
        # unapplied rows are read (7 us for a shopper with 1,500 events, where the bounded
        # subquery below read all of them: 590 us).
        query = (
            f"SELECT {names} FROM events WHERE organization_id = ? AND user_id IN ({users}) "
            "AND seq > ? ORDER BY seq DESC LIMIT ?"
        )
        return query, (organization_id, *user_ids, cursor.last_seq, limit)
    query = (
        f"SELECT {names} FROM (SELECT {names} FROM events WHERE organization_id = %s "
        f"AND user_id IN ({users}) ORDER BY seq DESC LIMIT %s) AS newest "
        "WHERE (txid, seq) > (%s, %s) ORDER BY seq DESC LIMIT %s"
    )
    return query, (organization_id, *user_ids, 2 * limit, cursor.last_txid, cursor.last_seq, limit)


def after(
    connection: Connection, *, organization_id: str, cursor: Cursor, limit: int
) -> list[StoredEvent]:
    """The log of one organisation past ``cursor``, in the pipeline's order: the pipeline's
    read.

    On PostgreSQL only rows of transactions older than every transaction still running are
    read, in (txid, seq) order: a transaction that commits later can then only add rows past
    what was read, never below it. Read at the driver level, like ``insert_prepared``
    writes: SQLAlchemy's per-row result processing was most of the pipeline's read time.
    """
    names = ", ".join(StoredEvent._fields)
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        query = (
            f"SELECT {names} FROM events WHERE organization_id = %s AND (txid, seq) > (%s, %s) "
            "AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint "
            "ORDER BY txid, seq LIMIT %s"
        )
        params: tuple[Any, ...] = (organization_id, cursor.last_txid, cursor.last_seq, limit)
    else:
        query = (
            f"SELECT {names} FROM events WHERE organization_id = ? AND seq > ? ORDER BY seq LIMIT ?"
        )
        params = (organization_id, cursor.last_seq, limit)
    result = connection.exec_driver_sql(query, params).cursor
    assert result is not None
    return stored_events(postgres, result.fetchall())


def stored_events(postgres: bool, rows: Sequence[Any]) -> list[StoredEvent]:
    """Driver rows of ``StoredEvent._fields`` as events: PostgreSQL's driver has parsed
    the JSON and the timestamps already; SQLite's gives text."""
    if postgres:
        return [
            _stored(row, row[8], row[9].astimezone(UTC), row[10].astimezone(UTC)) for row in rows
        ]
    # A batch's rows share their receipt time and often their context: convert each once.
    times: dict[str, datetime] = {}
    contexts: dict[str, Any] = {}

    def stamp(value: str) -> datetime:
        converted = times.get(value)
        if converted is None:
            # One parse with the offset: ``.replace(tzinfo=UTC)`` cost four times the parse.
            converted = times[value] = datetime.fromisoformat(value + "+00:00")
        return converted

    def context(value: str | None) -> Any:
        if value is None:
            return None
        if value not in contexts:
            contexts[value] = json.loads(value)
        return contexts[value]

    return [_stored(row, context(row[8]), stamp(row[9]), stamp(row[10])) for row in rows]


def _stored(row: Any, context: Any, occurred_at: datetime, received_at: datetime) -> StoredEvent:
    return StoredEvent(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
        context, occurred_at, received_at, row[11],
    )  # fmt: skip


#: ``json.dumps`` as ``json_value`` calls it, made once.
_CONTEXT_ENCODER = json.JSONEncoder()

_COLUMNS = (
    "organization_id",
    "event_id",
    "user_id",
    "event_name",
    "item_id",
    "session_id",
    "recommendation_id",
    "previous_user_id",
    "context",
    "occurred_at",
    "received_at",
)


def prepare(dialect: str, rows: Sequence[dict[str, Any]]) -> list[Any]:
    """The rows in the form ``insert_prepared`` sends them, made before any lock is taken.

    SQLite: tuples of driver values (JSON text, naive UTC timestamps as SQLAlchemy stores
    them). PostgreSQL: JSON-ready dicts, sent as one JSON document (see ``insert_prepared``).
    Either way SQLAlchemy's per-row type processing, which cost more than the insert, is
    skipped.
    """
    times: dict[datetime, Any] = {}  # a batch shares its receipt time: convert it once

    def stamp(value: datetime) -> Any:
        converted = times.get(value)
        if converted is None:
            converted = times[value] = (
                sqlite_time(value) if dialect == "sqlite" else value.isoformat()
            )
        return converted

    if dialect != "sqlite":
        return [
            {
                **{name: row[name] for name in _COLUMNS[:9]},
                "occurred_at": stamp(row["occurred_at"]),
                "received_at": stamp(row["received_at"]),
            }
            for row in rows
        ]
    # Spelled out rather than a loop over _COLUMNS: this runs for every imported event.
    encode = _CONTEXT_ENCODER.encode
    return [
        (
            row["organization_id"],
            row["event_id"],
            row["user_id"],
            row["event_name"],
            row["item_id"],
            row["session_id"],
            row["recommendation_id"],
            row["previous_user_id"],
            None if row["context"] is None else encode(row["context"]),
            stamp(row["occurred_at"]),
            stamp(row["received_at"]),
        )
        for row in rows
    ]


def insert_prepared(connection: Connection, prepared: Sequence[Any]) -> int:
    """Insert prepared rows in their order (so sequence numbers follow it); the number stored.
    ON CONFLICT skips an ``event_id`` already stored, including one a concurrent request
    carries.

    PostgreSQL receives the batch as one JSON document and expands it itself
    (``json_populate_recordset``): psycopg adapts arrays of parameters in Python, which
    cost more than all the rest of the request.
    """
    conflict = "ON CONFLICT (organization_id, event_id) DO NOTHING"
    if connection.dialect.name == "postgresql":
        columns = ", ".join(_COLUMNS)
        result = connection.exec_driver_sql(
            f"INSERT INTO events ({columns}) SELECT {columns} "
            f"FROM json_populate_recordset(NULL::events, %s::json) {conflict}",
            (json.dumps(list(prepared)),),
        )
        return int(result.rowcount)
    return insert_many(
        connection,
        table="events",
        columns=_COLUMNS,
        rows=prepared,
        postgres_types=(),
        conflict=conflict,
    )
