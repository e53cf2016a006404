"""What a limiter answers, and the one method every limiter has.

A window opens with its first request and lasts ``window_seconds``; every request in it,
refused ones included, adds one to its count. A fixed window is what ``RateLimit-Reset``
("seconds until the window resets") describes, and it needs one counter per key, which one
atomic Redis script can keep exact across any number of processes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    @classmethod
    def of(cls, count: int, limit: int, seconds_left: float) -> Decision:
        """The decision for the ``count``-th request of a window with ``seconds_left``."""
        return cls(
            allowed=count <= limit,
            limit=limit,
            remaining=max(0, limit - count),
            # Rounded to the millisecond first: (now + 900) - now can come out a hair above
            # 900 in floating point, and must not be reported as 901.
            reset_seconds=max(1, math.ceil(round(seconds_left, 3))),
        )

    def headers(self) -> list[tuple[bytes, bytes]]:
        """``RateLimit-*`` for every limited answer, and ``Retry-After`` on a refusal."""
        values = [
            (b"ratelimit-limit", self.limit),
            (b"ratelimit-remaining", self.remaining),
            (b"ratelimit-reset", self.reset_seconds),
        ]
        if not self.allowed:
            values.append((b"retry-after", self.reset_seconds))
        return [(name, str(value).encode()) for name, value in values]


class Limiter(Protocol):
    #: Whether ``hit`` answers without I/O that could block (so on the event loop).
    in_memory: bool

    def hit(self, key: str, *, limit: int, window_seconds: int) -> Decision | None:
        """Count one request against ``key``'s window. ``None`` means the limiter could not
        count (its store is unreachable); ``RateLimits`` then lets the request through
        unlimited or refuses it, as ``LEHNZ_RATE_LIMIT_FAILURE`` says."""
        ...
