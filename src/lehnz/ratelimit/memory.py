"""Windows kept in this process: exact for one process, the embedded mode."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from lehnz.ratelimit.window import Decision

# Past this many windows, ended ones are swept before a new one opens, so the table holds
# only the keys seen in the last window.
_SWEEP_AT = 10_000


class MemoryLimiter:
    #: ``RateLimits.counts_in_memory``: a check needs no I/O that could block the loop.
    in_memory = True

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, *, limit: int, window_seconds: int) -> Decision:
        window_key = f"{key}:{window_seconds}"
        now = self._clock()
        with self._lock:
            count, ends_at = self._windows.get(window_key, (0, 0.0))
            if ends_at <= now:
                if len(self._windows) >= _SWEEP_AT:
                    self._sweep(now)
                count, ends_at = 0, now + window_seconds
            count += 1
            self._windows[window_key] = (count, ends_at)
        return Decision.of(count, limit, ends_at - now)

    def _sweep(self, now: float) -> None:
        self._windows = {key: value for key, value in self._windows.items() if value[1] > now}
