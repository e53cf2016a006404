"""Writing and reading the catalog, scoped to one organisation at every step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from lehnz.catalog.models import ItemIn, UserIn
from lehnz.errors import NotFound
from lehnz.signals import Signal
from lehnz.store import Store
from lehnz.store import catalog as queries
from lehnz.store.catalog import ItemRecord, UserRecord
from lehnz.store.tables import items, users
from lehnz.store.types import utcnow


@dataclass(frozen=True, slots=True)
class UpsertResult:
    created: int
    updated: int

    @property
    def upserted(self) -> int:
        return self.created + self.updated


def item_row(organization_id: str, item: ItemIn) -> dict[str, Any]:
    now = utcnow()
    row: dict[str, Any] = {
        "organization_id": organization_id,
        "item_id": item.item_id,
        "created_at": now,
        "updated_at": now,
    }
    for field in ("item_type", "status", "attributes"):
        if field in item.model_fields_set:
            row[field] = getattr(item, field)
    return row


def user_row(organization_id: str, user: UserIn) -> dict[str, Any]:
    now = utcnow()
    row: dict[str, Any] = {
        "organization_id": organization_id,
        "user_id": user.user_id,
        "created_at": now,
        "updated_at": now,
    }
    if "attributes" in user.model_fields_set:
        row["attributes"] = user.attributes
    return row


def write_items(
    connection: Connection, *, organization_id: str, batch: Sequence[ItemIn]
) -> UpsertResult:
    """Upsert inside the caller's transaction; a repeated id in one batch: the last wins."""
    latest = {item.item_id: item_row(organization_id, item) for item in batch}
    return _write(connection, items, organization_id, latest)


def write_users(
    connection: Connection, *, organization_id: str, batch: Sequence[UserIn]
) -> UpsertResult:
    latest = {user.user_id: user_row(organization_id, user) for user in batch}
    return _write(connection, users, organization_id, latest)


def _write(
    connection: Connection, table: Any, organization_id: str, latest: dict[str, dict[str, Any]]
) -> UpsertResult:
    ids = list(latest)
    existing = queries.existing_ids(connection, table, organization_id=organization_id, ids=ids)
    queries.upsert_rows(connection, table, latest.values())
    return UpsertResult(created=len(ids) - len(existing), updated=len(existing))


class CatalogService:
    def __init__(self, store: Store, changed: Signal | None = None) -> None:
        self._store = store
        self._changed = changed or Signal()

    def upsert_items(self, *, organization_id: str, batch: Sequence[ItemIn]) -> UpsertResult:
        with self._store.write() as connection:
            result = write_items(connection, organization_id=organization_id, batch=batch)
        self._changed.fire()
        return result

    def upsert_users(self, *, organization_id: str, batch: Sequence[UserIn]) -> UpsertResult:
        with self._store.write() as connection:
            return write_users(connection, organization_id=organization_id, batch=batch)

    def get_item(self, *, organization_id: str, item_id: str) -> ItemRecord:
        with self._store.read() as connection:
            record = queries.get_item(connection, organization_id=organization_id, item_id=item_id)
        if record is None:
            raise NotFound(f"No item with item_id '{item_id}'")
        return record

    def find_user(self, *, organization_id: str, user_id: str) -> UserRecord | None:
        with self._store.read() as connection:
            return queries.get_user(connection, organization_id=organization_id, user_id=user_id)

    def delete_item(self, *, organization_id: str, item_id: str) -> None:
        """Mark the item ``deleted``: kept for history, never recommended again."""
        with self._store.write() as connection:
            found = queries.set_item_status(
                connection,
                organization_id=organization_id,
                item_id=item_id,
                status="deleted",
                at=utcnow(),
            )
        if not found:
            raise NotFound(f"No item with item_id '{item_id}'")
        self._changed.fire()

    def erase_user(self, *, organization_id: str, user_id: str) -> dict[str, int]:
        """Right to erasure: the profile, events, identity links and recommendation logs.

        ``NotFound`` when nothing at all was stored about the user, so a retried erasure
        is safe and says so.
        """
        with self._store.write() as connection:
            counts = queries.erase_user(
                connection, organization_id=organization_id, user_id=user_id
            )
        if not any(counts.values()):
            raise NotFound(f"No data stored for user_id '{user_id}'")
        return counts
