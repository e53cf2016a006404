"""The event log: appended in batches, read back by user."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from lehnz.store.tables import events
from lehnz.store.upsert import insert_ignoring_duplicates


def append(connection: Connection, *, organization_id: str, rows: Sequence[dict[str, Any]]) -> int:
    """Append ``rows`` of one organisation; the number stored.

    A row whose ``event_id`` the organisation already sent (earlier, or earlier in this
    batch) is skipped, which makes retries safe. Rows without an ``event_id`` are always
    stored.
    """
    sent_ids = [row["event_id"] for row in rows if row.get("event_id")]
    known = _known_event_ids(connection, organization_id, sent_ids) if sent_ids else set()
    fresh_with_id: list[dict[str, Any]] = []
    without_id: list[dict[str, Any]] = []
    for row in rows:
        event_id = row.get("event_id")
        if not event_id:
            without_id.append(row)
        elif event_id not in known:
            known.add(event_id)
            fresh_with_id.append(row)
    if without_id:
        connection.execute(events.insert(), without_id)
    if fresh_with_id:
        # ON CONFLICT still guards against a concurrent request carrying the same event_id.
        insert_ignoring_duplicates(
            connection, events, fresh_with_id, key=["organization_id", "event_id"]
        )
    return len(without_id) + len(fresh_with_id)


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


def count_for_organization(connection: Connection, organization_id: str) -> int:
    return int(
        connection.execute(
            select(func.count())
            .select_from(events)
            .where(events.c.organization_id == organization_id)
        ).scalar_one()
    )
