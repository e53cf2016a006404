"""Each organisation's catalog as serving needs it: status, type and attributes by item id.

Kept in memory and brought up to date incrementally (rows changed since the last look, by
the ``updated_at`` index) at most every ``refresh_seconds``, and at once after a catalog
write in this process, so a deleted or deactivated item stops appearing immediately here
and within a second elsewhere. No request reads the items table itself.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from lehnz.store import Store
from lehnz.store.tables import items
from lehnz.store.types import utcnow

_LOOK_BACK = timedelta(seconds=5)


@dataclass
class CatalogItem:
    item_type: str
    status: str
    attributes: dict[str, Any]
    updated_at: datetime


@dataclass
class CatalogView:
    items: dict[str, CatalogItem] = field(default_factory=dict)
    looked_at: datetime | None = None  # wall-clock time of the last look at the table
    version: int = 0
    checked_at: float = -1e9
    stale: bool = True
    masks: dict[tuple[int, int], NDArray[np.bool_]] = field(default_factory=dict)


class CatalogCache:
    def __init__(self, store: Store, *, refresh_seconds: float = 1.0) -> None:
        self._store = store
        self._refresh = refresh_seconds
        self._views: dict[str, CatalogView] = {}
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        for view in self._views.values():
            view.stale = True

    def view(self, organization_id: str) -> CatalogView:
        view = self._views.setdefault(organization_id, CatalogView())
        now = time.monotonic()
        if view.stale or now - view.checked_at >= self._refresh:
            with self._lock:
                self._update(organization_id, view)
                view.checked_at = now
                view.stale = False
        return view

    def is_fresh(self, organization_id: str) -> bool:
        """Whether ``view`` answers without reading more than a second's changes: the
        organisation's catalog was read here and no write in this process has marked it."""
        view = self._views.get(organization_id)
        return view is not None and not view.stale

    def active_mask(
        self, organization_id: str, model_version: int, item_ids: list[str]
    ) -> NDArray[np.bool_]:
        """Which of a model's items are active in the catalog now."""
        view = self.view(organization_id)
        key = (model_version, view.version)
        mask = view.masks.get(key)
        if mask is None:
            catalog = view.items
            mask = np.fromiter(
                (
                    (entry := catalog.get(item_id)) is not None and entry.status == "active"
                    for item_id in item_ids
                ),
                dtype=np.bool_,
                count=len(item_ids),
            )
            view.masks = {key: mask}
        return mask

    def _update(self, organization_id: str, view: CatalogView) -> None:
        query = select(
            items.c.item_id,
            items.c.item_type,
            items.c.status,
            items.c.attributes,
            items.c.updated_at,
        ).where(items.c.organization_id == organization_id)
        looking_at = utcnow()
        if view.looked_at is not None:
            # Rows stamped before the last look, less a few seconds for a write stamped
            # earlier that committed later (PostgreSQL), were seen then. Measuring from the
            # last look rather than from the newest row seen keeps a catalog uploaded in one
            # go from being read again in full on every refresh.
            query = query.where(items.c.updated_at >= view.looked_at - _LOOK_BACK)
        with self._store.read() as connection:
            rows = connection.execute(query).all()
        view.looked_at = looking_at
        changed = False
        for item_id, item_type, status, attributes, updated_at in rows:
            current = view.items.get(item_id)
            if current is None or current.updated_at != updated_at or current.status != status:
                view.items[item_id] = CatalogItem(item_type, status, attributes or {}, updated_at)
                changed = True
        if changed:
            view.version += 1
