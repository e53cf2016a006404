"""The playground: ask any recommendation endpoint from the browser and see the list it serves.

The form is read by GET, so a result's URL can be shared. Its fields become the JSON body the
API would receive, validated by the API's own request model and answered by the API's own
``serve_*`` function for the signed-in organisation: a real, logged list with a real
``recommendation_id`` (placement ``playground`` unless another is given), so events citing it
are attributed like any other.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.responses import Response

from lehnz.api.envelope import describe_validation_errors
from lehnz.api.recommend import (
    serve_basket,
    serve_price_optimized,
    serve_recommend,
    serve_session,
    serve_similar_item,
)
from lehnz.catalog.models import ExternalId
from lehnz.errors import LehnzError, NotFound, ValidationFailed
from lehnz.runtime import Runtime
from lehnz.store.playground_queries import recent_item_ids, recent_user_ids
from lehnz.store.sessions import SessionRecord
from lehnz.validation import MAX_JSON_DEPTH, NUL_REASON, json_depth_exceeds, nul_paths
from lehnz.web.deps import SignedIn, runtime_of
from lehnz.web.pages import playground_snippets
from lehnz.web.templating import base_url, render
from lehnz.wire.recommend import (
    BasketRequest,
    Limit,
    Mode,
    Page,
    PriceOptimizedRequest,
    RecommendRequest,
    SessionRequest,
)

router = APIRouter()

PAGE = "Playground"
DEFAULT_PLACEMENT = "playground"
MAX_FILTERS_CHARS = 8000
MODES = ("auto", "semantic", "collaborative", "popular")


class SimilarItemsQuery(BaseModel):
    """``GET /item/{item_id}``'s parameters, which the API reads from the path and query
    string rather than a body model: the same bounds and defaults as that handler's."""

    model_config = ConfigDict(extra="ignore")

    item_id: ExternalId
    limit: Limit = 4
    page: Page = 1
    mode: Mode = "semantic"


@dataclass(frozen=True)
class Endpoint:
    value: str
    label: str  # as the API reference writes it
    fields: tuple[str, ...]  # the form's fields this endpoint takes


ENDPOINTS = {
    e.value: e
    for e in (
        Endpoint(
            "recommend",
            "POST /recommend",
            ("user_id", "limit", "page", "placement", "mode", "filters"),
        ),
        Endpoint("item", "GET /item/{item_id}", ("item_id", "limit", "page", "mode")),
        Endpoint(
            "session", "POST /recommend/session", ("item_id", "limit", "page", "mode", "filters")
        ),
        Endpoint(
            "basket", "POST /recommend/basket", ("item_ids", "user_id", "limit", "page", "filters")
        ),
        Endpoint(
            "price_optimized",
            "POST /recommend/price_optimized",
            ("user_id", "limit", "page", "placement", "mode", "filters"),
        ),
    )
}
#: The request model each endpoint's handler takes: the form is validated by the same one.
MODELS: dict[str, type[BaseModel]] = {
    "recommend": RecommendRequest,
    "item": SimilarItemsQuery,
    "session": SessionRequest,
    "basket": BasketRequest,
    "price_optimized": PriceOptimizedRequest,
}
FORM_FIELDS = ("user_id", "item_id", "item_ids", "placement", "limit", "page", "mode", "filters")
#: Which endpoints use each field: the form's hints, and the data the script shows fields by.
USED_BY = {
    field: [e.value for e in ENDPOINTS.values() if field in e.fields] for field in FORM_FIELDS
}
#: What each field is, shown under it.
HINTS = {
    "user_id": "The shopper to recommend for; optional for basket.",
    "item_id": "The item to find neighbours of (sent as clicked_item_id to session).",
    "item_ids": "The cart's item ids, separated by commas.",
    "placement": f"home, cart, pdp or any label; empty means {DEFAULT_PLACEMENT}.",
    "limit": "1 to 100; empty means the endpoint's default.",
    "page": "1 or more; empty means 1.",
    "mode": "auto, semantic, collaborative or popular.",
    "filters": 'A JSON object, e.g. {"price": {"lt": 50}, "category": "shoes"}.',
}
#: The request's name for a form field, where the two differ.
_SENT_AS = {("session", "item_id"): "clicked_item_id"}
_WHOLE_NUMBER = re.compile(r"\s*[+-]?\d{1,30}\s*")


