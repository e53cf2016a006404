"""The credential matrix: every path that exists, against every kind of wrong credential.

``PATHS`` must list every route of the app (a test checks), so a new path cannot ship
without its row here.
"""

from __future__ import annotations

import secrets

import pytest

from lehnz.app import create_app
from tests.conftest import make_settings
from tests.factories import DOMAIN, Tenant, assert_error, key_headers, tenant

EVENT = {"user_id": "u1", "event_name": "view", "item_id": "i1"}
CSV = {"file": ("rows.csv", b"item_id,user_id\nx,y\n")}

# (method, path template, credential, request kwargs)
PATHS = [
    ("POST", "/api/v1/events/ingest", "publishable", {"json": EVENT}),
    ("POST", "/api/v1/items", "secret", {"json": {"item_id": "i1"}}),
    ("POST", "/api/v1/users", "secret", {"json": {"user_id": "u1"}}),
    ("GET", "/api/v1/items/{item_id}", "secret", {}),
    ("GET", "/api/v1/users/{user_id}", "secret", {}),
    ("GET", "/api/v1/users/{user_id}/events", "secret", {}),
    ("DELETE", "/api/v1/items/{item_id}", "secret", {}),
    ("DELETE", "/api/v1/users/{user_id}", "secret", {}),
    ("POST", "/api/v1/upload/items", "secret", {"files": CSV}),
    ("POST", "/api/v1/upload/users", "secret", {"files": CSV}),
    ("POST", "/api/v1/upload/events", "secret", {"files": CSV}),
    ("GET", "/api/v1/keys", "developer", {}),
    ("POST", "/api/v1/keys", "developer", {"json": {"type": "secret", "name": "m"}}),
    ("POST", "/api/v1/keys/{key_id}/rotate", "developer", {}),
    ("DELETE", "/api/v1/keys/{key_id}", "developer", {}),
    ("GET", "/api/v1/settings/event_families", "developer", {}),
    ("PUT", "/api/v1/settings/event_families", "developer", {"json": {"wishlist": "conversion"}}),
    ("GET", "/api/v1/settings/rate_limit", "developer", {}),
    (
        "PUT",
        "/api/v1/settings/rate_limit",
        "developer",
        {"json": {"requests": 5000, "window_seconds": 60}},
    ),
    ("DELETE", "/api/v1/settings/rate_limit", "developer", {}),
    ("GET", "/api/v1/stats/attribution", "developer", {}),
    ("POST", "/api/v1/models/train", "secret", {}),
    ("GET", "/api/v1/models", "secret", {}),
    ("POST", "/recommend", "publishable", {"json": {"user_id": "u1"}}),
    ("POST", "/recommend/price_optimized", "publishable", {"json": {"user_id": "u1"}}),
    ("POST", "/recommend/session", "publishable", {"json": {"clicked_item_id": "i1"}}),
    ("POST", "/recommend/basket", "publishable", {"json": {"item_ids": ["i1"]}}),
    ("GET", "/item/{item_id}", "publishable", {}),
    ("POST", "/api/v1/auth/register", "none", {}),
    ("POST", "/api/v1/auth/login", "none", {}),
]
KEY_PATHS = [p for p in PATHS if p[2] in ("publishable", "secret")]
DEVELOPER_PATHS = [p for p in PATHS if p[2] == "developer"]
UNPROTECTED = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/redoc",
    "/docs/oauth2-redirect",
}


def _id(path: tuple) -> str:
    return f"{path[0]} {path[1]}"


@pytest.fixture(scope="module")
def org(api) -> Tenant:
    return tenant(api)


@pytest.fixture(scope="module")
def revoked_keys(api, org) -> dict[str, str]:
    from tests.factories import create_key

    keys = {}
    for key_type in ("publishable", "secret"):
        issued = create_key(api, org.account, key_type, "to-revoke")
        response = api.delete(f"/api/v1/keys/{issued['id']}", headers=org.account.headers)
        assert response.status_code == 200
        keys[key_type] = issued["key"]
    return keys


