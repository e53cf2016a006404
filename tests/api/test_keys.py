from __future__ import annotations

import re
import time

from sqlalchemy import event

from lehnz.store.tables import api_keys
from tests.factories import assert_error, create_key, key_headers, register, rows_of

KEY_FORMAT = re.compile(r"^lehnz_(pk|sk)_[A-Za-z0-9_-]{32,}$")


def _works(api, key: str) -> bool:
    response = api.get("/api/v1/items/anything", headers=key_headers(key))
    if response.status_code == 401:
        return False
    assert response.status_code == 404, response.text
    return True


def test_created_keys_have_the_documented_format_and_are_shown_once(api):
    account = register(api)
    secret = create_key(api, account, "secret", "backend")
    publishable = create_key(api, account, "publishable", "storefront")
    assert KEY_FORMAT.match(secret["key"]) and secret["key"].startswith("lehnz_sk_")
    assert KEY_FORMAT.match(publishable["key"]) and publishable["key"].startswith("lehnz_pk_")
    assert set(secret) == {"id", "type", "name", "key", "created_at"}
    listed = api.get("/api/v1/keys", headers=account.headers).json()["data"]["keys"]
    assert [k["name"] for k in listed] == ["backend", "storefront"]
    first = listed[0]
    assert "key" not in first
    assert first["prefix"] == "lehnz_sk_"
    assert first["last4"] == secret["key"][-4:]
    assert secret["key"] not in str(listed)


def test_keys_are_stored_only_as_hashes(api):
    account = register(api)
    issued = create_key(api, account, "secret")
    stored = rows_of(api, api_keys, organization_id=account.organization_id)
    assert len(stored) == 1
    assert issued["key"] not in str(stored)
    assert issued["key"][9:] not in str(stored)
    assert len(stored[0]["key_hash"]) == 64


def test_unknown_key_type_is_400(api):
    account = register(api)
    response = api.post("/api/v1/keys", headers=account.headers, json={"type": "admin"})
    assert_error(response, 400, "type")


def test_revoked_key_answers_401_at_once_and_leaves_the_list(api):
    account = register(api)
    issued = create_key(api, account, "secret")
    assert _works(api, issued["key"])  # warms the key cache
    response = api.delete(f"/api/v1/keys/{issued['id']}", headers=account.headers)
    assert response.status_code == 200
    assert not _works(api, issued["key"])
    assert api.get("/api/v1/keys", headers=account.headers).json()["data"]["keys"] == []
    again = api.delete(f"/api/v1/keys/{issued['id']}", headers=account.headers)
    assert_error(again, 404)


def test_rotation_without_grace_replaces_the_key_at_once(api):
    account = register(api)
    old = create_key(api, account, "publishable", "web")
    assert _works_publishable(api, old["key"])
    response = api.post(f"/api/v1/keys/{old['id']}/rotate", headers=account.headers)
    assert response.status_code == 201
    new = response.json()["data"]
    assert new["type"] == "publishable" and new["name"] == "web" and new["id"] != old["id"]
    assert not _works_publishable(api, old["key"])
    assert _works_publishable(api, new["key"])


def test_rotation_with_grace_keeps_the_old_key_until_it_ends(api):
    account = register(api)
    old = create_key(api, account, "secret")
    response = api.post(
        f"/api/v1/keys/{old['id']}/rotate", headers=account.headers, json={"grace_seconds": 2}
    )
    new = response.json()["data"]
    assert _works(api, old["key"])
    assert _works(api, new["key"])
    listed = api.get("/api/v1/keys", headers=account.headers).json()["data"]["keys"]
    assert {k["id"] for k in listed} == {old["id"], new["id"]}
    time.sleep(2.2)
    assert not _works(api, old["key"])
    assert _works(api, new["key"])


def test_negative_grace_is_400(api):
    account = register(api)
    old = create_key(api, account, "secret")
    response = api.post(
        f"/api/v1/keys/{old['id']}/rotate", headers=account.headers, json={"grace_seconds": -1}
    )
    assert_error(response, 400, "grace_seconds")


def test_one_organisation_cannot_see_or_touch_anothers_keys(api):
    owner, intruder = register(api), register(api)
    issued = create_key(api, owner, "secret")
    assert api.get("/api/v1/keys", headers=intruder.headers).json()["data"]["keys"] == []
    assert_error(api.delete(f"/api/v1/keys/{issued['id']}", headers=intruder.headers), 404)
    assert_error(api.post(f"/api/v1/keys/{issued['id']}/rotate", headers=intruder.headers), 404)
    assert _works(api, issued["key"])


def test_last_used_at_is_recorded(api):
    account = register(api)
    issued = create_key(api, account, "secret")
    listed = api.get("/api/v1/keys", headers=account.headers).json()["data"]["keys"]
    assert listed[0]["last_used_at"] is None
    assert _works(api, issued["key"])
    listed = api.get("/api/v1/keys", headers=account.headers).json()["data"]["keys"]
    assert listed[0]["last_used_at"] is not None


def test_a_warm_key_is_checked_without_touching_the_database(api):
    account = register(api)
    issued = create_key(api, account, "secret")
    assert _works(api, issued["key"])
    statements: list[str] = []
    engine = api.app.state.runtime.store.engine

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        for _ in range(20):
            assert _works(api, issued["key"])
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements, "the handler itself should have queried the items table"
    assert not [s for s in statements if "api_keys" in s]


def _works_publishable(api, key: str) -> bool:
    response = api.post(
        "/api/v1/events/ingest",
        headers=key_headers(key),
        json={"user_id": "u", "event_name": "view"},
    )
    if response.status_code == 401:
        return False
    assert response.status_code == 202, response.text
    return True
