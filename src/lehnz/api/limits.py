"""Refusing request bodies that are too large (413) before they are read into memory."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lehnz.api.envelope import error_response
from lehnz.errors import PayloadTooLarge

MiB = 1024 * 1024

EVENTS_LIMIT = 5 * MiB
CATALOG_LIMIT = 64 * MiB


def body_limit(path: str, upload_limit: int) -> int:
    if path.startswith("/api/v1/upload/") or path == "/catalog/upload":
        return upload_limit  # streamed to a temporary file, not held in memory
    if path in ("/api/v1/items", "/api/v1/users"):
        return CATALOG_LIMIT  # 10,000 objects per batch
    return EVENTS_LIMIT


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, upload_limit: int) -> None:
        self.app = app
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"], self.upload_limit)

        def too_large() -> PayloadTooLarge:
            return PayloadTooLarge(f"Request body exceeds the {limit // MiB} MB limit of this path")

        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await error_response(too_large())(scope, receive, send)
                return
        received = 0
        tripped = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, tripped
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    tripped = True
                    raise too_large()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if tripped:
                # A reader downstream (the multipart parser, say) caught the refusal and
                # answered on its own: the client still gets the 413.
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except PayloadTooLarge:
            # Raised outside the app's own error handling: by a middleware reading the body
            # (a chunked body carries no Content-Length to refuse it by up front).
            if not started:
                await error_response(too_large())(scope, receive, send)
            return
        if tripped and not started:
            await error_response(too_large())(scope, receive, send)
