"""The garbage collector set for a server's allocation pattern, and paused for batch work.

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
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Allocations between collections of the young generation (CPython's default: 700).
YOUNG_THRESHOLD = 10_000


def tune_for_serving() -> None:
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


class _Pause:
    """Counts the threads inside ``collection_paused`` so that the last one out, not the
    first, turns collection back on (and only if it was on when the first came in)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._was_enabled = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._inside == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1
                if self._inside == 0 and self._was_enabled:
                    gc.enable()


#: No collections inside this block, in any thread, for work that builds many objects and
#: frees them all at the end without cycles. The pipeline holds a batch's shoppers' states
#: (nested lists and dicts, thousands of them) until the batch commits: each collection in
#: between walked all of them again, and as the batch grew, older generations were collected
#: too, with the whole heap. That was a fifth of the pipeline's time (bench/RESULTS.md).
#: Keep the block short and free of long waits: garbage with cycles made meanwhile by other
#: threads waits for its end.
collection_paused = _Pause()
