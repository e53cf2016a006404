"""A shopper's state, as the serving side reads it: a small JSON document, updated by pure
functions so the embedded loop and ``lehnz worker`` compute exactly the same thing.

``recent``     the newest ``MAX_RECENT`` events with an item: ``[item_id, event_name, weight, ts]``
``items``      item -> ``[weight, purchases, last_ts]``: the summed event weight, times bought
               and the latest event time, for the ``MAX_ITEMS`` most recently touched items.
               The engines score the user from this (decayed by ``last_ts`` at request time).
``cart``       item -> quantity (added minus removed; gone at zero), emptied by a purchase
``price``      weighted sums over log prices of items engaged with: ``w``, ``s``, ``s2``
``events``     how many events were applied (an identify merge adds the other's count)
``last_at``    the newest event time (epoch seconds)
"""

from __future__ import annotations

import math
from typing import Any

MAX_RECENT = 50
MAX_ITEMS = 1000

State = dict[str, Any]


def empty_state() -> State:
    return {
        "recent": [],
        "items": {},
        "cart": {},
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
    touched = state["items"]
    entry = touched.get(item_id)
    if entry is None:
        touched[item_id] = [weight, 1 if is_purchase else 0, at]
        if len(touched) > MAX_ITEMS:
            oldest = min(touched, key=lambda item: touched[item][2])
            del touched[oldest]
    else:
        entry[0] += weight
        entry[1] += 1 if is_purchase else 0
        entry[2] = max(entry[2], at)
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
    touched = into["items"]
    for item, (weight, purchases, last) in other["items"].items():
        entry = touched.get(item)
        if entry is None:
            touched[item] = [weight, purchases, last]
        else:
            touched[item] = [entry[0] + weight, entry[1] + purchases, max(entry[2], last)]
    while len(touched) > MAX_ITEMS:
        del touched[min(touched, key=lambda item: touched[item][2])]
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


def purchases(state: State) -> dict[str, int]:
    return {item: int(entry[1]) for item, entry in state["items"].items() if entry[1] > 0}
