"""Queries over items and users, and the erasure of a user from every table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, func, or_, select, update

from lehnz.store.pipeline import invalidate_batches
from lehnz.store.tables import (
    attributions,
    events,
    identity_links,
    items,
    recommendation_logs,
    user_states,
    users,
)
from lehnz.store.upsert import upsert


@dataclass(frozen=True, slots=True)
class ItemRecord:
    item_id: str
    item_type: str
    status: str
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class UserRecord:
    user_id: str
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def existing_ids(
    connection: Connection, table: Table, *, organization_id: str, ids: Sequence[str]
) -> set[str]:
    id_column = table.c.item_id if table is items else table.c.user_id
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(
            connection.execute(
                select(id_column).where(
                    table.c.organization_id == organization_id, id_column.in_(chunk)
                )
            ).scalars()
        )
    return found


def upsert_rows(
    connection: Connection,
    table: Table,
    rows: Iterable[dict[str, Any]],
) -> None:
    """Rows carry ``organization_id``, the id, ``created_at``, ``updated_at`` and whichever
    fields the store sent; fields left out keep their stored value on an update."""
    key = ["organization_id", "item_id" if table is items else "user_id"]
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_columns.setdefault(tuple(sorted(row)), []).append(row)
    for columns, group in by_columns.items():
        changing = [c for c in columns if c not in (*key, "created_at")]
        upsert(connection, table, group, key=key, update=changing)


#: The columns of an ``ItemRecord``, in its order.
ITEM_RECORD_COLUMNS = (
    items.c.item_id,
    items.c.item_type,
    items.c.status,
    items.c.attributes,
    items.c.created_at,
    items.c.updated_at,
)


def get_item(connection: Connection, *, organization_id: str, item_id: str) -> ItemRecord | None:
    row = connection.execute(
        select(*ITEM_RECORD_COLUMNS).where(
            items.c.organization_id == organization_id, items.c.item_id == item_id
        )
    ).first()
    return ItemRecord(**row._mapping) if row else None


def get_user(connection: Connection, *, organization_id: str, user_id: str) -> UserRecord | None:
    row = connection.execute(
        select(users.c.user_id, users.c.attributes, users.c.created_at, users.c.updated_at).where(
            users.c.organization_id == organization_id, users.c.user_id == user_id
        )
    ).first()
    return UserRecord(**row._mapping) if row else None


def set_item_status(
    connection: Connection, *, organization_id: str, item_id: str, status: str, at: datetime
) -> bool:
    result = connection.execute(
        update(items)
        .where(items.c.organization_id == organization_id, items.c.item_id == item_id)
        .values(status=status, updated_at=at)
    )
    return result.rowcount > 0


def erase_user(connection: Connection, *, organization_id: str, user_id: str) -> dict[str, int]:
    """Delete every row about ``user_id`` and the ids merged into it; counts per table.

    The ids merged into the user (anonymous visitors it identified as) are the user's data
    too, so their events, links and logs go with it.
    """
    # A pipeline batch read before this commits must not write the user's state back.
    invalidate_batches(connection, organization_id)
    aliases = list(
        connection.execute(
            select(identity_links.c.alias_user_id).where(
                identity_links.c.organization_id == organization_id,
                identity_links.c.canonical_user_id == user_id,
            )
        ).scalars()
    )
    ids = [user_id, *aliases]
    in_org = events.c.organization_id == organization_id
    counts = {
        "events": connection.execute(
            delete(events).where(
                in_org, or_(events.c.user_id.in_(ids), events.c.previous_user_id.in_(ids))
            )
        ).rowcount,
        "identity_links": connection.execute(
            delete(identity_links).where(
                identity_links.c.organization_id == organization_id,
                or_(
                    identity_links.c.alias_user_id.in_(ids),
                    identity_links.c.canonical_user_id.in_(ids),
                ),
            )
        ).rowcount,
        "recommendation_logs": connection.execute(
            delete(recommendation_logs).where(
                recommendation_logs.c.organization_id == organization_id,
                recommendation_logs.c.user_id.in_(ids),
            )
        ).rowcount,
        "user_states": connection.execute(
            delete(user_states).where(
                user_states.c.organization_id == organization_id, user_states.c.user_id.in_(ids)
            )
        ).rowcount,
        "attributions": connection.execute(
            delete(attributions).where(
                attributions.c.organization_id == organization_id, attributions.c.user_id.in_(ids)
            )
        ).rowcount,
        "profile": connection.execute(
            delete(users).where(
                users.c.organization_id == organization_id, users.c.user_id == user_id
            )
        ).rowcount,
    }
    return counts


def count_items(connection: Connection, *, organization_id: str) -> int:
    return int(
        connection.execute(
            select(func.count())
            .select_from(items)
            .where(items.c.organization_id == organization_id)
        ).scalar_one()
    )
