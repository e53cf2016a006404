"""The garbage collector set for a server's allocation pattern.

A request allocates hundreds of short-lived container objects (the ASGI scope, headers,
coroutines, the answer's dicts). With CPython's default threshold of 700 the young generation
is collected every few requests, and every tenth of those collections feeds the next older
one, until a full collection walks the whole heap: 110-150 ms in a server with a model
loaded, on the event loop, so the slowest answers wait for it. Collecting the young
generation every 10,000 allocations instead makes the full collections about 14 times rarer;
it halved `POST /recommend`'s p99 at 32 connections (bench/RESULTS.md). Garbage with cycles
waits a little longer to be freed; everything else is freed at once by reference counting,
as before.
"""

from __future__ import annotations

import gc

#: Allocations between collections of the young generation (CPython's default: 700).
YOUNG_THRESHOLD = 10_000


def tune_for_serving() -> None:
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
