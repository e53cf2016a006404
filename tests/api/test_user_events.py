from __future__ import annotations

from tests.factories import assert_error, tenant


def test_a_users_events_come_back_newest_first_with_ids_and_receipt_times(api):
    org = tenant(api)
    batch = [
        {"user_id": "u1", "event_name": "view", "item_id": f"i{n}", "event_id": f"e{n}"}
        for n in range(5)
    ]
    batch.append({"user_id": "u1", "event_name": "click", "item_id": "i9"})
    batch.append({"user_id": "someone-else", "event_name": "view", "item_id": "i1"})
    assert (
        api.post("/api/v1/events/ingest", headers=org.publishable_headers, json=batch).status_code
        == 202
    )
    response = api.get("/api/v1/users/u1/events", headers=org.secret_headers)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["user_id"] == "u1"
    assert data["next"] is None
    names = [(e["event_name"], e["item_id"]) for e in data["events"]]
    assert names == [("click", "i9")] + [("view", f"i{n}") for n in range(4, -1, -1)]
    generated = data["events"][0]["event_id"]
    assert generated.startswith("evt_")
    assert data["events"][1]["event_id"] == "e4"
    assert data["events"][1]["received_at"] >= data["events"][1]["timestamp"][:19]


def test_pages_follow_the_next_cursor_to_the_end(api):
    org = tenant(api)
    batch = [{"user_id": "pager", "event_name": "view", "event_id": f"p{n}"} for n in range(7)]
    api.post("/api/v1/events/ingest", headers=org.publishable_headers, json=batch)
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"before": cursor} if cursor else {})
        data = api.get(
            "/api/v1/users/pager/events", headers=org.secret_headers, params=params
        ).json()["data"]
        seen.extend(e["event_id"] for e in data["events"])
        cursor = data["next"]
        if cursor is None:
            break
    assert seen == [f"p{n}" for n in range(6, -1, -1)]


def test_bad_paging_parameters_are_400(api):
    org = tenant(api)
    for params, field in [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"before": "abc"}, "before"),
    ]:
        response = api.get("/api/v1/users/u/events", headers=org.secret_headers, params=params)
        assert_error(response, 400, field)


def test_unknown_user_has_an_empty_history_and_other_orgs_see_nothing(api):
    org, other = tenant(api), tenant(api)
    api.post(
        "/api/v1/events/ingest",
        headers=org.publishable_headers,
        json={"user_id": "private", "event_name": "view"},
    )
    data = api.get("/api/v1/users/private/events", headers=other.secret_headers).json()["data"]
    assert data["events"] == []
