"""The envelope every answer wears, and the handlers that put errors into it.

Success: ``{"success": true, "message": ..., "data": ...}``.
Error: ``{"success": false, "message": ..., "error": ..., "code": ...}`` for every 4xx and 5xx,
including unknown paths, wrong methods, malformed JSON and validation errors (400, never
FastAPI's default 422 shape).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from lehnz.errors import (
    LehnzError,
    MethodNotAllowed,
    NotFound,
    UnsupportedMediaType,
    ValidationFailed,
)

logger = logging.getLogger("lehnz")

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    success: bool = True
    message: str
    data: T


class ErrorEnvelope(BaseModel):
    success: bool = False
    message: str
    error: str
    code: str


def ok(data: T, message: str = "OK") -> Envelope[T]:
    return Envelope[T](message=message, data=data)


def error_response(exc: LehnzError) -> JSONResponse:
    body = {
        "success": False,
        "message": exc.message,
        "error": exc.detail,
        "code": exc.code,
        **exc.extra,
    }
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers or None)


def format_location(location: Sequence[int | str], *, root: str | None = None) -> str:
    """``("body", 3, "event_name")`` → ``events[3].event_name`` (with ``root="events"``)."""
    source, *parts = location or ("body",)
    path = root or ("" if source == "body" else str(source))
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path or "body"


def describe_validation_errors(
    errors: Sequence[dict[str, Any]], *, root: str | None = None
) -> list[str]:
    problems = []
    for error in errors:
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "")
            problems.append(
                f"body: malformed JSON ({reason})" if reason else "body: malformed JSON"
            )
            continue
        if error.get("type") == "missing" and tuple(error.get("loc", ())) == ("body",):
            problems.append("body: a JSON request body is required")
            continue
        where = format_location(error.get("loc", ()), root=root)
        problems.append(f"{where}: {message[:1].lower()}{message[1:]}")
    return problems


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    content_type = request.headers.get("content-type")
    if (
        content_type
        and not is_json(content_type)
        and not content_type.startswith("multipart/")
        and any(tuple(e.get("loc", ()))[:1] == ("body",) for e in errors)
    ):
        return error_response(
            UnsupportedMediaType(
                f"Content-Type must be application/json, not '{content_type}'",
            )
        )
    return error_response(ValidationFailed(describe_validation_errors(errors)))


async def _lehnz_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LehnzError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        error: LehnzError = NotFound(f"No route for {request.method} {request.url.path}")
    elif exc.status_code == 405:
        allowed = _allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        error = MethodNotAllowed(
            f"{request.method} is not allowed on {request.url.path}; allowed: {headers['Allow']}",
            headers=headers,
        )
    else:
        error = _catalogued(exc.status_code, str(exc.detail), headers)
    return error_response(error)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on this path: Starlette's 405 names only the first
    route that matched the path, though several routes may share it (GET, PUT, DELETE).
    Each method is tried against the routes, since included routers hide their own."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _catalogued(status: int, message: str, headers: dict[str, str]) -> LehnzError:
    """The catalogue's error for a status raised by the framework itself, so that every
    answer's ``code`` is one the error catalogue documents."""
    for kind in LehnzError.__subclasses__():
        if kind.status_code == status:
            return kind(message, headers=headers)
    return LehnzError(headers=headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the log; the client gets the envelope and nothing internal.
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(LehnzError())


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(LehnzError, _lehnz_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
