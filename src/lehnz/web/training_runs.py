"""The dashboard's "Train now": one background run per organisation, and how it went.

The API's ``POST /api/v1/models/train`` answers once the new version serves, which can take
minutes; a page cannot hold a request open that long, so the dashboard starts the same
``TrainingService.train`` call in a thread and lets the page poll for its state. A second
click while a run is going joins it rather than starting another.

The state lives in this process only: with several processes, a page served by another one
does not see the run (the model itself reaches every process as usual).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from lehnz.errors import LehnzError
from lehnz.store.training import ModelRow

logger = logging.getLogger("lehnz.web.training")

State = Literal["running", "serving", "failed"]


@dataclass
class Run:
    """One "Train now" run: ``version`` once it serves, ``message`` if it failed."""

    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    state: State = "running"
    version: int | None = None
    message: str | None = None

    def elapsed_seconds(self) -> float:
        return round((self.finished or time.monotonic()) - self.started, 1)


class TrainingRuns:
    def __init__(self) -> None:
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()

    def get(self, organization_id: str) -> Run | None:
        with self._lock:
            return self._runs.get(organization_id)

    def start(self, organization_id: str, train: Callable[[str], ModelRow]) -> tuple[Run, bool]:
        """The organisation's run, and whether this call started it (``False``: one was
        already going)."""
        with self._lock:
            current = self._runs.get(organization_id)
            if current is not None and current.state == "running":
                return current, False
            run = self._runs[organization_id] = Run()
        thread = threading.Thread(
            target=self._run,
            args=(organization_id, run, train),
            name="lehnz-dashboard-train",
            daemon=True,
        )
        thread.start()
        return run, True

    def _run(self, organization_id: str, run: Run, train: Callable[[str], ModelRow]) -> None:
        try:
            row = train(organization_id)
        except LehnzError as exc:
            run.message = exc.message
        except Exception:
            logger.exception("dashboard training of %s failed", organization_id)
            run.message = "an unexpected error; the server's log has the details"
        else:
            run.version = row.version
        run.finished = time.monotonic()
        run.state = "failed" if run.version is None else "serving"
