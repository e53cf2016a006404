"""Aggregates for the dashboard: what recommendation lists were shown and what they earned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, case, func, select

from lehnz.store.tables import attributions, recommendation_logs


@dataclass
class AttributionRow:
    endpoint: str
    placement: str | None
    impressions: int = 0
    clicks: int = 0
    add_to_carts: int = 0
    conversions: int = 0
    revenue: float = 0.0


def attribution(
    connection: Connection, *, organization_id: str, start: datetime, end: datetime
) -> list[AttributionRow]:
    """Per (endpoint, placement): lists served in [start, end) and the events credited to
    them that happened in [start, end)."""
    rows: dict[tuple[str, str | None], AttributionRow] = {}
    served = connection.execute(
        select(recommendation_logs.c.endpoint, recommendation_logs.c.placement, func.count())
        .where(
            recommendation_logs.c.organization_id == organization_id,
            recommendation_logs.c.created_at >= start,
            recommendation_logs.c.created_at < end,
        )
        .group_by(recommendation_logs.c.endpoint, recommendation_logs.c.placement)
    )
    for endpoint, placement, count in served:
        rows[(endpoint, placement)] = AttributionRow(endpoint, placement, impressions=int(count))

    def count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.sum(case((condition, 1), else_=0))

    credited = connection.execute(
        select(
            attributions.c.endpoint,
            attributions.c.placement,
            count_where(attributions.c.event_name == "click"),
            count_where(attributions.c.event_name == "add_to_cart"),
            count_where(attributions.c.family == "conversion"),
            func.coalesce(func.sum(attributions.c.revenue), 0.0),
        )
        .where(
            attributions.c.organization_id == organization_id,
            attributions.c.occurred_at >= start,
            attributions.c.occurred_at < end,
        )
        .group_by(attributions.c.endpoint, attributions.c.placement)
    )
    for endpoint, placement, clicks, carts, conversions, revenue in credited:
        row = rows.setdefault((endpoint, placement), AttributionRow(endpoint, placement))
        row.clicks = int(clicks or 0)
        row.add_to_carts = int(carts or 0)
        row.conversions = int(conversions or 0)
        row.revenue = float(revenue or 0.0)
    return sorted(rows.values(), key=lambda r: (r.endpoint, r.placement or ""))
