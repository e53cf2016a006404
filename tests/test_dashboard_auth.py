"""The dashboard's accounts: sign-up, log-in and log-out through the forms, the session cookie,
CSRF on every form, the auth rate limit, closed registration, and the strict page headers.

Through HTTP against the real app on SQLite and PostgreSQL (the ``api`` fixture); each test
signs up its own organisation in its own cookie jar.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lehnz.app import create_app
from lehnz.store.tables import dashboard_sessions
from tests.conftest import make_settings
from tests.dashboard import browser_for, csrf_of, sign_up
from tests.factories import DOMAIN, PASSWORD, assert_error, rows_of


def _login(client: TestClient, email: str, password: str = PASSWORD, **extra: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": password, **extra},
        follow_redirects=False,
    )


def test_pages_redirect_to_login_without_a_session(api: TestClient) -> None:
    client = browser_for(api)
    for path in ("/", "/access", "/catalog", "/events", "/playground", "/analytics", "/models"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login"), path
    assert client.get("/access", follow_redirects=False).headers["location"] == (
        "/login?next=/access"
    )


def test_a_script_without_a_session_gets_the_envelope(api: TestClient) -> None:
    response = browser_for(api).get("/access", headers={"Accept": "application/json"})
    assert_error(response, 401, "log in")


def test_sign_up_opens_a_session_with_strict_cookies(api: TestClient) -> None:
    client = browser_for(api)
    token = csrf_of(client.get("/signup").text)
    email = "Signup-Cookie@Example.com"
    response = client.post(
        "/signup",
        data={
            "csrf_token": token,
            "email": email,
            "password": PASSWORD,
            "organization_name": "Cookie Shop",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/access"
    cookies = {c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")}
    for name in ("lehnz_session", "lehnz_csrf"):
        assert "httponly" in cookies[name] and "samesite=strict" in cookies[name]
        assert "secure" not in cookies[name]  # plain HTTP here; see the HTTPS test
    page = client.get("/access")
    assert page.status_code == 200
    assert "Cookie Shop" in page.text and ">Log out<" in page.text
    # Registered through the form = registered for the API too (same accounts).
    login = api.post(
        "/api/v1/auth/login", headers=DOMAIN, json={"email": email, "password": PASSWORD}
    )
    assert login.status_code == 200


def test_cookies_are_secure_over_https(api: TestClient) -> None:
    client = TestClient(api.app, base_url="https://testserver", headers={"Accept": "text/html"})
    page = client.get("/login")
    assert "secure" in page.headers["set-cookie"].lower()


def test_cookies_are_secure_behind_a_trusted_tls_proxy(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, trusted_proxies="10.0.0.0/8")
    app = create_app(settings)
    with TestClient(app, client=("10.1.2.3", 5000)) as proxied:
        page = proxied.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "secure" in page.headers["set-cookie"].lower()
    with TestClient(app, client=("192.0.2.9", 5000)) as direct:
        # Anyone can send the header: from an untrusted peer it means nothing.
        page = direct.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "secure" not in page.headers["set-cookie"].lower()


def test_session_is_stored_hashed_and_logout_ends_it(api: TestClient) -> None:
    user = sign_up(api)
    token = user.client.cookies["lehnz_session"]
    (row,) = rows_of(api, dashboard_sessions, organization_id=user.organization_id)
    assert token not in str(row.values())  # only its SHA-256 is kept
    stolen = browser_for(api)
    stolen.cookies.set("lehnz_session", token)
    assert stolen.get("/access").status_code == 200

    response = user.post("/logout", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert rows_of(api, dashboard_sessions, organization_id=user.organization_id) == []
    # The copied cookie is worth nothing now: the session is gone on the server.
    assert stolen.get("/access", follow_redirects=False).status_code == 303


def test_log_in_and_follow_next_but_never_off_site(api: TestClient) -> None:
    user = sign_up(api)
    client = browser_for(api)
    response = _login(client, user.email.upper(), next="/events")
    assert response.status_code == 303 and response.headers["location"] == "/events"
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        other = browser_for(api)
        response = _login(other, user.email, next=target)
        assert response.headers["location"] == "/access", target


def test_wrong_password_and_unknown_email_read_the_same(api: TestClient) -> None:
    user = sign_up(api)
    wrong = _login(browser_for(api), user.email, "not the password")
    unknown = _login(browser_for(api), "nobody-here@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert "Invalid email or password" in wrong.text and "Invalid email or password" in unknown.text
    assert "lehnz_session" not in wrong.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    ("fields", "status", "named"),
    [
        ({"password": "short"}, 400, "at least 8"),
        ({"email": "not-an-email"}, 400, "email"),
        ({"organization_name": ""}, 400, "organization_name"),
        ({"organization_name": "x" * 10_000}, 400, "organization_name"),
        ({"email": "a@b" + "c" * 400}, 400, "email"),
    ],
)
def test_sign_up_refuses_bad_fields_by_name(
    api: TestClient, fields: dict[str, str], status: int, named: str
) -> None:
    client = browser_for(api)
    data = {
        "csrf_token": csrf_of(client.get("/signup").text),
        "email": "fine-signup@example.com",
        "password": PASSWORD,
        "organization_name": "Fine",
        **fields,
    }
    response = client.post("/signup", data=data)
    assert response.status_code == status
    assert named in response.text
    assert "lehnz_session" not in response.headers.get("set-cookie", "")


def test_duplicate_sign_up_is_a_conflict_on_the_form(api: TestClient) -> None:
    user = sign_up(api)
    client = browser_for(api)
    response = client.post(
        "/signup",
        data={
            "csrf_token": csrf_of(client.get("/signup").text),
            "email": user.email,
            "password": PASSWORD,
            "organization_name": "Again",
        },
    )
    assert response.status_code == 409 and "already registered" in response.text


@pytest.mark.parametrize("path", ["/login", "/signup", "/logout", "/access/keys"])
def test_forms_posted_without_the_token_are_refused(api: TestClient, path: str) -> None:
    user = sign_up(api)
    data = {"email": user.email, "password": PASSWORD, "type": "secret", "name": "x"}
    for token in (None, "", "0" * 64, "x" * 5000):
        form = data if token is None else {**data, "csrf_token": token}
        response = user.client.post(path, data=form, follow_redirects=False)
        assert response.status_code == 403, (path, token)
        assert "security token" in response.text
    # Nothing happened: still signed in, and no key was made.
    assert user.client.get("/access").status_code == 200
    assert "data-key-id" not in user.client.get("/access").text


def test_a_token_from_another_browser_is_refused(api: TestClient) -> None:
    victim = sign_up(api)
    attacker = sign_up(api)
    response = victim.client.post(
        "/access/keys", data={"csrf_token": attacker.csrf(), "type": "secret", "name": "x"}
    )
    assert response.status_code == 403


def test_the_header_token_works_for_scripts(api: TestClient) -> None:
    user = sign_up(api)
    response = user.client.post(
        "/access/keys",
        data={"type": "publishable", "name": "from a script"},
        headers={"X-CSRF-Token": user.csrf()},
    )
    assert response.status_code == 200 and "lehnz_pk_" in response.text


def test_pages_send_a_strict_content_security_policy(api: TestClient) -> None:
    page = browser_for(api).get("/login")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text  # no inline script: the policy would block it


@pytest.mark.parametrize(
    "form",
    [
        {"email": "nul\x00@example.com", "password": PASSWORD},
        {"email": "é" * 400, "password": "p" * 5000},
        {"email": "", "password": ""},
    ],
)
def test_hostile_log_in_fields_get_a_4xx(api: TestClient, form: dict[str, str]) -> None:
    client = browser_for(api)
    response = client.post(
        "/login", data={"csrf_token": csrf_of(client.get("/login").text), **form}
    )
    assert 400 <= response.status_code < 500


def test_a_form_body_that_is_not_utf8_gets_a_4xx(api: TestClient) -> None:
    client = browser_for(api)
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        content=b"csrf_token=" + token.encode() + b"&email=\xff\xfe%00&password=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert 400 <= response.status_code < 500


class TestClosedRegistrationAndLimits:
    def test_no_sign_up_form_when_registration_is_closed(self, tmp_path: Path) -> None:
        settings = make_settings(tmp_path, registration="closed")
        with TestClient(create_app(settings), headers={"Accept": "text/html"}) as client:
            login = client.get("/login")
            assert 'href="/signup"' not in login.text
            assert client.get("/signup").status_code == 404
            refused = client.post(
                "/signup",
                data={
                    "csrf_token": csrf_of(login.text),
                    "email": "closed@example.com",
                    "password": PASSWORD,
                    "organization_name": "Closed",
                },
            )
            assert refused.status_code == 403

    def test_the_auth_rate_limit_applies_to_the_forms(self, tmp_path: Path) -> None:
        settings = make_settings(tmp_path, auth_rate_limit_requests=3)
        with TestClient(create_app(settings), headers={"Accept": "text/html"}) as client:
            token = csrf_of(client.get("/login").text)
            form = {"csrf_token": token, "email": "who@example.com", "password": "wrong-one"}
            statuses = [client.post("/login", data=form).status_code for _ in range(4)]
            assert statuses == [401, 401, 401, 429]
            limited = client.post("/login", data=form)
            assert "Too many" in limited.text and int(limited.headers["retry-after"]) > 0
            # The API's window is the same one: this address is spent there too.
            api_login = client.post(
                "/api/v1/auth/login", headers=DOMAIN, json={"email": "w@x.y", "password": "z"}
            )
            assert api_login.status_code == 429


@pytest.mark.parametrize(("service", "served"), [("ingestion", True), ("recommendations", False)])
def test_the_dashboard_is_on_the_ingestion_side(tmp_path: Path, service: str, served: bool) -> None:
    settings = make_settings(tmp_path, service=service)
    with TestClient(create_app(settings), headers={"Accept": "text/html"}) as client:
        assert (client.get("/login").status_code == 200) is served
        assert (client.get("/static/lehnz.css").status_code == 200) is served
