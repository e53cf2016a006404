"""The newest model of each organisation, held in memory and swapped without a pause.

A request takes a reference to the current ``LoadedModel`` and uses it to the end, so a swap
(a plain reference assignment) never changes a model under a request in flight.

Another process's new version arrives by a notice (``announced``) or, should notices be lost,
by a cheap version check at most every ``check_seconds``. Either way a background thread
loads it while requests go on with the current one. Every serving model is loaded when the
process starts (``preload``), so only a model an organisation gets for the first time later
is loaded on a request's path, since there is nothing else to serve it with.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from lehnz.engine.artifact import ArtifactError, loads
from lehnz.engine.model import OrgModel
from lehnz.store import Store
from lehnz.store import training as queries

logger = logging.getLogger("lehnz.serving")


@dataclass(frozen=True)
class LoadedModel:
    version: int
    model: OrgModel

    def index_of(self, item_id: str) -> int | None:
        return self.model.catalog.index.get(item_id)


class ModelRegistry:
    def __init__(self, store: Store, *, check_seconds: float = 2.0) -> None:
        self._store = store
        self._check = check_seconds
        self._models: dict[str, LoadedModel | None] = {}
        self._checked: dict[str, float] = {}
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._wake = threading.Condition()
        self._loader: threading.Thread | None = None

    def get(self, organization_id: str) -> LoadedModel | None:
        now = time.monotonic()
        if now - self._checked.get(organization_id, -1e9) >= self._check:
            self._checked[organization_id] = now
            if organization_id in self._models:
                self._refresh_later(organization_id)
            else:
                self._refresh(organization_id)
                self._models.setdefault(organization_id, None)  # looked: none yet
        return self._models.get(organization_id)

    def has_looked(self, organization_id: str) -> bool:
        """Whether ``get`` answers from memory: this organisation's model (or its having
        none) is known here, so no artifact is loaded on the request path."""
        return organization_id in self._models

    def preload(self) -> None:
        """Load every organisation's serving model now, before the first request: a start
        (the app's lifespan waits for this) rather than a first request waits for the
        artifacts (seconds each, at 100,000 items)."""
        with self._store.read() as connection:
            serving = queries.organizations_with_a_model(connection)
        for organization_id in serving:
            try:
                self._refresh(organization_id)
            except Exception:  # its first request tries again
                logger.exception("could not load the model of %s", organization_id)
            self._models.setdefault(organization_id, None)

    def announced(self, organization_id: str | None, data: dict[str, Any]) -> None:
        """A notice says a new version serves (``None``: any organisation's may). Load it in
        the background if this process has served that organisation."""
        served = list(self._checked)
        wanted = served if organization_id is None else [organization_id]
        newest = int(data.get("version", 1 << 62))
        for organization in wanted:
            if organization not in self._checked:
                continue  # never asked for here: its first request will load it
            current = self._models.get(organization)
            if current is None or current.version < newest:
                self._refresh_later(organization)

    def install(self, organization_id: str, loaded: LoadedModel) -> None:
        """Serve ``loaded`` from now on (the trainer in this process calls this)."""
        with self._lock:
            current = self._models.get(organization_id)
            if current is None or loaded.version >= current.version:
                self._models[organization_id] = loaded
        self._checked[organization_id] = time.monotonic()

    def _refresh_later(self, organization_id: str) -> None:
        with self._wake:
            if organization_id not in self._pending:
                self._pending.append(organization_id)
            if self._loader is None:
                self._loader = threading.Thread(
                    target=self._load_pending, name="lehnz-model-loader", daemon=True
                )
                self._loader.start()
            self._wake.notify()

    def _load_pending(self) -> None:
        while True:
            with self._wake:
                while not self._pending:
                    self._wake.wait()
                organization_id = self._pending.pop(0)
            try:
                self._refresh(organization_id)
            except Exception:
                logger.exception("could not load the new model of %s", organization_id)

    def _refresh(self, organization_id: str) -> None:
        with self._store.read() as connection:
            version = queries.serving_version(connection, organization_id)
        current = self._models.get(organization_id)
        if version is None or (current is not None and current.version >= version):
            return
        with self._store.read() as connection:
            found = queries.load_artifact(connection, organization_id, version)
        if found is None:
            return
        try:
            model, _ = loads(found[0])
        except ArtifactError:
            logger.exception(
                "model %s of %s is unreadable; keeping the current one", version, organization_id
            )
            return
        self.install(organization_id, LoadedModel(version, model))
