"""A shopper's state, as the serving side reads it: a small JSON document, updated by pure
functions so the embedded loop and ``lehnz worker`` compute exactly the same thing.

``recent``     the newest ``MAX_RECENT`` events with an item: ``[item_id, event_name, weight, ts]``
``cart``       item -> quantity (added minus removed; gone at zero), emptied by a purchase
``purchased``  item -> times bought (for buy-again decisions)
``price``      weighted sums over log prices of items engaged with: ``w``, ``s``, ``s2``
``events``     how many events were applied (an identify merge adds the other's count)
``last_at``    the newest event time (epoch seconds)
"""

from __future__ import annotations

import math
from typing import Any

MAX_RECENT = 200
MAX_PURCHASED = 1000

State = dict[str, Any]


def empty_state() -> State:
    return {
        "recent": [],
        "cart": {},
        "purchased": {},
        "price": {"w": 0.0, "s": 0.0, "s2": 0.0},
        "events": 0,
        "last_at": None,
    }


def apply_event(
    state: State,
    *,
    event_name: str,
    item_id: str | None,
    weight: float,
    at: float,
    price: float | None,
    quantity: float,
    is_purchase: bool,
) -> None:
    """Fold one event into ``state`` in place. ``at`` is epoch seconds."""
    state["events"] += 1
    state["last_at"] = at if state["last_at"] is None else max(state["last_at"], at)
    if item_id is None:
        return
    recent = state["recent"]
    recent.append([item_id, event_name, weight, at])
    if len(recent) > MAX_RECENT:
        del recent[: len(recent) - MAX_RECENT]
    cart = state["cart"]
    if event_name == "add_to_cart":
        cart[item_id] = cart.get(item_id, 0) + quantity
    elif event_name == "remove_from_cart":
        left = cart.get(item_id, 0) - quantity
        if left > 0:
            cart[item_id] = left
        else:
            cart.pop(item_id, None)
    if is_purchase:
        cart.pop(item_id, None)
        purchased = state["purchased"]
        purchased[item_id] = purchased.get(item_id, 0) + 1
        if len(purchased) > MAX_PURCHASED:
            least = min(purchased, key=purchased.__getitem__)
            del purchased[least]
    if price is not None and price > 0 and weight > 0:
        log_price = math.log(price)
        profile = state["price"]
        profile["w"] += weight
        profile["s"] += weight * log_price
        profile["s2"] += weight * log_price * log_price


def merge_states(into: State, other: State) -> None:
    """Merge ``other`` (an id being stitched away) into ``into``, in place."""
    into["recent"] = sorted(into["recent"] + other["recent"], key=lambda entry: entry[3])[
        -MAX_RECENT:
    ]
    for item, quantity in other["cart"].items():
        into["cart"][item] = into["cart"].get(item, 0) + quantity
    for item, count in other["purchased"].items():
        into["purchased"][item] = into["purchased"].get(item, 0) + count
    for key in ("w", "s", "s2"):
        into["price"][key] += other["price"][key]
    into["events"] += other["events"]
    times = [t for t in (into["last_at"], other["last_at"]) if t is not None]
    into["last_at"] = max(times) if times else None


def price_band(state: State) -> tuple[float, float] | None:
    """The shopper's typical price as (median, spread factor): exp of the weighted mean and
    standard deviation of log prices, or None before any priced interest."""
    profile = state["price"]
    if profile["w"] <= 0:
        return None
    mean = profile["s"] / profile["w"]
    variance = max(profile["s2"] / profile["w"] - mean * mean, 0.0)
    return math.exp(mean), math.exp(math.sqrt(variance))
