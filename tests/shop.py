"""A small synthetic store whose right answers are known.

Shoes are bought by shoe lovers, hats by hat lovers; socks are always bought with the
runner shoe; a lamp is inactive. Shoes are pricier (50-80) and more popular than hats
(10-20).
"""

from __future__ import annotations

import random
import time

import httpx

from tests.factories import Tenant, eventually, ingest

SHOES = [f"shoe-{n}" for n in range(8)]
HATS = [f"hat-{n}" for n in range(8)]


def catalog() -> list[dict]:
    items = [
        {
            "item_id": s,
            "attributes": {
                "name": f"Leather running shoe model {n}",
                "category": "shoes",
                "brand": "Stride",
                "price": 50 + 4 * n,
            },
        }
        for n, s in enumerate(SHOES)
    ]
    items += [
        {
            "item_id": h,
            "attributes": {
                "name": f"Wool winter hat style {n}",
                "category": "hats",
                "brand": "Knit",
                "price": 10 + n,
            },
        }
        for n, h in enumerate(HATS)
    ]
    items.append(
        {
            "item_id": "socks",
            "attributes": {"name": "Running socks", "category": "socks", "price": 8},
        }
    )
    items.append(
        {"item_id": "lamp", "status": "inactive", "attributes": {"name": "Desk lamp", "price": 30}}
    )
    return items


def history() -> list[dict]:
    events = []
    for u in range(30):  # shoe lovers, the larger crowd
        user = f"shoe-fan-{u}"
        for n in range(4):
            shoe = SHOES[(u + n) % len(SHOES)]
            events.append(
                {
                    "user_id": user,
                    "event_name": "view",
                    "item_id": shoe,
                    "session_id": f"{user}-s{n}",
                }
            )
            events.append(
                {
                    "user_id": user,
                    "event_name": "purchase",
                    "item_id": shoe,
                    "session_id": f"{user}-s{n}",
                }
            )
        # The runner shoe and socks, always in the same basket.
        events.append(
            {
                "user_id": user,
                "event_name": "purchase",
                "item_id": "shoe-0",
                "session_id": f"{user}-b",
            }
        )
        events.append(
            {
                "user_id": user,
                "event_name": "purchase",
                "item_id": "socks",
                "session_id": f"{user}-b",
            }
        )
        events.append({"user_id": user, "event_name": "view", "item_id": "lamp"})
    for u in range(15):
        user = f"hat-fan-{u}"
        for n in range(4):
            hat = HATS[(u + n) % len(HATS)]
            events.append(
                {
                    "user_id": user,
                    "event_name": "view",
                    "item_id": hat,
                    "session_id": f"{user}-s{n}",
                }
            )
            events.append(
                {
                    "user_id": user,
                    "event_name": "purchase",
                    "item_id": hat,
                    "session_id": f"{user}-s{n}",
                }
            )
    # Spread over sixty days, so training has a latest slice to validate its choices on.
    random.Random(3).shuffle(events)
    start = time.time() - 60 * 86_400
    for position, event in enumerate(events):
        event["timestamp"] = start + 60 * 86_400 * position / len(events)
    return events


def events_seen(client: httpx.Client, secret_headers: dict[str, str], user: str) -> int:
    """How many of ``user``'s events the pipeline has applied (0 before the first)."""
    response = client.get(f"/api/v1/users/{user}", headers=secret_headers)
    return response.json()["data"]["activity"]["events"] if response.status_code == 200 else 0


def trained_shop(client: httpx.Client, org: Tenant) -> Tenant:
    """``org`` with this store's catalog and history, applied by the pipeline, and a model
    trained on them."""
    response = client.post("/api/v1/items", headers=org.secret_headers, json=catalog())
    assert response.status_code == 200, response.text
    events = history()
    for start in range(0, len(events), 1000):
        ingest(client, org, events[start : start + 1000])
    eventually(lambda: events_seen(client, org.secret_headers, "hat-fan-14") >= 8)
    trained = client.post("/api/v1/models/train", headers=org.secret_headers)
    assert trained.status_code == 200, trained.text
    return org
