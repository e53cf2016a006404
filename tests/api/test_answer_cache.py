"""Lists kept ranked between requests (``LEHNZ_ANSWER_CACHE_ENTRIES``: personal and
similar-item lists) are the lists ranked anew: for every option a request can carry, and
after the catalog, the shopper or the model changed. Each answer is compared with the same
question put to a ``Recommender`` without the cache, on the same store, at the same moment."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from lehnz.serving.filters import parse_filters
from lehnz.serving.recommender import ListOptions, Recommender
from tests.factories import Tenant, eventually, ingest, tenant
from tests.shop import events_seen, trained_shop

BODIES: list[dict[str, Any]] = [
    {},
    {"limit": 3, "page": 2},
    {"placement": "pdp"},
    {"placement": "cart"},
    {"mode": "collaborative"},
    {"mode": "semantic"},
    {"mode": "popular"},
    {"include_purchased": False},
    {"filters": {"category": "hats"}, "limit": 20},
    {"exclude_item_ids": ["shoe-1", "hat-2"], "include_attributes": True},
]
USERS = ["shoe-fan-1", "shoe-fan-7", "hat-fan-3", "carting-shopper", "never-seen"]


def _uncached(client: TestClient) -> Recommender:
    """A recommender on the app's store, models and catalog, keeping nothing."""
    runtime = client.app.state.runtime
    return Recommender(
        runtime.registry, runtime.catalog_cache, runtime.user_states, runtime.recommendation_log
    )


def _entries(answer: dict[str, Any]) -> list:
    return [
        (entry["item_id"], entry["score"], entry["reason"], entry.get("attributes"))
        for entry in answer["recommendations"]
    ] + [answer["meta"]["total_items"]]


def _page(page: Any) -> list:
    return [
        (item.item_id, round(item.score, 4), item.reason, item.attributes) for item in page.items
    ] + [page.total]


def _served(client: TestClient, org: Tenant, body: dict[str, Any], *, price: bool) -> list:
    path = "/recommend/price_optimized" if price else "/recommend"
    response = client.post(path, headers=org.publishable_headers, json=body)
    assert response.status_code == 200, response.text
    return _entries(response.json())


def _ranked_anew(client: TestClient, org: Tenant, body: dict[str, Any], *, price: bool) -> list:
    page = _uncached(client).for_user(
        organization_id=org.account.organization_id,
        user_id=body["user_id"],
        options=ListOptions(
            limit=body.get("limit", 10 if price else 12),
            page=body.get("page", 1),
            filters=parse_filters(body.get("filters")),
            exclude=set(body.get("exclude_item_ids", [])),
            include_attributes=body.get("include_attributes", False),
        ),
        placement=body.get("placement"),
        include_purchased=None if price else body.get("include_purchased"),
        mode=body.get("mode", "auto"),
        endpoint="/recommend",
        price_optimized=price,
    )
    return _page(page)


def _hits(client: TestClient) -> int:
    return client.app.state.runtime.recommender._cache.hits


def _basket_hits(client: TestClient) -> int:
    return client.app.state.runtime.recommender._basket_cache.hits


def _same_as_ranked_anew(client: TestClient, org: Tenant, body: dict[str, Any]) -> list:
    served = _served(client, org, body, price=False)
    assert served == _ranked_anew(client, org, body, price=False), body
    return served


def test_kept_lists_are_the_lists_ranked_anew(api: TestClient) -> None:
    org = trained_shop(api, tenant(api))
    ingest(
        api, org, {"user_id": "carting-shopper", "event_name": "add_to_cart", "item_id": "shoe-0"}
    )
    eventually(lambda: events_seen(api, org.secret_headers, "carting-shopper") >= 1)
    hits = _hits(api)
    for user in USERS:
        for options in BODIES:
            for price in (False, True):
                body = {"user_id": user, **options}
                if price:
                    body.pop("include_purchased", None)
                first = _served(api, org, body, price=price)
                again = _served(api, org, body, price=price)
                assert first == again == _ranked_anew(api, org, body, price=price), body
    # Every second request of a user with a stored state (and of those with none) was kept.
    assert _hits(api) - hits >= len(USERS) * len(BODIES) * 2


