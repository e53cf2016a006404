"""Recommendation endpoints on a small synthetic store whose right answers are known.

Shoes are bought by shoe lovers, hats by hat lovers; socks are always bought with the
runner shoe; a lamp is inactive. Shoes are pricier (50-80) and more popular than hats
(10-20).
"""

from __future__ import annotations

import math

import pytest

from lehnz.store.tables import recommendation_logs
from tests.factories import assert_error, eventually, rows_of, tenant
from tests.shop import HATS, SHOES, events_seen, trained_shop


@pytest.fixture(scope="module")
def store(api):
    return trained_shop(api, tenant(api))


def _events_seen(api, org, user):
    return events_seen(api, org.secret_headers, user)


def _recommend(api, org, path="/recommend", **body):
    response = api.post(path, headers=org.publishable_headers, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _category(item_id):
    return item_id.split("-")[0]


def test_a_user_who_only_views_shoes_gets_shoes(api, store):
    _ingest = [
        {"user_id": "new-shoe-shopper", "event_name": "view", "item_id": s} for s in SHOES[:2]
    ]
    api.post("/api/v1/events/ingest", headers=store.publishable_headers, json=_ingest)
    eventually(lambda: _events_seen(api, store, "new-shoe-shopper") >= 2)
    answer = _recommend(api, store, user_id="new-shoe-shopper", limit=5)
    assert answer["success"] is True
    assert answer["recommendation_id"].startswith("rec_")
    categories = [_category(i) for i in answer["all_item_ids"]]
    # Shoes, and the socks every shoe buyer takes along; never a hat.
    assert set(categories) <= {"shoe", "socks"} and categories.count("shoe") >= 4
    assert [r["item_id"] for r in answer["recommendations"]] == answer["all_item_ids"]
    assert all(r["reason"] for r in answer["recommendations"])
    assert answer["source"] == "personalized"
    # Each new item names the viewed shoe that did most to bring it in.
    viewed = {"Leather running shoe model 0", "Leather running shoe model 1"}
    reasons = [r["reason"] for r in answer["recommendations"] if r["item_id"] not in SHOES[:2]]
    assert reasons
    assert all(r.removeprefix("Because you viewed ") in viewed for r in reasons), reasons


def test_an_event_moves_the_next_list_within_two_seconds_without_retraining(api, store):
    before = _recommend(api, store, user_id="convert", limit=5)
    assert before["source"] == "cold_start"
    api.post(
        "/api/v1/events/ingest",
        headers=store.publishable_headers,
        json=[{"user_id": "convert", "event_name": "add_to_cart", "item_id": h} for h in HATS[:3]],
    )

    def hats_first():
        answer = _recommend(api, store, user_id="convert", limit=3)
        return answer if all(_category(i) == "hat" for i in answer["all_item_ids"]) else None

    answer = eventually(hats_first, timeout=2.0)
    assert answer["meta"]["model_version"] == before["meta"]["model_version"]


def test_unknown_users_get_trending_items_not_an_error(api, store):
    answer = _recommend(api, store, user_id="never-seen", limit=4)
    assert answer["source"] == "cold_start"
    assert len(answer["all_item_ids"]) == 4
    # The larger crowd buys shoes: what trends is theirs.
    assert {_category(i) for i in answer["all_item_ids"]} <= {"shoe", "socks"}
    assert all(
        "Trending" in r["reason"] or "Popular" in r["reason"] for r in answer["recommendations"]
    )


def test_items_always_bought_together_come_first_in_the_basket(api, store):
    answer = _recommend(api, store, "/recommend/basket", item_ids=["shoe-0"], limit=3)
    assert answer["all_item_ids"][0] == "socks"
    assert answer["source"] == "co_occurrence"
    assert answer["basket_items"] == ["shoe-0"]
    assert "shoe-0" not in answer["all_item_ids"]
    assert (
        answer["recommendations"][0]["reason"]
        == "Bought together with Leather running shoe model 0"
    )


def test_inactive_and_deleted_items_never_appear(api, store):
    def everything(user):
        return _recommend(api, store, user_id=user, limit=100)["all_item_ids"]

    assert "lamp" not in everything("shoe-fan-1")
    assert (
        "lamp"
        not in _recommend(api, store, "/recommend/basket", item_ids=["shoe-1"], limit=100)[
            "all_item_ids"
        ]
    )
    api.delete("/api/v1/items/hat-7", headers=store.secret_headers)
    try:
        assert "hat-7" not in everything("hat-fan-3")
        assert (
            "hat-7"
            not in api.get("/item/hat-6?limit=100", headers=store.publishable_headers).json()[
                "all_item_ids"
            ]
        )
    finally:
        api.post(
            "/api/v1/items",
            headers=store.secret_headers,
            json={"item_id": "hat-7", "status": "active"},
        )
    assert "hat-7" in everything("hat-fan-3")


def test_filters_hold_and_unknown_operators_are_refused(api, store):
    hats = _recommend(api, store, user_id="shoe-fan-2", limit=20, filters={"category": "hats"})
    assert hats["all_item_ids"] and all(_category(i) == "hat" for i in hats["all_item_ids"])
    cheap = _recommend(
        api, store, user_id="shoe-fan-2", limit=50, filters={"price": {"gte": 12, "lt": 15}}
    )
    assert sorted(cheap["all_item_ids"]) == ["hat-2", "hat-3", "hat-4"]
    listed = _recommend(
        api,
        store,
        user_id="shoe-fan-2",
        limit=50,
        include_purchased=True,
        filters={"item_id": {"in": ["hat-1", "shoe-3"]}},
    )
    assert sorted(listed["all_item_ids"]) == ["hat-1", "shoe-3"]
    branded = _recommend(
        api,
        store,
        user_id="x",
        limit=50,
        filters={"brand": {"ne": "Stride"}, "price": {"exists": True}},
    )
    assert not any(_category(i) == "shoe" for i in branded["all_item_ids"])
    response = api.post(
        "/recommend",
        headers=store.publishable_headers,
        json={"user_id": "x", "filters": {"price": {"between": [1, 2]}}},
    )
    assert_error(response, 400, "filters.price.between", "unknown operator")


def test_pages_are_disjoint_and_continue_each_other(api, store):
    whole = _recommend(api, store, user_id="shoe-fan-5", limit=9)["all_item_ids"]
    pages = [
        _recommend(api, store, user_id="shoe-fan-5", limit=3, page=p)["all_item_ids"]
        for p in (1, 2, 3)
    ]
    assert pages[0] + pages[1] + pages[2] == whole
    assert len(set(whole)) == 9


def test_meta_counts_the_whole_list_and_a_page_past_the_end_is_empty(api, store):
    answer = _recommend(api, store, user_id="shoe-fan-5", limit=7, include_purchased=True)
    total = answer["meta"]["total_items"]
    assert total == 17  # every active item: 8 shoes, 8 hats, socks
    assert answer["meta"]["total_pages"] == math.ceil(total / 7)
    past = _recommend(api, store, user_id="shoe-fan-5", limit=7, page=4, include_purchased=True)
    assert past["all_item_ids"] == [] and past["recommendations"] == []


def test_request_validation(api, store):
    headers = store.publishable_headers
    for body, field in [
        ({"user_id": "u", "limit": 0}, "limit"),
        ({"user_id": "u", "limit": 101}, "limit"),
        ({"user_id": "u", "limit": "5"}, "limit"),
        ({"user_id": "u", "page": 0}, "page"),
        ({"user_id": "u", "mode": "magic"}, "mode"),
        ({"user_id": "u", "include_purchased": "yes"}, "include_purchased"),
        ({"limit": 5}, "user_id"),
    ]:
        assert_error(api.post("/recommend", headers=headers, json=body), 400, field)
    assert_error(api.post("/recommend/basket", headers=headers, json={}), 400, "item_ids")
    assert_error(
        api.post("/recommend/basket", headers=headers, json={"item_ids": []}), 400, "item_ids"
    )
    assert_error(
        api.post("/recommend/session", headers=headers, json={"clicked_item_id": "nope"}),
        404,
        "nope",
    )
    assert_error(api.get("/item/nope", headers=headers), 404, "nope")
    assert_error(api.get("/item/shoe-1?mode=magic", headers=headers), 400, "mode")
    assert_error(api.get("/item/shoe-1?limit=0", headers=headers), 400, "limit")


def test_exclusions_attributes_and_repeat_purchases(api, store):
    answer = _recommend(
        api, store, user_id="shoe-fan-1", limit=5, exclude_item_ids=["shoe-0", "shoe-1"]
    )
    assert not {"shoe-0", "shoe-1"} & set(answer["all_item_ids"])
    with_attributes = _recommend(api, store, user_id="shoe-fan-1", limit=2, include_attributes=True)
    assert with_attributes["recommendations"][0]["attributes"]["category"] in ("shoes", "socks")
    assert "attributes" not in answer["recommendations"][0]
    bought = {SHOES[(1 + n) % 8] for n in range(4)} | {"shoe-0", "socks"}
    fresh = _recommend(api, store, user_id="shoe-fan-1", limit=20, include_purchased=False)[
        "all_item_ids"
    ]
    assert not bought & set(fresh)
    again = _recommend(api, store, user_id="shoe-fan-1", limit=20, include_purchased=True)[
        "all_item_ids"
    ]
    assert bought & set(again)


def test_similar_items_by_text_by_behaviour_and_blended(api, store):
    semantic = api.get("/item/shoe-3?limit=4", headers=store.publishable_headers).json()
    assert semantic["item_id"] == "shoe-3" and semantic["mode"] == "semantic"
    assert [_category(i) for i in semantic["all_item_ids"]] == ["shoe"] * 4
    assert semantic["recommendations"][0]["reason"] == "Similar to Leather running shoe model 3"
    collaborative = api.get(
        "/item/hat-2?limit=3&mode=collaborative", headers=store.publishable_headers
    ).json()
    assert [_category(i) for i in collaborative["all_item_ids"]] == ["hat"] * 3
    session = _recommend(api, store, "/recommend/session", clicked_item_id="hat-4", limit=3)
    assert session["item_id"] == "hat-4" and session["mode"] == "auto"
    assert [_category(i) for i in session["all_item_ids"]] == ["hat"] * 3
    assert "hat-4" not in session["all_item_ids"]


def test_price_optimized_moves_items_toward_the_users_price_range(api, store):
    api.post(
        "/api/v1/events/ingest",
        headers=store.publishable_headers,
        json=[{"user_id": "bargain", "event_name": "purchase", "item_id": h} for h in HATS[:2]],
    )
    eventually(lambda: _events_seen(api, store, "bargain") >= 2)
    popular = _recommend(api, store, user_id="bargain", limit=3, mode="popular")["all_item_ids"]
    assert _category(popular[0]) == "shoe"
    answer = _recommend(
        api, store, "/recommend/price_optimized", user_id="bargain", limit=3, mode="popular"
    )
    assert answer["source"] == "price_optimized"
    prices = {h: 10 + n for n, h in enumerate(HATS)} | {"socks": 8}
    assert all(prices.get(i, 99) <= 17 for i in answer["all_item_ids"])  # no 50+ shoes
    assert "usual price range" in answer["recommendations"][0]["reason"]


def test_cart_placement_blends_in_what_goes_with_the_cart(api, store):
    api.post(
        "/api/v1/events/ingest",
        headers=store.publishable_headers,
        json=[{"user_id": "carting", "event_name": "add_to_cart", "item_id": "shoe-0"}],
    )
    eventually(lambda: _events_seen(api, store, "carting") >= 1)
    answer = _recommend(api, store, user_id="carting", limit=3, placement="cart")
    assert answer["placement"] == "cart"
    assert answer["all_item_ids"][0] == "socks"
    assert "shoe-0" not in answer["all_item_ids"]
    assert answer["recommendations"][0]["reason"].startswith("Goes with")


def test_every_answer_is_logged_for_attribution(api, store):
    answer = _recommend(api, store, user_id="shoe-fan-9", limit=2, placement="home")
    logged = eventually(lambda: rows_of(api, recommendation_logs, id=answer["recommendation_id"]))
    assert logged[0]["endpoint"] == "/recommend" and logged[0]["placement"] == "home"
    assert logged[0]["item_ids"] == answer["all_item_ids"]
    api.post(
        "/api/v1/events/ingest",
        headers=store.publishable_headers,
        json={
            "user_id": "shoe-fan-9",
            "event_name": "click",
            "item_id": answer["all_item_ids"][0],
            "recommendation_id": answer["recommendation_id"],
        },
    )

    def credited():
        stats = api.get("/api/v1/stats/attribution", headers=store.account.headers).json()["data"]
        rows = [
            r for r in stats["rows"] if r["endpoint"] == "/recommend" and r["placement"] == "home"
        ]
        return rows and rows[0]["clicks"] >= 1

    eventually(credited)


def test_models_are_listed_and_a_retrain_swaps_in_a_new_version(api, store):
    listed = api.get("/api/v1/models", headers=store.secret_headers).json()["data"]["models"]
    current = listed[0]
    assert current["serving"] is True
    assert current["trained_on"]["items"] >= 18 and current["trained_on"]["events"] > 300
    assert current["artifact_bytes"] > 0 and current["duration_seconds"] > 0
    assert current["embedding_method"] == "minilm"
    assert "ndcg@10" in current["validation"].get("metrics", {}), current["validation"]
    assert current["validation"]["chosen"]["cf_model"] in ("knn", "ease", "als")
    retrained = api.post("/api/v1/models/train", headers=store.secret_headers).json()["data"]
    assert retrained["version"] == current["version"] + 1
    answer = _recommend(api, store, user_id="shoe-fan-1", limit=2)
    assert answer["meta"]["model_version"] == retrained["version"]
    versions = api.get("/api/v1/models", headers=store.secret_headers).json()["data"]["models"]
    assert [m["serving"] for m in versions[:2]] == [True, False]


def test_another_organisation_gets_nothing_of_this_catalog(api, store):
    other = tenant(api)
    answer = _recommend(api, other, user_id="shoe-fan-1", limit=10)
    assert answer["all_item_ids"] == []
    assert_error(api.get("/item/shoe-1", headers=other.publishable_headers), 404)


def test_an_attribute_past_64_bits_is_answered_as_stored(api):
    """Answers are encoded by orjson, which refuses integers past 64 bits; a catalog may hold
    one, and it comes back whole rather than as a 500."""
    org = tenant(api)
    items = [
        {"item_id": "big", "attributes": {"name": "Big", "serial": 2**70}},
        {"item_id": "small", "attributes": {"name": "Small"}},
    ]
    response = api.post("/api/v1/items", headers=org.secret_headers, json=items)
    assert response.status_code == 200, response.text
    response = api.get(
        "/item/small?include_attributes=true&mode=popular", headers=org.publishable_headers
    )
    assert response.status_code == 200, response.text
    [entry] = response.json()["recommendations"]
    assert entry["attributes"] == {"name": "Big", "serial": 2**70}
