"""The training read gives exactly the arrays the per-event loop it replaced gave: the same
user numbering (first appearance, identity links applied), item numbering (catalog order,
then unknown items as they appear), baskets (session, or the user's UTC day), weights,
times and purchases. On SQLite and PostgreSQL, on a store with every kind of event."""

from __future__ import annotations

import random
import time

import numpy as np

from lehnz.engine.types import EventArrays
from lehnz.pipeline.weights import EventWeights
from lehnz.store import Store
from lehnz.store import accounts as account_queries
from lehnz.store import training as queries
from lehnz.store.tables import identity_links
from lehnz.training.loader import load
from tests.factories import eventually, ingest, rows_of, tenant
from tests.shop import catalog


def _reference(store: Store, organization_id: str) -> tuple[EventArrays, list[str], int]:
    """The loader before it was vectorised, kept verbatim as the reference."""
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
        for _, user_id, item_id, event_name, occurred_at, session_id in queries.iter_events(
            connection, organization_id, up_to_seq=up_to
        ):
            if item_id is None:
                continue
            weight, conversion = weights.weight(event_name), weights.is_conversion(event_name)
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
    return events, item_ids, len(users)


def _history() -> list[dict]:
    """Shoppers with and without sessions across midnight, anonymous visitors who sign in
    later, items the catalog lacks, events without an item, a store-defined event name,
    and timestamps with microseconds."""
    rng = random.Random(11)
    known = [item["item_id"] for item in catalog()]
    unknown = [f"gone-{n}" for n in range(5)]
    start = int(time.time()) // 86_400 * 86_400 - 20 * 86_400  # a UTC midnight, 20 days ago
    events: list[dict] = []
    for _ in range(700):
        user = f"u{rng.randrange(40)}" if rng.random() < 0.8 else f"anon-{rng.randrange(12)}"
        event = {
            "user_id": user,
            "event_name": rng.choice(["view", "view", "add_to_cart", "purchase", "wishlist"]),
            "item_id": rng.choice(known + unknown) if rng.random() < 0.95 else None,
            # Events cluster around midnights, so days split a session-less shopper's baskets.
            "timestamp": start + rng.randrange(20) * 86_400 + rng.uniform(-4000, 4000),
        }
        if event["item_id"] is None:
            event["event_name"] = "search"
            del event["item_id"]
        if rng.random() < 0.5:
            event["session_id"] = f"s{rng.randrange(60)}"
        events.append(event)
    for n in range(8):  # the anonymous visitors sign in
        events.append(
            {
                "user_id": f"u{n}",
                "event_name": "identify",
                "previous_user_id": f"anon-{n}",
                "timestamp": start + 21 * 86_400 + n,
            }
        )
    events.sort(key=lambda e: e["timestamp"])
    return events


def test_the_training_read_matches_the_per_event_loop(api, monkeypatch):
    org = tenant(api)
    saved = api.put(
        "/api/v1/settings/event_families",
        headers=org.account.headers,
        json={"wishlist": "conversion"},
    )
    assert saved.status_code == 200
    assert api.post("/api/v1/items", headers=org.secret_headers, json=catalog()).is_success
    events = _history()
    for start in range(0, len(events), 250):
        ingest(api, org, events[start : start + 250])
    eventually(
        lambda: len(rows_of(api, identity_links, organization_id=org.organization_id)) == 8,
        timeout=30,
    )
    store = api.app.state.runtime.store  # type: ignore[attr-defined]

    expected, item_ids, n_users = _reference(store, org.organization_id)
    # Read in one chunk, and in chunks of 7 rows: ids are numbered across chunk boundaries.
    for chunk in (queries.EVENT_CHUNK, 7):
        monkeypatch.setattr(queries, "EVENT_CHUNK", chunk)
        loaded = load(store, org.organization_id)
        for name in ("user", "item", "weight", "time", "basket", "is_purchase"):
            got, want = getattr(loaded.events, name), getattr(expected, name)
            assert got.dtype == want.dtype, name
            assert np.array_equal(got, want), name
        assert loaded.catalog.item_ids == item_ids and loaded.n_users == n_users
    # The store is what the test meant it to be: every case is there.
    assert len(loaded.events) == sum(1 for e in events if "item_id" in e)
    assert {"gone-0", "gone-4"} <= set(item_ids[len(catalog()) :])
    assert n_users < len({e["user_id"] for e in events if "item_id" in e})  # links applied
    purchases = sum(1 for e in events if e["event_name"] == "purchase" and "item_id" in e)
    assert loaded.events.is_purchase.sum() > purchases  # "wishlist" counts as a conversion
    days = np.floor_divide(loaded.events.time, 86_400)
    assert len(np.unique(days)) > 20  # baskets by day cross midnights
    assert not np.array_equal(loaded.events.time, np.round(loaded.events.time))  # microseconds


def test_an_organisation_without_events_loads_empty(api):
    org = tenant(api)
    store = api.app.state.runtime.store  # type: ignore[attr-defined]
    loaded = load(store, org.organization_id)
    assert len(loaded.events) == 0 and loaded.n_users == 0 and loaded.catalog.item_ids == []
    assert loaded.events.user.dtype == np.int32 and loaded.events.time.dtype == np.float64
