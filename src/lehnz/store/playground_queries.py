"""Suggestions for the dashboard's playground: ids this organisation has recently used.

Both queries are bounded (the newest rows by an index, never a scan of the table) so a store
with millions of events fills the pickers as fast as an empty one.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from lehnz.store.tables import events, items

#: How many of the newest events are read for their distinct user ids.
EVENT_WINDOW = 1000


def recent_user_ids(connection: Connection, *, organization_id: str, limit: int = 50) -> list[str]:
    """The distinct users of the newest events, newest first (by the ``(org, seq)`` index)."""
    rows = connection.execute(
        select(events.c.user_id)
        .where(events.c.organization_id == organization_id)
        .order_by(events.c.seq.desc())
        .limit(EVENT_WINDOW)
    )
    found: dict[str, None] = {}
    for (user_id,) in rows:
        found.setdefault(user_id, None)
        if len(found) >= limit:
            break
    return list(found)


def recent_item_ids(connection: Connection, *, organization_id: str, limit: int = 50) -> list[str]:
    """The most recently written items that can be recommended or asked about, newest first
    (by the ``(org, updated_at)`` index)."""
    rows = connection.execute(
        select(items.c.item_id)
        .where(items.c.organization_id == organization_id, items.c.status != "deleted")
        .order_by(items.c.updated_at.desc(), items.c.item_id)
        .limit(limit)
    )
    return [item_id for (item_id,) in rows]
