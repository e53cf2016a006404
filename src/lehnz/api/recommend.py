"""The recommendation endpoints (publishable key)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

from lehnz.api import path_ids  # noqa: F401  (registers the {…:id} path convertor)
from lehnz.api.deps import PublishableKey, RuntimeDep
from lehnz.api.envelope import ERROR_RESPONSES
from lehnz.catalog.models import ExternalId
from lehnz.serving.filters import parse_filters
from lehnz.serving.recommender import ListOptions, RankedPage

router = APIRouter(tags=["recommendations"], responses=ERROR_RESPONSES)

Mode = Literal["auto", "semantic", "collaborative", "popular"]


def _integral(value: Any) -> Any:
    """``5.0`` as ``5``: JSON does not tell them apart (nor does JSON Schema's ``integer``).
    Strings, booleans and fractions are still refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Limit = Annotated[StrictInt, Field(ge=1, le=100), BeforeValidator(_integral)]
Page = Annotated[StrictInt, Field(ge=1), BeforeValidator(_integral)]
_CREDENTIAL = "**Credential: publishable key** (`X-API-KEY: lehnz_pk_…`). "


# What parse_filters accepts: per key a bare value (equals) or an object of operators.
_FILTERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {
        "anyOf": [
            {"not": {"type": "object"}},
            {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": False,
                "properties": {
                    **{op: {} for op in ("eq", "ne", "gt", "gte", "lt", "lte")},
                    "in": {"type": "array"},
                    "nin": {"type": "array"},
                    "exists": {"type": "boolean"},
                },
            },
        ]
    },
}


class ListRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    page: Page = 1
    filters: dict[str, Any] | None = Field(
        default=None,
        description='Attribute conditions, e.g. `{"price": {"lt": 50}}`.',
        json_schema_extra={"anyOf": [_FILTERS_SCHEMA, {"type": "null"}]},
    )
    exclude_item_ids: list[str] = Field(default_factory=list)
    include_attributes: StrictBool = False


class RecommendRequest(ListRequest):
    user_id: ExternalId
    limit: Limit = 12
    placement: Annotated[str, Field(max_length=256)] | None = None
    include_purchased: StrictBool | None = None
    mode: Mode = "auto"


class PriceOptimizedRequest(ListRequest):
    user_id: ExternalId
    limit: Limit = 10
    placement: Annotated[str, Field(max_length=256)] | None = None
    mode: Mode = "auto"


class SessionRequest(ListRequest):
    clicked_item_id: ExternalId
    limit: Limit = 10
    mode: Mode = "auto"


class BasketRequest(ListRequest):
    item_ids: Annotated[list[ExternalId], Field(min_length=1, max_length=100)]
    limit: Limit = 10
    user_id: ExternalId | None = None


class Recommendation(BaseModel):
    item_id: str
    score: float
    reason: str
    attributes: dict[str, Any] | None = None


class Meta(BaseModel):
    total_items: int
    total_pages: int
    page: int
    limit: int
    model_version: int | None


class RecommendationAnswer(BaseModel):
    """The reference's shape: fields at the top level, ``success`` beside them."""

    model_config = ConfigDict(extra="allow")

    success: bool = True
    recommendation_id: str
    all_item_ids: list[str]
    recommendations: list[Recommendation]
    meta: Meta


# The answers as documented: each endpoint's own fields beside the common ones. The routes
# build a ``RecommendationAnswer`` and answer its dump (``attributes`` only when asked for).
_SOURCE = (
    "Where the list came from: `personalized`, `cold_start`, `popular`, `co_occurrence`, "
    "`price_optimized`, or `catalog` (before the first model)."
)


class DocumentedRecommendation(BaseModel):
    item_id: str
    score: float
    reason: str
    attributes: dict[str, Any] | None = Field(
        default=None, description='Only with `"include_attributes": true`.'
    )


class DocumentedAnswer(BaseModel):
    success: bool
    recommendation_id: str = Field(description="`rec_` + random; send it with events.")
    all_item_ids: list[str] = Field(description="The page's items, best first.")
    recommendations: list[DocumentedRecommendation] = Field(
        description="The same items, in the same order, with score and reason."
    )
    meta: Meta


class UserRecommendations(DocumentedAnswer):
    source: str = Field(description=_SOURCE)
    user_id: str
    placement: str | None


class PriceOptimizedRecommendations(DocumentedAnswer):
    source: str = Field(description=_SOURCE)
    user_id: str


