"""Dashboard statistics: what recommendation lists were shown and what they earned."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lehnz.errors import ValidationFailed
from lehnz.store import Store
from lehnz.store import stats as queries
from lehnz.store.analytics_queries import DayActivity, daily_activity
from lehnz.store.stats import AttributionRow


@dataclass(frozen=True, slots=True)
class AttributionLine:
    """One line of the attribution report with its rates worked out: the API's answer and
    the dashboard's table are both made of these, so they can never disagree."""

    endpoint: str
    placement: str | None
    impressions: int
    clicks: int
    ctr: float
    add_to_carts: int
    conversions: int
    conversion_rate: float
    revenue: float


@dataclass(frozen=True, slots=True)
class AttributionSummary:
    rows: list[AttributionLine]
    total: AttributionLine


def _line(
    endpoint: str,
    placement: str | None,
    impressions: int,
    clicks: int,
    carts: int,
    conversions: int,
    revenue: float,
) -> AttributionLine:
    return AttributionLine(
        endpoint=endpoint,
        placement=placement,
        impressions=impressions,
        clicks=clicks,
        ctr=round(clicks / impressions, 4) if impressions else 0.0,
        add_to_carts=carts,
        conversions=conversions,
        conversion_rate=round(conversions / impressions, 4) if impressions else 0.0,
        revenue=round(revenue, 2),
    )


def summarize(rows: Sequence[AttributionRow]) -> AttributionSummary:
    """The report's lines and its total (endpoint ``all``): rates rounded to 4 places,
    revenue to cents, the total's rates worked out from its sums."""
    lines = [
        _line(
            r.endpoint,
            r.placement,
            r.impressions,
            r.clicks,
            r.add_to_carts,
            r.conversions,
            r.revenue,
        )
        for r in rows
    ]
    total = _line(
        "all",
        None,
        sum(r.impressions for r in rows),
        sum(r.clicks for r in rows),
        sum(r.add_to_carts for r in rows),
        sum(r.conversions for r in rows),
        sum(r.revenue for r in rows),
    )
    return AttributionSummary(rows=lines, total=total)


class StatsService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def attribution(
        self, *, organization_id: str, start: datetime, end: datetime
    ) -> list[AttributionRow]:
        if end <= start:
            raise ValidationFailed(["end: must be after start"])
        with self._store.read() as connection:
            return queries.attribution(
                connection, organization_id=organization_id, start=start, end=end
            )

    def attribution_summary(
        self, *, organization_id: str, start: datetime, end: datetime
    ) -> AttributionSummary:
        """``attribution`` as the API answers it: lines with rates, and a total."""
        return summarize(self.attribution(organization_id=organization_id, start=start, end=end))

    def daily(self, *, organization_id: str, start: datetime, end: datetime) -> list[DayActivity]:
        """Lists served and what they earned per UTC day in [start, end), for the charts:
        only days with something in them, oldest first."""
        if end <= start:
            raise ValidationFailed(["end: must be after start"])
        with self._store.read() as connection:
            return daily_activity(connection, organization_id=organization_id, start=start, end=end)
