"""Values JSON or PostgreSQL cannot store (U+0000, NaN, Infinity): both databases refuse them
with the same clear 400 naming the place, instead of a 500 (PostgreSQL) or a value stored
that no JSON reader can read back (SQLite)."""

from __future__ import annotations

import json

from lehnz.store.tables import events
from tests.factories import assert_error, rows_of, tenant


def test_a_nul_anywhere_in_an_event_batch_refuses_it_naming_each_place(api):
    org = tenant(api)
    batch = [
        {"user_id": "fine", "event_name": "view", "item_id": "a"},
        {"user_id": "a\u0000b", "event_name": "view", "item_id": "a"},
        {"user_id": "fine", "event_name": "view", "context": {"note": ["ok", "x\u0000"]}},
    ]
    response = api.post("/api/v1/events/ingest", headers=org.publishable_headers, json=batch)
    assert_error(
        response,
        400,
        "events[1].user_id: must not contain the NUL character",
        "events[2].context.note[1]",
    )
    assert rows_of(api, events, organization_id=org.organization_id) == []


def test_the_literal_text_backslash_u0000_is_not_a_nul(api):
    org = tenant(api)
    body = json.dumps({"user_id": "u", "event_name": "view", "context": {"code": "\\u0000"}})
    response = api.post(
        "/api/v1/events/ingest",
        headers={**org.publishable_headers, "Content-Type": "application/json"},
        content=body,
    )
    assert response.status_code == 202, response.text
    stored = rows_of(api, events, organization_id=org.organization_id)
    assert stored[0]["context"] == {"code": "\\u0000"}


def test_items_keys_and_urls_with_a_nul_are_refused(api):
    org = tenant(api)
    items = [{"item_id": "lamp", "attributes": {"colour\u0000": "red"}}]
    response = api.post("/api/v1/items", headers=org.secret_headers, json=items)
    assert_error(response, 400, "items[0].attributes.colour\\u0000")
    response = api.get("/api/v1/users/a%00b", headers=org.secret_headers)
    assert_error(response, 400, "url: must not contain the NUL character")
    response = api.post(
        "/recommend", headers=org.publishable_headers, json={"user_id": "x\u0000", "limit": 3}
    )
    assert_error(response, 400, "user_id: must not contain the NUL character")


def test_an_uploaded_row_with_a_nul_is_rejected_by_line(api):
    org = tenant(api)
    content = b"item_id,name\nlamp,Lamp\nmug,M\\u0000ug\n"  # CSV text is literal: stored
    ndjson = b'{"item_id": "ok"}\n{"item_id": "bad\\u0000"}\n'
    response = api.post(
        "/api/v1/upload/items",
        headers=org.secret_headers,
        files={"file": ("items.ndjson", ndjson)},
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["imported"], data["rejected"]) == (1, 1)
    assert data["errors"] == [
        {"line": 2, "reason": "item_id: must not contain the NUL character (\\u0000)"}
    ]
    response = api.post(
        "/api/v1/upload/items", headers=org.secret_headers, files={"file": ("i.csv", content)}
    )
    assert response.json()["data"]["imported"] == 2


def test_nan_and_infinity_in_free_form_json_are_refused_naming_the_place(api):
    org = tenant(api)
    json_type = {"Content-Type": "application/json"}
    response = api.post(
        "/api/v1/events/ingest",
        headers={**org.publishable_headers, **json_type},
        content=b'[{"user_id": "u", "event_name": "view"},'
        b' {"user_id": "u", "event_name": "view", "context": {"q": [1, NaN]}},'
        b' {"user_id": "u", "event_name": "view", "context": 1e400}]',
    )
    assert_error(
        response,
        400,
        "events[1].context: q[1] must be a finite number",
        "events[2].context: must be a finite number",
    )
    assert rows_of(api, events, organization_id=org.organization_id) == []
    response = api.post(
        "/api/v1/items",
        headers={**org.secret_headers, **json_type},
        content=b'[{"item_id": "lamp", "attributes": {"weight": Infinity}}]',
    )
    assert_error(response, 400, "items[0].attributes.weight: must be a finite number")
