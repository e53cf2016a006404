"""Renewing a cached entry before it expires, on a thread of its own.

A key's record and an organisation's limit are trusted for a few seconds. Were they renewed
only once expired, every request arriving in that moment would go to the database (on a
request thread, since the event loop must not wait for it); under load those requests queue
behind a busy event loop for Python's lock, and took up to two seconds. Renewed once half
their time is up, by one background read, entries in use never expire: requests keep
answering from memory, and no entry is used past its time, so the bounds the caches promise
(a revoked key refused within ``LEHNZ_KEY_CACHE_SECONDS``) hold as before.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Hashable

logger = logging.getLogger("lehnz.cache")


class RefreshAhead:
    def __init__(self, name: str) -> None:
        self._name = name
        self._queue: queue.SimpleQueue[tuple[Hashable, Callable[[], object]]] = queue.SimpleQueue()
        self._wanted: set[Hashable] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def due(self, key: Hashable, renew: Callable[[], object]) -> None:
        """Have ``renew()`` run soon, once for ``key`` however many requests ask."""
        with self._lock:
            if key in self._wanted:
                return
            self._wanted.add(key)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        self._queue.put((key, renew))

    def _run(self) -> None:
        while True:
            key, renew = self._queue.get()
            try:
                renew()
            except Exception:  # the entry expires as usual; the request path retries it
                logger.exception("could not renew a cached entry ahead of time")
            finally:
                with self._lock:
                    self._wanted.discard(key)
