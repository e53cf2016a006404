"""503 from a real server, through both clients: a server registers an organisation and its keys
and stops; a second one starts on the same data with Redis at a port nothing listens on and
``LEHNZ_RATE_LIMIT_FAILURE=closed``, so it refuses every request made with a key: 503
``service_unavailable``, ``Retry-After: 5``. (The real timeouts are in ``test_client.py`` and
``test_async.py``, on the module's working server.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from lehnz.client import (
    APIStatusError,
    AsyncLehnz,
    InternalServerError,
    Lehnz,
    LehnzError,
    RateLimitError,
)
from tests.factories import Tenant, tenant
from tests.processes import LehnzProcess, free_port, lehnz_serve


@dataclass
class Refusing:
    base: str
    org: Tenant
    process: LehnzProcess

    def answered(self, method: str, path: str, status: int) -> int:
        """How many of the server's access lines so far are ``method path`` answered
        ``status``."""
        line = f'"{method} {path} HTTP/1.1" {status} '
        return self.process.log_text().count(line)


@pytest.fixture(scope="module")
def refusing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Refusing]:
    tmp: Path = tmp_path_factory.mktemp("refusing")
    with lehnz_serve(tmp) as (base, _first), httpx.Client(base_url=base) as raw:
        org = tenant(raw)
    closed = {
        "LEHNZ_REDIS_URL": f"redis://127.0.0.1:{free_port()}",
        "LEHNZ_RATE_LIMIT_FAILURE": "closed",
    }
    with lehnz_serve(tmp, closed) as (base, process):  # the same tmp / "data"
        yield Refusing(base, org, process)


def assert_refused(error: LehnzError) -> None:
    assert isinstance(error, InternalServerError) and isinstance(error, APIStatusError)
    assert not isinstance(error, RateLimitError)
    assert (error.status, error.code) == (503, "service_unavailable")
    assert "cannot be counted right now; retry in 5 s" in str(error)
    assert error.detail and "retry in 5 s" in error.detail
    assert error.headers["retry-after"] == "5"


def test_503_is_raised_as_internal_server_error_for_either_key(refusing: Refusing) -> None:
    org = refusing.org
    seen = refusing.answered("POST", "/recommend", 503)
    with Lehnz(
        publishable_key=org.publishable,
        secret_key=org.secret,
        base_url=refusing.base,
        max_retries=0,
    ) as lehnz:
        for call in (
            lambda: lehnz.recommend("u"),  # publishable key
            lambda: lehnz.track({"user_id": "u", "event_name": "view"}),
            lambda: lehnz.items.get("sku-1"),  # secret key
        ):
            with pytest.raises(InternalServerError) as error:
                call()
            assert_refused(error.value)
    assert refusing.answered("POST", "/recommend", 503) - seen == 1  # no retry


def test_503_is_raised_by_the_async_client_too(refusing: Refusing) -> None:
    async def scenario() -> None:
        async with AsyncLehnz(
            publishable_key=refusing.org.publishable, base_url=refusing.base, max_retries=0
        ) as lehnz:
            with pytest.raises(InternalServerError) as error:
                await lehnz.recommend("u")
            assert_refused(error.value)

    asyncio.run(scenario())


def test_503_retry_after_is_waited_out_before_the_last_attempt(refusing: Refusing) -> None:
    seen = refusing.answered("GET", "/api/v1/models", 503)
    with Lehnz(secret_key=refusing.org.secret, base_url=refusing.base, max_retries=1) as lehnz:
        started = time.monotonic()
        with pytest.raises(InternalServerError) as error:
            lehnz.models.list()
        elapsed = time.monotonic() - started
    assert_refused(error.value)
    assert refusing.answered("GET", "/api/v1/models", 503) - seen == 2
    # Retry-After: 5, plus up to 0.55 s of jitter, then one more attempt; the upper bound is
    # loose, since CI machines are busy, and the attempts are counted above.
    assert 5.0 <= elapsed < 20.0, elapsed
