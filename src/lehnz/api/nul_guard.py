"""Refusing the NUL character (U+0000) in URLs and JSON bodies, naming where it is.

PostgreSQL cannot store U+0000 in text or JSONB, so it would fail deep in a write with a
500, while SQLite would store it. Refusing it at the door gives both databases the same
clear 400. The body check is one regular-expression scan; the JSON is parsed only to name
the fields when the scan finds something.
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lehnz.api.envelope import error_response
from lehnz.errors import ValidationFailed
from lehnz.validation import NUL_REASON, nul_paths

# \u0000 escaped in JSON: preceded by an even number of backslashes (an odd number would
# make it the literal text "\u0000", which is fine).
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")

#: Batch routes name bad objects by index under their root, as ``parse_batch`` does.
_ROOTS = {"/api/v1/events/ingest": "events", "/api/v1/items": "items", "/api/v1/users": "users"}


class NulGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope["query_string"]:
            error = ValidationFailed([f"url: {NUL_REASON}"])
            await error_response(error)(scope, receive, send)
            return
        if not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        # A plain substring search first: the regular expression is slow on a large body.
        if b"\\u0000" in body and _ESCAPED_NUL.search(body):
            problems = _problems(body, _ROOTS.get(scope["path"], ""))
            if problems:
                await error_response(ValidationFailed(problems))(scope, receive, send)
                return
        await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)


def _problems(body: bytes, root: str) -> list[str]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return []  # malformed: the app's own JSON error says so
    return [f"{path}: {NUL_REASON}" for path in nul_paths(parsed, root)]


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def _replay(messages: list[Message], then: Receive) -> Receive:
    """``messages`` again, then whatever the server sends next (a disconnect)."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return await then()

    return receive
