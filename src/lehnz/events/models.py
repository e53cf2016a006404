"""What an event is, as the store sends it (ingest, uploads and the CLI alike)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    StringConstraints,
    field_validator,
    model_validator,
)

from lehnz.catalog.models import ExternalId, StorableJson
from lehnz.timestamps import Timestamp

STANDARD_EVENTS = (
    "view",
    "search",
    "click",
    "add_to_cart",
    "remove_from_cart",
    "checkout_start",
    "purchase",
    "identify",
)

# Backfilled events may be old; events from the future are a clock bug at the sender.
_MAX_CLOCK_SKEW = timedelta(hours=24)


class EventIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user_id: ExternalId
    event_name: ExternalId
    item_id: ExternalId | None = None
    session_id: Annotated[str, StringConstraints(max_length=256)] | None = None
    recommendation_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    previous_user_id: ExternalId | None = None
    context: StorableJson = None
    timestamp: Timestamp | None = None
    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None

    @field_validator("timestamp")
    @classmethod
    def _not_in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value > datetime.now(UTC) + _MAX_CLOCK_SKEW:
            raise ValueError("timestamp is in the future")
        return value

    @model_validator(mode="after")
    def _identify_names_the_previous_user(self) -> EventIn:
        if self.event_name == "identify" and not self.previous_user_id:
            raise ValueError("previous_user_id is required for identify events")
        return self
