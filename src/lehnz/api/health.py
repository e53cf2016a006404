"""Liveness, readiness and metrics (no credential, no X-Domain)."""

from __future__ import annotations

import redis
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from lehnz.api.deps import RuntimeDep
from lehnz.api.envelope import Envelope, ErrorEnvelope, ok

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> Envelope[dict[str, str]]:
    return ok({"status": "ok"})


def _redis_state(runtime: RuntimeDep) -> str:
    if runtime.redis is None:
        return "not configured"
    try:
        runtime.redis.ping()
    except redis.RedisError:
        return "unreachable"
    return "ok"


@router.get(
    "/readyz",
    summary="Readiness: the database answers",
    description="Ready when the database answers. Redis is reported but does not decide: "
    "without it, limits are not enforced and notices wait for caches to expire, but "
    "requests are served.",
    response_class=JSONResponse,
    responses={
        200: {"model": Envelope[dict[str, str]], "description": "Ready"},
        503: {"model": ErrorEnvelope, "description": "Not ready: the database does not answer"},
    },
)
def readyz(runtime: RuntimeDep) -> JSONResponse:
    database = runtime.store.ping()
    checks = {"database": "ok" if database else "unreachable", "redis": _redis_state(runtime)}
    if database:
        return JSONResponse({"success": True, "message": "ready", "data": checks})
    return JSONResponse(
        {
            "success": False,
            "message": "Not ready",
            "error": "database unreachable",
            "code": "not_ready",
        },
        status_code=503,
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text format",
            "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
        }
    },
)
def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
