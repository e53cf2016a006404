"""Checking an ``X-API-KEY`` without a database round trip on every request.

A verified key is trusted for ``ttl_seconds`` (5 by default); a revocation or rotation made in
this process clears the cache at once, and one made in another process is seen when the entry
expires, so no revoked key works anywhere for more than ``ttl_seconds``.
"""

from __future__ import annotations

import time
from datetime import timedelta

from lehnz.auth.api_keys import hash_key, is_well_formed
from lehnz.errors import InvalidApiKey
from lehnz.refresh_ahead import RefreshAhead
from lehnz.store import Store
from lehnz.store import api_keys as key_queries
from lehnz.store.api_keys import ApiKeyRecord
from lehnz.store.types import utcnow

_MAX_ENTRIES = 10_000
# last_used_at is a hint for the dashboard; writing it more often than this would put a write
# on the read path.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


class KeyVerifier:
    def __init__(self, store: Store, *, ttl_seconds: float) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[ApiKeyRecord | None, float]] = {}
        self._generation = 0  # bumped by invalidate(): a renewal read before it is dropped
        self._renewals = RefreshAhead("lehnz-key-renewal")

    def verify(self, key: str | None) -> ApiKeyRecord:
        """The key's record, or ``InvalidApiKey`` for a missing, malformed, unknown, revoked or
        rotated-out key. The caller decides whether the key's type fits the path."""
        key_hash = self._well_formed_hash(key)
        return self._usable(self._lookup(key_hash))

    def verify_from_memory(self, key: str | None) -> ApiKeyRecord | None:
        """``verify(key)`` when it can answer from memory; ``None`` when it would need the
        database. A request can then be checked on the event loop rather than on a thread."""
        key_hash = self._well_formed_hash(key)
        cached = self._cache.get(key_hash)
        if cached is None:
            return None
        age = time.monotonic() - cached[1]
        if age >= self._ttl:
            return None
        if age >= self._ttl / 2:
            self._renewals.due(key_hash, lambda: self._read(key_hash))
        return self._usable(cached[0])

    @staticmethod
    def _well_formed_hash(key: str | None) -> str:
        if not key:
            raise InvalidApiKey("Missing X-API-KEY header")
        if key.lower().startswith("bearer "):
            raise InvalidApiKey("X-API-KEY takes the key alone, without a 'Bearer' prefix")
        if not is_well_formed(key):
            raise InvalidApiKey("Malformed API key")
        return hash_key(key)

    @staticmethod
    def _usable(record: ApiKeyRecord | None) -> ApiKeyRecord:
        if record is None or record.revoked_at is not None:
            raise InvalidApiKey("Unknown or revoked API key")
        if record.expires_at is not None and record.expires_at <= utcnow():
            raise InvalidApiKey("This API key was rotated and its grace period has ended")
        return record

    def invalidate(self) -> None:
        """Forget every cached key; called after a revocation or rotation."""
        self._generation += 1
        self._cache.clear()

    def _lookup(self, key_hash: str) -> ApiKeyRecord | None:
        cached = self._cache.get(key_hash)
        if cached is not None and time.monotonic() - cached[1] < self._ttl:
            return cached[0]
        return self._read(key_hash)

    def _read(self, key_hash: str) -> ApiKeyRecord | None:
        """The key's record from the database, cached from the moment of the read."""
        now = time.monotonic()
        generation = self._generation
        with self._store.read() as connection:
            record = key_queries.find_by_hash(connection, key_hash)
        if record is not None and record.revoked_at is None:
            self._note_use(record)
        if len(self._cache) >= _MAX_ENTRIES:
            self._cache.clear()
        if generation == self._generation:
            self._cache[key_hash] = (record, now)
        return record

    def _note_use(self, record: ApiKeyRecord) -> None:
        used_at = utcnow()
        if record.last_used_at and used_at - record.last_used_at < _LAST_USED_RESOLUTION:
            return
        with self._store.write() as connection:
            key_queries.touch_last_used(connection, key_id=record.id, used_at=used_at)
