"""The playground's request, written out for each client: curl, the TypeScript SDK and the
Python client.

Each snippet is built from the very values the playground sent, so what a developer copies
answers what the page showed. JSON literals are valid TypeScript, and ``repr`` of JSON values
is valid Python, so no value needs hand-made escaping beyond the shell's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

PUBLISHABLE_PLACEHOLDER = "lehnz_pk_…"

#: Per endpoint: the TypeScript SDK method and the Python client method.
METHODS = {
    "recommend": ("recommend", "recommend"),
    "item": ("similarItems", "similar_items"),
    "session": ("sessionRecommendations", "session_recommendations"),
    "basket": ("basket", "basket"),
    "price_optimized": ("priceOptimized", "price_optimized"),
}


@dataclass(frozen=True)
class Snippets:
    curl: str
    typescript: str
    python: str


def path_id(value: str) -> str:
    """An id as one path segment, as both SDKs send it: every reserved character escaped, and
    an id of dots only escaped too (clients would otherwise drop it as a dot segment)."""
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if set(value) == {"."} else encoded


def shell_quote(text: str) -> str:
    """Single quotes for a POSIX shell, always (a JSON body reads the same in every case)."""
    return "'" + text.replace("'", "'\"'\"'") + "'"


def body_json(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)


def build(
    endpoint: str,
    *,
    base_url: str,
    body: dict[str, Any] | None = None,
    item_id: str | None = None,
    query: dict[str, Any] | None = None,
) -> Snippets:
    """``body`` for the POST endpoints; ``item_id`` and ``query`` for ``GET /item/{id}``."""
    headers = f"-H {shell_quote('X-API-KEY: ' + PUBLISHABLE_PLACEHOLDER)} -H 'X-Domain: commerce'"
    ts_method, py_method = METHODS[endpoint]
    key = json.dumps(PUBLISHABLE_PLACEHOLDER, ensure_ascii=False)
    ts_client = (
        f"import {{ Lehnz }} from 'lehnz';\n\n"
        f"const lehnz = new Lehnz({{ publishableKey: {key}, baseUrl: {json.dumps(base_url)} }});\n"
    )
    py_client = (
        "from lehnz.client import Lehnz\n\n"
        f"lehnz = Lehnz(publishable_key={PUBLISHABLE_PLACEHOLDER!r}, base_url={base_url!r})\n"
    )
    if endpoint == "item":
        assert item_id is not None
        query = query or {}
        url = f"{base_url}/item/{path_id(item_id)}"
        if query:
            url += "?" + urlencode(query)
        curl = f"curl {shell_quote(url)} \\\n  {headers}"
        ts_args = json.dumps(item_id, ensure_ascii=False)
        if query:
            ts_args += ", " + json.dumps(query, ensure_ascii=False)
        py_args = [repr(item_id), *(f"{name}={value!r}" for name, value in query.items())]
    else:
        assert body is not None
        path = "/recommend" if endpoint == "recommend" else f"/recommend/{endpoint}"
        curl = (
            f"curl -X POST {shell_quote(base_url + path)} \\\n"
            f"  {headers} \\\n"
            f"  -H 'Content-Type: application/json' \\\n"
            f"  -d {shell_quote(body_json(body))}"
        )
        ts_args = json.dumps(body, ensure_ascii=False)
        py_args = [f"{name}={value!r}" for name, value in body.items()]
    typescript = (
        ts_client + f"const answer = await lehnz.{ts_method}({ts_args});\n"
        "console.log(answer.recommendation_id, answer.all_item_ids);"
    )
    python = (
        py_client + f"answer = lehnz.{py_method}({', '.join(py_args)})\n"
        "print(answer.recommendation_id, answer.all_item_ids)"
    )
    return Snippets(curl=curl, typescript=typescript, python=python)
