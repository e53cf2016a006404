"""Per-check cost of the rate limiters a request pays on the event loop.

``SharedLimiter`` (the workers' table: an ``mmap`` and an ``flock``) beside ``MemoryLimiter``
(one process's dict), one thread, the same key mix: one organisation's window hit again and
again (the common case) and 5,000 client addresses in turn (the auth windows under a
spread of addresses; ``MemoryLimiter`` sweeps its table past 10,000). Prints the median of
five runs of 200,000 checks, in microseconds of this process's CPU (user and system).

    .venv/bin/python bench/ratelimit_shared.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lehnz.ratelimit import MemoryLimiter, SharedLimiter

CHECKS = 200_000


def per_check_us(check: Callable[[int], object]) -> float:
    runs = []
    for _ in range(5):
        started = time.process_time()  # CPU, so that other processes' load counts less
        for number in range(CHECKS):
            check(number)
        runs.append((time.process_time() - started) / CHECKS * 1e6)
    return statistics.median(runs)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ratelimits"
        SharedLimiter.create(path)
        shared = SharedLimiter(path)
        memory = MemoryLimiter()
        print("| limiter | one organisation, µs/check | 5,000 addresses in turn, µs/check |")
        print("|---|---|---|")
        for name, limiter in (("MemoryLimiter", memory), ("SharedLimiter", shared)):
            same = per_check_us(
                lambda _n, limiter=limiter: limiter.hit("org:o1", limit=10**9, window_seconds=900)
            )
            spread = per_check_us(
                lambda n, limiter=limiter: limiter.hit(
                    f"auth:10.{n % 5000}", limit=10, window_seconds=9
                )
            )
            print(f"| {name} | {same:.2f} | {spread:.2f} |")
        shared.close()


if __name__ == "__main__":
    main()
