"""Answering 408 when a request body stops arriving, instead of holding the connection.

A client that sends ``Content-Length: 100`` and then ten bytes would otherwise keep a
connection, and the handler waiting on it, for as long as it likes; a few thousand such
clients exhaust the server. Each wait for a part of the body is bounded by
``LEHNZ_BODY_READ_TIMEOUT_SECONDS``. Once the body is complete, ``receive()`` is left alone:
after that it only tells of a disconnect, which may rightly take any time.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lehnz.api.envelope import error_response
from lehnz.errors import RequestTimeout


class _BodyTimedOut(Exception):
    """Raised into the app from ``receive()``; whatever the app makes of it, its answer is
    dropped: the 408 has been sent."""


class BodyTimeoutMiddleware:
    def __init__(self, app: ASGIApp, *, timeout_seconds: float) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_complete = False
        response_started = False
        timed_out = False

        async def timed_receive() -> Message:
            nonlocal body_complete, timed_out
            if body_complete:
                return await receive()
            try:
                # asyncio.timeout, not wait_for: no task per read on the ingest path.
                async with asyncio.timeout(self.timeout_seconds):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                if not response_started:
                    error = RequestTimeout(
                        f"The request body stopped arriving: nothing for "
                        f"{self.timeout_seconds:g} s (LEHNZ_BODY_READ_TIMEOUT_SECONDS)",
                        headers={"Connection": "close"},
                    )
                    await error_response(error)(scope, receive, send)
                raise _BodyTimedOut from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_complete = True
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if timed_out:
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, timed_receive, guarded_send)
        except Exception:
            if not timed_out:
                raise
