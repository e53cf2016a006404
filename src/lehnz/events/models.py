"""What an event is, as the store sends it (ingest, uploads and the CLI alike)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    StringConstraints,
    field_validator,
    model_validator,
)

from lehnz.catalog.models import ExternalId, StorableJson

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
# No shop's events predate the Unix epoch; a number that far out is a unit or clock bug.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_EARLIEST_EPOCH = 0
# Year 9999: past it no date can be stored; the clock-skew check then refuses the future.
_LATEST_EPOCH = 253_402_300_799
_RANGE_REASON = (
    "timestamp out of range: an ISO 8601 date-time or epoch seconds from 1970 on (not milliseconds)"
)


class EventIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user_id: ExternalId
    event_name: ExternalId
    item_id: ExternalId | None = None
    session_id: Annotated[str, StringConstraints(max_length=256)] | None = None
    recommendation_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    previous_user_id: ExternalId | None = None
    context: StorableJson = None
    timestamp: datetime | None = None
    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None

    @field_validator("timestamp", mode="before")
    @classmethod
    def _epoch_seconds_or_iso(cls, value: Any) -> Any:
        # Pydantic reads a large number as milliseconds; the contract says epoch seconds.
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not _EARLIEST_EPOCH <= value <= _LATEST_EPOCH:  # also NaN and infinities
                raise ValueError(_RANGE_REASON)
            return datetime.fromtimestamp(value, UTC)
        return value

    @field_validator("timestamp")
    @classmethod
    def _utc_and_not_in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        try:
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError:  # year 1 or 9999 moved across midnight by its offset
            raise ValueError(_RANGE_REASON) from None
        if value < _EARLIEST:
            raise ValueError(_RANGE_REASON)
        if value > datetime.now(UTC) + _MAX_CLOCK_SKEW:
            raise ValueError("timestamp is in the future")
        return value

    @model_validator(mode="after")
    def _identify_names_the_previous_user(self) -> EventIn:
        if self.event_name == "identify" and not self.previous_user_id:
            raise ValueError("previous_user_id is required for identify events")
        return self
