"""Reading one organisation's log and catalog into the arrays the engines train on.

Users are resolved to their identified id (identity links), so a stitched anonymous history
trains as part of its owner. Items the log mentions but the catalog lacks still take part as
history (they cannot be recommended: serving only shows active catalog items).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lehnz.engine.semantic import item_text
from lehnz.engine.types import CatalogArrays, EventArrays
from lehnz.pipeline.weights import EventWeights
from lehnz.store import Store
from lehnz.store import accounts as account_queries
from lehnz.store import training as queries


@dataclass
class LoadedData:
    events: EventArrays
    catalog: CatalogArrays
    n_users: int
    last_seq: int


def load(store: Store, organization_id: str) -> LoadedData:
    with store.read() as connection:
        up_to = queries.last_seq(connection, organization_id)
        links = queries.all_links(connection, organization_id)
        settings = account_queries.organization_settings(connection, organization_id)
        catalog_rows = queries.all_items(connection, organization_id)
        columns = queries.event_columns(connection, organization_id, up_to_seq=up_to)
    item_ids = [item_id for item_id, _, _ in catalog_rows]
    events, n_users = _event_arrays(
        columns, links, EventWeights(settings.get("event_families")), item_ids
    )
    attributes = {item_id: attrs for item_id, _, attrs in catalog_rows}
    texts, prices, categories, names = [], [], [], []
    for item_id in item_ids:
        attrs = attributes.get(item_id, {})
        texts.append(item_text(attrs))
        price = attrs.get("price")
        if isinstance(price, int | float) and not isinstance(price, bool) and math.isfinite(price):
            prices.append(float(price))
        else:
            prices.append(math.nan)
        category = attrs.get("category")
        categories.append(
            str(category[0] if isinstance(category, list) and category else category)
            if category
            else None
        )
        name = attrs.get("name") or attrs.get("title")
        names.append(str(name) if name else None)
    catalog = CatalogArrays(
        item_ids=item_ids,
        texts=texts,
        prices=np.array(prices, dtype=np.float32),
        categories=categories,
        names=names,
    )
    return LoadedData(events=events, catalog=catalog, n_users=n_users, last_seq=up_to)


def _event_arrays(
    columns: queries.EventColumns,
    links: dict[str, str],
    weights: EventWeights,
    item_ids: list[str],
) -> tuple[EventArrays, int]:
    """The events as arrays, and the number of users. Users and baskets are numbered in order
    of first appearance in the log; items follow the catalog's order, then items the catalog
    lacks in order of first appearance (appended to ``item_ids``). A basket is the session,
    or else the user's UTC day.

    No Python code runs per event: each id column arrives numbered (``FirstSeen``, dict and
    ``map`` loops in C), and everything per distinct value (an identity link, an event
    name's weight, a catalog position) is looked up once and spread with NumPy. 4x faster
    than ``np.unique`` on 10 million string ids, which sorts them."""
    raw_users, raw_user = columns.users.values, columns.users.codes
    # Users resolve to their identified id: numbered by the first event of any of their ids.
    canonical, canonical_of_raw = _first_seen([links.get(u, u) for u in raw_users])
    user = canonical_of_raw[raw_user]
    names, name = columns.event_names.values, columns.event_names.codes
    weight = np.array([weights.weight(x) for x in names], dtype=np.float64)[name]
    conversion = np.array([weights.is_conversion(x) for x in names], dtype=np.bool_)[name]
    seen_items, seen_item = columns.items.values, columns.items.codes
    position = {item_id: i for i, item_id in enumerate(item_ids)}
    item_of_seen = np.empty(len(seen_items), dtype=np.int64)
    for index, item_id in enumerate(seen_items):
        found = position.get(item_id)
        if found is None:
            found = position[item_id] = len(item_ids)
            item_ids.append(item_id)
        item_of_seen[index] = found
    stamp = columns.occurred_us.astype(np.float64) / 1e6  # as ``datetime.timestamp()``
    basket = _baskets(columns.sessions, canonical, user, stamp)
    events = EventArrays(
        user=user.astype(np.int32),
        item=item_of_seen[seen_item].astype(np.int32),
        weight=weight.astype(np.float32),
        time=stamp,
        basket=basket,
        is_purchase=conversion,
    )
    return events, len(canonical)


def _baskets(
    sessions: queries.Numbered,
    users: list[str],
    user: NDArray[np.int64],
    stamp: NDArray[np.float64],
) -> NDArray[np.int64]:
    """Each event's basket number: its session id, or else ``"<user>|<UTC day>"`` for an
    event without one, numbered in order of first appearance (the same keys as before, so
    a session id spelled like a user's day joins that day, as it did)."""
    keys = np.array(sessions.values, dtype=object)[sessions.codes]
    bare = np.flatnonzero((keys == None) | (keys == ""))  # noqa: E711  (elementwise)
    if len(bare):
        day = np.floor_divide(stamp[bare], 86_400).astype(np.int64)
        pairs, pair = np.unique(np.stack([user[bare], day], axis=1), axis=0, return_inverse=True)
        labels = np.array([f"{users[u]}|{d}" for u, d in pairs.tolist()], dtype=object)
        keys[bare] = labels[pair.ravel()]
    _, basket = _first_seen(keys.tolist())
    return basket


def _first_seen(values: list[Any]) -> tuple[list[Any], NDArray[np.int64]]:
    """The distinct values in order of first appearance, and each value's number among them."""
    seen = queries.FirstSeen()
    seen.add(values)
    numbered = seen.result()
    return numbered.values, numbered.codes
