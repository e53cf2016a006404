"""The dashboard's sessions: a random token in an ``HttpOnly`` cookie, its hash in the store.

Kept server side, not in a self-contained JWT, so that logging out (or erasing a developer)
ends the session at once rather than when a token would have expired.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from lehnz.auth.tokens import DeveloperIdentity
from lehnz.store import Store
from lehnz.store import sessions as session_queries
from lehnz.store.sessions import SessionRecord
from lehnz.store.types import utcnow


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionService:
    def __init__(self, store: Store, *, ttl_seconds: int) -> None:
        self._store = store
        self.ttl_seconds = ttl_seconds

    def start(self, identity: DeveloperIdentity) -> str:
        """A new session's token, for the cookie; expired sessions are swept on the way."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        with self._store.write() as connection:
            session_queries.delete_expired(connection, now)
            session_queries.insert_session(
                connection,
                token_hash=_hash(token),
                developer_id=identity.developer_id,
                organization_id=identity.organization_id,
                created_at=now,
                expires_at=now + timedelta(seconds=self.ttl_seconds),
            )
        return token

    def find(self, token: str | None) -> SessionRecord | None:
        """The live session behind a cookie's token, or ``None``."""
        if not token or len(token) > 128:
            return None
        with self._store.read() as connection:
            return session_queries.find_live_session(connection, _hash(token), utcnow())

    def end(self, token: str | None) -> None:
        if not token or len(token) > 128:
            return
        with self._store.write() as connection:
            session_queries.delete_session(connection, _hash(token))
