"""An organisation's event activity for the dashboard: the newest events and a live feed of
those after a cursor, counts by name over a window, the ingest rate and the pipeline's lag.

Read-only, and every read is one organisation's; see ``store.events_page_queries`` for how
the reads stay on the organisation's index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lehnz.errors import ValidationFailed
from lehnz.store import Store
from lehnz.store import events_page_queries as queries
from lehnz.store.events import StoredEvent
from lehnz.store.events_page_queries import Unit
from lehnz.store.types import utcnow

#: The windows the counts chart offers: (label, bucket unit, number of buckets).
WINDOWS: dict[str, tuple[str, Unit, int]] = {
    "24h": ("Last 24 hours, per hour", "hour", 24),
    "7d": ("Last 7 days, per day", "day", 7),
}
#: Names charted on their own; the rest are summed as "other".
TOP_NAMES = 6
OTHER = "other"

_SEQ = re.compile(r"[0-9]{1,19}")
_MAX_SEQ = 2**63 - 1


def decode_after(value: str | None) -> int:
    """The feed's cursor: the ``data-seq`` of the newest event shown (0 or absent: none)."""
    if value is None or value == "":
        return 0
    if not _SEQ.fullmatch(value) or int(value) > _MAX_SEQ:
        raise ValidationFailed(["after: a sequence number (0 to 2^63-1) from a previous answer"])
    return int(value)


def check_window(value: str) -> str:
    if value not in WINDOWS:
        raise ValidationFailed([f"window: one of {', '.join(WINDOWS)}"])
    return value


@dataclass(frozen=True, slots=True)
class Rate:
    last_minute: int
    last_hour: int
    capped: bool

    @property
    def per_minute(self) -> float:
        """The last hour's average per minute."""
        return self.last_hour / 60


@dataclass(frozen=True, slots=True)
class Lag:
    unapplied: int
    capped: bool
    oldest_seconds: float | None

    @property
    def up_to_date(self) -> bool:
        return self.unapplied == 0


@dataclass(frozen=True, slots=True)
class Counts:
    window: str
    labels: list[str]  # one per bucket, oldest first
    starts: list[datetime]
    series: list[tuple[str, list[int]]]  # (event name or "other", count per bucket)

    def totals(self) -> list[int]:
        return [sum(values[i] for _, values in self.series) for i in range(len(self.labels))]


@dataclass(frozen=True, slots=True)
class Feed:
    events: list[StoredEvent]  # newest first
    more: bool  # older new events were left out (more than the limit arrived)
    last_seq: int  # the cursor for the next poll
    rate: Rate
    lag: Lag


def _bucket_starts(now: datetime, unit: Unit, count: int) -> list[datetime]:
    if unit == "hour":
        current = now.replace(minute=0, second=0, microsecond=0)
        step = timedelta(hours=1)
    else:
        current = now.replace(hour=0, minute=0, second=0, microsecond=0)
        step = timedelta(days=1)
    return [current - step * (count - 1 - i) for i in range(count)]


def _bucket_key(start: datetime, unit: Unit) -> str:
    return start.strftime("%Y-%m-%d %H" if unit == "hour" else "%Y-%m-%d")


def _bucket_label(start: datetime, unit: Unit) -> str:
    return start.strftime("%H:00" if unit == "hour" else "%b %d")


def value_of(event: StoredEvent) -> float | None:
    """The money an event carries, if any: its context's ``value``, else ``price``."""
    context: Any = event.context if isinstance(event.context, dict) else {}
    for key in ("value", "price"):
        amount = context.get(key)
        if isinstance(amount, int | float) and not isinstance(amount, bool):
            return float(amount)
    return None


class EventActivity:
    def __init__(self, store: Store) -> None:
        self._store = store

    def latest(self, *, organization_id: str, limit: int = 50) -> list[StoredEvent]:
        with self._store.read() as connection:
            return queries.latest(connection, organization_id=organization_id, limit=limit)

    def feed(self, *, organization_id: str, after: int, limit: int = 100) -> Feed:
        with self._store.read() as connection:
            rows, more = queries.newer_than(
                connection, organization_id=organization_id, after=after, limit=limit
            )
        return Feed(
            events=rows,
            more=more,
            last_seq=rows[0].seq if rows else after,
            rate=self.rate(organization_id=organization_id),
            lag=self.lag(organization_id=organization_id),
        )

    def rate(self, *, organization_id: str, now: datetime | None = None) -> Rate:
        now = now or utcnow()
        hour_ago = now - timedelta(hours=1)
        with self._store.read() as connection:
            start = queries.first_seq_since(
                connection, organization_id=organization_id, since=hour_ago
            )
            if start is None:
                return Rate(0, 0, False)
            minute, hour, capped = queries.received_counts(
                connection,
                organization_id=organization_id,
                from_seq=start,
                since=hour_ago,
                recent_since=now - timedelta(minutes=1),
            )
        return Rate(minute, hour, capped)

    def lag(self, *, organization_id: str, now: datetime | None = None) -> Lag:
        now = now or utcnow()
        # One moment: the cursor and the rows past it as of the same commit.
        with self._store.snapshot() as connection:
            found = queries.lag(connection, organization_id=organization_id)
        oldest = found.oldest_received_at
        age = None if oldest is None else max(0.0, (now - oldest.astimezone(UTC)).total_seconds())
        return Lag(found.unapplied, found.capped, age)

    def counts(self, *, organization_id: str, window: str, now: datetime | None = None) -> Counts:
        """Events received per bucket by name: the ``TOP_NAMES`` most frequent in the window
        each on their own, every other name as "other"."""
        _, unit, size = WINDOWS[check_window(window)]
        starts = _bucket_starts(now or utcnow(), unit, size)
        keys = {_bucket_key(start, unit): index for index, start in enumerate(starts)}
        since = starts[0]
        with self._store.read() as connection:
            start_seq = queries.first_seq_since(
                connection, organization_id=organization_id, since=since
            )
            if start_seq is None:
                top: list[tuple[str, int]] = []
                cells: list[queries.BucketCount] = []
            else:
                top = queries.top_names(
                    connection,
                    organization_id=organization_id,
                    from_seq=start_seq,
                    since=since,
                    limit=TOP_NAMES,
                )
                cells = queries.bucket_counts(
                    connection,
                    organization_id=organization_id,
                    from_seq=start_seq,
                    since=since,
                    unit=unit,
                    names=[name for name, _ in top],
                )
        names = [name for name, _ in top]
        values = {name: [0] * size for name in names}
        other = [0] * size
        for cell in cells:
            index = keys.get(cell.bucket)
            if index is None:  # a clock step back, or a row landing as the hour turns
                continue
            row = values.get(cell.event_name or "", other)
            row[index] += cell.count
        series = [(name, values[name]) for name in names]
        if any(other):
            series.append((OTHER if OTHER not in values else f"({OTHER})", other))
        return Counts(
            window=window,
            labels=[_bucket_label(start, unit) for start in starts],
            starts=starts,
            series=series,
        )
