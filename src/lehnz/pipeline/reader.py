"""Reading what the pipeline knows about a shopper: one indexed row, cheap enough to do on
every recommendation request."""

from __future__ import annotations

from dataclasses import dataclass

from lehnz.pipeline.state import State
from lehnz.store import Store
from lehnz.store import identity as identity_queries
from lehnz.store import pipeline as queries


@dataclass(frozen=True, slots=True)
class UserView:
    user_id: str  # the canonical id the asked-for id resolves to
    state: State | None


class UserStateReader:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, *, organization_id: str, user_id: str) -> UserView:
        with self._store.read() as connection:
            canonical = identity_queries.canonical_of(
                connection, organization_id=organization_id, user_id=user_id
            )
            states = queries.load_states(connection, organization_id, [canonical])
        return UserView(canonical, states.get(canonical))
