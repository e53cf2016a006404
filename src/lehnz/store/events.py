"""The event log: appended in batches, read back by user."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, text

from lehnz.store.tables import events


def append(
    connection: Connection,
    *,
    organization_id: str,
    rows: Sequence[dict[str, Any]],
    count_stored: bool = True,
) -> int | None:
    """Append ``rows`` of one organisation; the number stored, or None when not counted.

    A row whose ``event_id`` the organisation already sent (earlier, or earlier in this
    batch) is skipped, which makes retries safe. Rows without an ``event_id`` are always
    stored, under a generated ``evt_…`` id. Counting what was skipped costs a look-up of
    the batch's ids; ingest, which acknowledges repeats anyway, leaves it to ON CONFLICT.
    """
    if connection.dialect.name == "postgresql":
        # Serialise appends per organisation until commit, so that within an organisation
        # sequence numbers become visible in order and the pipeline's cursor never skips
        # an event committed late. (SQLite writers are serialised already.)
        connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:org))"), {"org": organization_id}
        )
    sent_ids = [row["event_id"] for row in rows if row.get("event_id")] if count_stored else []
    known = _known_event_ids(connection, organization_id, sent_ids) if sent_ids else set()
    fresh: list[dict[str, Any]] = []
    for row in rows:
        event_id = row.get("event_id")
        if not event_id:
            row["event_id"] = "evt_" + secrets.token_hex(12)
        elif event_id in known:
            continue
        else:
            known.add(event_id)
        fresh.append(row)
    if fresh:
        # In the batch's order, so sequence numbers follow it. ON CONFLICT skips an id
        # already stored (and guards against a concurrent request carrying the same one).
        _insert_fast(connection, fresh)
    return len(fresh) if count_stored else None


def _known_event_ids(connection: Connection, organization_id: str, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        found.update(
            connection.execute(
                select(events.c.event_id).where(
                    events.c.organization_id == organization_id,
                    events.c.event_id.in_(ids[start : start + 500]),
                )
            ).scalars()
        )
    return found


@dataclass(frozen=True, slots=True)
class StoredEvent:
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


_STORED_COLUMNS = [events.c[name] for name in StoredEvent.__slots__]


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


def after(
    connection: Connection, *, organization_id: str, after_seq: int, limit: int
) -> list[StoredEvent]:
    """The log of one organisation from ``after_seq`` on, oldest first: the pipeline's read."""
    rows = connection.execute(
        select(*_STORED_COLUMNS)
        .where(events.c.organization_id == organization_id, events.c.seq > after_seq)
        .order_by(events.c.seq)
        .limit(limit)
    )
    return [StoredEvent(**row._mapping) for row in rows]


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


def _insert_fast(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """The hot path of ingest: one driver-level ``executemany``.

    SQLAlchemy's per-row type processing (timestamps, JSON) cost more than the insert itself,
    so the values are put in the driver's own form here: on SQLite, naive UTC timestamps in
    the text format SQLAlchemy reads back and JSON text; on PostgreSQL, aware datetimes and
    psycopg's Jsonb.
    """
    columns = ", ".join(_COLUMNS)
    conflict = "ON CONFLICT (organization_id, event_id) DO NOTHING"
    if connection.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in _COLUMNS)
        times: dict[datetime, str] = {}  # a batch shares its receipt time: format it once

        def stamp(value: datetime) -> str:
            text = times.get(value)
            if text is None:
                text = times[value] = _sqlite_time(value)
            return text

        params = [
            (
                *(row[name] for name in _COLUMNS[:8]),
                None if row["context"] is None else json.dumps(row["context"]),
                stamp(row["occurred_at"]),
                stamp(row["received_at"]),
            )
            for row in rows
        ]
    else:
        from psycopg.types.json import Jsonb

        marks = ", ".join("%s" for _ in _COLUMNS)
        params = [
            (
                *(row[name] for name in _COLUMNS[:8]),
                None if row["context"] is None else Jsonb(row["context"]),
                row["occurred_at"],
                row["received_at"],
            )
            for row in rows
        ]
    connection.exec_driver_sql(
        f"INSERT INTO events ({columns}) VALUES ({marks}) {conflict}", params
    )


def _sqlite_time(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
