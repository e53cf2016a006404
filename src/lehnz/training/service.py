"""Training an organisation's model now: load, fit, check, save as a new version, serve it."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lehnz.engine.artifact import ArtifactError, dumps, loads
from lehnz.engine.trainer import TrainingInput, train
from lehnz.notices import Notices
from lehnz.serving.registry import LoadedModel, ModelRegistry
from lehnz.store import Store
from lehnz.store import training as queries
from lehnz.store.locks import organization_lock
from lehnz.store.training import ModelRow
from lehnz.store.types import utcnow
from lehnz.training.loader import load
from lehnz.training.reuse import ReusePolicy

logger = logging.getLogger("lehnz.training")


class TrainingService:
    def __init__(
        self,
        store: Store,
        registry: ModelRegistry,
        notices: Notices,
        *,
        use_semantic_model: bool = True,
        artifacts_kept: int = 3,
        reuse: ReusePolicy | None = ReusePolicy(),  # frozen: one instance is safe to share
    ) -> None:
        """``reuse``: when a retraining may fit the serving version's settings without
        searching again (``lehnz.training.reuse``); None searches every time."""
        self._store = store
        self._reuse = reuse
        self._artifacts_kept = artifacts_kept
        self._registry = registry
        self._notices = notices
        self._use_model = use_semantic_model
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, organization_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(organization_id, threading.Lock())

    def train(self, organization_id: str) -> ModelRow:
        """Train now and return once the new version serves in this process. A second call
        for the same organisation, in this process or any other, waits for the first rather
        than training twice at once."""
        with (
            organization_lock(self._store, "train", organization_id, wait=True),
            self._lock(organization_id),
        ):
            return self._train(organization_id)

    def train_if_needed(self, organization_id: str, needed: Callable[[], bool]) -> bool:
        """Train if no other process is training this organisation and ``needed()`` still
        holds once the lock is ours (another worker may just have trained it)."""
        with organization_lock(self._store, "train", organization_id, wait=False) as held:
            if not held or not needed():
                return False
            with self._lock(organization_id):
                self._train(organization_id)
            return True

    def _train(self, organization_id: str) -> ModelRow:
        started = time.perf_counter()
        created = utcnow()
        data = load(self._store, organization_id)
        with self._store.read() as connection:
            changed = queries.catalog_changed_at(connection, organization_id)
            previous = queries.serving_model(connection, organization_id)
        decided = (
            self._reuse.decide(
                previous, events=len(data.events), items=len(data.catalog), now=created
            )
            if self._reuse is not None
            else None
        )
        result = train(
            TrainingInput(
                events=data.events,
                catalog=data.catalog,
                n_users=data.n_users,
                embedding_cache=self._previous_cache(organization_id, previous),
                use_semantic_model=self._use_model,
                reuse=decided[0] if decided else None,
            )
        )
        if decided:
            result.validation["reused"] = decided[1]
        trained_on = {
            "events": len(data.events),
            "users": data.n_users,
            "items": len(data.catalog),
            "last_seq": data.last_seq,
            "catalog_changed_at": changed.isoformat() if changed else None,
        }
        del data  # the events' arrays (300 MB at 10M events) are not needed to save the model
        manifest: dict[str, Any] = {
            "trained_on": trained_on,
            "validation": result.validation,
            "embedding_method": result.model.embedding_method,
            "fit_seconds": round(result.seconds, 3),
        }
        blob = dumps(result.model, manifest=manifest, embedding_cache=result.embedding_cache)
        manifest["duration_seconds"] = round(time.perf_counter() - started, 3)
        with self._store.write() as connection:
            version = queries.next_version(connection, organization_id)
            row = ModelRow(
                id=f"model_{secrets.token_hex(8)}",
                version=version,
                status="serving",
                created_at=created,
                trained_at=utcnow(),
                manifest=manifest,
                artifact_size=len(blob),
                serving=True,
            )
            queries.insert_model(
                connection, organization_id=organization_id, row=row, artifact=blob
            )
            # Only the newest few keep their artifact: a store retraining hourly would
            # otherwise add one to the database every hour, for good.
            queries.drop_artifacts_before(
                connection, organization_id, version - self._artifacts_kept + 1
            )
        result.model.manifest = manifest
        self._registry.install(organization_id, LoadedModel(version, result.model))
        self._notices.publish("model", organization_id, version=version)
        logger.info(
            "organisation %s: model v%s serving (%.1f s)",
            organization_id,
            version,
            manifest["duration_seconds"],
        )
        return row

    def _previous_cache(
        self, organization_id: str, previous: ModelRow | None
    ) -> dict[str, NDArray[np.float32]]:
        if previous is None:
            return {}
        with self._store.read() as connection:
            found = queries.load_artifact(connection, organization_id, previous.version)
        if found is None:
            return {}
        try:
            _, cache = loads(found[0])
        except ArtifactError:
            return {}
        return cache

    def list(self, organization_id: str) -> list[ModelRow]:
        with self._store.read() as connection:
            return queries.list_models(connection, organization_id)
