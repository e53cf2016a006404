"""``create_app()``: routers, middleware and lifespan, assembled in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import APIRouter, Depends, FastAPI

from lehnz import __version__
from lehnz.api import auth, catalog, events, health, keys, models, recommend, stats, uploads
from lehnz.api import settings as settings_api
from lehnz.api.body_timeout import BodyTimeoutMiddleware
from lehnz.api.cors import PublishableCORSMiddleware
from lehnz.api.deps import limit_by_client_ip, require_domain
from lehnz.api.envelope import install_error_handlers
from lehnz.api.limits import BodyLimitMiddleware
from lehnz.api.long_work import install_long_work
from lehnz.api.metrics import Metrics, MetricsMiddleware
from lehnz.api.nul_guard import NulGuardMiddleware
from lehnz.api.openapi import install_docs, install_openapi, operation_id
from lehnz.api.path_ids import PathIdMiddleware
from lehnz.api.rate_limit_headers import RateLimitHeadersMiddleware
from lehnz.config import Settings
from lehnz.pipeline.worker import PipelineRunner
from lehnz.runtime import Runtime, build_runtime
from lehnz.web import install_dashboard

DESCRIPTION = """
Recommendations for online stores. Every API path needs `X-Domain: commerce`; each path's
description names its credential: a **publishable key** (`lehnz_pk_…`, browsers), a **secret
key** (`lehnz_sk_…`, servers) in `X-API-KEY`, or a **developer token** in
`Authorization: Bearer`. Every answer is an envelope:
`{"success", "message", "data"}` or `{"success": false, "message", "error", "code"}`.
No string, in a URL or a body, may hold the NUL character (U+0000): 400.
"""


def _match_first(app: FastAPI, router: APIRouter) -> None:
    """Try ``router``'s paths before all others. Starlette matches a request against each
    route in turn; the recommendation paths serve most requests, and behind the dashboard's
    and the API's twenty-odd routers they paid for every failed match (a fifth of their CPU).
    The OpenAPI document keeps the order the routers were included in."""
    routes = app.router.routes
    mine = [route for route in routes if getattr(route, "original_router", None) is router]
    for route in mine:
        routes.remove(route)
    routes[0:0] = mine


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the app for ``settings.service``: ``all``, ``ingestion`` or ``recommendations``.

    Pass ``runtime`` to share one already open (the CLI does, after seeding the demo);
    otherwise the lifespan builds it and closes it on shutdown.
    """
    settings = settings or (runtime.settings if runtime else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        current = runtime or build_runtime(settings)
        # FastAPI runs plain ``def`` handlers and dependencies in AnyIO's thread pool; long
        # jobs (training, imports) have threads of their own (lehnz.api.long_work).
        to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        install_long_work(app.state)
        app.state.runtime = current
        stop_embedded_worker: Callable[[], None] | None = None
        current.notices.start()
        current.recommendation_log.start()
        if settings.service in ("all", "recommendations"):
            await to_thread.run_sync(current.registry.preload)
        if settings.service == "all" and settings.embedded_worker:
            if current.leadership is None:
                stop_embedded_worker = _start_embedded_worker(current)
            else:  # one of several workers (lehnz serve --workers): the lock's holder
                current.leadership.run(lambda: _start_embedded_worker(current))
        try:
            yield
        finally:
            if current.leadership is not None:
                current.leadership.stop()
            if stop_embedded_worker is not None:
                stop_embedded_worker()
            current.recommendation_log.stop()
            if owned:
                current.close()

    app = FastAPI(
        title="lehnz",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Served by install_docs from lehnz's own files, not a CDN's.
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.metrics = Metrics()
    app.state.recommend_on_loop = settings.recommend_on_loop()
    install_error_handlers(app)
    install_docs(app)

    api = [Depends(require_domain)]
    if settings.service in ("all", "ingestion"):
        app.include_router(auth.router, dependencies=[*api, Depends(limit_by_client_ip)])
        app.include_router(keys.router, dependencies=api)
        app.include_router(catalog.router, dependencies=api)
        app.include_router(uploads.router, dependencies=api)
        app.include_router(events.router, dependencies=api)
        app.include_router(settings_api.router, dependencies=api)
        app.include_router(stats.router, dependencies=api)
        app.include_router(models.router, dependencies=api)
        install_dashboard(app)
    if settings.service in ("all", "recommendations"):
        # Its routes check the domain in their key's dependency (``PublishableRequest``).
        app.include_router(recommend.router)
    app.include_router(health.router)
    install_openapi(app, documented_order=list(app.routes))
    _match_first(app, recommend.router)

    # add_middleware puts each new one outside the previous, so read these bottom-up:
    # metrics (outermost) see every answer, refusals included; CORS answers browsers'
    # preflights before anything checks headers they do not send; the body limit refuses
    # oversized bodies before a handler reads them, and the NUL guard refuses U+0000, which
    # PostgreSQL cannot store. The rate-limit headers go on whatever answer a limited request
    # ends with. Starlette's ServerErrorMiddleware still wraps everything and turns crashes
    # into the envelope.
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(NulGuardMiddleware)
    app.add_middleware(BodyLimitMiddleware, upload_limit=settings.max_upload_bytes)
    app.add_middleware(PublishableCORSMiddleware)
    app.add_middleware(BodyTimeoutMiddleware, timeout_seconds=settings.body_read_timeout_seconds)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    # Outside even metrics: the path rebuilt from raw_path with %2F and %25 kept escaped, so
    # ids in paths may hold "/" (docs/catalog.md); every middleware sees the path routed.
    app.add_middleware(PathIdMiddleware)
    return app


def _start_embedded_worker(runtime: Runtime) -> Callable[[], None]:
    """Start the pipeline (woken at once by this process's ingests, and every 0.5 s for
    other processes') and scheduled training; returns what stops both."""
    runner = PipelineRunner(runtime.pipeline)
    runtime.events_appended.connect(runner.wake)
    runner.start()
    scheduler = runtime.training_scheduler()
    scheduler.start()

    def stop() -> None:
        scheduler.stop()
        runtime.events_appended.disconnect(runner.wake)
        runner.stop()

    return stop
