"""A user's stored events, identities stitched, for the developer asking "where are my events"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lehnz.errors import ValidationFailed
from lehnz.store import Store
from lehnz.store import events as event_queries
from lehnz.store import identity as identity_queries
from lehnz.store.events import StoredEvent


@dataclass(frozen=True, slots=True)
class EventPage:
    user_id: str
    user_ids: list[str]
    events: list[StoredEvent]
    next: str | None


# A cursor is a sequence number: ASCII digits of a positive 64-bit integer. ``str.isdigit``
# would also take "²" (which ``int`` refuses) and "١٢" (which ``int`` reads as 12).
_CURSOR = re.compile(r"[0-9]{1,19}")
_MAX_SEQ = 2**63 - 1


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not _CURSOR.fullmatch(cursor) or int(cursor) > _MAX_SEQ:
        raise ValidationFailed(["before: not a cursor from a previous page's 'next'"])
    return int(cursor)


class EventHistory:
    def __init__(self, store: Store) -> None:
        self._store = store

    def page(
        self, *, organization_id: str, user_id: str, limit: int, before: str | None
    ) -> EventPage:
        """Newest first. ``user_id`` may be an alias: the page covers the identified user and
        every id merged into it, so an anonymous history shows once it is stitched."""
        before_seq = decode_cursor(before)
        with self._store.read() as connection:
            canonical, ids = identity_queries.with_aliases(
                connection, organization_id=organization_id, user_id=user_id
            )
            rows = event_queries.for_users(
                connection,
                organization_id=organization_id,
                user_ids=ids,
                before_seq=before_seq,
                limit=limit + 1,
            )
        more = len(rows) > limit
        rows = rows[:limit]
        return EventPage(
            user_id=canonical,
            user_ids=ids,
            events=rows,
            next=str(rows[-1].seq) if more and rows else None,
        )
