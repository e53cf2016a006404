"""Requests and answers of the recommendation endpoints (``lehnz.api.recommend``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

from lehnz.catalog.models import ExternalId

Mode = Literal["auto", "semantic", "collaborative", "popular"]


def _integral(value: Any) -> Any:
    """``5.0`` as ``5``: JSON does not tell them apart (nor does JSON Schema's ``integer``).
    Strings, booleans and fractions are still refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Limit = Annotated[StrictInt, Field(ge=1, le=100), BeforeValidator(_integral)]
Page = Annotated[StrictInt, Field(ge=1), BeforeValidator(_integral)]


# What lehnz.serving.filters.parse_filters accepts: per key a bare value (equals) or an
# object of operators.
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
