"""Driving the dashboard over HTTP, as a browser without scripts would: sign up through the
form, then post forms with the page's CSRF token. Each ``DashboardUser`` has its own cookie
jar on the session's app, so tests never share a session."""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass

import httpx
from fastapi.testclient import TestClient

from lehnz.store.tables import developers
from tests.factories import DOMAIN, PASSWORD, key_headers, rows_of

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_NEW_KEY = re.compile(
    r'value="(lehnz_[ps]k_[A-Za-z0-9_-]+)" data-new-key|'
    r'data-new-key[^>]*value="(lehnz_[ps]k_[A-Za-z0-9_-]+)"'
)


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "the page carries no CSRF token"
    return html.unescape(found.group(1))


@dataclass
class DashboardUser:
    client: TestClient
    email: str
    organization_id: str

    def csrf(self, path: str = "/access") -> str:
        response = self.client.get(path)
        assert response.status_code == 200, response.text
        return csrf_of(response.text)

    def post(self, path: str, data: dict[str, str] | None = None, **kw: object) -> httpx.Response:
        """A form post with this browser's token, as the page's form would send it."""
        return self.client.post(path, data={"csrf_token": self.csrf(), **(data or {})}, **kw)  # type: ignore[arg-type]

    def create_key(self, key_type: str, name: str = "test") -> str:
        response = self.post("/access/keys", {"type": key_type, "name": name})
        assert response.status_code == 200, response.text
        found = _NEW_KEY.search(response.text)
        assert found, "the new key is not on the page"
        return found.group(1) or found.group(2)

    def keys(self) -> tuple[dict[str, str], dict[str, str]]:
        """API headers for a new publishable and a new secret key of this organisation."""
        return key_headers(self.create_key("publishable")), key_headers(self.create_key("secret"))


def browser_for(api: TestClient) -> TestClient:
    """A client with its own cookies on the already running app of ``api``."""
    return TestClient(api.app, base_url="http://testserver", headers={"Accept": "text/html"})


def sign_up(api: TestClient, *, organization_name: str = "Dashboard Store") -> DashboardUser:
    client = browser_for(api)
    email = f"dash-{secrets.token_hex(6)}@example.com"
    token = csrf_of(client.get("/signup").text)
    response = client.post(
        "/signup",
        data={
            "csrf_token": token,
            "email": email,
            "password": PASSWORD,
            "organization_name": organization_name,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    (row,) = rows_of(api, developers, email=email)
    return DashboardUser(client, email, row["organization_id"])


__all__ = ["DOMAIN", "DashboardUser", "browser_for", "csrf_of", "sign_up"]
