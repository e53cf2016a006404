"""Turning validated events into log rows, and appending them durably with group commit."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
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
        "event_id": event.event_id or event_queries.new_event_id(),
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


def append_events(connection: Connection, *, organization_id: str, batch: Sequence[EventIn]) -> int:
    """Append inside the caller's transaction; the number stored (repeats skipped)."""
    received_at = utcnow()
    rows = [event_row(organization_id, event, received_at) for event in batch]
    return event_queries.append(connection, organization_id=organization_id, rows=rows)


@dataclass(eq=False)
class _Pending:
    organization_id: str
    params: list[tuple[Any, ...]]
    written: bool = False
    error: BaseException | None = None


class EventLog:
    """The ingest path: every request is acknowledged only after its rows are committed.

    On SQLite, which has one writer, concurrent requests share commits (group commit): a
    request that finds the writer busy queues its rows, and whichever request writes next
    commits everything queued in one transaction. Under load each write carries several
    batches instead of one; alone, a request commits by itself with no added wait.
    """

    def __init__(self, store: Store, appended: Signal) -> None:
        self._store = store
        self._appended = appended
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._turn = threading.Lock()
        self._in_flight = 0

    def busy(self) -> bool:
        """Whether an append is in progress in this process."""
        return self._in_flight > 0

    def append(self, *, organization_id: str, batch: Sequence[EventIn]) -> int:
        """Commit ``batch`` durably before returning; the number acknowledged.

        A repeated ``event_id`` is acknowledged but stored once (ON CONFLICT skips it).
        """
        with self._queue_lock:
            self._in_flight += 1
        try:
            received_at = utcnow()
            rows = [event_row(organization_id, event, received_at) for event in batch]
            pending = _Pending(organization_id, event_queries.prepare(self._store.dialect, rows))
            if self._store.dialect != "sqlite":
                # PostgreSQL takes concurrent transactions and flushes their commits together
                # itself; a turn held across the process would only serialise them.
                self._write_group([pending])
            else:
                self._share_a_commit(pending)
        finally:
            with self._queue_lock:
                self._in_flight -= 1
        if pending.error is not None:
            raise pending.error
        self._appended.fire()
        return len(batch)

    def _share_a_commit(self, pending: _Pending) -> None:
        with self._queue_lock:
            self._queue.append(pending)
        with self._turn:
            if not pending.written:
                with self._queue_lock:
                    group, self._queue = self._queue, []
                self._write_group(group)

    def _write_group(self, group: list[_Pending]) -> None:
        try:
            self._write(group)
        except Exception as exc:
            if len(group) == 1:
                group[0].error = exc
            else:  # one request's failure must not fail the others: write each alone
                for pending in group:
                    try:
                        self._write([pending])
                    except Exception as alone:
                        pending.error = alone
        for pending in group:
            pending.written = True

    def _write(self, group: list[_Pending]) -> None:
        with self._store.write() as connection:
            event_queries.insert_prepared(
                connection, [row for pending in group for row in pending.params]
            )
