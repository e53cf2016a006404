"""Which window a request counts against, and how large it is.

API-key requests count against their organisation (shared by all its keys); the auth
endpoints count against the client's IP address. An organisation's own limit, set from the
dashboard, replaces the server-wide one; it is cached for a few seconds and forgotten at once
when a notice says it changed.

When the limiter cannot count (Redis unreachable), ``LEHNZ_RATE_LIMIT_FAILURE`` decides: the
request goes through unlimited (``open``, the default: a shop's pages keep working), or is
refused with 503 (``closed``: no request escapes its limit, at the price of an outage).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

from lehnz.errors import ServiceUnavailable
from lehnz.ratelimit.redis import BACK_OFF_SECONDS
from lehnz.ratelimit.window import Decision, Limiter
from lehnz.refresh_ahead import RefreshAhead
from lehnz.store import Store
from lehnz.store import accounts as account_queries

SETTING = "rate_limit"


@dataclass(frozen=True)
class OrganizationLimit:
    requests: int
    window_seconds: int
    source: Literal["organization", "server"]


class RateLimits:
    def __init__(
        self,
        store: Store,
        limiter: Limiter,
        *,
        requests: int,
        window_seconds: int,
        auth_requests: int,
        auth_window_seconds: int,
        cache_seconds: float = 5.0,
        fail_closed: bool = False,
    ) -> None:
        self._store = store
        self._limiter = limiter
        self._fail_closed = fail_closed
        self._server = OrganizationLimit(requests, window_seconds, "server")
        self._auth = (auth_requests, auth_window_seconds)
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[OrganizationLimit, float]] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._renewals = RefreshAhead("lehnz-limit-renewal")

    @property
    def limiter(self) -> Limiter:
        return self._limiter

    def charge_organization(self, organization_id: str) -> Decision | None:
        """Count one request of the organisation; ``None``: not counted, let it through."""
        limit = self.organization_limit(organization_id)
        return self._unless_uncounted(
            self._limiter.hit(
                f"org:{organization_id}", limit=limit.requests, window_seconds=limit.window_seconds
            )
        )

    def charge_auth(self, client_ip: str) -> Decision | None:
        """Count one register or login attempt of the address; ``None`` as above."""
        requests, window_seconds = self._auth
        return self._unless_uncounted(
            self._limiter.hit(f"auth:{client_ip}", limit=requests, window_seconds=window_seconds)
        )

    def _unless_uncounted(self, decision: Decision | None) -> Decision | None:
        if decision is None and self._fail_closed:
            retry = round(BACK_OFF_SECONDS)
            raise ServiceUnavailable(
                f"Request limits cannot be counted right now; retry in {retry} s",
                headers={"Retry-After": str(retry)},
            )
        return decision

    def counts_in_memory(self, organization_id: str) -> bool:
        """Whether ``charge_organization`` would need no I/O: the windows are in memory
        (this process's own, or mapped from the workers' shared table) and the
        organisation's limit is cached."""
        cached = self._cache.get(organization_id)
        if not self._limiter.in_memory or cached is None:
            return False
        age = time.monotonic() - cached[1]
        if age >= self._cache_seconds / 2:  # renewed ahead, so in use it never expires
            self._renewals.due(organization_id, lambda: self._read_limit(organization_id))
        return age < self._cache_seconds

    def organization_limit(self, organization_id: str) -> OrganizationLimit:
        now = time.monotonic()
        cached = self._cache.get(organization_id)
        if cached is not None and now - cached[1] < self._cache_seconds:
            return cached[0]
        return self._read_limit(organization_id)

    def _read_limit(self, organization_id: str) -> OrganizationLimit:
        now = time.monotonic()
        generation = self._generation
        with self._store.read() as connection:
            stored = account_queries.organization_settings(connection, organization_id).get(SETTING)
        limit = self._from_setting(stored)
        with self._lock:
            if generation == self._generation:  # else a change was announced meanwhile
                self._cache[organization_id] = (limit, now)
        return limit

    def forget(self, organization_id: str | None) -> None:
        """Drop the cached limit of one organisation (``None``: of all of them)."""
        with self._lock:
            self._generation += 1
            if organization_id is None:
                self._cache.clear()
            else:
                self._cache.pop(organization_id, None)

    def _from_setting(self, stored: Any) -> OrganizationLimit:
        if isinstance(stored, dict) and "requests" in stored and "window_seconds" in stored:
            return OrganizationLimit(
                int(stored["requests"]), int(stored["window_seconds"]), "organization"
            )
        return self._server
