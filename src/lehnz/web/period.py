"""The period a dashboard report covers, read from ``?start=&end=`` by the API's own rules.

Both bounds go through ``WindowBound``, the type the API's ``start`` and ``end`` use, so a
value means the same on a page as in ``GET /api/v1/stats/attribution`` (ISO 8601 date or
date-time, or epoch seconds; clamped to 1970-9999) and a value the API refuses is refused
here with the field named. Two conveniences for date pickers, and only those: a bare date as
``end`` means "through the end of that day" (the API's ``end`` is exclusive, so the window
runs to the next midnight), and no bounds at all means the last 30 whole days, today included.
The chart buckets are worked out here too, so a period of any length draws a bounded chart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from pydantic import TypeAdapter, ValidationError

from lehnz.errors import ValidationFailed
from lehnz.store.analytics_queries import DayActivity
from lehnz.timestamps import EARLIEST, LATEST, WindowBound

#: The quick links every report offers: (link name, days).
QUICK_PERIODS = (("Last 7 days", 7), ("Last 30 days", 30), ("Last 90 days", 90))
DEFAULT_DAYS = 30
#: The most points a chart draws; longer periods are drawn by month, then clipped.
MAX_BUCKETS = 366
#: The fewest days a chart of a long period's data span shows.
MIN_SPAN_DAYS = 7

_BOUND = TypeAdapter(WindowBound)
_BARE_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SHOWABLE = re.compile(r"[^\x20-\x7e]")


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) in UTC, and the days the form's From and To boxes show (To inclusive)."""

    start: datetime
    end: datetime

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        """The last day with any part in the period."""
        return max((self.end - timedelta(microseconds=1)).date(), self.first_day)

    @property
    def whole_days(self) -> bool:
        """True when the period runs from a midnight to a midnight."""
        return self.start.time() == time() and self.end.time() == time()

    def page_query(self) -> str:
        """The page's own query string for exactly this period: From and To as dates when
        the period is whole days, else the exact instants."""
        if self.whole_days:
            return f"start={self.first_day.isoformat()}&end={self.last_day.isoformat()}"
        return self.api_query()

    def api_query(self) -> str:
        """The exact ``start``/``end`` that ask the API for the same numbers."""
        return f"start={_instant(self.start)}&end={_instant(self.end)}"


def _instant(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def last_days(days: int, *, today: date) -> Period:
    """The last ``days`` whole UTC days, today included."""
    midnight = datetime.combine(today, time(), UTC)
    return Period(start=midnight - timedelta(days=days - 1), end=midnight + timedelta(days=1))


def shown(value: str | None) -> str:
    """A raw form value safe to put back in its box: printable ASCII, at most 40 characters."""
    return _SHOWABLE.sub("", value or "")[:40]


def _bound(field: str, value: str, problems: list[str]) -> datetime | None:
    try:
        return _BOUND.validate_python(value)
    except ValidationError as exc:
        message = str(exc.errors()[0].get("msg", "invalid"))
        problems.append(f"{field}: {message[:1].lower()}{message[1:]}")
        return None


def parse_period(start: str | None, end: str | None, *, now: datetime) -> Period:
    """The period ``?start=&end=`` asks for; ``ValidationFailed`` naming ``start`` or
    ``end`` when a bound is not a date the API would take, or ends before it starts. An
    empty box counts as not given."""
    start, end = start or None, end or None
    if start is None and end is None:
        return last_days(DEFAULT_DAYS, today=now.date())
    problems: list[str] = []
    start_at = _bound("start", start, problems) if start is not None else None
    end_at = _bound("end", end, problems) if end is not None else None
    if problems:
        raise ValidationFailed(problems)
    if end_at is None:
        end_at = now
    elif end is not None and _BARE_DATE.fullmatch(end.strip()):
        end_at = min(end_at, LATEST - timedelta(days=1)) + timedelta(days=1)
    if start_at is None:
        start_at = max(end_at - timedelta(days=DEFAULT_DAYS), EARLIEST)
    if end_at <= start_at:
        raise ValidationFailed(["end: must be after start"])
    return Period(start=start_at, end=end_at)


@dataclass(frozen=True, slots=True)
class Buckets:
    """What the per-day charts draw: one label and one value per bucket and series."""

    unit: str  # "day" or "month"
    labels: list[str]
    impressions: list[float]
    clicks: list[float]
    conversions: list[float]
    revenue: list[float]
    clipped: bool  # True when the charts show less than the whole period


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day_label(day: date) -> str:
    """``Nov 3``: short enough for eight labels across a chart; the year is in the period."""
    return f"{_MONTHS[day.month - 1]} {day.day}"


def _month_label(month: date) -> str:
    return f"{_MONTHS[month.month - 1]} {month.year}"


def _month(day: date) -> date:
    return day.replace(day=1)


def _months(first: date, last: date) -> list[date]:
    months, current = [], _month(first)
    while current <= last:
        months.append(current)
        if current.year == date.max.year and current.month == 12:
            break
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def buckets(period: Period, activity: Sequence[DayActivity]) -> Buckets:
    """Per-day totals laid out for the charts: one point per day of the period; for a period
    longer than ``MAX_BUCKETS`` days, only the span that holds data (a week at least), and
    by month when that is still too long (at most ``MAX_BUCKETS`` months, the latest)."""
    first, last = period.first_day, period.last_day
    clipped = False
    if (last - first).days + 1 > MAX_BUCKETS:
        clipped = True
        if activity:
            first, last = max(first, activity[0].day), min(last, activity[-1].day)
            # A week at least, so that one day of data still draws a line.
            first = max(min(first, last - timedelta(days=MIN_SPAN_DAYS - 1)), period.first_day)
        else:
            first = last - timedelta(days=MAX_BUCKETS - 1)
    if (last - first).days + 1 <= MAX_BUCKETS:
        unit = "day"
        keys = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    else:
        unit = "month"
        keys = _months(first, last)
        if len(keys) > MAX_BUCKETS:
            keys = keys[-MAX_BUCKETS:]
    index = {key: n for n, key in enumerate(keys)}
    series: dict[str, list[float]] = {
        name: [0.0] * len(keys) for name in ("impressions", "clicks", "conversions", "revenue")
    }
    for day in activity:
        n = index.get(day.day if unit == "day" else _month(day.day))
        if n is None:
            continue
        series["impressions"][n] += day.impressions
        series["clicks"][n] += day.clicks
        series["conversions"][n] += day.conversions
        series["revenue"][n] += day.revenue
    labels = [_day_label(key) if unit == "day" else _month_label(key) for key in keys]
    return Buckets(unit=unit, labels=labels, clipped=clipped, **series)
