"""Reading one organisation's log and catalog into the arrays the engines train on.

Users are resolved to their identified id (identity links), so a stitched anonymous history
trains as part of its owner. Items the log mentions but the catalog lacks still take part as
history (they cannot be recommended: serving only shows active catalog items).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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
        weights = EventWeights(settings.get("event_families"))
        item_index: dict[str, int] = {item_id: i for i, (item_id, _, _) in enumerate(catalog_rows)}
        item_ids = [item_id for item_id, _, _ in catalog_rows]
        users: dict[str, int] = {}
        baskets: dict[str, int] = {}
        u: list[int] = []
        it: list[int] = []
        w: list[float] = []
        t: list[float] = []
        b: list[int] = []
        bought: list[bool] = []
        name_weight: dict[str, tuple[float, bool]] = {}
        for _, user_id, item_id, event_name, occurred_at, session_id in queries.iter_events(
            connection, organization_id, up_to_seq=up_to
        ):
            if item_id is None:
                continue
            if event_name not in name_weight:
                name_weight[event_name] = (
                    weights.weight(event_name),
                    weights.is_conversion(event_name),
                )
            weight, conversion = name_weight[event_name]
            user = links.get(user_id, user_id)
            index = item_index.get(item_id)
            if index is None:
                index = item_index[item_id] = len(item_ids)
                item_ids.append(item_id)
            stamp = occurred_at.timestamp()
            basket_key = session_id or f"{user}|{int(stamp // 86_400)}"
            u.append(users.setdefault(user, len(users)))
            it.append(index)
            w.append(weight)
            t.append(stamp)
            b.append(baskets.setdefault(basket_key, len(baskets)))
            bought.append(conversion)
    events = EventArrays(
        user=np.array(u, dtype=np.int32),
        item=np.array(it, dtype=np.int32),
        weight=np.array(w, dtype=np.float32),
        time=np.array(t, dtype=np.float64),
        basket=np.array(b, dtype=np.int64),
        is_purchase=np.array(bought, dtype=np.bool_),
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
    return LoadedData(events=events, catalog=catalog, n_users=len(users), last_seq=up_to)
