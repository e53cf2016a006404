"""Dashboard statistics (developer token)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from lehnz.api.deps import Developer, RuntimeDep
from lehnz.api.envelope import Envelope, ok
from lehnz.stats import AttributionLine
from lehnz.timestamps import EARLIEST, WindowBound

_BOUND = "ISO 8601 date or date-time (no zone is UTC), or epoch seconds; clamped to 1970-9999"

router = APIRouter(prefix="/api/v1/stats", tags=["stats"])


class AttributionOut(BaseModel):
    endpoint: str
    placement: str | None
    impressions: int
    clicks: int
    ctr: float
    add_to_carts: int
    conversions: int
    conversion_rate: float
    revenue: float


class AttributionReport(BaseModel):
    start: datetime
    end: datetime
    rows: list[AttributionOut]
    total: AttributionOut


def _out(line: AttributionLine) -> AttributionOut:
    return AttributionOut(**asdict(line))


@router.get(
    "/attribution",
    summary="What recommendations earned",
    description="**Credential: developer token.** Per endpoint and placement: lists served "
    "(impressions), clicks, CTR, add-to-carts, conversions (purchases and custom conversion "
    "events) and revenue (price times quantity) credited through `recommendation_id`, between "
    "`start` (inclusive) and `end` (exclusive); default: the last 30 days.",
)
def attribution(
    developer: Developer,
    runtime: RuntimeDep,
    start: Annotated[WindowBound | None, Query(description=_BOUND)] = None,
    end: Annotated[WindowBound | None, Query(description=_BOUND)] = None,
) -> Envelope[AttributionReport]:
    end_at = end or datetime.now(UTC)
    start_at = start or max(end_at - timedelta(days=30), EARLIEST)
    summary = runtime.stats.attribution_summary(
        organization_id=developer.organization_id, start=start_at, end=end_at
    )
    out = [_out(line) for line in summary.rows]
    return ok(AttributionReport(start=start_at, end=end_at, rows=out, total=_out(summary.total)))
