"""CORS for publishable paths only: publishable keys live in browsers, secret keys never do."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from lehnz.api.envelope import error_response
from lehnz.errors import BadRequest

PUBLISHABLE_EXACT = ("/api/v1/events/ingest", "/recommend")
PUBLISHABLE_PREFIXES = ("/recommend/", "/item/")


def is_publishable_path(path: str) -> bool:
    return path in PUBLISHABLE_EXACT or path.startswith(PUBLISHABLE_PREFIXES)


class _EnvelopedCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with its refused preflights in the error envelope like every other
    refusal (Starlette answers them in plain text)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        refused = bytes(response.body).decode()
        requested = (
            f"method {request_headers.get('access-control-request-method')!r}, "
            f"headers {request_headers.get('access-control-request-headers')!r}"
        )
        error = BadRequest(
            f"CORS preflight refused: {refused.removeprefix('Disallowed CORS ')} not allowed "
            f"({requested}); allowed: methods {', '.join(self.allow_methods)}, headers "
            f"{', '.join(sorted(self.allow_headers))}",
            headers={k: v for k, v in response.headers.items() if k.lower() != "content-length"},
        )
        return error_response(error)


class PublishableCORSMiddleware:
    """Starlette's CORS handling, any origin, applied where a publishable key is taken."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = _EnvelopedCORSMiddleware(
            app,
            allow_origins=["*"],
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-KEY", "X-Domain", "Content-Type"],
            # A browser script may read these only if they are exposed: it needs them to
            # back off when the organisation's limit is reached.
            expose_headers=[
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
                "Retry-After",
            ],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_publishable_path(scope["path"]):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
