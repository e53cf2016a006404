"""Per-day totals for the dashboard's Analytics charts: lists served and what they earned.

Each query groups by the UTC calendar day inside the database, so what comes back is one row
per day that has data (bounded by the period's length), never one row per event. The day is
worked out per dialect: SQLite keeps naive UTC text, PostgreSQL a ``timestamptz``. Every query
is scoped by organisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Connection, String, case, func, select

from lehnz.store.tables import attributions, recommendation_logs


@dataclass
class DayActivity:
    day: date
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    revenue: float = 0.0


def _day_of(connection: Connection, column: ColumnElement[datetime]) -> ColumnElement[str]:
    """``column``'s UTC calendar day as ``YYYY-MM-DD`` text."""
    if connection.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD", type_=String)
    return func.date(column, type_=String)


def daily_activity(
    connection: Connection, *, organization_id: str, start: datetime, end: datetime
) -> list[DayActivity]:
    """Per UTC day: lists served in [start, end) and the clicks, conversions and revenue
    credited to lists that happened in [start, end) (the same rules as
    ``store.stats.attribution``), oldest day first; days without either are left out."""
    days: dict[date, DayActivity] = {}

    def day(text: str) -> DayActivity:
        key = date.fromisoformat(text)
        return days.setdefault(key, DayActivity(key))

    served_day = _day_of(connection, recommendation_logs.c.created_at).label("day")
    served = connection.execute(
        select(served_day, func.count())
        .where(
            recommendation_logs.c.organization_id == organization_id,
            recommendation_logs.c.created_at >= start,
            recommendation_logs.c.created_at < end,
        )
        .group_by(served_day)
    )
    for text, count in served:
        day(text).impressions = int(count)

    def count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.sum(case((condition, 1), else_=0))

    credited_day = _day_of(connection, attributions.c.occurred_at).label("day")
    credited = connection.execute(
        select(
            credited_day,
            count_where(attributions.c.event_name == "click"),
            count_where(attributions.c.family == "conversion"),
            func.coalesce(func.sum(attributions.c.revenue), 0.0),
        )
        .where(
            attributions.c.organization_id == organization_id,
            attributions.c.occurred_at >= start,
            attributions.c.occurred_at < end,
        )
        .group_by(credited_day)
    )
    for text, clicks, conversions, revenue in credited:
        row = day(text)
        row.clicks = int(clicks or 0)
        row.conversions = int(conversions or 0)
        row.revenue = float(revenue or 0.0)
    return sorted(days.values(), key=lambda d: d.day)
