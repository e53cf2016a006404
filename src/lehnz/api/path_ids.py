"""Ids in paths, percent-encoded: any item, user or key id can be addressed, ``/`` included.

Clients send ``quote(id, safe="")``. The server (uvicorn, and Starlette's ``TestClient``)
hands the app ``scope["path"]`` already percent-DECODED, so ``a%2Fb`` arrives as ``a/b``
and no longer matches ``/api/v1/items/{item_id}``; ``scope["raw_path"]`` keeps the bytes as
sent. Two pieces recover exactly the id:

- ``PathIdMiddleware`` rebuilds ``scope["path"]`` from ``raw_path``, decoding every escape
  except ``%2F`` and ``%25``, which it keeps (upper-cased). A segment never contains a bare
  ``/`` then, and a literal ``%2F`` in an id (sent as ``%252F``) stays apart from ``/``.
- The ``id`` path convertor (``{item_id:id}``) matches one segment and decodes those two
  escapes, in one pass, into the id.

Dot segments (``.``, ``..``) are normalised away by HTTP clients (httpx, curl, browsers)
before sending, so an id made only of dots must be sent as ``%2E``; the server never
normalises, so ``%2E%2E`` reaches the route as the id ``..``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from starlette.convertors import Convertor, register_url_convertor
from starlette.types import ASGIApp, Receive, Scope, Send

#: The escapes left encoded in ``scope["path"]``: a slash and the percent sign itself.
_KEPT_RAW = re.compile(rb"(%2[Ff]|%25)")
_KEPT = re.compile(r"%2[Ff]|%25")


def route_path(raw_path: bytes) -> str:
    """``raw_path`` decoded (UTF-8; invalid bytes become U+FFFD, as uvicorn does), except
    for ``%2F`` and ``%25``, which stay escaped, upper-cased."""
    # split() with a group alternates: text, kept escape, text, kept escape, ..., text.
    parts = _KEPT_RAW.split(raw_path)
    texts = (unquote_to_bytes(text).decode("utf-8", "replace") for text in parts[::2])
    kept = [escape.upper().decode("ascii") for escape in parts[1::2]] + [""]
    return "".join(text + escape for text, escape in zip(texts, kept, strict=True))


def _unescape(match: re.Match[str]) -> str:
    return "%" if match.group(0) == "%25" else "/"


class IdConvertor(Convertor[str]):
    """One path segment, as ``PathIdMiddleware`` left it, decoded into the id."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return _KEPT.sub(_unescape, value)

    def to_string(self, value: str) -> str:
        value = str(value)
        assert value, "Must not be empty"
        return value.replace("%", "%25").replace("/", "%2F")


register_url_convertor("id", IdConvertor())


class PathIdMiddleware:
    """Sets ``scope["path"]`` from ``scope["raw_path"]`` (see the module's description).

    Without ``raw_path`` (optional in ASGI) the path is left as the server decoded it. The
    scope is changed in place, as Starlette's own middleware do: a copy would hide what the
    router records in it (``route``) from middleware outside this one, wherever it sits.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path = scope.get("raw_path")
        # Without an escape the server's decoded path is already the same: most requests.
        if scope["type"] in ("http", "websocket") and raw_path and b"%" in raw_path:
            scope["path"] = route_path(raw_path)
        await self.app(scope, receive, send)
