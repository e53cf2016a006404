"""The ceiling for the recommendation endpoints: a bare FastAPI app that reads the same
request (JSON body into a Pydantic model, or path and query) and answers a constant list of
the same size, on the same uvicorn.

    .venv/bin/python bench/load/bare_app.py --port 8001 --answer answer.json

``answer.json`` is one real answer of lehnz's (``run.py`` captures one per endpoint), so
both servers move the same bytes; the difference is everything lehnz does to make the list.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Header
from fastapi.responses import Response
from pydantic import BaseModel


class UserBody(BaseModel):
    user_id: str
    limit: int = 12
    placement: str | None = None


class SessionBody(BaseModel):
    clicked_item_id: str
    limit: int = 12


class BasketBody(BaseModel):
    item_ids: list[str]
    limit: int = 12


def build(answer: dict[str, Any]) -> FastAPI:
    app = FastAPI()
    payload = json.dumps(answer).encode()

    def constant() -> Response:
        return Response(payload, media_type="application/json")

    def reading(body_model: type[BaseModel]) -> Any:
        """A handler that reads ``body_model`` and the two headers, then answers the bytes."""

        def handler(
            body: Any,
            x_api_key: str = Header(alias="X-API-KEY"),
            x_domain: str = Header(alias="X-Domain"),
        ) -> Response:
            return constant()

        handler.__annotations__["body"] = body_model  # the model itself, for FastAPI to read
        return handler

    app.post("/recommend")(reading(UserBody))
    app.post("/recommend/price_optimized")(reading(UserBody))
    app.post("/recommend/session")(reading(SessionBody))
    app.post("/recommend/basket")(reading(BasketBody))

    @app.get("/item/{item_id}")
    def item(
        item_id: str,
        limit: int = 4,
        x_api_key: str = Header(alias="X-API-KEY"),
        x_domain: str = Header(alias="X-Domain"),
    ) -> Response:
        return constant()

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--answer", type=Path, required=True)
    args = parser.parse_args()
    app = build(json.loads(args.answer.read_text()))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
