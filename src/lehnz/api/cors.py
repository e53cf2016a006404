"""CORS for publishable paths only: publishable keys live in browsers, secret keys never do."""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

PUBLISHABLE_EXACT = ("/api/v1/events/ingest", "/recommend")
PUBLISHABLE_PREFIXES = ("/recommend/", "/item/")


def is_publishable_path(path: str) -> bool:
    return path in PUBLISHABLE_EXACT or path.startswith(PUBLISHABLE_PREFIXES)


class PublishableCORSMiddleware:
    """Starlette's CORS handling, any origin, applied where a publishable key is taken."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(
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