class BadInput(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class Run:
    """One submitted form, as sent and as answered."""

    endpoint: Endpoint
    body: dict[str, Any]  # the JSON body, or for GET /item the item id and query parameters
    answer: dict[str, Any]
    rows: list[dict[str, Any]]
    facts: list[tuple[str, str]]
    answer_json: str
    snippets: playground_snippets.Snippets
    ignored: list[str]


def _number(text: str) -> int | str:
    """A whole number as a number; anything else as typed, for the model to refuse by name."""
    return int(text) if _WHOLE_NUMBER.fullmatch(text) else text


def _filters(text: str) -> Any:
    if len(text) > MAX_FILTERS_CHARS:
        raise BadInput([f"filters: at most {MAX_FILTERS_CHARS} characters"])
    if json_depth_exceeds(text.encode(), MAX_JSON_DEPTH):
        raise BadInput([f"filters: JSON nested deeper than {MAX_JSON_DEPTH} levels"])

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(text, parse_constant=no_constant)
    except ValueError as exc:
        example = '{"price": {"lt": 50}}'
        raise BadInput([f"filters: not a JSON object ({exc}); e.g. {example}"]) from None


def request_body(endpoint: Endpoint, form: dict[str, str]) -> dict[str, Any]:
    """The JSON body (or, for ``GET /item``, the path id and query) the form stands for: only
    the fields given, each as the JSON type the API expects."""
    body: dict[str, Any] = {}
    for field in endpoint.fields:
        text = form.get(field, "")
        name = _SENT_AS.get((endpoint.value, field), field)
        if field == "placement" and not text.strip():
            body[name] = DEFAULT_PLACEMENT
        elif not text.strip():
            continue
        elif field in ("limit", "page"):
            body[name] = _number(text)
        elif field == "item_ids":
            body[name] = [part.strip() for part in text.split(",") if part.strip()]
        elif field == "filters":
            body[name] = _filters(text)
        else:
            body[name] = text
    return body


def _validated(endpoint: Endpoint, body: dict[str, Any]) -> BaseModel:
    problems = [f"{path}: {NUL_REASON}" for path in nul_paths(body, "")]
    if problems:
        raise BadInput(problems)
    try:
        return MODELS[endpoint.value].model_validate(body)
    except ValidationError as exc:
        raise BadInput(describe_validation_errors([dict(e) for e in exc.errors()])) from None


def _serve(runtime: Runtime, organization_id: str, request: BaseModel) -> dict[str, Any]:
    """The API handler's own function for this request, for this organisation."""
    if isinstance(request, SimilarItemsQuery):
        return serve_similar_item(
            runtime,
            organization_id,
            request.item_id,
            limit=request.limit,
            page=request.page,
            mode=request.mode,
            include_attributes=False,
        )
    if isinstance(request, RecommendRequest):
        return serve_recommend(runtime, organization_id, request)
    if isinstance(request, PriceOptimizedRequest):
        return serve_price_optimized(runtime, organization_id, request)
    if isinstance(request, SessionRequest):
        return serve_session(runtime, organization_id, request)
    assert isinstance(request, BasketRequest)
    return serve_basket(runtime, organization_id, request)


def _price(attributes: dict[str, Any]) -> str:
    price = attributes.get("price")
    if price is None:
        return "—"
    shown = (
        f"{price:,.2f}" if isinstance(price, int | float) and not isinstance(price, bool) else price
    )
    currency = attributes.get("currency")
    return f"{shown} {currency}" if isinstance(currency, str) and currency else str(shown)


def _rows(runtime: Runtime, organization_id: str, answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer's items with their names and prices from the catalog as serving sees it."""
    catalog = runtime.catalog_cache.view(organization_id).items
    rows = []
    for rank, item in enumerate(answer["recommendations"], start=1):
        entry = catalog.get(item["item_id"])
        attributes = entry.attributes if entry else {}
        name = attributes.get("name") or attributes.get("title")
        rows.append(
            {
                "rank": rank,
                "item_id": item["item_id"],
                "name": str(name) if name is not None else "",
                "price": _price(attributes),
                "score": item["score"],
                "reason": item["reason"],
            }
        )
    return rows


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _facts(answer: dict[str, Any]) -> list[tuple[str, str]]:
    """Everything the answer says besides its list: source, model version, paging, echoes."""
    skip = {"success", "recommendation_id", "all_item_ids", "recommendations", "meta"}
    facts = [(key, value) for key, value in answer.items() if key not in skip]
    facts += list(answer["meta"].items())
    return [(key, _shown(value)) for key, value in facts]


def _run(
    runtime: Runtime, organization_id: str, base_url: str, endpoint: Endpoint, form: dict[str, str]
) -> Run:
    body = request_body(endpoint, form)
    model = _validated(endpoint, body)
    answer = _serve(runtime, organization_id, model)
    if endpoint.value == "item":
        query = {k: v for k, v in body.items() if k != "item_id"}
        snippets = playground_snippets.build(
            "item", base_url=base_url, item_id=body["item_id"], query=query
        )
    else:
        snippets = playground_snippets.build(endpoint.value, base_url=base_url, body=body)
    ignored = [f for f in FORM_FIELDS if form.get(f, "").strip() and f not in endpoint.fields]
    return Run(
        endpoint=endpoint,
        body=body,
        answer=answer,
        rows=_rows(runtime, organization_id, answer),
        facts=_facts(answer),
        answer_json=json.dumps(answer, indent=2, ensure_ascii=False),
        snippets=snippets,
        ignored=ignored,
    )


def _invalid_fields(problems: list[str]) -> set[str]:
    """The form fields the problems name, to mark them ``aria-invalid``."""
    named = {re.split(r"[.\[:]", problem, maxsplit=1)[0] for problem in problems}
    return {"item_id" if name == "clicked_item_id" else name for name in named}


def _suggestions(runtime: Runtime, organization_id: str) -> dict[str, list[str]]:
    with runtime.store.read() as connection:
        return {
            "user_ids": recent_user_ids(connection, organization_id=organization_id),
            "item_ids": recent_item_ids(connection, organization_id=organization_id),
        }


@router.get("/playground")
def playground(
    request: Request,
    session: SignedIn,
    endpoint: str | None = None,
    user_id: str = "",
    item_id: str = "",
    item_ids: str = "",
    placement: str = "",
    limit: str = "",
    page: str = "",
    mode: str = "",
    filters: str = "",
) -> Response:
    """The form, and with ``endpoint`` in the query string, its answer. Every field is read
    as text: the request model, not the query parser, says what is wrong with it."""
    runtime = runtime_of(request)
    given = {
        "user_id": user_id,
        "item_id": item_id,
        "item_ids": item_ids,
        "placement": placement,
        "limit": limit,
        "page": page,
        "mode": mode,
        "filters": filters,
    }
    form = {field: text[: MAX_FILTERS_CHARS * 4] for field, text in given.items()}
    form["endpoint"] = endpoint or "recommend"
    run: Run | None = None
    problems: list[str] = []
    status_code = 200
    if endpoint is not None:
        asked = ENDPOINTS.get(endpoint)
        if asked is None:
            problems = [f"endpoint: choose one of {', '.join(ENDPOINTS)}"]
            status_code = 400
        else:
            try:
                run = _run(runtime, session.organization_id, base_url(request), asked, form)
            except (BadInput, ValidationFailed) as exc:  # the latter: a filter's unknown operator
                problems, status_code = exc.problems, 400
            except NotFound as exc:  # an item not in the catalog
                problems, status_code = [f"item_id: {exc.message}"], exc.status_code
            except LehnzError as exc:
                problems, status_code = [exc.message], exc.status_code
    return _page(request, session, form, run, problems, status_code)


def _page(
    request: Request,
    session: SessionRecord,
    form: dict[str, str],
    run: Run | None,
    problems: list[str],
    status_code: int,
) -> Response:
    runtime = runtime_of(request)
    context = {
        "form": form,
        "endpoints": list(ENDPOINTS.values()),
        "used_by": USED_BY,
        "hints": HINTS,
        "modes": MODES,
        "run": run,
        "invalid": _invalid_fields(problems),
        "suggestions": _suggestions(runtime, session.organization_id),
        "max_filters": MAX_FILTERS_CHARS,
    }
    return render(
        request,
        "playground.html",
        context,
        session=session,
        active=PAGE,
        error="; ".join(problems)[:2000] or None,
        status_code=status_code,
    )