class SimilarItems(DocumentedAnswer):
    source: str | None = Field(default=None, description=_SOURCE)
    item_id: str
    mode: Mode


class BasketRecommendations(DocumentedAnswer):
    source: str = Field(description=_SOURCE)
    basket_items: list[str]


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


def _answer(page: RankedPage, options: ListOptions, **fields: Any) -> RecommendationAnswer:
    extra = dict(page.extra)
    version = extra.pop("model_version", None)
    recommendations = [
        Recommendation(
            item_id=item.item_id,
            score=item.score,
            reason=item.reason,
            attributes=item.attributes if options.include_attributes else None,
        )
        for item in page.items
    ]
    return RecommendationAnswer(
        recommendation_id=page.recommendation_id,
        all_item_ids=[item.item_id for item in page.items],
        recommendations=recommendations,
        meta=Meta(
            total_items=page.total,
            total_pages=-(-page.total // options.limit),
            page=options.page,
            limit=options.limit,
            model_version=version,
        ),
        **{**extra, **fields},
    )


def _dump(answer: RecommendationAnswer, include_attributes: bool) -> dict[str, Any]:
    data = answer.model_dump()
    if not include_attributes:
        for item in data["recommendations"]:
            item.pop("attributes", None)
    return data


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
def recommend(body: RecommendRequest, key: PublishableKey, runtime: RuntimeDep) -> dict[str, Any]:
    options = _options(body, body.limit)
    page = runtime.recommender.for_user(
        organization_id=key.organization_id,
        user_id=body.user_id,
        options=options,
        placement=body.placement,
        include_purchased=body.include_purchased,
        mode=body.mode,
        endpoint="/recommend",
    )
    answer = _answer(page, options, user_id=body.user_id, placement=body.placement)
    return _dump(answer, body.include_attributes)


@router.post(
    "/recommend/price_optimized",
    response_model=None,
    responses=_documented(PriceOptimizedRecommendations),
    summary="Personalised list re-ranked to the user's price range",
    description=_CREDENTIAL
    + "The personalised list, re-ranked toward the prices this user usually engages with.",
)
def price_optimized(
    body: PriceOptimizedRequest, key: PublishableKey, runtime: RuntimeDep
) -> dict[str, Any]:
    options = _options(body, body.limit)
    page = runtime.recommender.for_user(
        organization_id=key.organization_id,
        user_id=body.user_id,
        options=options,
        placement=body.placement,
        include_purchased=None,
        mode=body.mode,
        endpoint="/recommend/price_optimized",
        price_optimized=True,
    )
    answer = _answer(page, options, user_id=body.user_id, source="price_optimized")
    return _dump(answer, body.include_attributes)


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
def similar_item(
    item_id: str,
    key: PublishableKey,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 4,
    page: Annotated[int, Query(ge=1)] = 1,
    mode: Mode = "semantic",
    include_attributes: bool = False,
) -> dict[str, Any]:
    options = ListOptions(limit=limit, page=page, include_attributes=include_attributes)
    ranked = runtime.recommender.similar_item(
        organization_id=key.organization_id,
        item_id=item_id,
        options=options,
        mode=mode,
        endpoint="/item",
    )
    return _dump(_answer(ranked, options), include_attributes)


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
def session(body: SessionRequest, key: PublishableKey, runtime: RuntimeDep) -> dict[str, Any]:
    options = _options(body, body.limit)
    page = runtime.recommender.similar_item(
        organization_id=key.organization_id,
        item_id=body.clicked_item_id,
        options=options,
        mode=body.mode,
        endpoint="/recommend/session",
    )
    return _dump(_answer(page, options), body.include_attributes)


@router.post(
    "/recommend/basket",
    response_model=None,
    responses=_documented(BasketRecommendations),
    summary="Items bought together with a cart",
    description=_CREDENTIAL
    + "Co-occurrence within carts, checkouts, purchases and sessions, normalised so "
    "best-sellers do not win everything, summed over the cart's items.",
)
def basket(body: BasketRequest, key: PublishableKey, runtime: RuntimeDep) -> dict[str, Any]:
    options = _options(body, body.limit)
    page = runtime.recommender.basket(
        organization_id=key.organization_id,
        item_ids=list(dict.fromkeys(body.item_ids)),
        options=options,
        endpoint="/recommend/basket",
        user_id=body.user_id,
    )
    return _dump(_answer(page, options), body.include_attributes)
