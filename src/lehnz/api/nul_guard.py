"""Refusing JSON bodies lehnz could not parse safely or store the same on both databases
(and the dashboard's URL-encoded forms: UTF-8 and no NUL, see ``_form_problems``).

Checked once, at the door, before any handler or parser sees the body:

- **UTF-8 only** (RFC 8259). Python's parser would also take UTF-16 and UTF-32, whose bytes
  slip past a byte-level search for an escaped NUL.
- **At most ``MAX_JSON_DEPTH`` levels of nesting.** Python's parser recurses: thousands of
  levels end in ``RecursionError``, a 500.
- **No U+0000** in keys or values (escaped as ``\\u0000``). PostgreSQL cannot store it in text
  or JSONB, so it would fail deep in a write, while SQLite would store it.

A body with no ``Content-Type`` is treated as JSON, since FastAPI parses it as JSON. Each
check is a C-speed scan of the bytes; the JSON is parsed here only to name the fields when
the NUL scan finds something.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lehnz.api.envelope import error_response
from lehnz.errors import ValidationFailed
from lehnz.validation import MAX_JSON_DEPTH, NUL_REASON, json_depth_exceeds, nul_paths

# \u0000 escaped in JSON: preceded by an even number of backslashes (an odd number would
# make it the literal text "\u0000", which is fine).
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")

_UTF8_REASON = "JSON must be encoded as UTF-8 (RFC 8259)"
_FORM_REASON = "must be URL-encoded UTF-8, as browsers send forms"
_JSON, _FORM = b"application/json", b"application/x-www-form-urlencoded"
#: Methods whose body FastAPI parses; multipart uploads are read by their own importer.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

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
        media = _body_media(scope)
        if media is None:
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
        if media == _FORM:
            problems = _form_problems(body)
            if problems:
                await error_response(ValidationFailed(problems))(scope, receive, send)
                return
            await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)
            return
        problem = _encoding_or_depth_problem(body)
        if problem:
            await error_response(ValidationFailed([problem]))(scope, receive, send)
            return
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


def _encoding_or_depth_problem(body: bytes) -> str | None:
    if b"\x00" in body:  # raw NUL bytes: UTF-16 or UTF-32 (UTF-8 JSON never has one)
        return f"body: {_UTF8_REASON}"
    if not body.isascii():  # ASCII is UTF-8; only other bodies need the (copying) decode
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return f"body: {_UTF8_REASON}; invalid byte at position {exc.start}"
    if json_depth_exceeds(body, MAX_JSON_DEPTH):
        return f"body: JSON nested deeper than {MAX_JSON_DEPTH} levels"
    return None


def _form_problems(body: bytes) -> list[str]:
    """A dashboard form's body: ASCII with UTF-8 percent-escapes, as browsers send it, and no
    NUL. Starlette's parser would take stray bytes as Latin-1 and bad escapes as U+FFFD."""
    if not body.isascii():
        return [f"form: {_FORM_REASON}"]
    problems = []
    for pair in body.split(b"&"):
        name, _, value = pair.decode("ascii").partition("=")
        try:
            field = unquote_plus(name, errors="strict")
            text = unquote_plus(value, errors="strict")
        except UnicodeDecodeError:
            problems.append(f"{_field_name(name)}: {_FORM_REASON}")
            continue
        if "\x00" in field or "\x00" in text:
            problems.append(f"{_field_name(field)}: {NUL_REASON}")
    return problems


def _field_name(name: str) -> str:
    return name[:64] if name[:64].isprintable() else repr(name[:64])


def _body_media(scope: Scope) -> bytes | None:
    """``_JSON`` or ``_FORM`` for a body this guard checks; ``None`` for any other."""
    if scope["method"] not in _BODY_METHODS or scope["path"].startswith("/api/v1/upload/"):
        return None
    for name, value in scope["headers"]:
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            if media == _FORM:
                return _FORM
            return _JSON if media == b"application/json" or media.endswith(b"+json") else None
    return _JSON  # no Content-Type: FastAPI parses the body as JSON


def _replay(messages: list[Message], then: Receive) -> Receive:
    """``messages`` again, then whatever the server sends next (a disconnect)."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return await then()

    return receive
