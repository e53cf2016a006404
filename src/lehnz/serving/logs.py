"""Logging every recommendation answer (for attribution) without a write on the request path.

Answers are queued and written in batches by a background thread every ``flush_seconds``
(and at shutdown). The cost of not writing synchronously: a crash loses the last fraction
of a second of impression logs, and an event citing such a list goes uncredited. A write
the database refuses (locked, restarting) is retried with the next batch, not lost.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from lehnz.store import Store
from lehnz.store.tables import recommendation_logs

logger = logging.getLogger("lehnz.serving")

# Lists kept in memory while the database refuses them (about 100 MB at most); past this the
# oldest go, with an error in the log, rather than the process's memory.
MAX_KEPT = 200_000


class RecommendationLog:
    def __init__(self, store: Store, *, flush_seconds: float = 0.5) -> None:
        self._store = store
        self._flush_every = flush_seconds
        self._queue: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._retry: list[dict[str, Any]] = []  # rows a failed write left for the next
        self._flushing = threading.Lock()

    def record(self, row: dict[str, Any]) -> None:
        self._queue.put(row)
        if self._thread is None:
            self.flush()  # no background thread (e.g. a one-off script): write at once

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lehnz-rec-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()

    def flush(self) -> int:
        with self._flushing:
            return self._flush()

    def _flush(self) -> int:
        rows, self._retry = self._retry, []
        while True:
            try:
                rows.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if rows:
            try:
                with self._store.write() as connection:
                    connection.execute(recommendation_logs.insert(), rows)
            except Exception:
                # Kept for the next flush, in order: an event citing one of these lists
                # must still find it once the database answers again.
                self._retry = rows[-MAX_KEPT:]
                if len(rows) > MAX_KEPT:
                    logger.error(
                        "the database refused recommendation logs for long: %d dropped",
                        len(rows) - MAX_KEPT,
                    )
                raise
        return len(rows)

    def _run(self) -> None:
        while not self._stop.wait(self._flush_every):
            try:
                self.flush()
            except Exception:
                logger.exception("writing recommendation logs failed; will retry")
