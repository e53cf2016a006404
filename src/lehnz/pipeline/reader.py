"""Reading what the pipeline knows about a shopper, plus what it has not reached yet: cheap
enough to do on every recommendation request.

The pipeline applies the log in the background and may be behind under a heavy load. The
reader folds the user's own events past the pipeline's position into a copy of the stored
state with the pipeline's own function, so a user's next list reflects an event as soon as
it is acknowledged, however long the backlog. (Identity merges of such events wait for the
pipeline.)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from lehnz.pipeline.fold import fold_event
from lehnz.pipeline.state import State, empty_state
from lehnz.pipeline.weights import EventWeights
from lehnz.store import Store
from lehnz.store import accounts as account_queries
from lehnz.store import events as event_queries
from lehnz.store import identity as identity_queries
from lehnz.store import pipeline as queries

#: At most this many not-yet-applied events are folded in per request (the newest).
MAX_PENDING = 500


@dataclass(frozen=True, slots=True)
class UserView:
    user_id: str  # the canonical id the asked-for id resolves to
    state: State | None


class UserStateReader:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, *, organization_id: str, user_id: str) -> UserView:
        # One snapshot: an event is either in the stored state or past the stored position,
        # never both, even while the pipeline commits a batch.
        with self._store.snapshot() as connection:
            cursor = queries.read_cursor(connection, organization_id)
            canonical, ids = identity_queries.with_aliases(
                connection, organization_id=organization_id, user_id=user_id
            )
            states = queries.load_states(connection, organization_id, [canonical])
            pending = event_queries.newest_after(
                connection,
                organization_id=organization_id,
                user_ids=ids,
                cursor=cursor or queries.Cursor(last_seq=0),
                limit=MAX_PENDING,
            )
            if not pending:
                return UserView(canonical, states.get(canonical))
            settings = account_queries.organization_settings(connection, organization_id)
            prices = queries.item_prices(
                connection, organization_id, {e.item_id for e in pending if e.item_id}
            )
        stored = states.get(canonical)
        state = copy.deepcopy(stored) if stored is not None else empty_state()
        weights = EventWeights(settings.get("event_families"))
        for event in pending:
            fold_event(state, event, weights, price=prices.get(event.item_id or ""))
        return UserView(canonical, state)
