"""The recommendation endpoints (publishable key)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from lehnz.api import path_ids  # noqa: F401  (registers the {…:id} path convertor)
from lehnz.api.compact_json import CompactJSONResponse
from lehnz.api.deps import PublishableRequest
from lehnz.runtime import Runtime
from lehnz.serving.filters import parse_filters
from lehnz.serving.recommender import ListOptions, RankedPage
from lehnz.wire.recommend import (
    BasketRecommendations,
    BasketRequest,
    ListRequest,
    Mode,
    PriceOptimizedRecommendations,
    PriceOptimizedRequest,
    RecommendRequest,
    SessionRequest,
    SimilarItems,
    UserRecommendations,
)

router = APIRouter(tags=["recommendations"])

_CREDENTIAL = "**Credential: publishable key** (`X-API-KEY: lehnz_pk_…`). "


async def _served(
    request: Request,
    answer: Callable[..., dict[str, Any]],
    organization_id: str,
    *args: Any,
    **options: Any,
) -> CompactJSONResponse:
    """The answer, computed on the event loop or on a request thread as
    ``LEHNZ_RECOMMEND_ON_EVENT_LOOP`` says (``create_app`` decides once, into the app's
    state): with SQLite a whole answer costs less than the hand-over to a thread and back.
    An organisation whose model or catalog is not in memory yet goes to a thread even so."""
    runtime: Runtime = request.app.state.runtime
    if request.app.state.recommend_on_loop and runtime.recommender.is_warm(organization_id):
        return CompactJSONResponse(answer(runtime, organization_id, *args, **options))
    return CompactJSONResponse(
        await run_in_threadpool(answer, runtime, organization_id, *args, **options)
    )


def _documented(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": "The ranked list"}}


def _options(body: ListRequest, limit: int) -> ListOptions:
    return ListOptions(
        limit=limit,
        page=body.page,
        filters=parse_filters(body.filters),
        exclude=set(body.exclude_item_ids),
        include_attributes=body.include_attributes,
    )


def _answer(page: RankedPage, options: ListOptions, **fields: Any) -> dict[str, Any]:
    """The answer in ``RecommendationAnswer``'s shape, built as the plain dict it is sent
    as: building the Pydantic models only to dump them again was a tenth of a request's
    time (tests/api/test_serving_path.py validates every answer against the models)."""
    extra = dict(page.extra)
    version = extra.pop("model_version", None)
    recommendations: list[dict[str, Any]] = []
    for item in page.items:
        entry = {"item_id": item.item_id, "score": item.score, "reason": item.reason}
        if options.include_attributes:
            entry["attributes"] = item.attributes
        recommendations.append(entry)
    return {
        "success": True,
        "recommendation_id": page.recommendation_id,
        "all_item_ids": [item.item_id for item in page.items],
        "recommendations": recommendations,
        "meta": {
            "total_items": page.total,
            "total_pages": -(-page.total // options.limit),
            "page": options.page,
            "limit": options.limit,
            "model_version": version,
        },
        **extra,
        **fields,
    }


@router.post(
    "/recommend",
    response_model=None,
    responses=_documented(UserRecommendations),
    summary="Personalised list for a user",
    description=_CREDENTIAL
    + "Collaborative filtering on the user's weighted events (folded in at request time, so "
    "lists move within seconds), repeat purchases where this store's shoppers re-buy, "
    "trending items for unknown users. `placement`: `home`, `cart` (blends in what goes with "
    "the cart), `pdp` (blends in items like the last one viewed), or any string (as home).",
)
async def recommend(
    body: RecommendRequest, key: PublishableRequest, request: Request
) -> CompactJSONResponse:
    return await _served(request, serve_recommend, key.organization_id, body)


# The answers, apart from the HTTP handlers: the dashboard's playground serves (and logs) the
# very same lists, so each rule is written once. The handlers send them as a JSONResponse:
# they are plain JSON already, and FastAPI's own encoding of a returned dict walks every
# value again in Python (jsonable_encoder) before the C encoder runs.


def serve_recommend(
    runtime: Runtime, organization_id: str, body: RecommendRequest
) -> dict[str, Any]:
    options = _options(body, body.limit)
    page = runtime.recommender.for_user(
        organization_id=organization_id,
        user_id=body.user_id,
        options=options,
        placement=body.placement,
        include_purchased=body.include_purchased,
        mode=body.mode,
        endpoint="/recommend",
    )
    return _answer(page, options, user_id=body.user_id, placement=body.placement)


@router.post(
    "/recommend/price_optimized",
    response_model=None,
    responses=_documented(PriceOptimizedRecommendations),
    summary="Personalised list re-ranked to the user's price range",
    description=_CREDENTIAL
    + "The personalised list, re-ranked toward the prices this user usually engages with.",
)
async def price_optimized(
    body: PriceOptimizedRequest, key: PublishableRequest, request: Request
) -> CompactJSONResponse:
    return await _served(request, serve_price_optimized, key.organization_id, body)


def serve_price_optimized(
    runtime: Runtime, organization_id: str, body: PriceOptimizedRequest
) -> dict[str, Any]:
    options = _options(body, body.limit)
    page = runtime.recommender.for_user(
        organization_id=organization_id,
        user_id=body.user_id,
        options=options,
        placement=body.placement,
        include_purchased=None,
        mode=body.mode,
        endpoint="/recommend/price_optimized",
        price_optimized=True,
    )
    return _answer(page, options, user_id=body.user_id, source="price_optimized")


@router.get(
    "/item/{item_id:id}",
    response_model=None,
    responses=_documented(SimilarItems),
    summary="Items similar to an item",
    description=_CREDENTIAL
    + '"Customers also viewed". `mode`: `semantic` (default; by the item\'s text), '
    "`collaborative` (by shoppers' behaviour), `auto` (blended by how much behaviour the item "
    "has) or `popular`. Unknown item: 404.",
)
async def similar_item(
    item_id: str,
    key: PublishableRequest,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 4,
    page: Annotated[int, Query(ge=1)] = 1,
    mode: Mode = "semantic",
    include_attributes: bool = False,
) -> CompactJSONResponse:
    return await _served(
        request,
        serve_similar_item,
        key.organization_id,
        item_id,
        limit=limit,
        page=page,
        mode=mode,
        include_attributes=include_attributes,
    )


def serve_similar_item(
    runtime: Runtime,
    organization_id: str,
    item_id: str,
    *,
    limit: int,
    page: int,
    mode: Mode,
    include_attributes: bool,
) -> dict[str, Any]:
    options = ListOptions(limit=limit, page=page, include_attributes=include_attributes)
    ranked = runtime.recommender.similar_item(
        organization_id=organization_id,
        item_id=item_id,
        options=options,
        mode=mode,
        endpoint="/item",
    )
    return _answer(ranked, options)


@router.post(
    "/recommend/session",
    response_model=None,
    responses=_documented(SimilarItems),
    summary="Items nearest to a clicked item",
    description=_CREDENTIAL
    + '"Because you viewed X": nearest neighbours of `clicked_item_id`; `auto` blends '
    "collaborative and semantic neighbours by how much behaviour the item has. Unknown item: "
    "404.",
)
async def session(
    body: SessionRequest, key: PublishableRequest, request: Request
) -> CompactJSONResponse:
    return await _served(request, serve_session, key.organization_id, body)


def serve_session(runtime: Runtime, organization_id: str, body: SessionRequest) -> dict[str, Any]:
    options = _options(body, body.limit)
    page = runtime.recommender.similar_item(
        organization_id=organization_id,
        item_id=body.clicked_item_id,
        options=options,
        mode=body.mode,
        endpoint="/recommend/session",
    )
    return _answer(page, options)


@router.post(
    "/recommend/basket",
    response_model=None,
    responses=_documented(BasketRecommendations),
    summary="Items bought together with a cart",
    description=_CREDENTIAL
    + "Co-occurrence within carts, checkouts, purchases and sessions, normalised so "
    "best-sellers do not win everything, summed over the cart's items.",
)
async def basket(
    body: BasketRequest, key: PublishableRequest, request: Request
) -> CompactJSONResponse:
    return await _served(request, serve_basket, key.organization_id, body)


def serve_basket(runtime: Runtime, organization_id: str, body: BasketRequest) -> dict[str, Any]:
    options = _options(body, body.limit)
    page = runtime.recommender.basket(
        organization_id=organization_id,
        item_ids=list(dict.fromkeys(body.item_ids)),
        options=options,
        endpoint="/recommend/basket",
        user_id=body.user_id,
    )
    return _answer(page, options)
