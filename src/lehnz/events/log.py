"""Turning validated events into log rows, and appending them in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lehnz.events.models import EventIn
from lehnz.signals import Signal
from lehnz.store import Store
from lehnz.store import events as event_queries
from lehnz.store.types import utcnow


def event_row(organization_id: str, event: EventIn, received_at: datetime) -> dict[str, Any]:
    return {
        "organization_id": organization_id,
        "event_id": event.event_id,
        "user_id": event.user_id,
        "event_name": event.event_name,
        "item_id": event.item_id,
        "session_id": event.session_id,
        "recommendation_id": event.recommendation_id,
        "previous_user_id": event.previous_user_id,
        "context": event.context,
        "occurred_at": event.timestamp or received_at,
        "received_at": received_at,
    }


def append_events(
    connection: Connection,
    *,
    organization_id: str,
    batch: Sequence[EventIn],
    count_stored: bool = True,
) -> int | None:
    """Append inside the caller's transaction; the number stored (repeats skipped), or None
    when ``count_stored`` is off."""
    received_at = utcnow()
    rows = [event_row(organization_id, event, received_at) for event in batch]
    return event_queries.append(
        connection, organization_id=organization_id, rows=rows, count_stored=count_stored
    )


class EventLog:
    def __init__(self, store: Store, appended: Signal) -> None:
        self._store = store
        self._appended = appended

    def append(self, *, organization_id: str, batch: Sequence[EventIn]) -> int:
        """Commit ``batch`` durably before returning; the number acknowledged."""
        with self._store.write() as connection:
            append_events(
                connection, organization_id=organization_id, batch=batch, count_stored=False
            )
        self._appended.fire()
        return len(batch)
