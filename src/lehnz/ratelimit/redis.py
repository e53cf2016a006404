"""Windows kept in Redis: one atomic script per request, so the count is exact however many
processes share it.

When Redis cannot be reached the limiter answers ``None`` and the outage is logged; what a
request then gets is ``LEHNZ_RATE_LIMIT_FAILURE``'s choice (see ``RateLimits``): by default it
goes through unlimited, rather than a store's shop pages failing with Redis. Redis is then
left alone for a few seconds so that every request does not wait for its timeout.
"""

from __future__ import annotations

import logging
import time

import redis

from lehnz.ratelimit.window import Decision

logger = logging.getLogger("lehnz.ratelimit")

# INCR and the expiry in one step: a window's first request sets its end, and a key that
# somehow lost its expiry gets one, so no count can outlive its window.
_HIT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""

#: How long Redis is left alone after a failure; also the ``Retry-After`` of a refusal.
BACK_OFF_SECONDS = 5.0

_NOT_ENFORCED = "rate limits not enforced for %.0f s: Redis failed: %s"
_REFUSING = "counted requests refused (503) for %.0f s: Redis failed: %s"


class RedisLimiter:
    in_memory = False  # a round trip to Redis: checked on a request thread

    def __init__(self, client: redis.Redis, *, prefix: str, fail_closed: bool = False) -> None:
        self._script = client.register_script(_HIT)
        self._prefix = prefix
        self._down_until = 0.0
        # Only for the log line, which tells the operator what requests get meanwhile.
        self._outage = _REFUSING if fail_closed else _NOT_ENFORCED

    def hit(self, key: str, *, limit: int, window_seconds: int) -> Decision | None:
        if time.monotonic() < self._down_until:
            return None
        try:
            count, ttl_ms = self._script(
                keys=[f"{self._prefix}:ratelimit:{key}:{window_seconds}"],
                args=[window_seconds * 1000],
            )
        except redis.RedisError as exc:
            self._down_until = time.monotonic() + BACK_OFF_SECONDS
            logger.warning(self._outage, BACK_OFF_SECONDS, exc)
            return None
        return Decision.of(int(count), limit, int(ttl_ms) / 1000)
