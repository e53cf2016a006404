"""Telling every lehnz process that something changed: a new model, a key revoked or
rotated, a setting.

A notice runs this process's handlers at once. With Redis configured it is also published on
one channel, and a listener thread in every other process runs the same handlers, so caches
everywhere drop stale entries within milliseconds. Without Redis, the workers of one
``lehnz serve --workers N`` share notices through a file in the data directory
(``FileNotices``), seen by the others within a tenth of a second. Notices are best effort:
the caches they clear also expire on their own within seconds, and after the listener loses
Redis it tells every handler that anything may have changed (``organization_id=None``).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import redis

logger = logging.getLogger("lehnz.notices")

Kind = Literal["model", "keys", "settings"]
KINDS: tuple[Kind, ...] = ("model", "keys", "settings")
#: ``handler(organization_id, data)``; ``organization_id`` is ``None`` when anything may
#: have changed for any organisation.
Handler = Callable[[str | None, dict[str, Any]], None]


class Notices:
    """In-process notices: the embedded mode, where every cache lives in this process."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {kind: [] for kind in KINDS}

    def subscribe(self, kind: Kind, handler: Handler) -> None:
        self._handlers[kind].append(handler)

    def publish(self, kind: Kind, organization_id: str, **data: Any) -> None:
        self._dispatch(kind, organization_id, data)
        self._broadcast(kind, organization_id, data)

    def start(self) -> None:
        """Start listening to other processes (nothing to do in process)."""

    def stop(self) -> None:
        """Stop listening."""

    def _dispatch(self, kind: str, organization_id: str | None, data: dict[str, Any]) -> None:
        for handler in self._handlers.get(kind, []):
            try:
                handler(organization_id, data)
            except Exception:
                logger.exception("a %s notice handler failed", kind)

    def _broadcast(self, kind: Kind, organization_id: str, data: dict[str, Any]) -> None:
        """Tell other processes (no other processes in process)."""


class _SharedNotices(Notices):
    """Notices other processes also receive: each message names its sender (``origin``),
    and a listening thread runs the handlers for every message but this process's own."""

    def __init__(self) -> None:
        super().__init__()
        self._origin = secrets.token_hex(8)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._listen, name="lehnz-notices", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _message(self, kind: Kind, organization_id: str, data: dict[str, Any]) -> str:
        message = {"origin": self._origin, "kind": kind, "organization_id": organization_id}
        return json.dumps({**message, "data": data}, separators=(",", ":"))

    def _listen(self) -> None:
        raise NotImplementedError

    def _receive(self, raw: bytes | str) -> None:
        try:
            message = json.loads(raw)
            kind, organization_id = message["kind"], message["organization_id"]
        except (ValueError, KeyError, TypeError):
            logger.warning("ignored a malformed notice")
            return
        if message.get("origin") != self._origin:
            self._dispatch(kind, organization_id, message.get("data") or {})

    def _everything_may_have_changed(self) -> None:
        for kind in KINDS:
            self._dispatch(kind, None, {})


class RedisNotices(_SharedNotices):
    """Notices shared by every process connected to the same Redis (pub/sub)."""

    def __init__(self, client: redis.Redis, *, prefix: str) -> None:
        super().__init__()
        self._client = client
        self._channel = f"{prefix}:notices"
        self.listening = threading.Event()

    def _broadcast(self, kind: Kind, organization_id: str, data: dict[str, Any]) -> None:
        try:
            self._client.publish(self._channel, self._message(kind, organization_id, data))
        except redis.RedisError as exc:
            # Other processes' caches still expire on their own within seconds.
            logger.warning("could not publish a %s notice: %s", kind, exc)

    def _listen(self) -> None:
        lost = False
        while not self._stopping.is_set():
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(self._channel)
                self.listening.set()
                if lost:
                    self._everything_may_have_changed()
                    lost = False
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._receive(message["data"])
            except redis.RedisError as exc:
                if not lost:
                    logger.warning("lost the notice channel, reconnecting: %s", exc)
                lost = True
                self.listening.clear()
                self._stopping.wait(1.0)
            finally:
                pubsub.close()
        self.listening.clear()


class FileNotices(_SharedNotices):
    """Notices shared by the workers of one ``lehnz serve`` through a file of JSON lines.

    ``publish`` appends one line with a single ``O_APPEND`` write (whole lines, never
    interleaved); a thread in every worker looks at the file's size every ``poll_seconds``
    and runs the handlers for the lines other workers added. A look is one ``fstat``, so
    a tenth of a second costs nothing, and a revoked key or a new limit is honoured
    everywhere within it, as within one process, rather than within the caches' seconds.
    Notices are rare (a key, a setting, a model), so the file stays small; the parent
    process empties it at each start (``create``).
    """

    def __init__(self, path: Path, *, poll_seconds: float = 0.1) -> None:
        super().__init__()
        self._fd = os.open(path, os.O_RDWR | os.O_APPEND)
        self._offset = os.fstat(self._fd).st_size  # what came before this worker is moot
        self._poll = poll_seconds

    @staticmethod
    def create(path: Path) -> None:
        """An empty notice file at ``path`` (the parent process, before its workers)."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)

    def _broadcast(self, kind: Kind, organization_id: str, data: dict[str, Any]) -> None:
        line = self._message(kind, organization_id, data) + "\n"
        try:
            os.write(self._fd, line.encode())
        except OSError as exc:
            # Other workers' caches still expire on their own within seconds.
            logger.warning("could not write a %s notice: %s", kind, exc)

    def _listen(self) -> None:
        while not self._stopping.wait(self._poll):
            try:
                self.receive_pending()
            except Exception:
                logger.exception("could not read the notice file")

    def receive_pending(self) -> None:
        """Run the handlers for every whole line other workers added since the last look."""
        size = os.fstat(self._fd).st_size
        if size < self._offset:  # emptied by a new parent: anything may have changed
            self._offset = 0
            self._everything_may_have_changed()
        if size <= self._offset:
            return
        chunk = os.pread(self._fd, size - self._offset, self._offset)
        whole = chunk.rfind(b"\n") + 1  # a line still being written waits for the next look
        self._offset += whole
        for line in chunk[:whole].splitlines():
            self._receive(line)

    def close(self) -> None:
        self.stop()
        os.close(self._fd)
