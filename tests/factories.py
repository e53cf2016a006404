"""Builders for test data, through the public API only: of an app in process (a
``TestClient``) or of a real server (any ``httpx.Client``; ``TestClient`` is one)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx
from fastapi.testclient import TestClient

DOMAIN = {"X-Domain": "commerce"}
PASSWORD = "correct horse battery"


@dataclass
class Account:
    email: str
    organization_id: str
    developer_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {**DOMAIN, "Authorization": f"Bearer {self.token}"}


def register(client: httpx.Client, *, email: str | None = None) -> Account:
    email = email or f"dev-{secrets.token_hex(6)}@example.com"
    response = client.post(
        "/api/v1/auth/register",
        headers=DOMAIN,
        json={"email": email, "password": PASSWORD, "organization_name": "Test Store"},
    )
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    return Account(email, data["organization_id"], data["developer_id"], data["token"])


def create_key(client: httpx.Client, account: Account, key_type: str, name: str = "test") -> dict:
    response = client.post(
        "/api/v1/keys", headers=account.headers, json={"type": key_type, "name": name}
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


def key_headers(key: str) -> dict[str, str]:
    return {**DOMAIN, "X-API-KEY": key}


def assert_error(response, status: int, *fragments: str) -> dict:  # type: ignore[no-untyped-def]
    """The answer is the error envelope with this status, and its message says each fragment."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert set(body) >= {"message", "error"}
    text = f"{body['message']} {body['error']}".lower()
    for fragment in fragments:
        assert fragment.lower() in text, f"{fragment!r} not in {text!r}"
    return body


@dataclass
class Tenant:
    """A registered organisation with one key of each type."""

    account: Account
    publishable: str
    secret: str

    @property
    def secret_headers(self) -> dict[str, str]:
        return key_headers(self.secret)

    @property
    def publishable_headers(self) -> dict[str, str]:
        return key_headers(self.publishable)

    @property
    def organization_id(self) -> str:
        return self.account.organization_id


def tenant(client: httpx.Client) -> Tenant:
    account = register(client)
    return Tenant(
        account=account,
        publishable=create_key(client, account, "publishable")["key"],
        secret=create_key(client, account, "secret")["key"],
    )


def ingest(client: httpx.Client, org: Tenant, events: object) -> None:
    """Send ``events`` (one or a list) with the organisation's publishable key; must be 202."""
    response = client.post("/api/v1/events/ingest", headers=org.publishable_headers, json=events)
    assert response.status_code == 202, response.text


def rows_of(client: TestClient, table, **where):  # type: ignore[no-untyped-def]
    """Rows of ``table`` read straight from the app's database, for checks the API cannot
    make (what is stored, and that nothing is left behind)."""
    from sqlalchemy import select

    store = client.app.state.runtime.store  # type: ignore[attr-defined]
    query = select(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with store.read() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def eventually(check, timeout: float = 5.0, interval: float = 0.05, what: str = "condition"):  # type: ignore[no-untyped-def]
    """``check()``'s first truthy result within ``timeout`` seconds (for the pipeline, which
    works in the background); fails the test naming ``what``, with the last value, otherwise."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s; last value: {value!r}")
        time.sleep(interval)


def within(seconds: float, check, what: str):  # type: ignore[no-untyped-def]
    """``eventually`` as the tests against server processes read it: how long, then what."""
    return eventually(check, timeout=seconds, what=what)
