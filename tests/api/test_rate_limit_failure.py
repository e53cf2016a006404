"""``LEHNZ_RATE_LIMIT_FAILURE``: what counted requests get while Redis cannot be reached.

Redis is really unreachable here: its URL names a port on 127.0.0.1 that nothing listens on.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lehnz.app import create_app
from tests.conftest import make_settings, unique_prefix
from tests.factories import DOMAIN, PASSWORD, assert_error, create_key, register
from tests.processes import free_port


def _closed_port_redis() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"  # bound once, released: nobody listens


def _assert_unavailable(response) -> None:  # type: ignore[no-untyped-def]
    body = assert_error(response, 503, "cannot be counted", "retry in 5 s")
    assert body["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "5"
    assert "RateLimit-Limit" not in response.headers


def test_open_lets_requests_through_and_closed_refuses_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="lehnz.ratelimit")
    redis_url = _closed_port_redis()
    limits = {"rate_limit_requests": 1, "auth_rate_limit_requests": 1, "redis_url": redis_url}

    with TestClient(create_app(make_settings(tmp_path, rate_limit_failure="open", **limits))) as c:
        account = register(c)
        key = create_key(c, account, "secret")["key"]
        headers = {**DOMAIN, "X-API-KEY": key}
        # Over both limits, yet unlimited: nothing can count them.
        assert [c.get("/api/v1/items/i1", headers=headers).status_code for _ in range(3)] == [
            404
        ] * 3
        login = {"email": account.email, "password": PASSWORD}
        assert c.post("/api/v1/auth/login", headers=DOMAIN, json=login).status_code == 200
    assert "rate limits not enforced for 5 s: Redis failed" in caplog.text
    caplog.clear()

    # The same database, now failing closed.
    with TestClient(
        create_app(make_settings(tmp_path, rate_limit_failure="closed", **limits))
    ) as c:
        for _ in range(2):  # the first meets the refused connection, the next the back-off
            _assert_unavailable(c.get("/api/v1/items/i1", headers=headers))
        _assert_unavailable(c.post("/api/v1/auth/login", headers=DOMAIN, json=login))
        _assert_unavailable(
            c.post(
                "/api/v1/auth/register",
                headers=DOMAIN,
                json={"email": "n@example.com", "password": PASSWORD, "organization_name": "N"},
            )
        )
        # What is never counted still works: the developer's token, a wrong key, health.
        assert c.get("/api/v1/keys", headers=account.headers).status_code == 200
        wrong = c.get("/api/v1/items/i1", headers={**DOMAIN, "X-API-KEY": "lehnz_sk_" + "x" * 40})
        assert wrong.status_code == 401
        assert c.get("/healthz").status_code == 200
        ready = c.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["data"]["redis"] == "unreachable"
    assert "counted requests refused (503) for 5 s: Redis failed" in caplog.text


def test_closed_counts_as_usual_while_redis_answers(tmp_path: Path, redis_url: str) -> None:
    settings = make_settings(
        tmp_path,
        rate_limit_failure="closed",
        rate_limit_requests=2,
        auth_rate_limit_requests=3,
        redis_url=redis_url,
        redis_prefix=unique_prefix(),
    )
    with TestClient(create_app(settings)) as client:
        account = register(client)
        headers = {**DOMAIN, "X-API-KEY": create_key(client, account, "secret")["key"]}
        answers = [client.get("/api/v1/items/i1", headers=headers) for _ in range(3)]
        assert [a.status_code for a in answers] == [404, 404, 429]
        assert [a.headers["RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
        login = {"email": account.email, "password": PASSWORD}
        logins = [client.post("/api/v1/auth/login", headers=DOMAIN, json=login) for _ in range(3)]
        assert [r.status_code for r in logins] == [200, 200, 429]  # register was the first
