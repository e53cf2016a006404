"""429 from a real server with a 2-request, 2-second window: the client waits the window out
and succeeds, or, told not to retry, raises ``RateLimitError`` with ``retry_after``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lehnz.client import Lehnz, RateLimitError
from tests.factories import Tenant, tenant
from tests.processes import lehnz_serve

LIMITS = {"LEHNZ_RATE_LIMIT_REQUESTS": "2", "LEHNZ_RATE_LIMIT_WINDOW_SECONDS": "2"}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Tenant]]:
    tmp: Path = tmp_path_factory.mktemp("limited")
    with lehnz_serve(tmp, LIMITS) as (base, _process), httpx.Client(base_url=base) as raw:
        yield base, tenant(raw)


def test_429_is_raised_with_retry_after_then_waited_out(limited: tuple[str, Tenant]) -> None:
    base, org = limited
    impatient = Lehnz(publishable_key=org.publishable, base_url=base, max_retries=0)
    with impatient, pytest.raises(RateLimitError) as error:
        for _ in range(3):
            impatient.track({"user_id": "u", "event_name": "view"})
    limited_error = error.value
    assert (limited_error.status, limited_error.code) == (429, "rate_limited")
    assert limited_error.retry_after is not None and 0 < limited_error.retry_after <= 2
    assert limited_error.headers["retry-after"] == limited_error.headers["ratelimit-reset"]

    # The window is spent: the default client waits it out and gets its answer.
    with Lehnz(publishable_key=org.publishable, base_url=base) as patient:
        started = time.monotonic()
        assert patient.recommend("u", limit=2).recommendation_id.startswith("rec_")
        assert patient.recommend("u", limit=2).recommendation_id
        assert patient.recommend("u", limit=2).recommendation_id  # the third waits again
        assert 0.5 < time.monotonic() - started < 10
