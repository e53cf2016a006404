"""What the client sends and gets back: the server's own request and answer models, and the
few answers the server has no model for.

The models are the ones the server's routes use, from ``lehnz.wire`` (importable without the
server), so the client and the server cannot drift apart; their JSON is exactly what the API
answers (see ``/openapi.json``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from lehnz.catalog.models import ItemIn, UserIn
from lehnz.events.models import EventIn
from lehnz.wire.catalog import (
    ActivityOut,
    ErasureOut,
    EventPageOut,
    ItemOut,
    StoredEventOut,
    UpsertOut,
    UserOut,
)
from lehnz.wire.events import Accepted
from lehnz.wire.models import ModelOut
from lehnz.wire.recommend import (
    BasketRecommendations,
    BasketRequest,
    DocumentedRecommendation,
    Meta,
    Mode,
    PriceOptimizedRecommendations,
    PriceOptimizedRequest,
    RecommendRequest,
    SessionRequest,
    SimilarItems,
    UserRecommendations,
)
from lehnz.wire.uploads import EventImportReport, ImportReport, Rejection

__all__ = [
    "Accepted",
    "ActivityOut",
    "BasketRecommendations",
    "BasketRequest",
    "DocumentedRecommendation",
    "ErasureOut",
    "EventImportReport",
    "EventIn",
    "EventPageOut",
    "ImportReport",
    "ItemDeleted",
    "ItemIn",
    "ItemOut",
    "Meta",
    "Mode",
    "ModelList",
    "ModelOut",
    "PriceOptimizedRecommendations",
    "PriceOptimizedRequest",
    "RecommendRequest",
    "Rejection",
    "SessionRequest",
    "SimilarItems",
    "StoredEventOut",
    "TrackResult",
    "UpsertOut",
    "UserIn",
    "UserOut",
    "UserRecommendations",
]


class TrackResult(Accepted):
    """The ingest answer (``accepted``), and the ``event_id`` of each event sent, in order:
    the ones given, and those the client made up for events that had none. Sending an event
    again with the same ``event_id`` stores it once."""

    event_ids: list[str]


class ItemDeleted(BaseModel):
    """``DELETE /api/v1/items/{id}``: the item stays, with status ``deleted``."""

    item_id: str
    status: Literal["deleted"]


class ModelList(BaseModel):
    """``GET /api/v1/models``: the latest versions, newest first."""

    models: list[ModelOut]
