"""Fixtures that start real things: the app with its lifespan, on SQLite and on PostgreSQL.

Every test that takes ``api`` runs twice, once per database. PostgreSQL is found at
``LEHNZ_TEST_POSTGRES_URL`` (default: the local server's ``test`` database); each run creates
its own database there and drops it at the end, so runs never collide. When PostgreSQL is
unreachable its half is skipped, unless ``LEHNZ_TEST_REQUIRE_POSTGRES=1`` (set by ``.ci/run``),
which turns the skip into a failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient
from psycopg import sql

from lehnz.app import create_app
from lehnz.config import Settings

# Stray LEHNZ_* settings of the developer's shell must not leak into the tests.
for _name in [n for n in os.environ if n.startswith("LEHNZ_") and not n.startswith("LEHNZ_TEST_")]:
    del os.environ[_name]

POSTGRES_URL = os.environ.get(
    "LEHNZ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("LEHNZ_TEST_REQUIRE_POSTGRES") == "1"
REDIS_URL = os.environ.get("LEHNZ_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_REDIS = os.environ.get("LEHNZ_TEST_REQUIRE_REDIS") == "1"


def _admin_connect() -> psycopg.Connection:
    return psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new database on the test server, dropped afterwards."""
    name = f"lehnz_test_{os.getpid()}_{secrets.token_hex(4)}"
    with _admin_connect() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = POSTGRES_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with _admin_connect() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """A database of its own for this test run, dropped afterwards."""
    try:
        _admin_connect().close()
    except psycopg.OperationalError as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required but unreachable at {POSTGRES_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}")
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis at ``LEHNZ_TEST_REDIS_URL``; skipped when unreachable unless
    ``LEHNZ_TEST_REQUIRE_REDIS=1`` (set by ``.ci/run``). Tests keep their keys apart with a
    ``redis_prefix`` of their own (``unique_prefix()``)."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if REQUIRE_REDIS:
            pytest.fail(f"Redis is required but unreachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}")
    finally:
        client.close()
    return REDIS_URL


def unique_prefix() -> str:
    return f"lehnz-test-{os.getpid()}-{secrets.token_hex(4)}"


def make_settings(tmp: Path, database_url: str | None = None, **overrides: object) -> Settings:
    return Settings(
        data_dir=tmp,
        database_url=database_url,
        secret_key="test-secret-" + "x" * 40,  # type: ignore[arg-type]
        # Tests train explicitly; the scheduler's background runs would only add noise. Every
        # test registers its own organisation from the same client address, so the limits
        # are out of reach here; tests/api/test_rate_limits.py builds apps with real ones.
        **{  # type: ignore[arg-type]
            "train_check_seconds": 3600.0,
            "rate_limit_requests": 1_000_000,
            "auth_rate_limit_requests": 1_000_000,
            **overrides,
        },
    )


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp(request.param)
    if request.param == "sqlite":
        return make_settings(tmp)
    url = request.getfixturevalue("postgres_database_url")
    return make_settings(tmp, url)


@pytest.fixture(scope="module")
def isolated_settings(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """The backend of ``settings`` on a database no other app of the session uses, with no
    embedded pipeline: for tests that run the pipeline themselves and must not race the
    session app's."""
    tmp = tmp_path_factory.mktemp("isolated")
    if settings.database_url is None:
        yield make_settings(tmp, embedded_worker=False)
        return
    with fresh_postgres_database() as url:
        yield make_settings(tmp, url, embedded_worker=False)


@pytest.fixture(scope="session")
def api(settings: Settings) -> Iterator[TestClient]:
    """The whole app on one database; tests isolate themselves by registering their own org."""
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="session")
def sqlite_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """For behaviour that cannot differ between databases (the envelope, routing)."""
    with TestClient(create_app(make_settings(tmp_path_factory.mktemp("plain")))) as client:
        yield client
