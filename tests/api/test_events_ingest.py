from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lehnz.store.tables import events
from tests.factories import assert_error, rows_of, tenant


def _ingest(api, org, payload):
    return api.post("/api/v1/events/ingest", headers=org.publishable_headers, json=payload)


def test_one_event_or_an_array_is_accepted_and_stored(api):
    org = tenant(api)
    response = _ingest(api, org, {"user_id": "u1", "event_name": "view", "item_id": "i1"})
    assert response.status_code == 202
    assert response.json() == {
        "success": True,
        "message": "Events accepted",
        "data": {"accepted": 1},
    }
    batch = [
        {"user_id": "u1", "event_name": "add_to_cart", "item_id": "i1", "context": {"q": [1]}},
        {"user_id": "u1", "event_name": "wishlist", "item_id": "i2", "session_id": "s1"},
        {"user_id": "u2", "event_name": "identify", "previous_user_id": "u1", "unknown": 1},
    ]
    assert _ingest(api, org, batch).json()["data"] == {"accepted": 3}
    stored = rows_of(api, events, organization_id=org.organization_id)
    assert [row["event_name"] for row in sorted(stored, key=lambda r: r["seq"])] == [
        "view",
        "add_to_cart",
        "wishlist",
        "identify",
    ]
    assert stored[1]["context"] == {"q": [1]}


def test_any_invalid_event_refuses_the_batch_naming_every_bad_index(api):
    org = tenant(api)
    batch = [
        {"user_id": "u1", "event_name": "view"},
        {"user_id": "u1"},
        {"user_id": "u1", "event_name": "identify"},
        {"user_id": "x" * 257, "event_name": "view"},
        {"user_id": "u1", "event_name": "view", "event_id": "e" * 129},
    ]
    assert_error(
        _ingest(api, org, batch),
        400,
        "events[1].event_name: field required",
        "events[2]: previous_user_id is required",
        "events[3].user_id",
        "events[4].event_id",
    )
    assert rows_of(api, events, organization_id=org.organization_id) == []


def test_batch_size_limits(api):
    org = tenant(api)
    assert_error(_ingest(api, org, []), 400, "empty")
    too_many = [{"user_id": "u", "event_name": "view"}] * 1001
    assert_error(_ingest(api, org, too_many), 400, "1,000")
    exactly = [{"user_id": "u", "event_name": "view"}] * 1000
    assert _ingest(api, org, exactly).status_code == 202


def test_timestamps_backfill_as_iso_or_epoch_seconds_but_not_the_future(api):
    org = tenant(api)
    batch = [
        {
            "user_id": "u",
            "event_name": "view",
            "event_id": "iso",
            "timestamp": "2024-05-01T10:00:00+02:00",
        },
        {"user_id": "u", "event_name": "view", "event_id": "epoch", "timestamp": 1714550400},
        {
            "user_id": "u",
            "event_name": "view",
            "event_id": "naive",
            "timestamp": "2024-05-01T10:00:00",
        },
    ]
    assert _ingest(api, org, batch).status_code == 202
    stored = {
        row["event_id"]: row for row in rows_of(api, events, organization_id=org.organization_id)
    }
    assert stored["iso"]["occurred_at"] == datetime(2024, 5, 1, 8, tzinfo=UTC)
    assert stored["epoch"]["occurred_at"] == datetime(2024, 5, 1, 8, tzinfo=UTC)
    assert stored["naive"]["occurred_at"] == datetime(2024, 5, 1, 10, tzinfo=UTC)
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    response = _ingest(api, org, {"user_id": "u", "event_name": "view", "timestamp": future})
    assert_error(response, 400, "events.timestamp", "future")
    assert_error(
        _ingest(api, org, {"user_id": "u", "event_name": "view", "timestamp": "yesterday"}),
        400,
        "timestamp",
    )


def test_a_repeated_event_id_is_acknowledged_but_stored_once(api):
    org = tenant(api)
    event = {"user_id": "u", "event_name": "purchase", "item_id": "i", "event_id": "order-17"}
    assert _ingest(api, org, event).json()["data"] == {"accepted": 1}
    assert _ingest(api, org, [event, event]).json()["data"] == {"accepted": 2}
    stored = rows_of(api, events, organization_id=org.organization_id)
    assert len(stored) == 1
    other = tenant(api)
    assert _ingest(api, other, event).status_code == 202
    assert len(rows_of(api, events, organization_id=other.organization_id)) == 1


def test_bodies_over_five_megabytes_are_413(api):
    org = tenant(api)
    big = [{"user_id": "u", "event_name": "view", "context": {"pad": "x" * 6000}}] * 1000
    body = assert_error(_ingest(api, org, big), 413, "5 MB")
    assert body["code"] == "payload_too_large"
    assert rows_of(api, events, organization_id=org.organization_id) == []


def test_concurrent_batches_are_each_stored_once_in_their_own_order(api):
    """Concurrent requests may share a commit (SQLite's group commit); each still gets its
    own count, and every event is stored once, each batch's events in the order sent."""
    import threading

    org = tenant(api)
    answers: list[tuple[int, int]] = []

    def client(n: int) -> None:
        for b in range(4):
            batch = [
                {"user_id": f"c{n}", "event_name": "view", "item_id": f"{b}-{i}"}
                for i in range(100 + n)
            ]
            response = api.post(
                "/api/v1/events/ingest", headers=org.publishable_headers, json=batch
            )
            answers.append((response.status_code, response.json()["data"]["accepted"]))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == sorted((202, 100 + n) for n in range(6) for _ in range(4))
    stored = rows_of(api, events, organization_id=org.organization_id)
    assert len(stored) == sum(4 * (100 + n) for n in range(6))
    for n in range(6):
        mine = sorted((row["seq"], row["item_id"]) for row in stored if row["user_id"] == f"c{n}")
        sent = [f"{b}-{i}" for b in range(4) for i in range(100 + n)]
        assert [item for _, item in mine] == sent


def test_the_ingest_body_is_refused_like_any_other_json_body(api):
    org = tenant(api)
    url = "/api/v1/events/ingest"
    json_type = {**org.publishable_headers, "Content-Type": "application/json"}
    assert_error(api.post(url, headers=json_type, content=b'[{"user_id": '), 400, "malformed JSON")
    assert_error(api.post(url, headers=json_type, content=b""), 400, "body")
    plain = {**org.publishable_headers, "Content-Type": "text/plain"}
    body = b'{"user_id": "u", "event_name": "view"}'
    assert_error(api.post(url, headers=plain, content=body), 415, "application/json")
    assert_error(api.post(url, headers=json_type, content=b'"view"'), 400, "events: must be")
    assert_error(api.post(url, headers=json_type, content=b"[1]"), 400, "events[0]")
    assert api.post(url, headers=json_type, content=body).status_code == 202
    assert rows_of(api, events, organization_id=org.organization_id)[0]["user_id"] == "u"
