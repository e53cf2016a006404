from __future__ import annotations

from sqlalchemy import select

from lehnz.store.tables import identity_links, metadata, recommendation_logs
from lehnz.store.types import utcnow
from tests.factories import assert_error, eventually, rows_of, tenant


def test_upsert_one_item_then_read_it(api):
    org = tenant(api)
    item = {
        "item_id": "lamp-1",
        "attributes": {"name": "White Metal Lantern", "price": "12.50", "category": ["home"]},
    }
    response = api.post("/api/v1/items", headers=org.secret_headers, json=item)
    assert response.status_code == 200
    assert response.json()["data"] == {"upserted": 1, "created": 1, "updated": 0}
    data = api.get("/api/v1/items/lamp-1", headers=org.secret_headers).json()["data"]
    assert data["item_type"] == "product"
    assert data["status"] == "active"
    assert data["attributes"] == {
        "name": "White Metal Lantern",
        "price": 12.5,
        "category": ["home"],
    }


def test_upsert_updates_what_is_sent_and_keeps_what_is_left_out(api):
    org = tenant(api)
    first = [
        {"item_id": "a", "item_type": "bundle", "attributes": {"name": "A", "price": 3}},
        {"item_id": "b", "status": "inactive"},
    ]
    api.post("/api/v1/items", headers=org.secret_headers, json=first)
    second = [{"item_id": "a", "status": "inactive"}, {"item_id": "c"}]
    response = api.post("/api/v1/items", headers=org.secret_headers, json=second)
    assert response.json()["data"] == {"upserted": 2, "created": 1, "updated": 1}
    a = api.get("/api/v1/items/a", headers=org.secret_headers).json()["data"]
    assert (a["item_type"], a["status"], a["attributes"]) == (
        "bundle",
        "inactive",
        {"name": "A", "price": 3},
    )
    replaced = {"item_id": "a", "attributes": {"name": "A2"}}
    api.post("/api/v1/items", headers=org.secret_headers, json=replaced)
    a = api.get("/api/v1/items/a", headers=org.secret_headers).json()["data"]
    assert a["attributes"] == {"name": "A2"}
    assert a["updated_at"] >= a["created_at"]


def test_a_batch_with_one_bad_item_is_refused_whole(api):
    org = tenant(api)
    batch = [
        {"item_id": "good-1"},
        {"item_id": "bad", "status": "archived"},
        {"item_id": "good-2"},
        {"attributes": {"price": "cheap"}},
    ]
    response = api.post("/api/v1/items", headers=org.secret_headers, json=batch)
    assert_error(
        response,
        400,
        "items[1].status",
        "items[3].item_id: field required",
        "items[3].attributes: price must be a number",
        "nothing was stored",
    )
    assert_error(api.get("/api/v1/items/good-1", headers=org.secret_headers), 404)


def test_at_most_twenty_bad_indexes_are_listed(api):
    org = tenant(api)
    batch = [{"item_id": ""} for _ in range(30)]
    body = assert_error(
        api.post("/api/v1/items", headers=org.secret_headers, json=batch), 400, "30 of 30"
    )
    assert "items[19].item_id" in body["error"]
    assert "items[20].item_id" not in body["error"]


def test_batch_shape_rules(api):
    org = tenant(api)
    headers = org.secret_headers
    assert_error(api.post("/api/v1/items", headers=headers, json=[]), 400, "empty")
    assert_error(api.post("/api/v1/items", headers=headers, json="lamp"), 400, "object")
    assert_error(api.post("/api/v1/items", headers=headers, json=[1]), 400, "items[0]")
    too_many = [{"item_id": str(i)} for i in range(10_001)]
    assert_error(api.post("/api/v1/items", headers=headers, json=too_many), 400, "10,000")


def test_ten_thousand_items_in_one_batch(api):
    org = tenant(api)
    batch = [{"item_id": f"sku-{i}", "attributes": {"price": i}} for i in range(10_000)]
    response = api.post("/api/v1/items", headers=org.secret_headers, json=batch)
    assert response.json()["data"]["created"] == 10_000
    item = api.get("/api/v1/items/sku-9999", headers=org.secret_headers).json()["data"]
    assert item["attributes"]["price"] == 9999


def test_negative_or_boolean_prices_are_refused(api):
    org = tenant(api)
    for price in (-1, True, "NaN", {"amount": 3}):
        response = api.post(
            "/api/v1/items",
            headers=org.secret_headers,
            json={"item_id": "x", "attributes": {"price": price}},
        )
        assert_error(response, 400, "items.attributes", "price")


def test_repeated_ids_in_one_batch_keep_the_last(api):
    org = tenant(api)
    batch = [{"item_id": "x", "attributes": {"v": 1}}, {"item_id": "x", "attributes": {"v": 2}}]
    response = api.post("/api/v1/items", headers=org.secret_headers, json=batch)
    assert response.json()["data"]["created"] == 1
    item = api.get("/api/v1/items/x", headers=org.secret_headers).json()["data"]
    assert item["attributes"] == {"v": 2}


