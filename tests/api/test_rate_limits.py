"""Rate limits through the API: per organisation (shared by its keys), per client address on
the auth endpoints, the headers, the organisation's own setting, on both limiter backends.

Each test builds an app with real limits (the shared test apps raise them out of reach).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from lehnz.app import create_app
from lehnz.config import Settings
from lehnz.ratelimit import MemoryLimiter, RedisLimiter
from tests.conftest import make_settings, unique_prefix
from tests.factories import DOMAIN, PASSWORD, assert_error, create_key, register, tenant

AppFactory = Callable[..., TestClient]


@pytest.fixture(params=["memory", "redis"])
def limited_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppFactory]:
    """Build apps whose limits the test chooses, with in-process or Redis windows."""
    backend = {}
    if request.param == "redis":
        backend = {
            "redis_url": request.getfixturevalue("redis_url"),
            "redis_prefix": unique_prefix(),
        }
    clients: list[TestClient] = []

    def build(*, client: tuple[str, int] = ("10.0.0.1", 50000), **limits: object) -> TestClient:
        settings = make_settings(tmp_path_factory.mktemp("limits"), **{**limits, **backend})
        test_client = TestClient(create_app(settings), client=client)
        test_client.__enter__()
        clients.append(test_client)
        return test_client

    yield build
    for test_client in clients:
        test_client.__exit__(None, None, None)


def _headers(response) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    return (
        int(response.headers["RateLimit-Limit"]),
        int(response.headers["RateLimit-Remaining"]),
        int(response.headers["RateLimit-Reset"]),
    )


def test_the_default_window_is_1000_requests_per_15_minutes(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="s" * 40)  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as client:
        org = tenant(client)
        response = client.get("/api/v1/items/nothing", headers=org.secret_headers)
    assert response.status_code == 404
    limit, remaining, reset = _headers(response)
    assert (limit, remaining) == (1000, 999)
    assert 890 <= reset <= 900


def test_keys_of_one_organisation_share_its_window(limited_app: AppFactory) -> None:
    client = limited_app(rate_limit_requests=5, rate_limit_window_seconds=600)
    org, other = tenant(client), tenant(client)
    by_key = [
        lambda: client.get("/api/v1/items/i1", headers=org.secret_headers),
        lambda: client.post("/recommend", headers=org.publishable_headers, json={"user_id": "u"}),
    ]
    answers = [by_key[n % 2]() for n in range(5)]
    assert [r.status_code for r in answers] == [404, 200, 404, 200, 404]
    assert [_headers(r)[1] for r in answers] == [4, 3, 2, 1, 0]

    refused = client.post("/recommend", headers=org.publishable_headers, json={"user_id": "u1"})
    body = assert_error(refused, 429, "request limit")
    assert body["code"] == "rate_limited"
    limit, remaining, reset = _headers(refused)
    assert (limit, remaining) == (5, 0)
    assert 0 < reset <= 600
    assert int(refused.headers["Retry-After"]) == reset
    assert_error(client.get("/api/v1/items/i1", headers=org.secret_headers), 429)

    # Another organisation has a window of its own.
    response = client.get("/api/v1/items/i1", headers=other.secret_headers)
    assert response.status_code == 404
    assert _headers(response)[1] == 4


def test_browsers_may_read_the_headers(limited_app: AppFactory) -> None:
    client = limited_app(rate_limit_requests=1)
    org = tenant(client)
    headers = {**org.publishable_headers, "Origin": "https://shop.example"}
    answers = [client.post("/recommend", headers=headers, json={"user_id": "u"}) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 429]
    for answer in answers:
        exposed = answer.headers["Access-Control-Expose-Headers"].lower()
        assert {"ratelimit-reset", "ratelimit-remaining", "retry-after"} <= {
            name.strip() for name in exposed.split(",")
        }


def test_refused_and_invalid_requests_still_carry_the_headers(limited_app: AppFactory) -> None:
    client = limited_app(rate_limit_requests=3, rate_limit_window_seconds=60)
    org = tenant(client)
    bad = client.post("/api/v1/events/ingest", headers=org.publishable_headers, json=[{}])
    assert_error(bad, 400, "user_id")
    assert _headers(bad)[:2] == (3, 2)
    # Answers without a limit: an unknown key, and the developer's dashboard API.
    unknown = client.get(
        "/api/v1/items/i1", headers={**DOMAIN, "X-API-KEY": "lehnz_sk_" + "x" * 40}
    )
    assert unknown.status_code == 401
    assert "RateLimit-Limit" not in unknown.headers
    keys = client.get("/api/v1/keys", headers=org.account.headers)
    assert keys.status_code == 200
    assert "RateLimit-Limit" not in keys.headers


def test_an_organisation_sets_its_own_window(limited_app: AppFactory) -> None:
    client = limited_app(rate_limit_requests=100, rate_limit_window_seconds=900)
    org = tenant(client)
    developer = org.account.headers

    current = client.get("/api/v1/settings/rate_limit", headers=developer)
    assert current.json()["data"] == {"requests": 100, "window_seconds": 900, "source": "server"}

    saved = client.put(
        "/api/v1/settings/rate_limit",
        headers=developer,
        json={"requests": 2, "window_seconds": 30},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["data"] == {"requests": 2, "window_seconds": 30, "source": "organization"}
    statuses = [
        client.get("/api/v1/items/i1", headers=org.secret_headers).status_code for _ in range(3)
    ]
    assert statuses == [404, 404, 429]

    reset = client.delete("/api/v1/settings/rate_limit", headers=developer)
    assert reset.json()["data"]["source"] == "server"
    response = client.get("/api/v1/items/i1", headers=org.secret_headers)
    assert response.status_code == 404
    assert _headers(response)[0] == 100


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"requests": 0, "window_seconds": 60}, "requests"),
        ({"requests": 10, "window_seconds": 0}, "window_seconds"),
        ({"requests": 10}, "window_seconds"),
        ({"requests": "many", "window_seconds": 60}, "requests"),
        ({"requests": 10, "window_seconds": 60, "burst": 5}, "burst"),
    ],
)
def test_a_bad_window_is_refused_naming_the_field(
    limited_app: AppFactory, body: dict, field: str
) -> None:
    client = limited_app()
    account = register(client)
    response = client.put("/api/v1/settings/rate_limit", headers=account.headers, json=body)
    assert_error(response, 400, field)
    current = client.get("/api/v1/settings/rate_limit", headers=account.headers)
    assert current.json()["data"]["source"] == "server"


def test_auth_endpoints_allow_10_attempts_per_address(limited_app: AppFactory) -> None:
    client = limited_app(auth_rate_limit_requests=10)
    account = register(client)
    attempts = [
        client.post(
            "/api/v1/auth/login",
            headers=DOMAIN,
            json={"email": account.email, "password": PASSWORD if n % 2 else "wrong password"},
        )
        for n in range(9)
    ]
    assert [r.status_code for r in attempts] == [401, 200] * 4 + [401]
    assert [_headers(r)[1] for r in attempts] == list(range(8, -1, -1))
    refused = client.post(
        "/api/v1/auth/login", headers=DOMAIN, json={"email": account.email, "password": PASSWORD}
    )
    assert_error(refused, 429, "too many")
    assert int(refused.headers["Retry-After"]) > 0
    # A forwarded address from an untrusted peer is not believed.
    spoofed = client.post(
        "/api/v1/auth/login",
        headers={**DOMAIN, "X-Forwarded-For": "203.0.113.9"},
        json={"email": account.email, "password": PASSWORD},
    )
    assert spoofed.status_code == 429


def test_forwarded_addresses_count_apart_behind_a_trusted_proxy(limited_app: AppFactory) -> None:
    client = limited_app(
        auth_rate_limit_requests=2, trusted_proxies="10.0.0.0/8", client=("10.0.0.7", 40000)
    )

    def login(forwarded: str) -> int:
        return client.post(
            "/api/v1/auth/login",
            headers={**DOMAIN, "X-Forwarded-For": forwarded},
            json={"email": "nobody@example.com", "password": "whatever1"},
        ).status_code

    assert [login("203.0.113.1") for _ in range(3)] == [401, 401, 429]
    # The client is the last address the trusted proxies did not add; what a client writes
    # to the left of it changes nothing.
    assert login("198.51.100.1, 203.0.113.1") == 429
    assert login("203.0.113.1, 198.51.100.2, 10.0.0.3") == 401


def test_the_memory_window_resets_when_it_ends() -> None:
    now = [100.0]
    limiter = MemoryLimiter(clock=lambda: now[0])
    assert [limiter.hit("k", limit=2, window_seconds=10).allowed for _ in range(3)] == [
        True,
        True,
        False,
    ]
    now[0] += 9.5
    last = limiter.hit("k", limit=2, window_seconds=10)
    assert (last.allowed, last.reset_seconds) == (False, 1)
    now[0] += 0.5
    fresh = limiter.hit("k", limit=2, window_seconds=10)
    assert (fresh.allowed, fresh.remaining, fresh.reset_seconds) == (True, 1, 10)


def test_a_new_window_never_reports_more_than_its_length() -> None:
    # (1001.11 + 900) - 1001.11 is 900.0000000000001 in floating point.
    limiter = MemoryLimiter(clock=lambda: 1001.11)
    assert limiter.hit("k", limit=5, window_seconds=900).reset_seconds == 900


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_concurrent_hits_allow_exactly_the_limit(
    backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "redis":
        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        limiter: MemoryLimiter | RedisLimiter = RedisLimiter(client, prefix=unique_prefix())
    else:
        limiter = MemoryLimiter()
    allowed = []

    def hammer() -> None:
        for _ in range(50):
            decision = limiter.hit("org:x", limit=120, window_seconds=60)
            assert decision is not None
            allowed.append(decision.allowed)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 400
    assert allowed.count(True) == 120


def test_an_unreachable_redis_lets_requests_through(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, rate_limit_requests=1, redis_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(settings)) as client:
        account = register(client)
        key = create_key(client, account, "secret")["key"]
        headers = {**DOMAIN, "X-API-KEY": key}
        responses = [client.get("/api/v1/items/i1", headers=headers) for _ in range(3)]
        ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["data"] == {"database": "ok", "redis": "unreachable"}
    assert [r.status_code for r in responses] == [404, 404, 404]
    assert all("RateLimit-Limit" not in r.headers for r in responses)
