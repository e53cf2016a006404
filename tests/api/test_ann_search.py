"""Semantic lists of a large catalog come from the approximate index (``lehnz.engine.ann``).

The shop's catalog is small, so the threshold is lowered to make training build the index,
and the candidate count to make its limit visible: a semantic list holds only the nearest
``CANDIDATES`` items (the item itself among them), however many pages are asked for.
"""

from __future__ import annotations

from lehnz.engine import ann
from tests.factories import tenant
from tests.shop import trained_shop


def test_semantic_lists_come_from_the_index_once_the_catalog_is_large(api, monkeypatch):
    monkeypatch.setattr(ann, "MIN_ITEMS", 10)
    monkeypatch.setattr(ann, "CANDIDATES", 5)
    org = trained_shop(api, tenant(api))

    similar = api.get("/item/shoe-3?limit=10", headers=org.publishable_headers).json()
    assert similar["mode"] == "semantic"
    assert similar["meta"]["total_items"] == 4  # 5 nearest, less shoe-3 itself
    assert [i.split("-")[0] for i in similar["all_item_ids"]] == ["shoe"] * 4

    profile = api.post(
        "/recommend",
        headers=org.publishable_headers,
        json={"user_id": "hat-fan-3", "limit": 10, "mode": "semantic", "include_purchased": True},
    ).json()
    assert profile["meta"]["total_items"] == 5
    assert all(i.startswith("hat-") for i in profile["all_item_ids"])

    # Behaviour (collaborative) lists do not go through the index.
    collaborative = api.get(
        "/item/hat-2?limit=10&mode=collaborative", headers=org.publishable_headers
    ).json()
    assert collaborative["meta"]["total_items"] > 5
