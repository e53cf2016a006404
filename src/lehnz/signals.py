"""In-process notices between parts that must not import each other (ingest -> pipeline)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable


class Signal:
    """Callbacks fired after something happened; a failing callback never fails the sender."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], None]] = []

    def connect(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[], None]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def fire(self) -> None:
        for callback in list(self._callbacks):
            with contextlib.suppress(Exception):  # a notice is best effort
                callback()