def test_deleted_items_keep_their_record_with_status_deleted(api):
    org = tenant(api)
    api.post("/api/v1/items", headers=org.secret_headers, json={"item_id": "gone"})
    response = api.delete("/api/v1/items/gone", headers=org.secret_headers)
    assert response.status_code == 200
    item = api.get("/api/v1/items/gone", headers=org.secret_headers).json()["data"]
    assert item["status"] == "deleted"
    assert_error(api.delete("/api/v1/items/never", headers=org.secret_headers), 404, "never")


def test_users_upsert_and_read(api):
    org = tenant(api)
    users = [{"user_id": "u1", "attributes": {"age": 31}}, {"user_id": "u2"}]
    response = api.post("/api/v1/users", headers=org.secret_headers, json=users)
    assert response.json()["data"] == {"upserted": 2, "created": 2, "updated": 0}
    user = api.get("/api/v1/users/u1", headers=org.secret_headers).json()["data"]
    assert user["attributes"] == {"age": 31}
    bad = api.post("/api/v1/users", headers=org.secret_headers, json=[{"user_id": 5}])
    assert_error(bad, 400, "users[0].user_id")
    assert_error(api.get("/api/v1/users/nobody", headers=org.secret_headers), 404)


def test_one_organisation_never_sees_anothers_catalog(api):
    owner, other = tenant(api), tenant(api)
    api.post("/api/v1/items", headers=owner.secret_headers, json={"item_id": "shared-id"})
    api.post("/api/v1/users", headers=owner.secret_headers, json={"user_id": "shared-user"})
    assert_error(api.get("/api/v1/items/shared-id", headers=other.secret_headers), 404)
    assert_error(api.get("/api/v1/users/shared-user", headers=other.secret_headers), 404)
    assert_error(api.delete("/api/v1/items/shared-id", headers=other.secret_headers), 404)
    assert_error(api.delete("/api/v1/users/shared-user", headers=other.secret_headers), 404)
    api.post("/api/v1/items", headers=other.secret_headers, json={"item_id": "shared-id"})
    mine = api.get("/api/v1/items/shared-id", headers=owner.secret_headers).json()["data"]
    assert mine["status"] == "active"


def _rows_mentioning(api, organization_id: str, needle: str) -> list[tuple[str, dict]]:
    store = api.app.state.runtime.store
    found = []
    with store.read() as connection:
        for table in metadata.sorted_tables:
            query = select(table)
            if "organization_id" in table.c:
                query = query.where(table.c.organization_id == organization_id)
            elif table.name == "organizations":
                query = query.where(table.c.id == organization_id)
            for row in connection.execute(query):
                if needle in repr(tuple(row)):
                    found.append((table.name, dict(row._mapping)))
    return found


def test_erasing_a_user_leaves_nothing_behind_in_any_table(api):
    org = tenant(api)
    erased, kept = "shopper-erase-me", "shopper-keep-me"
    for user in (erased, kept):
        api.post(
            "/api/v1/users",
            headers=org.secret_headers,
            json={"user_id": user, "attributes": {"email": f"{user}@example.com"}},
        )
        events = [
            {"user_id": user, "event_name": "view", "item_id": "i1"},
            {"user_id": user, "event_name": "purchase", "item_id": "i2", "event_id": f"{user}-1"},
        ]
        response = api.post("/api/v1/events/ingest", headers=org.publishable_headers, json=events)
        assert response.status_code == 202
    # An anonymous visitor who later signed in as the erased user, and a logged list.
    api.post(
        "/api/v1/events/ingest",
        headers=org.publishable_headers,
        json=[
            {"user_id": "anon-visitor-77", "event_name": "view", "item_id": "i3"},
            {"user_id": erased, "event_name": "identify", "previous_user_id": "anon-visitor-77"},
        ],
    )
    eventually(lambda: rows_of(api, identity_links, alias_user_id="anon-visitor-77"))
    with api.app.state.runtime.store.write() as connection:
        for user in (erased, kept):
            connection.execute(
                recommendation_logs.insert().values(
                    id=f"rec_{user}",
                    organization_id=org.organization_id,
                    endpoint="/recommend",
                    placement="home",
                    user_id=user,
                    item_ids=["i1", "i2"],
                    created_at=utcnow(),
                )
            )
    assert _rows_mentioning(api, org.organization_id, erased)

    response = api.delete(f"/api/v1/users/{erased}", headers=org.secret_headers)
    assert response.status_code == 200
    assert response.json()["data"]["erased"] == {
        "events": 4,
        "identity_links": 1,
        "recommendation_logs": 1,
        "user_states": 1,
        "attributions": 0,
        "profile": 1,
    }
    assert _rows_mentioning(api, org.organization_id, erased) == []
    assert _rows_mentioning(api, org.organization_id, "anon-visitor-77") == []
    kept_rows = {table for table, _ in _rows_mentioning(api, org.organization_id, kept)}
    assert kept_rows == {"users", "events", "recommendation_logs", "user_states"}
    assert_error(api.delete(f"/api/v1/users/{erased}", headers=org.secret_headers), 404)
