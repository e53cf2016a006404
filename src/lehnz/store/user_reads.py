"""What a recommendation reads about its shopper, straight through the driver: the pipeline's
position, the shopper's identity links, their stored state, and their events the pipeline
has not applied yet.

Every recommendation for a user runs these four reads. Through SQLAlchemy each one cost more
in building and wrapping its result than the database took to answer it (the reads took
1.7 ms of a request's CPU under load, measured in bench/RESULTS.md); here they are the same
queries on the same indexes, on one driver cursor, in the transaction of the connection they
are given (so all four see one moment: see ``Store.snapshot``).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection

from lehnz.store.events import StoredEvent, newest_after_sql, stored_events
from lehnz.store.pipeline import Cursor


@dataclass(frozen=True, slots=True)
class ShopperRead:
    canonical: str  # the id ``user_id`` resolves to
    #: The pipeline's stored state as the driver returned it (JSON text), decoded by
    #: ``state``: an answer kept under the fingerprint never needs it decoded.
    document: Any
    pending: list[StoredEvent]  # the newest events past the pipeline's position, oldest first
    #: Equal for equal stored states (a hash of the document's text; 0 for no state): what a
    #: cache of answers derived from the state is keyed by. None if it cannot be told.
    fingerprint: int | None = None

    @property
    def state(self) -> dict[str, Any] | None:
        return None if self.document is None else decode_state(self.document)


def read_shopper(
    connection: Connection, *, organization_id: str, user_id: str, max_pending: int
) -> ShopperRead:
    """The four reads in ``connection``'s transaction, begun here."""
    # Begin through SQLAlchemy, so the dialect's BEGIN (and isolation level) applies, then
    # read on the driver's own cursor inside that transaction.
    connection.begin()
    cursor = connection.connection.cursor()
    try:
        return _read(
            cursor,
            postgres=connection.dialect.name == "postgresql",
            organization_id=organization_id,
            user_id=user_id,
            max_pending=max_pending,
        )
    finally:
        cursor.close()


class SqliteShopperReads:
    """The same four reads on SQLite connections of their own, one per thread, without
    SQLAlchemy's pool and events around each request's transaction (a third of the read's
    cost). Read-only (``PRAGMA query_only``); under WAL a read never waits for the writer."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def read(self, *, organization_id: str, user_id: str, max_pending: int) -> ShopperRead:
        cursor = self._connection().cursor()
        cursor.execute("BEGIN")  # one snapshot for the four reads
        try:
            return _read(
                cursor,
                postgres=False,
                organization_id=organization_id,
                user_id=user_id,
                max_pending=max_pending,
            )
        finally:
            cursor.execute("ROLLBACK")
            cursor.close()

    def close(self) -> None:
        with self._lock:
            for connection in self._opened:
                connection.close()
            self._opened.clear()
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self._path, timeout=30, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA query_only=ON")
            connection.execute("PRAGMA busy_timeout=30000")
            self._local.connection = connection
            with self._lock:
                self._opened.append(connection)
        return connection


def _read(
    cursor: Any, *, postgres: bool, organization_id: str, user_id: str, max_pending: int
) -> ShopperRead:
    mark = "%s" if postgres else "?"
    cursor.execute(
        "SELECT last_seq, generation, last_txid FROM pipeline_cursors "
        f"WHERE organization_id = {mark}",
        (organization_id,),
    )
    row = cursor.fetchone()
    position = Cursor(0) if row is None else Cursor(int(row[0]), int(row[1]), int(row[2]))
    # The canonical id ``user_id`` resolves to, then every id merged into it: every alias
    # points straight at its final user (``lehnz.store.identity``).
    cursor.execute(
        "SELECT alias_user_id, canonical_user_id FROM identity_links "
        f"WHERE organization_id = {mark} AND canonical_user_id = coalesce("
        "(SELECT canonical_user_id FROM identity_links "
        f"WHERE organization_id = {mark} AND alias_user_id = {mark}), {mark}) "
        "ORDER BY alias_user_id",
        (organization_id, organization_id, user_id, user_id),
    )
    links = cursor.fetchall()
    canonical = links[0][1] if links else user_id
    # As text on PostgreSQL too (JSONB's text form is canonical), for the fingerprint; orjson
    # decodes it faster than the driver's own JSON decoding.
    column = "state::text" if postgres else "state"
    cursor.execute(
        f"SELECT {column} FROM user_states WHERE organization_id = {mark} AND user_id = {mark}",
        (organization_id, canonical),
    )
    found = cursor.fetchone()
    query, params = newest_after_sql(
        postgres,
        organization_id,
        [canonical, *(link[0] for link in links)],
        position,
        max_pending,
    )
    cursor.execute(query, params)
    pending = stored_events(postgres, cursor.fetchall())[::-1]
    if found is None:
        return ShopperRead(canonical, None, pending, 0)
    text = found[0]
    fingerprint = hash(text) if isinstance(text, str | bytes) else None
    return ShopperRead(canonical, text, pending, fingerprint)


def decode_state(value: Any) -> dict[str, Any]:
    """A JSON column's value: psycopg decodes JSONB itself; SQLite stores JSON as text."""
    return dict(orjson.loads(value) if isinstance(value, str | bytes) else value)