def test_a_kept_list_follows_the_catalog_the_shopper_and_the_model(api: TestClient) -> None:
    org = trained_shop(api, tenant(api))
    body = {"user_id": "shoe-fan-1", "limit": 5}
    before = _same_as_ranked_anew(api, org, body)
    assert any(reason.startswith("Because you") for _, _, reason, _ in before[:-1]), before

    # A renamed item is named anew in the kept list's reasons.
    renamed = [
        {"item_id": shoe, "attributes": {"name": f"Trail shoe {n}", "category": "shoes"}}
        for n, shoe in enumerate(f"shoe-{n}" for n in range(8))
    ]
    hits = _hits(api)
    response = api.post("/api/v1/items", headers=org.secret_headers, json=renamed)
    assert response.status_code == 200, response.text
    eventually(
        lambda: "Trail shoe" in str(_same_as_ranked_anew(api, org, body)), what="the new names"
    )
    assert _hits(api) > hits, "the list was ranked again rather than kept"

    # An item made inactive leaves the kept list at once.
    top = before[0][0]
    response = api.post(
        "/api/v1/items",
        headers=org.secret_headers,
        json=[{"item_id": top, "status": "inactive", "attributes": {"name": "Gone"}}],
    )
    assert response.status_code == 200, response.text
    eventually(
        lambda: top not in [entry[0] for entry in _same_as_ranked_anew(api, org, body)[:-1]],
        what="the inactive item gone",
    )

    # The shopper's next event changes the next list, before and after the pipeline applies it.
    seen = events_seen(api, org.secret_headers, "shoe-fan-1")
    kept = _same_as_ranked_anew(api, org, body)
    ingest(
        api,
        org,
        [
            {"user_id": "shoe-fan-1", "event_name": "purchase", "item_id": hat}
            for hat in ("hat-1", "hat-2", "hat-3", "hat-4")
        ],
    )
    assert _same_as_ranked_anew(api, org, body) != kept
    eventually(lambda: events_seen(api, org.secret_headers, "shoe-fan-1") >= seen + 4)
    assert _same_as_ranked_anew(api, org, body) != kept

    # A new model ranks the list again.
    versions = api.get("/api/v1/models", headers=org.secret_headers).json()
    response = api.post("/api/v1/models/train", headers=org.secret_headers)
    assert response.status_code in (200, 202), response.text
    eventually(
        lambda: api.get("/api/v1/models", headers=org.secret_headers).json() != versions,
        what="a new model",
    )
    _same_as_ranked_anew(api, org, body)


def test_item_and_basket_lists_are_the_lists_ranked_anew(api: TestClient) -> None:
    org = trained_shop(api, tenant(api))
    organization_id = org.account.organization_id
    headers = org.publishable_headers
    hits = _hits(api)
    for item in ("shoe-1", "hat-2", "socks"):
        for mode in ("auto", "collaborative", "semantic", "popular"):
            for _ in range(2):
                served = api.get(f"/item/{item}?mode={mode}&limit=6", headers=headers)
                assert served.status_code == 200, served.text
                session = api.post(
                    "/recommend/session",
                    headers=headers,
                    json={"clicked_item_id": item, "mode": mode, "limit": 6},
                )
                assert session.status_code == 200, session.text
                anew = _page(
                    _uncached(api).similar_item(
                        organization_id=organization_id,
                        item_id=item,
                        options=ListOptions(limit=6, page=1),
                        mode=mode,
                        endpoint="/item",
                    )
                )
                assert _entries(served.json()) == _entries(session.json()) == anew
    basket_hits = _basket_hits(api)
    baskets = (
        ["shoe-0"],
        ["shoe-0", "hat-1"],
        ["hat-1", "shoe-0"],  # the order names the reasons
        ["not-an-item"],
        ["shoe-0", "not-an-item"],  # the unknown id is echoed back in basket_items
    )
    for basket in baskets:
        for _ in range(2):
            served = api.post(
                "/recommend/basket",
                headers=headers,
                json={"item_ids": basket, "limit": 5, "filters": {"category": "socks"}},
            )
            assert served.status_code == 200, served.text
            anew = _uncached(api).basket(
                organization_id=organization_id,
                item_ids=basket,
                options=ListOptions(limit=5, page=1, filters=parse_filters({"category": "socks"})),
                endpoint="/recommend/basket",
                user_id=None,
            )
            assert _entries(served.json()) == _page(anew)
            assert served.json()["basket_items"] == basket
    assert _hits(api) - hits >= 3 * 4 * 3
    # Each basket's second request was kept, in the baskets' own cache.
    assert _basket_hits(api) - basket_hits == len(baskets)

    # A renamed item is named anew in the reasons of its kept similar items.
    response = api.post(
        "/api/v1/items",
        headers=org.secret_headers,
        json=[{"item_id": "shoe-1", "attributes": {"name": "Renamed shoe", "category": "shoes"}}],
    )
    assert response.status_code == 200, response.text
    eventually(
        lambda: (
            "Similar to Renamed shoe" in api.get("/item/shoe-1?mode=semantic", headers=headers).text
        ),
        what="the new name in the reasons",
    )

    # And in the reasons of a kept basket's list.
    kept = _basket_hits(api)
    response = api.post(
        "/api/v1/items",
        headers=org.secret_headers,
        json=[{"item_id": "shoe-0", "attributes": {"name": "Basket shoe", "category": "shoes"}}],
    )
    assert response.status_code == 200, response.text
    basket = {"item_ids": ["shoe-0"], "limit": 5, "filters": {"category": "socks"}}
    eventually(
        lambda: (
            "Bought together with Basket shoe"
            in api.post("/recommend/basket", headers=headers, json=basket).text
        ),
        what="the new name in a kept basket's reasons",
    )
    assert _basket_hits(api) > kept, "the basket's list was ranked again rather than kept"
