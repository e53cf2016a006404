"""Deciding when an organisation's model is stale, and retraining it in the background."""

from __future__ import annotations

import logging
import math
import threading
from datetime import UTC, datetime
from functools import partial

from lehnz.store import Store
from lehnz.store import pipeline as pipeline_queries
from lehnz.store import training as queries
from lehnz.store.types import utcnow
from lehnz.training.service import TrainingService

logger = logging.getLogger("lehnz.training")

MIN_NEW_EVENTS = 500
NEW_EVENTS_SHARE = 0.1


def needs_training(store: Store, organization_id: str, *, max_age_seconds: float) -> bool:
    """No model yet and there is data; or many new events (500, or a tenth of what the model
    saw); or any new event or catalog change once the model is ``max_age_seconds`` old."""
    with store.read() as connection:
        latest = queries.list_models(connection, organization_id, limit=1)
        changed = queries.catalog_changed_at(connection, organization_id)
        trained_on = latest[0].manifest.get("trained_on", {}) if latest else {}
        enough = max(MIN_NEW_EVENTS, math.ceil(NEW_EVENTS_SHARE * int(trained_on.get("events", 0))))
        # Sequence numbers are shared by every organisation: count this one's own events,
        # not the distance between two numbers.
        new_events = queries.count_events_after(
            connection,
            organization_id,
            after_seq=int(trained_on.get("last_seq", 0)),
            at_most=enough,
        )
    if not latest:
        return new_events > 0 or changed is not None
    if new_events >= enough:
        return True
    previous_change = trained_on.get("catalog_changed_at")
    catalog_changed = changed is not None and (
        previous_change is None or changed > datetime.fromisoformat(previous_change).astimezone(UTC)
    )
    trained_at = latest[0].trained_at or latest[0].created_at
    old = (utcnow() - trained_at).total_seconds() >= max_age_seconds
    return old and (new_events > 0 or catalog_changed)


class TrainingScheduler:
    def __init__(
        self,
        store: Store,
        trainer: TrainingService,
        *,
        check_seconds: float,
        max_age_seconds: float,
    ) -> None:
        self._store = store
        self._trainer = trainer
        self._check = check_seconds
        self._max_age = max_age_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lehnz-training", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def run_once(self) -> int:
        with self._store.read() as connection:
            organizations = [org for org, _ in pipeline_queries.cursors(connection)]
        trained = 0
        for organization_id in organizations:
            if self._stop.is_set():
                break
            needed = partial(
                needs_training, self._store, organization_id, max_age_seconds=self._max_age
            )
            if self._trainer.train_if_needed(organization_id, needed):
                trained += 1
        return trained

    def _run(self) -> None:
        # A first look right away, so a fresh start (or the demo) serves a model quickly.
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                logger.exception("scheduled training failed; will try again")
            self._stop.wait(self._check)
