"""One worker of ``lehnz serve --workers N`` runs the embedded pipeline and the training
scheduler: whichever holds an exclusive ``flock`` on a file in the data directory.

Every worker asks for the lock every ``retry_seconds`` until it has it, then holds it for
the rest of its life. The kernel releases it when its holder exits or dies (even by
SIGKILL), so another worker takes over within ``retry_seconds``; a batch the dead one had in
hand was rolled back with its transaction and is processed again. Two pipelines over one
SQLite file would only queue for its write lock, and two schedulers could train an
organisation twice.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

# uvicorn's own log, which every worker has set up: the operator sees who took over.
logger = logging.getLogger("uvicorn.error")


class Leadership:
    def __init__(self, path: Path, *, retry_seconds: float = 1.0) -> None:
        self._path = path
        self._retry = retry_seconds
        self._fd: int | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stop_duties: Callable[[], None] | None = None

    @property
    def leading(self) -> bool:
        return self._fd is not None

    def run(self, start: Callable[[], Callable[[], None]]) -> None:
        """Call ``start`` once this process holds the lock (at once if it is free); it
        returns what ``stop`` calls to end the duties it started."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._campaign, args=(start,), name="lehnz-leadership", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """End the duties (if this process had them) and give the lock up."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        with self._lock:
            stop, self._stop_duties = self._stop_duties, None
            if stop is not None:
                stop()
            if self._fd is not None:
                os.close(self._fd)  # releases the lock
                self._fd = None

    def _campaign(self, start: Callable[[], Callable[[], None]]) -> None:
        while not self._stopping.is_set():
            if self._try_lock():
                with self._lock:
                    if self._stopping.is_set():
                        return
                    logger.info(
                        "Process [%s] runs the pipeline and scheduled training", os.getpid()
                    )
                    self._stop_duties = start()
                return
            self._stopping.wait(self._retry)

    def _try_lock(self) -> bool:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True
