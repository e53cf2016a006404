"""Moving each organisation's event log through the pipeline, one batch per transaction.

A batch is read and computed outside any write transaction (SQLite has one writer, and
ingest needs it), then its effects (user states, identity links, attributions) and the
cursor move commit together in one short write. The cursor moves only if it is still as
read, so a crash at any point leaves it exactly before the first unprocessed event (a
restart resumes there and applies nothing twice), and a batch that lost a race to another
worker or to an erasure is dropped and read again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from lehnz.gc_tuning import collection_paused
from lehnz.pipeline.fold import fold_event, positive_number
from lehnz.pipeline.state import State, empty_state, merge_states
from lehnz.pipeline.weights import EventWeights
from lehnz.store import Store
from lehnz.store import accounts as account_queries
from lehnz.store import events as event_queries
from lehnz.store import identity as identity_queries
from lehnz.store import pipeline as queries
from lehnz.store.events import StoredEvent
from lehnz.store.types import utcnow

logger = logging.getLogger("lehnz.pipeline")

#: Events per batch (one read, one short write). 500 spent most of a large backlog's time per
#: batch (a commit, the look-ups) and on reloading and rewriting the same busy shoppers' states
#: batch after batch; at 5,000 a batch's write still takes a small fraction of a second.
BATCH_SIZE = 5_000


@dataclass
class _Batch:
    """What one batch reads once, then updates in memory, then writes."""

    weights: EventWeights
    canonical: dict[str, str]
    states: dict[str, State]
    dropped: set[str]
    prices: dict[str, float]
    sources: dict[str, tuple[str, str | None]]
    attributions: list[dict[str, Any]]
    merges: list[tuple[str, str, datetime]] = field(default_factory=list)


#: How long an event citing a list not yet in the recommendation log waits for it: the log
#: is written in the background every 0.5 s (``RecommendationLog``), so a click sent within
#: that time of its list would otherwise find no list and go uncredited for good.
LOG_GRACE = timedelta(seconds=2)


def _before_unlogged_citation(
    events: list[StoredEvent], sources: dict[str, tuple[str, str | None]], *, now: datetime
) -> list[StoredEvent]:
    """``events`` up to the first that cites a lehnz list not logged yet while the list may
    still be on its way; the rest wait for the next pass. An id that was never lehnz's, or
    an event older than ``LOG_GRACE``, waits for nothing."""
    for index, event in enumerate(events):
        cited = event.recommendation_id
        if (
            cited
            and cited.startswith("rec_")
            and cited not in sources
            and now - event.received_at < LOG_GRACE
        ):
            return events[:index]
    return events


class Pipeline:
    def __init__(
        self,
        store: Store,
        *,
        batch_size: int = BATCH_SIZE,
        max_attempts: int = 5,
        ingest_busy: Callable[[], bool] | None = None,
    ) -> None:
        """``ingest_busy``, when given, tells whether ingest requests are in flight in this
        process: the pipeline then rests twice as long as its last batch took, so that under
        a saturating load it takes at most a third of the process's one GIL and ingest the
        rest (measured: ingest 0.47-0.49 of the raw insert rate at half, 0.50-0.57 at a
        third).
        Freshness does not suffer (the state reader folds in what the pipeline has not
        reached); attribution and identity merges lag until the load eases."""
        self._store = store
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._ingest_busy = ingest_busy

    def process_pending(self) -> int:
        """Process every organisation's new events; the number of events applied."""
        with self._store.read() as connection:
            missing = queries.organizations_without_cursor(connection)
        if missing:
            with self._store.write() as connection:
                queries.create_cursors(connection, missing, at=utcnow())
        with self._store.read() as connection:
            pending = [
                organization_id
                for organization_id, cursor in queries.cursors(connection)
                if queries.has_events_after(connection, organization_id, cursor)
            ]
        total = 0
        for organization_id in pending:
            while True:
                started = time.perf_counter()
                done = self.process_batch(organization_id)
                total += done
                if done < self._batch_size:
                    break
                if self._ingest_busy is not None and self._ingest_busy():
                    time.sleep(2 * (time.perf_counter() - started))
        return total

    def process_batch(self, organization_id: str) -> int:
        """Apply the next batch of one organisation; the number of events applied."""
        for _ in range(self._max_attempts):
            # A batch's states are thousands of nested lists and dicts, held from the read to
            # the commit and freed together after it: no collection in between need walk them.
            # (A pause ended before the commit let the next allocation collect the lot.) The
            # only wait inside is for the write lock, which other writers hold for
            # milliseconds.
            with collection_paused():
                applied = self._try_batch(organization_id)
            if applied is not None:
                return applied
        return 0  # kept losing races; the next pass (or the other worker) goes on

    def _try_batch(self, organization_id: str) -> int | None:
        """The batch's size, or None when the cursor moved under it."""
        if self._store.dialect == "sqlite":
            return self._optimistic_batch(organization_id)
        return self._locked_batch(organization_id)

    def _optimistic_batch(self, organization_id: str) -> int | None:
        """SQLite has one writer, which ingest needs: read and fold outside it, then write
        only the results, if the cursor is still as read."""
        with self._store.read() as connection:
            # The cursor first: whatever changes user data after this read bumps its
            # generation, which makes the write below refuse this batch.
            cursor = queries.read_cursor(connection, organization_id)
            loaded = self._load(connection, organization_id, cursor)
        if loaded is None:
            return 0
        events, batch = loaded
        self._fold_all(organization_id, events, batch)
        assert cursor is not None
        with self._store.write() as connection:
            if not self._commit(connection, organization_id, cursor, events, batch):
                return None
        return len(events)

    def _locked_batch(self, organization_id: str) -> int:
        """PostgreSQL has row locks: hold the cursor's for the whole batch, so workers never
        compute the same batch twice (one skips an organisation another is on) and an
        erasure waits for the batch to commit."""
        with self._store.write() as connection:
            cursor = queries.lock_cursor(connection, organization_id)
            loaded = self._load(connection, organization_id, cursor)
            if loaded is None:
                return 0
            events, batch = loaded
            self._fold_all(organization_id, events, batch)
            assert cursor is not None
            self._commit(connection, organization_id, cursor, events, batch)
        return len(events)

    def _load(
        self, connection: Connection, organization_id: str, cursor: queries.Cursor | None
    ) -> tuple[list[StoredEvent], _Batch] | None:
        if cursor is None:
            return None
        events = event_queries.after(
            connection,
            organization_id=organization_id,
            cursor=cursor,
            limit=self._batch_size,
        )
        if not events:
            return None
        batch = self._read(connection, organization_id, events)
        events = _before_unlogged_citation(events, batch.sources, now=utcnow())
        if not events:
            return None
        return events, batch

    def _fold_all(self, organization_id: str, events: list[StoredEvent], batch: _Batch) -> None:
        for event in events:
            if event.event_name == "identify" and event.previous_user_id:
                self._stitch(event, batch)
            self._fold(organization_id, event, batch)

    def _commit(
        self,
        connection: Connection,
        organization_id: str,
        cursor: queries.Cursor,
        events: list[StoredEvent],
        batch: _Batch,
    ) -> bool:
        """Move the cursor past ``events`` and write the batch's effects with it; False,
        writing nothing, when the cursor is no longer as read."""
        now = utcnow()
        last = events[-1]
        if not queries.advance_cursor(
            connection, organization_id, read=cursor, to_seq=last.seq, to_txid=last.txid, at=now
        ):
            return False
        for alias, into, merged_at in batch.merges:
            identity_queries.merge(
                connection, organization_id=organization_id, alias=alias, into=into, at=merged_at
            )
        queries.save_states(connection, organization_id, batch.states, at=now)
        queries.delete_states(connection, organization_id, batch.dropped - set(batch.states))
        queries.insert_attributions(connection, batch.attributions)
        return True

    def _read(
        self, connection: Connection, organization_id: str, events: Sequence[StoredEvent]
    ) -> _Batch:
        settings = account_queries.organization_settings(connection, organization_id)
        users = {e.user_id for e in events} | {
            e.previous_user_id for e in events if e.previous_user_id
        }
        canonical = queries.canonical_map(connection, organization_id, users)
        return _Batch(
            weights=EventWeights(settings.get("event_families")),
            canonical=canonical,
            states=queries.load_states(
                connection, organization_id, {canonical.get(u, u) for u in users}
            ),
            dropped=set(),
            prices=queries.item_prices(
                connection, organization_id, {e.item_id for e in events if e.item_id}
            ),
            sources=queries.recommendation_sources(
                connection,
                organization_id,
                {e.recommendation_id for e in events if e.recommendation_id},
            ),
            attributions=[],
        )

    def _stitch(self, event: StoredEvent, batch: _Batch) -> None:
        assert event.previous_user_id is not None
        into = batch.canonical.get(event.user_id, event.user_id)
        alias = batch.canonical.get(event.previous_user_id, event.previous_user_id)
        if alias == into:
            return
        batch.merges.append((alias, into, event.received_at))
        for user, target in list(batch.canonical.items()):
            if target == alias:
                batch.canonical[user] = into
        batch.canonical[alias] = into
        if event.previous_user_id != alias:
            batch.canonical[event.previous_user_id] = into
        merged = batch.states.pop(alias, None)
        if merged is not None:
            merge_states(batch.states.setdefault(into, empty_state()), merged)
        batch.dropped.add(alias)

    def _fold(self, organization_id: str, event: StoredEvent, batch: _Batch) -> None:
        weights = batch.weights
        user = batch.canonical.get(event.user_id, event.user_id)
        state = batch.states.setdefault(user, empty_state())
        price = batch.prices.get(event.item_id) if event.item_id else None
        quantity, is_purchase = fold_event(state, event, weights, price=price)
        source = batch.sources.get(event.recommendation_id or "")
        if source is None:
            return
        context = event.context if isinstance(event.context, dict) else {}
        paid = positive_number(context.get("price"), default=price or 0.0)
        batch.attributions.append(
            {
                "event_seq": event.seq,
                "organization_id": organization_id,
                "recommendation_id": event.recommendation_id,
                "endpoint": source[0],
                "placement": source[1],
                "user_id": user,
                "event_name": event.event_name,
                "family": weights.family(event.event_name),
                "item_id": event.item_id,
                "revenue": paid * quantity if is_purchase else 0.0,
                "occurred_at": event.occurred_at,
            }
        )


class PipelineRunner:
    """Runs the pipeline in a background thread: woken at once by ``wake()`` after an ingest
    commits in this process, and every ``poll_seconds`` for events written elsewhere."""

    def __init__(self, pipeline: Pipeline, *, poll_seconds: float = 0.5) -> None:
        self._pipeline = pipeline
        self._poll = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lehnz-pipeline", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self._pipeline.process_pending()
            except Exception:
                logger.exception("pipeline batch failed; retrying")
                self._stop.wait(1.0)
            self._wake.wait(self._poll)