def _url(template: str) -> str:
    return (
        template.replace("{item_id}", "i1")
        .replace("{user_id}", "u1")
        .replace("{key_id}", "key_0000000000000000")
    )


def _call(api, path, headers):
    method, template, _, kwargs = path
    return api.request(method, _url(template), headers=headers, **kwargs)


def test_every_route_is_in_the_matrix(tmp_path):
    spec = create_app(make_settings(tmp_path)).openapi()
    routes = {
        (method.upper(), template)
        for template, operations in spec["paths"].items()
        if template not in UNPROTECTED
        for method in operations
    }
    assert routes == {(method, template) for method, template, _, _ in PATHS}


@pytest.mark.parametrize("path", KEY_PATHS, ids=_id)
def test_right_key_is_let_through(api, org, path):
    key = org.publishable if path[2] == "publishable" else org.secret
    response = _call(api, path, key_headers(key))
    assert response.status_code not in (400, 401, 403), response.text


@pytest.mark.parametrize("path", KEY_PATHS, ids=_id)
def test_wrong_key_type_is_403(api, org, path):
    key = org.secret if path[2] == "publishable" else org.publishable
    body = assert_error(_call(api, path, key_headers(key)), 403, path[2])
    assert body["code"] == "wrong_key_type"


@pytest.mark.parametrize("path", KEY_PATHS, ids=_id)
@pytest.mark.parametrize(
    "case",
    ["missing", "malformed", "unknown", "bearer", "revoked", "jwt"],
)
def test_bad_keys_are_401(api, org, revoked_keys, path, case):
    right = org.publishable if path[2] == "publishable" else org.secret
    prefix = right[:9]
    key = {
        "missing": None,
        "malformed": prefix + "short",
        "unknown": prefix + secrets.token_urlsafe(32),
        "bearer": f"Bearer {right}",
        "revoked": revoked_keys[path[2]],
        "jwt": org.account.token,
    }[case]
    headers = dict(DOMAIN) if key is None else key_headers(key)
    body = assert_error(_call(api, path, headers), 401)
    assert body["code"] == "invalid_api_key"


@pytest.mark.parametrize("path", KEY_PATHS, ids=_id)
def test_a_developer_token_is_not_a_key(api, org, path):
    headers = {**DOMAIN, "Authorization": f"Bearer {org.account.token}"}
    assert_error(_call(api, path, headers), 401)


@pytest.mark.parametrize("path", DEVELOPER_PATHS, ids=_id)
def test_developer_paths_take_a_token_not_a_key(api, org, path):
    assert_error(_call(api, path, dict(DOMAIN)), 401, "Authorization")
    assert_error(_call(api, path, key_headers(org.secret)), 401)
    assert_error(_call(api, path, {**DOMAIN, "Authorization": f"Bearer {org.secret}"}), 401)
    response = _call(api, path, org.account.headers)
    assert response.status_code not in (400, 401, 403), response.text


@pytest.mark.parametrize("path", PATHS, ids=_id)
def test_every_api_path_requires_the_domain_header(api, org, path):
    credential = path[2]
    headers = {
        "publishable": {"X-API-KEY": org.publishable},
        "secret": {"X-API-KEY": org.secret},
        "developer": {"Authorization": f"Bearer {org.account.token}"},
        "none": {},
    }[credential]
    assert_error(_call(api, path, headers), 400, "X-Domain")
    assert_error(_call(api, path, {**headers, "X-Domain": "travel"}), 400, "X-Domain")


def test_publishable_paths_answer_cors_preflights_and_secret_paths_do_not(sqlite_api):
    preflight = {
        "Origin": "https://shop.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key, x-domain, content-type",
    }
    allowed = sqlite_api.options("/api/v1/events/ingest", headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "*"
    assert "x-api-key" in allowed.headers["access-control-allow-headers"].lower()
    refused = sqlite_api.options("/api/v1/items", headers=preflight)
    assert "access-control-allow-origin" not in refused.headers
    secret_answer = sqlite_api.get(
        "/api/v1/items/x", headers={**DOMAIN, "Origin": "https://shop.example"}
    )
    assert "access-control-allow-origin" not in secret_answer.headers
