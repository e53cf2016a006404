"""Reading what the pipeline knows about a shopper, plus what it has not reached yet: cheap
enough to do on every recommendation request.

The pipeline applies the log in the background and may be behind under a heavy load. The
reader folds the user's own events past the pipeline's position into a copy of the stored
state with the pipeline's own function, so a user's next list reflects an event as soon as
it is acknowledged, however long the backlog. (Identity merges of such events wait for the
pipeline.)
"""

from __future__ import annotations

import functools
from typing import Any

from lehnz.pipeline.fold import fold_event
from lehnz.pipeline.state import State, empty_state
from lehnz.pipeline.weights import EventWeights
from lehnz.store import Store
from lehnz.store import accounts as account_queries
from lehnz.store import pipeline as queries
from lehnz.store.user_reads import SqliteShopperReads, decode_state, read_shopper

#: At most this many not-yet-applied events are folded in per request (the newest).
MAX_PENDING = 500


class UserView:
    """A shopper as the serving side sees them. ``state`` is decoded on first use: a list
    kept under the state's ``fingerprint`` (``serving.answer_cache``) never needs it."""

    def __init__(self, user_id: str, document: Any, fingerprint: int | None = None) -> None:
        self.user_id = user_id  # the canonical id the asked-for id resolves to
        #: The stored state's fingerprint when ``state`` is exactly the stored state; None
        #: when events past the pipeline were folded in.
        self.fingerprint = fingerprint
        self._document = document

    @functools.cached_property
    def state(self) -> State | None:
        return None if self._document is None else decode_state(self._document)


class UserStateReader:
    def __init__(self, store: Store) -> None:
        self._store = store
        path = store.sqlite_path()
        self._sqlite = SqliteShopperReads(path) if path else None

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()

    def get(self, *, organization_id: str, user_id: str) -> UserView:
        if self._sqlite is not None:
            # The usual case, a shopper the pipeline has caught up with, on SQLite's own
            # connection; events past the pipeline need the settings and prices too, read
            # below in one snapshot with the rest.
            quick = self._sqlite.read(
                organization_id=organization_id, user_id=user_id, max_pending=MAX_PENDING
            )
            if not quick.pending:
                return UserView(quick.canonical, quick.document, quick.fingerprint)
        # One snapshot: an event is either in the stored state or past the stored position,
        # never both, even while the pipeline commits a batch.
        with self._store.snapshot() as connection:
            read = read_shopper(
                connection,
                organization_id=organization_id,
                user_id=user_id,
                max_pending=MAX_PENDING,
            )
            if not read.pending:
                return UserView(read.canonical, read.document, read.fingerprint)
            settings = account_queries.organization_settings(connection, organization_id)
            prices = queries.item_prices(
                connection, organization_id, {e.item_id for e in read.pending if e.item_id}
            )
        state = read.state or empty_state()  # decoded afresh: folding in changes no other copy
        weights = EventWeights(settings.get("event_families"))
        for event in read.pending:
            fold_event(state, event, weights, price=prices.get(event.item_id or ""))
        return UserView(read.canonical, state)
