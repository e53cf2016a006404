"""Answers of the item and user endpoints (``lehnz.api.catalog``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class UpsertOut(BaseModel):
    upserted: int
    created: int
    updated: int


class ItemOut(BaseModel):
    item_id: str
    item_type: str
    status: str
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ActivityOut(BaseModel):
    """What the pipeline has derived from the user's events so far."""

    user_id: str = Field(description="The identified user this id resolves to.")
    events: int = Field(description="Events applied to the user's state.")
    last_event_at: datetime | None
    recent_items: list[str] = Field(description="Items of the latest events, newest first.")
    cart: dict[str, float]
    purchased: dict[str, int]
    typical_price: float | None = Field(description="Median price of items engaged with.")


class UserOut(BaseModel):
    user_id: str
    attributes: dict[str, Any] | None = Field(description="Null when no profile was sent.")
    created_at: datetime | None
    updated_at: datetime | None
    activity: ActivityOut | None = Field(description="Null until the user's first event.")


class ErasureOut(BaseModel):
    user_id: str
    erased: dict[str, int]


class StoredEventOut(BaseModel):
    event_id: str | None
    user_id: str
    event_name: str
    item_id: str | None
    session_id: str | None
    recommendation_id: str | None
    previous_user_id: str | None
    context: Any
    timestamp: datetime
    received_at: datetime


class EventPageOut(BaseModel):
    user_id: str = Field(description="The identified user the requested id resolves to.")
    user_ids: list[str] = Field(description="Every id whose events are included.")
    events: list[StoredEventOut]
    next: str | None = Field(description="Pass as `before` for the next page; null at the end.")
