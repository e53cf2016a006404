"""Models: the organisation's versions, what each chose and scored, and "Train now".

Training runs in the background (``lehnz.web.training_runs``) through the same
``TrainingService.train`` call as ``POST /api/v1/models/train``; the page polls
``/models/status`` (``static/models.js``), and without scripts the post redirects back here,
which shows the run's state.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from lehnz.errors import Conflict, NotFound
from lehnz.store import models_queries
from lehnz.store import training as training_queries
from lehnz.store.sessions import SessionRecord
from lehnz.web.deps import CsrfChecked, SignedIn, runtime_of
from lehnz.web.model_views import detail
from lehnz.web.templating import redirect, render
from lehnz.web.training_runs import Run, TrainingRuns

router = APIRouter()

PAGE = "Models"
MAX_VERSION = 2**31 - 1  # the column is a 32-bit integer: a larger number is no version
NO_EVENTS = (
    "No events yet: send events through the API (POST /api/v1/events/ingest with a "
    "publishable key) before training; a model learns from them."
)
_guard = threading.Lock()


def runs_of(request: Request) -> TrainingRuns:
    """This app's runs (one registry per app, created on first use)."""
    state = request.app.state
    with _guard:
        runs: TrainingRuns | None = getattr(state, "dashboard_training_runs", None)
        if runs is None:
            runs = state.dashboard_training_runs = TrainingRuns()
    return runs


def _status(run: Run | None, serving: int | None) -> dict[str, Any]:
    """What ``#train-status`` says; the same for the page and for its script."""
    if run is not None and run.state == "running":
        text = f"Training… {int(run.elapsed_seconds())} s"
    elif run is not None and run.state == "failed":
        text = f"Training failed: {run.message}"
    elif run is not None and run.state == "serving":
        text = f"Version {run.version} is serving"
    elif serving is not None:
        text = f"Version {serving} is serving"
    else:
        text = "No model yet: send events, then train one."
    return {
        "state": run.state if run else "idle",
        "elapsed_seconds": run.elapsed_seconds() if run else None,
        "version": run.version if run and run.version is not None else serving,
        "message": run.message if run else None,
        "text": text,
    }


def _serving(request: Request, organization_id: str) -> int | None:
    with runtime_of(request).store.read() as connection:
        return training_queries.serving_version(connection, organization_id)


def _page(
    request: Request,
    session: SessionRecord,
    *,
    version: int | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    runtime = runtime_of(request)
    organization_id = session.organization_id
    rows = runtime.trainer.list(organization_id)
    selected = rows[0] if rows else None
    if version is not None:
        selected = next((row for row in rows if row.version == version), None)
        if selected is None and 0 < version <= MAX_VERSION:
            with runtime.store.read() as connection:
                selected = models_queries.model_version(connection, organization_id, version)
        if selected is None:
            raise NotFound(f"No model version {version} in this organisation")
    serving = next((row.version for row in rows if row.serving), None)
    status = _status(runs_of(request).get(organization_id), serving)
    context = {
        "rows": rows,
        "selected": detail(selected) if selected else None,
        "status": status,
    }
    return render(
        request,
        "models.html",
        context,
        session=session,
        active=PAGE,
        error=error,
        status_code=status_code,
    )


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


@router.get("/models")
def models_page(request: Request, session: SignedIn) -> Response:
    return _page(request, session)


@router.get("/models/status")
def training_status(request: Request, session: SignedIn) -> Response:
    run = runs_of(request).get(session.organization_id)
    return JSONResponse(
        _status(run, _serving(request, session.organization_id)),
        headers={"Cache-Control": "no-store"},
    )


@router.get("/models/{version:int}")
def model_version(request: Request, session: SignedIn, version: int) -> Response:
    return _page(request, session, version=version)


@router.post("/models/train", dependencies=[CsrfChecked])
def train_now(request: Request, session: SignedIn) -> Response:
    runtime = runtime_of(request)
    organization_id = session.organization_id
    with runtime.store.read() as connection:
        has_events = models_queries.has_events(connection, organization_id)
    if not has_events:
        if _wants_json(request):
            raise Conflict(NO_EVENTS)
        return _page(request, session, error=NO_EVENTS, status_code=409)
    run, started = runs_of(request).start(organization_id, runtime.trainer.train)
    if _wants_json(request):
        return JSONResponse(
            {**_status(run, _serving(request, organization_id)), "started": started},
            status_code=202,
        )
    notice = (
        "Training started: this page shows its progress."
        if started
        else f"Training is already running (for {int(run.elapsed_seconds())} s); "
        "it was not started again."
    )
    return redirect(request, "/models", notice=notice)
