"""A JSON body that is one object or an array of them, documented in OpenAPI as such.

The body is taken as raw JSON and validated by ``lehnz.validation.parse_batch``, which names
each bad index (``items[3].item_id: ...``); letting FastAPI validate a union would bury that
under one error per branch.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated, Any, TypeVar

from fastapi import Body, Request
from pydantic import BaseModel, TypeAdapter, ValidationError

from lehnz.api.envelope import is_json
from lehnz.errors import UnsupportedMediaType, ValidationFailed
from lehnz.validation import parse_batch

M = TypeVar("M", bound=BaseModel)

RawJson = Annotated[Any, Body(description="One object or an array of objects.")]


def one_or_many(model: type[BaseModel], *, max_items: int) -> dict[str, Any]:
    """``openapi_extra`` for a route whose body is ``model`` or ``[model, ...]``."""
    schema = _inline_definitions(model.model_json_schema(ref_template="#/$defs/{model}"))
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            schema,
                            {
                                "type": "array",
                                "items": schema,
                                "minItems": 1,
                                "maxItems": max_items,
                            },
                        ]
                    }
                }
            },
        }
    }


def _inline_definitions(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with each ``$ref`` to its own ``$defs`` replaced by the definition: the
    body's schema lives inside the operation, where those definitions would not resolve
    (pydantic puts e.g. ``JsonValue`` there)."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [resolve(value, seen) for value in node]
        if not isinstance(node, dict):
            return node
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/$defs/"):
            name = reference.removeprefix("#/$defs/")
            if name in seen:
                raise ValueError(f"recursive schema {name} cannot be inlined")
            rest = {key: value for key, value in node.items() if key != "$ref"}
            return resolve({**definitions[name], **rest}, (*seen, name))
        return {key: resolve(value, seen) for key, value in node.items()}

    resolved: dict[str, Any] = resolve(schema, ())
    return resolved


async def read_batch(request: Request, model: type[M], *, root: str, max_size: int) -> list[M]:
    """The request's body validated as one ``model`` or an array of them, for hot paths.

    A valid body is parsed and validated in one pass by pydantic-core, straight from the
    bytes (no intermediate Python objects). Anything it refuses takes the same path as
    every other batch route, ``parse_batch``, so errors read exactly the same.
    """
    content_type = request.headers.get("content-type")
    if content_type and not is_json(content_type):
        raise UnsupportedMediaType(f"Content-Type must be application/json, not '{content_type}'")
    body = await request.body()
    if not body.strip():
        raise ValidationFailed(["body: a JSON request body is required"])
    many = body.lstrip()[:1] == b"["
    try:
        if many:
            batch: list[M] = _adapter(model).validate_json(body)
            if 0 < len(batch) <= max_size:
                return batch
        else:
            return [model.model_validate_json(body)]
    except ValidationError:
        pass
    try:
        payload = json.loads(body)
    except ValueError as exc:
        reason = getattr(exc, "msg", str(exc))
        raise ValidationFailed([f"body: malformed JSON ({reason})"]) from None
    return parse_batch(payload, model, root=root, max_size=max_size)


@lru_cache(maxsize=16)
def _adapter(model: type[BaseModel]) -> TypeAdapter[Any]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]
