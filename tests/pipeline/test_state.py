"""The pure state functions the pipeline applies."""

from __future__ import annotations

import math

from lehnz.pipeline.state import apply_event, empty_state, merge_states, price_band, purchases
from lehnz.pipeline.weights import EventWeights


def _apply(state, name, item, at, price=None, quantity=1.0, purchase=False, weight=1.0):
    apply_event(
        state,
        event_name=name,
        item_id=item,
        weight=weight,
        at=at,
        price=price,
        quantity=quantity,
        is_purchase=purchase,
    )


def test_cart_is_added_minus_removed_and_emptied_by_purchase():
    state = empty_state()
    _apply(state, "add_to_cart", "a", 1, quantity=2)
    _apply(state, "add_to_cart", "b", 2)
    _apply(state, "remove_from_cart", "a", 3)
    assert state["cart"] == {"a": 1, "b": 1}
    _apply(state, "remove_from_cart", "b", 4, quantity=5)
    assert state["cart"] == {"a": 1}
    _apply(state, "purchase", "a", 5, purchase=True)
    assert state["cart"] == {}
    assert purchases(state) == {"a": 1}
    assert state["items"]["a"] == [3.0, 1, 5]
    assert state["events"] == 5 and state["last_at"] == 5


def test_price_band_is_the_weighted_geometric_mean():
    state = empty_state()
    _apply(state, "view", "a", 1, price=10, weight=1)
    _apply(state, "purchase", "b", 2, price=40, weight=3)
    _apply(state, "remove_from_cart", "c", 3, price=1000, weight=-3)  # negative: no interest
    median, spread = price_band(state)
    assert math.isclose(median, math.exp((math.log(10) + 3 * math.log(40)) / 4))
    assert spread > 1
    assert price_band(empty_state()) is None


def test_recent_history_keeps_the_newest_fifty_and_items_the_newest_thousand():
    state = empty_state()
    for n in range(1100):
        _apply(state, "view", f"i{n}", n)
    assert len(state["recent"]) == 50
    assert state["recent"][0][0] == "i1050" and state["recent"][-1][0] == "i1099"
    assert len(state["items"]) == 1000
    assert "i99" not in state["items"] and state["items"]["i100"] == [1.0, 0, 100]


def test_merging_interleaves_histories_by_time_and_sums_the_rest():
    anonymous, known = empty_state(), empty_state()
    _apply(anonymous, "add_to_cart", "a", 1)
    _apply(known, "view", "b", 2)
    _apply(anonymous, "view", "c", 3, price=5, weight=1)
    merge_states(known, anonymous)
    assert [entry[0] for entry in known["recent"]] == ["a", "b", "c"]
    assert known["cart"] == {"a": 1}
    assert set(known["items"]) == {"a", "b", "c"}
    assert known["events"] == 3 and known["last_at"] == 3
    assert known["price"]["w"] == 1


def test_custom_events_are_engagement_unless_mapped():
    weights = EventWeights({"wishlist": "conversion"})
    assert weights.weight("purchase") == 10 and weights.family("purchase") == "conversion"
    assert weights.weight("remove_from_cart") == -3
    assert weights.family("wishlist") == "conversion" and weights.weight("wishlist") == 8
    assert weights.family("share") == "engagement" and weights.weight("share") == 1
