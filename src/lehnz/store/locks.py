"""One holder at a time across every process: training an organisation, say.

PostgreSQL: a session advisory lock on a connection of its own, released by the server if
the process dies. SQLite (one machine): ``flock`` on a file beside the database, released by
the kernel if the process dies. Both also exclude other threads of the same process.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from lehnz.store.store import Store


def _key(purpose: str, organization_id: str) -> tuple[int, int]:
    """Two signed 32-bit keys: PostgreSQL's two-key advisory locks, a space apart from the
    one-key lock that serialises migrations."""
    digest = hashlib.sha256(f"{purpose}\0{organization_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True), int.from_bytes(
        digest[4:8], "big", signed=True
    )


@contextmanager
def organization_lock(
    store: Store, purpose: str, organization_id: str, *, wait: bool
) -> Iterator[bool]:
    """Hold the lock for the ``with`` block and yield ``True``; with ``wait=False``, yield
    ``False`` at once (holding nothing) when another holder has it."""
    if store.dialect == "postgresql":
        with _advisory_lock(store, _key(purpose, organization_id), wait=wait) as held:
            yield held
        return
    database = store.engine.url.database
    if not database or database == ":memory:":
        yield True  # a private in-memory database has one process by definition
        return
    path = Path(database).parent / "locks" / f"{purpose}-{organization_id}.lock"
    with _file_lock(path, wait=wait) as held:
        yield held


@contextmanager
def _advisory_lock(store: Store, key: tuple[int, int], *, wait: bool) -> Iterator[bool]:
    with store.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        params = {"a": key[0], "b": key[1]}
        if wait:
            connection.execute(text("SELECT pg_advisory_lock(:a, :b)"), params)
        elif not connection.execute(text("SELECT pg_try_advisory_lock(:a, :b)"), params).scalar():
            yield False
            return
        try:
            yield True
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:a, :b)"), params)


@contextmanager
def _file_lock(path: Path, *, wait: bool) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
