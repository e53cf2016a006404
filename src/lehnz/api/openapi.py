"""The OpenAPI document as the server really answers, and the pages that show it, offline.

FastAPI writes most of ``/openapi.json`` from the routes. This module settles the rest in one
place, after FastAPI has written it, so that SDK generators and fuzzers can trust it:

- ``operationId``: stable readable names (``OPERATION_IDS``), which SDK generators turn into
  method names; a route missing from the table gets its function's name in camelCase.
- Error statuses, each with the error envelope, per operation: 400 everywhere (validation
  errors and ``X-Domain``: FastAPI's default 422 never happens and is removed); 401 and 403
  by credential; 404 where a path names something; 409 on registration; 408, 413 and 415
  where there is a body; 429 where a request limit applies.
- ``X-Domain``: a required header, ``commerce``, on every API path.
- An event's ``timestamp``: ISO 8601 or epoch seconds.
- An example for every request body (``EXAMPLES``).

``/docs`` (Swagger UI) and ``/redoc`` load their JavaScript and CSS from lehnz itself: the
files ship in the pinned ``fastapi-offline`` package, so the pages work with no internet.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute

from lehnz.api.deps import DOMAIN
from lehnz.api.envelope import ErrorEnvelope
from lehnz.timestamps import EARLIEST_EPOCH, LATEST_EPOCH

#: (method, path) -> operationId.
OPERATION_IDS: dict[tuple[str, str], str] = {
    ("POST", "/recommend"): "recommend",
    ("GET", "/item/{item_id}"): "similarItems",
    ("POST", "/recommend/session"): "sessionRecommendations",
    ("POST", "/recommend/basket"): "basketRecommendations",
    ("POST", "/recommend/price_optimized"): "priceOptimizedRecommendations",
    ("POST", "/api/v1/events/ingest"): "trackEvents",
    ("POST", "/api/v1/items"): "upsertItems",
    ("GET", "/api/v1/items/{item_id}"): "getItem",
    ("DELETE", "/api/v1/items/{item_id}"): "deleteItem",
    ("POST", "/api/v1/users"): "upsertUsers",
    ("GET", "/api/v1/users/{user_id}"): "getUser",
    ("DELETE", "/api/v1/users/{user_id}"): "deleteUser",
    ("GET", "/api/v1/users/{user_id}/events"): "listUserEvents",
    ("POST", "/api/v1/upload/items"): "uploadItems",
    ("POST", "/api/v1/upload/users"): "uploadUsers",
    ("POST", "/api/v1/upload/events"): "uploadEvents",
    ("POST", "/api/v1/auth/register"): "register",
    ("POST", "/api/v1/auth/login"): "login",
    ("GET", "/api/v1/keys"): "listKeys",
    ("POST", "/api/v1/keys"): "createKey",
    ("POST", "/api/v1/keys/{key_id}/rotate"): "rotateKey",
    ("DELETE", "/api/v1/keys/{key_id}"): "revokeKey",
    ("POST", "/api/v1/models/train"): "trainModel",
    ("GET", "/api/v1/models"): "listModels",
    ("GET", "/api/v1/settings/event_families"): "getEventFamilies",
    ("PUT", "/api/v1/settings/event_families"): "setEventFamilies",
    ("GET", "/api/v1/settings/rate_limit"): "getRateLimit",
    ("PUT", "/api/v1/settings/rate_limit"): "setRateLimit",
    ("DELETE", "/api/v1/settings/rate_limit"): "resetRateLimit",
    ("GET", "/api/v1/stats/attribution"): "getAttribution",
    ("GET", "/healthz"): "getLiveness",
    ("GET", "/readyz"): "getReadiness",
    ("GET", "/metrics"): "getMetrics",
}

#: Paths that need no ``X-Domain`` (and no credential).
UNSCOPED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

#: Operations whose path names something that may not exist, or whose body does.
NOT_FOUND = frozenset(
    {
        "similarItems",
        "sessionRecommendations",
        "getItem",
        "deleteItem",
        "getUser",
        "deleteUser",
        "rotateKey",
        "revokeKey",
    }
)

#: Operations limited per client address rather than per organisation.
LIMITED_BY_ADDRESS = frozenset({"register", "login"})

ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Invalid request: a field (named in the message), malformed JSON, or a missing or "
    "wrong `X-Domain` header",
    401: "Missing, malformed, unknown, revoked or expired credential",
    403: "A key of the wrong type for this path (a secret key where a publishable one is "
    "wanted, or the reverse), or registration closed",
    404: "Not found",
    408: "The request body did not arrive in time",
    409: "Conflict: already exists",
    413: "Request body too large",
    415: "Unsupported `Content-Type`",
    429: "Request limit reached; `Retry-After` says when to try again",
    503: "Request limits cannot be counted right now (their store is unreachable and the "
    "server is set to refuse then); `Retry-After` says when to try again",
}

_TIMESTAMP_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "string",
            "format": "date-time",
            "pattern": "^(19[7-9][0-9]|[2-9][0-9]{3})-",
            "description": "ISO 8601; no zone is UTC; from 1970 to 9999",
        },
        {
            "type": "number",
            "minimum": EARLIEST_EPOCH,
            "maximum": LATEST_EPOCH,
            "description": "Epoch seconds (not milliseconds)",
        },
        {"type": "null"},
    ],
    "default": None,
    "title": "Timestamp",
    "description": "When the event happened, for backfill: ISO 8601 "
    "(`2026-03-01T12:00:00Z`) or epoch seconds (`1772366400`). Default: when received. "
    "At most 24 hours in the future.",
}


def _at_most(bound: str) -> str:
    """A regular expression for decimal strings (leading zeros allowed) up to ``bound``."""
    width = len(bound)
    below = [f"[0-9]{{1,{width - 1}}}"]
    for i, digit in enumerate(bound):
        if digit != "0":
            rest = f"[0-9]{{{width - i - 1}}}" if i < width - 1 else ""
            below.append(f"{bound[:i]}[0-{int(digit) - 1}]{rest}")
    return "^(?:" + "|".join([*below, bound]) + ")?$"


_INSTANT = "ISO 8601 date or date-time (no zone is UTC), or epoch seconds"
#: (operationId, query parameter) -> its schema, where FastAPI's says less than the route.
PARAMETER_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    # A cursor is an event's sequence number, a signed 64-bit integer (lehnz.events.history).
    ("listUserEvents", "before"): {"type": "string", "pattern": _at_most(str(2**63 - 1))},
    **{
        ("getAttribution", name): {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "string", "format": "date"},
                # Epoch seconds; any bound past 1970-9999 is clamped to it.
                {"type": "number"},
            ],
            "description": _INSTANT,
        }
        for name in ("start", "end")
    },
}

_CSV_ITEMS = "item_id,name,category,price\n85123A,White hanging heart T-light holder,home,2.55\n"

#: operationId -> an example request body (for multipart uploads: the form's fields).
EXAMPLES: dict[str, Any] = {
    "recommend": {"user_id": "c18005", "limit": 5, "placement": "home"},
    "sessionRecommendations": {"clicked_item_id": "85123A", "limit": 5},
    "basketRecommendations": {"item_ids": ["85123A"], "limit": 5},
    "priceOptimizedRecommendations": {"user_id": "c18005", "limit": 5},
    "trackEvents": {
        "user_id": "visitor-1",
        "event_name": "view",
        "item_id": "85123A",
        "session_id": "s-42",
        "timestamp": "2026-03-01T12:00:00Z",
    },
    "upsertItems": {
        "item_id": "85123A",
        "attributes": {
            "name": "White hanging heart T-light holder",
            "category": "home",
            "price": 2.55,
        },
    },
    "upsertUsers": {"user_id": "c18005", "attributes": {"country": "United Kingdom"}},
    "uploadItems": {"file": _CSV_ITEMS},
    "uploadUsers": {"file": "user_id,country\nc18005,United Kingdom\n"},
    "uploadEvents": {
        "file": "user_id,event_name,item_id,timestamp\nc18005,purchase,85123A,"
        "2026-03-01T12:00:00Z\n"
    },
    "register": {
        "email": "dev@example.com",
        "password": "correct horse battery",
        "organization_name": "My Store",
    },
    "login": {"email": "dev@example.com", "password": "correct horse battery"},
    "createKey": {"type": "publishable", "name": "storefront"},
    "rotateKey": {"grace_seconds": 3600},
    "setEventFamilies": {"wishlist": "conversion"},
    "setRateLimit": {"requests": 20000, "window_seconds": 900},
}

_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


def operation_id(route: APIRoute) -> str:
    """For ``FastAPI(generate_unique_id_function=...)``; it also names the ``Body_*`` schemas."""
    method = sorted(route.methods)[0] if route.methods else "GET"
    known = OPERATION_IDS.get((method, route.path_format))
    if known is not None:
        return known
    head, *rest = route.name.split("_")
    return head + "".join(part.title() for part in rest)


def _error(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
    }
    if status in (429, 503):
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds until the window resets.",
                "schema": {"type": "integer"},
            }
        }
    return response


def error_statuses(operation: dict[str, Any], path: str) -> set[int]:
    """The error statuses this operation can answer with, besides a crash's 500."""
    if path in UNSCOPED_PATHS:
        return set()
    name = operation.get("operationId", "")
    schemes = {scheme for entry in operation.get("security", []) for scheme in entry}
    statuses = {400}
    if schemes & {"PublishableKey", "SecretKey"}:
        statuses |= {401, 403, 429, 503}
    if "DeveloperToken" in schemes:
        statuses.add(401)
    if name in LIMITED_BY_ADDRESS:
        statuses |= {429, 503}
    if name == "login":
        statuses.add(401)
    if name == "register":
        statuses |= {403, 409}  # 403: registration closed on this server
    if name in NOT_FOUND:
        statuses.add(404)
    if "requestBody" in operation:
        statuses |= {408, 413, 415}
    return statuses


