"""Every answer, error or not, wears the documented envelope."""

from __future__ import annotations

from tests.factories import DOMAIN, assert_error


def test_unknown_path_is_404_in_the_envelope(sqlite_api):
    body = assert_error(sqlite_api.get("/api/v1/nothing-here", headers=DOMAIN), 404, "no route")
    assert body["code"] == "not_found"


def test_wrong_method_is_405_in_the_envelope(sqlite_api):
    response = sqlite_api.delete("/api/v1/auth/login", headers=DOMAIN)
    assert_error(response, 405, "DELETE")
    assert "POST" in response.headers["allow"]


def test_malformed_json_is_400_not_422(sqlite_api):
    response = sqlite_api.post(
        "/api/v1/auth/login",
        headers={**DOMAIN, "Content-Type": "application/json"},
        content=b'{"email": ',
    )
    assert_error(response, 400, "malformed JSON")


def test_missing_body_is_400(sqlite_api):
    response = sqlite_api.post("/api/v1/auth/login", headers=DOMAIN)
    assert_error(response, 400, "body")


def test_json_body_with_another_content_type_is_415(sqlite_api):
    response = sqlite_api.post(
        "/api/v1/auth/login",
        headers={**DOMAIN, "Content-Type": "text/plain"},
        content=b'{"email": "a@b.c", "password": "whatever1"}',
    )
    assert_error(response, 415, "application/json")


def test_wrong_field_type_names_the_field(sqlite_api):
    response = sqlite_api.post(
        "/api/v1/auth/login", headers=DOMAIN, json={"email": ["a"], "password": "x"}
    )
    assert_error(response, 400, "email: input should be a valid string")


def test_missing_or_wrong_domain_header_is_400_naming_it(sqlite_api):
    body = {"email": "a@example.com", "password": "whatever1"}
    missing = sqlite_api.post("/api/v1/auth/login", json=body)
    assert_error(missing, 400, "X-Domain")
    wrong = sqlite_api.post("/api/v1/auth/login", headers={"X-Domain": "fashion"}, json=body)
    assert_error(wrong, 400, "X-Domain", "fashion")


def test_health_paths_need_no_domain_header(sqlite_api):
    assert sqlite_api.get("/healthz").json() == {
        "success": True,
        "message": "OK",
        "data": {"status": "ok"},
    }
    ready = sqlite_api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["data"] == {"database": "ok", "redis": "not configured"}


def test_unexpected_errors_are_500_in_the_envelope_without_internals(tmp_path):
    from fastapi.testclient import TestClient

    from lehnz.app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(tmp_path))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    body = assert_error(response, 500)
    assert "secret internal detail" not in response.text
    assert body["code"] == "internal_error"
