"""The pipeline seen through the API: stitching, state, families and attribution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lehnz.store.tables import events as event_log
from lehnz.store.tables import pipeline_cursors, recommendation_logs
from lehnz.store.types import utcnow
from tests.factories import assert_error, eventually, ingest, rows_of, tenant


def _activity(api, org, user_id):
    response = api.get(f"/api/v1/users/{user_id}", headers=org.secret_headers)
    if response.status_code == 404:
        return None
    return response.json()["data"]["activity"]


def _applied(api, org):
    """True once the pipeline's position covers every event the organisation sent (the user
    view alone shows events before that: it folds in what the pipeline has not reached)."""
    sent = [row["seq"] for row in rows_of(api, event_log, organization_id=org.organization_id)]
    cursor = rows_of(api, pipeline_cursors, organization_id=org.organization_id)
    return bool(cursor) and cursor[0]["last_seq"] >= max(sent, default=0)


def _processed(api, org, user_id, count):
    eventually(lambda: _applied(api, org))
    return eventually(lambda: (a := _activity(api, org, user_id)) and a["events"] >= count and a)


def test_an_accepted_event_shows_in_the_users_state_within_two_seconds(api):
    org = tenant(api)
    api.post(
        "/api/v1/items",
        headers=org.secret_headers,
        json=[{"item_id": "lamp", "attributes": {"price": 20}}],
    )
    ingest(
        api,
        org,
        [
            {"user_id": "shopper", "event_name": "view", "item_id": "lamp"},
            {
                "user_id": "shopper",
                "event_name": "add_to_cart",
                "item_id": "lamp",
                "context": {"quantity": 2},
            },
            {"user_id": "shopper", "event_name": "add_to_cart", "item_id": "mug"},
            {"user_id": "shopper", "event_name": "remove_from_cart", "item_id": "mug"},
        ],
    )
    activity = eventually(lambda: _activity(api, org, "shopper"), timeout=2.0)
    assert activity["events"] == 4
    assert activity["cart"] == {"lamp": 2}
    assert activity["recent_items"] == ["mug", "lamp"]
    assert activity["typical_price"] == 20
    data = api.get("/api/v1/users/shopper", headers=org.secret_headers).json()["data"]
    assert data["attributes"] is None  # events only, no profile sent


def test_identify_merges_the_anonymous_history_into_the_identified_user(api):
    org = tenant(api)
    ingest(
        api,
        org,
        [
            {"user_id": "anon-1", "event_name": "view", "item_id": "a"},
            {"user_id": "anon-1", "event_name": "add_to_cart", "item_id": "b"},
        ],
    )
    ingest(
        api,
        org,
        [
            {"user_id": "alice", "event_name": "view", "item_id": "c"},
            {"user_id": "alice", "event_name": "identify", "previous_user_id": "anon-1"},
            {"user_id": "anon-1", "event_name": "view", "item_id": "d"},  # later, under the old id
        ],
    )
    activity = _processed(api, org, "alice", 5)
    assert activity["user_id"] == "alice"
    assert set(activity["recent_items"]) == {"a", "b", "c", "d"}
    assert activity["cart"] == {"b": 1}
    # Asking by the old id resolves to the identified user.
    assert _activity(api, org, "anon-1")["user_id"] == "alice"
    history = api.get("/api/v1/users/anon-1/events", headers=org.secret_headers).json()["data"]
    assert history["user_id"] == "alice"
    assert set(history["user_ids"]) == {"alice", "anon-1"}
    assert [e["item_id"] for e in history["events"]] == ["d", None, "c", "b", "a"]


def test_identity_chains_resolve_to_the_last_identified_user(api):
    org = tenant(api)
    ingest(api, org, [{"user_id": "A", "event_name": "view", "item_id": "x1"}])
    ingest(api, org, [{"user_id": "B", "event_name": "identify", "previous_user_id": "A"}])
    ingest(api, org, [{"user_id": "B", "event_name": "view", "item_id": "x2"}])
    ingest(api, org, [{"user_id": "C", "event_name": "identify", "previous_user_id": "B"}])
    ingest(api, org, [{"user_id": "A", "event_name": "view", "item_id": "x3"}])
    activity = _processed(api, org, "C", 5)
    assert activity["user_id"] == "C"
    assert set(activity["recent_items"]) == {"x1", "x2", "x3"}
    for alias in ("A", "B"):
        assert _activity(api, org, alias)["user_id"] == "C"
    history = api.get("/api/v1/users/A/events", headers=org.secret_headers).json()["data"]
    assert sorted(history["user_ids"]) == ["A", "B", "C"]
    assert len(history["events"]) == 5
    # Identifying back the other way changes nothing: they are one person already.
    ingest(api, org, [{"user_id": "A", "event_name": "identify", "previous_user_id": "C"}])
    activity = _processed(api, org, "C", 6)
    assert activity["user_id"] == "C"


def test_nothing_is_processed_twice_and_the_cursor_reaches_the_end(api):
    org = tenant(api)
    events = [
        {"user_id": f"u{n % 3}", "event_name": "view", "item_id": f"i{n}"} for n in range(1200)
    ]
    ingest(api, org, events[:1000])
    ingest(api, org, events[1000:])
    for user in ("u0", "u1", "u2"):
        _processed(api, org, user, 400)
    # Extra runs find nothing new.
    api.app.state.runtime.pipeline.process_pending()
    assert sum(_activity(api, org, u)["events"] for u in ("u0", "u1", "u2")) == 1200
    cursor = rows_of(api, pipeline_cursors, organization_id=org.organization_id)[0]
    last = api.get("/api/v1/users/u2/events", headers=org.secret_headers, params={"limit": 1})
    assert last.status_code == 200
    assert cursor["last_seq"] > 0


def test_event_families_are_set_per_organisation(api):
    org = tenant(api)
    headers = org.account.headers
    assert api.get("/api/v1/settings/event_families", headers=headers).json()["data"] == {}
    saved = api.put(
        "/api/v1/settings/event_families", headers=headers, json={"wishlist": "conversion"}
    )
    assert saved.status_code == 200
    assert saved.json()["data"] == {"wishlist": "conversion"}
    assert api.get("/api/v1/settings/event_families", headers=headers).json()["data"] == {
        "wishlist": "conversion"
    }
    assert_error(
        api.put(
            "/api/v1/settings/event_families", headers=headers, json={"purchase": "engagement"}
        ),
        400,
        "purchase",
        "standard",
    )
    assert_error(
        api.put("/api/v1/settings/event_families", headers=headers, json={"share": "viral"}),
        400,
        "share",
    )
    ingest(
        api,
        org,
        [
            {"user_id": "w", "event_name": "wishlist", "item_id": "gift"},
            {"user_id": "w", "event_name": "share", "item_id": "card"},
        ],
    )
    activity = _processed(api, org, "w", 2)
    assert activity["purchased"] == {"gift": 1}  # a conversion-family event counts as one
    other = tenant(api)
    assert (
        api.get("/api/v1/settings/event_families", headers=other.account.headers).json()["data"]
        == {}
    )


def test_events_carrying_a_recommendation_id_are_credited_to_it(api):
    org = tenant(api)
    api.post(
        "/api/v1/items",
        headers=org.secret_headers,
        json=[{"item_id": "lamp", "attributes": {"price": 12.5}}, {"item_id": "mug"}],
    )
    with api.app.state.runtime.store.write() as connection:
        for rec_id, endpoint, placement in [
            ("rec_home1", "/recommend", "home"),
            ("rec_home2", "/recommend", "home"),
            ("rec_cart1", "/recommend/basket", None),
        ]:
            connection.execute(
                recommendation_logs.insert().values(
                    id=rec_id,
                    organization_id=org.organization_id,
                    endpoint=endpoint,
                    placement=placement,
                    user_id="buyer",
                    item_ids=["lamp", "mug"],
                    created_at=utcnow(),
                )
            )
    ingest(
        api,
        org,
        [
            {
                "user_id": "buyer",
                "event_name": "click",
                "item_id": "lamp",
                "recommendation_id": "rec_home1",
            },
            {
                "user_id": "buyer",
                "event_name": "add_to_cart",
                "item_id": "lamp",
                "recommendation_id": "rec_home1",
            },
            {
                "user_id": "buyer",
                "event_name": "purchase",
                "item_id": "lamp",
                "recommendation_id": "rec_home1",
                "context": {"quantity": 2},
            },
            {
                "user_id": "buyer",
                "event_name": "click",
                "item_id": "mug",
                "recommendation_id": "rec_cart1",
            },
            {
                "user_id": "buyer",
                "event_name": "purchase",
                "item_id": "mug",
                "recommendation_id": "rec_cart1",
                "context": {"quantity": 1, "price": 4},
            },
            {
                "user_id": "buyer",
                "event_name": "click",
                "item_id": "mug",
                "recommendation_id": "rec_unknown",
            },
        ],
    )
    _processed(api, org, "buyer", 6)
    stats = api.get("/api/v1/stats/attribution", headers=org.account.headers).json()["data"]
    rows = {(r["endpoint"], r["placement"]): r for r in stats["rows"]}
    home = rows[("/recommend", "home")]
    assert (home["impressions"], home["clicks"], home["add_to_carts"], home["conversions"]) == (
        2,
        1,
        1,
        1,
    )
    assert home["ctr"] == 0.5
    assert home["revenue"] == 25.0
    basket = rows[("/recommend/basket", None)]
    assert (basket["impressions"], basket["clicks"], basket["conversions"], basket["revenue"]) == (
        1,
        1,
        1,
        4.0,
    )
    assert stats["total"]["revenue"] == 29.0 and stats["total"]["impressions"] == 3
    past = (datetime.now(UTC) - timedelta(days=60)).isoformat()
    earlier = api.get(
        "/api/v1/stats/attribution",
        headers=org.account.headers,
        params={"start": past, "end": (datetime.now(UTC) - timedelta(days=59)).isoformat()},
    ).json()["data"]
    assert earlier["rows"] == []
    other = tenant(api)
    assert (
        api.get("/api/v1/stats/attribution", headers=other.account.headers).json()["data"]["rows"]
        == []
    )
    assert_error(
        api.get(
            "/api/v1/stats/attribution",
            headers=org.account.headers,
            params={"start": "2025-01-02", "end": "2025-01-01"},
        ),
        400,
        "end",
    )


def test_a_click_sent_right_after_its_list_is_still_credited(api):
    """The list is logged in the background (every 0.5 s) while the click may reach the
    pipeline at once: the pipeline waits for the cited list instead of crediting nothing."""
    org = tenant(api)
    api.post(
        "/api/v1/items",
        headers=org.secret_headers,
        json=[{"item_id": f"i{n}", "attributes": {"price": 3}} for n in range(5)],
    )
    for attempt in range(3):  # the race is lost only when the pipeline runs first
        served = api.post(
            "/recommend",
            headers=org.publishable_headers,
            json={"user_id": f"quick-{attempt}", "placement": "instant"},
        ).json()
        ingest(
            api,
            org,
            {
                "user_id": f"quick-{attempt}",
                "event_name": "click",
                "item_id": served["all_item_ids"][0],
                "recommendation_id": served["recommendation_id"],
            },
        )
    eventually(lambda: _applied(api, org), timeout=10)
    stats = api.get("/api/v1/stats/attribution", headers=org.account.headers).json()["data"]
    (row,) = stats["rows"]
    assert (row["placement"], row["impressions"], row["clicks"]) == ("instant", 3, 3)