def _walk(node: Any) -> Any:
    """Every dict in ``node``, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def refine(document: dict[str, Any]) -> dict[str, Any]:
    """Settle what FastAPI cannot know (see the module's description), in place."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorEnvelope"] = ErrorEnvelope.model_json_schema()
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None or path in UNSCOPED_PATHS:
                continue
            responses = operation.setdefault("responses", {})
            for status in [s for s in responses if s.startswith("4") or s == "503"]:
                del responses[status]
            for status in sorted(error_statuses(operation, path)):
                responses[str(status)] = _error(status)
            _require_domain(operation)
            for parameter in operation.get("parameters", []):
                key = (operation.get("operationId", ""), parameter["name"])
                if key in PARAMETER_SCHEMAS:
                    parameter["schema"] = PARAMETER_SCHEMAS[key]
            _document_body(operation)
    _drop_unused_schemas(document)
    return document


def _require_domain(operation: dict[str, Any]) -> None:
    parameters = [
        p
        for p in operation.get("parameters", [])
        if not (p.get("in") == "header" and p.get("name", "").lower() == "x-domain")
    ]
    parameters.append(
        {
            "name": "X-Domain",
            "in": "header",
            "required": True,
            "description": f"Always `{DOMAIN}`. Missing or another value: 400.",
            "schema": {"type": "string", "enum": [DOMAIN]},
        }
    )
    operation["parameters"] = parameters


def _document_body(operation: dict[str, Any]) -> None:
    body = operation.get("requestBody")
    if body is None:
        return
    name = operation.get("operationId", "")
    for media in body.get("content", {}).values():
        if name == "trackEvents":
            for schema in _walk(media.get("schema")):
                properties = schema.get("properties")
                if isinstance(properties, dict) and "timestamp" in properties:
                    properties["timestamp"] = _TIMESTAMP_SCHEMA
        if name in EXAMPLES:
            media["example"] = EXAMPLES[name]
            media.get("schema", {}).pop("example", None)


def _drop_unused_schemas(document: dict[str, Any]) -> None:
    """Remove FastAPI's 422 schemas once nothing refers to them."""
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schema = schemas.pop(name, None)
        if schema is not None and f"'#/components/schemas/{name}'" in repr(document):
            schemas[name] = schema  # still referred to


def install_openapi(app: FastAPI, *, documented_order: Sequence[BaseRoute]) -> None:
    """Have ``app.openapi()`` (and so ``/openapi.json``) return the refined document, its
    paths in ``documented_order``: the order requests are matched in may differ (the
    recommendation paths are tried first, being the most frequent)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = refine(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=documented_order,
                    tags=app.openapi_tags,
                    servers=app.servers,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs/assets"


def install_docs(app: FastAPI) -> None:
    """``/docs`` and ``/redoc`` from files lehnz serves itself; create the app with
    ``docs_url=None, redoc_url=None`` so FastAPI's CDN-loading pages are not there too."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} API",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=None,
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} API",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
