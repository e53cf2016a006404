"""A JSON body that is one object or an array of them, documented in OpenAPI as such.

The body is taken as raw JSON and validated by ``lehnz.validation.parse_batch``, which names
each bad index (``items[3].item_id: ...``); letting FastAPI validate a union would bury that
under one error per branch.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body
from pydantic import BaseModel

RawJson = Annotated[Any, Body(description="One object or an array of objects.")]


def one_or_many(model: type[BaseModel], *, max_items: int) -> dict[str, Any]:
    """``openapi_extra`` for a route whose body is ``model`` or ``[model, ...]``."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
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
