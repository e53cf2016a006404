"""``RateLimit-*`` headers on every answer a limit applied to, refusals and errors included.

The credential dependencies decide and leave their ``Decision`` in the request's state; this
middleware writes it into whatever answer the request ends with, so a 400 for a bad body
still tells the client how much of its window is left.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lehnz.ratelimit import Decision

STATE_KEY = "rate_limit"


class RateLimitHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            decision = state.get(STATE_KEY)
            if message["type"] == "http.response.start" and isinstance(decision, Decision):
                message = {**message, "headers": [*message.get("headers", []), *decision.headers()]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
