"""What the dashboard's Events page reads: the newest events, counts over a time window, and
how far the pipeline is behind; always one organisation's, always bounded.

The events table has no index on ``received_at``, only ``(organization_id, seq)`` (and, on
PostgreSQL, ``(organization_id, txid, seq)``). Events are numbered as they are received, so a
time window is turned into a range of sequence numbers first (``first_seq_since``, a
bisection of index probes), and every count then reads that range of the organisation's
index rather than all of its history, nor any other organisation's rows.

On PostgreSQL transactions commit in any order, so a row can appear below sequence numbers
already shown. The live list therefore follows the pipeline's order: rows of transactions
older than every one still running, by ``(txid, seq)`` (see ``tables.events``), so a feed
that polls after the last row it showed never misses a late commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    case,
    func,
    literal_column,
    select,
    tuple_,
)

from lehnz.store import pipeline as pipeline_queries
from lehnz.store.events import StoredEvent
from lehnz.store.tables import events

#: Counts stop here (shown as "at least"): a poll every 2 s must not read an hour of a busy
#: store's events.
MAX_COUNTED = 100_000
#: Receipt times are stamped just before the insert that numbers the rows; concurrent
#: requests can interleave by a little. A window's sequence range starts this much earlier,
#: and the exact ``received_at`` filter does the rest.
_CLOCK_SLACK = timedelta(minutes=5)

_COLUMNS = [events.c[name] for name in StoredEvent._fields]

Unit = Literal["hour", "day"]


def _postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def _settled() -> ColumnElement[bool]:
    """PostgreSQL: rows of transactions older than every one still running."""
    return events.c.txid < literal_column("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")


def _newest_first(connection: Connection, query: Select[Any]) -> Select[Any]:
    if _postgres(connection):
        return query.where(_settled()).order_by(events.c.txid.desc(), events.c.seq.desc())
    return query.order_by(events.c.seq.desc())


def latest(connection: Connection, *, organization_id: str, limit: int) -> list[StoredEvent]:
    """The organisation's newest ``limit`` events, newest first."""
    query = select(*_COLUMNS).where(events.c.organization_id == organization_id)
    rows = connection.execute(_newest_first(connection, query).limit(limit))
    return [StoredEvent(**row._mapping) for row in rows]


def newer_than(
    connection: Connection, *, organization_id: str, after: int, limit: int
) -> tuple[list[StoredEvent], bool]:
    """Events after the one numbered ``after`` (in the order ``latest`` shows them), newest
    first: at most ``limit``, the newest ones, and whether older ones were left out."""
    query = select(*_COLUMNS).where(events.c.organization_id == organization_id)
    if _postgres(connection):
        # The position of ``after`` is (its txid, after); a feed's ``after`` is always one of
        # the organisation's own rows, else the nearest one below it.
        txid = connection.execute(
            select(events.c.txid)
            .where(events.c.organization_id == organization_id, events.c.seq <= after)
            .order_by(events.c.seq.desc())
            .limit(1)
        ).scalar()
        query = query.where(tuple_(events.c.txid, events.c.seq) > tuple_(int(txid or 0), after))
    else:
        query = query.where(events.c.seq > after)
    rows = connection.execute(_newest_first(connection, query).limit(limit + 1)).all()
    return [StoredEvent(**row._mapping) for row in rows[:limit]], len(rows) > limit


def _probe(connection: Connection, organization_id: str, at_least: int) -> tuple[int, datetime]:
    row = connection.execute(
        select(events.c.seq, events.c.received_at)
        .where(events.c.organization_id == organization_id, events.c.seq >= at_least)
        .order_by(events.c.seq)
        .limit(1)
    ).one()
    return int(row[0]), row[1]


def first_seq_since(connection: Connection, *, organization_id: str, since: datetime) -> int | None:
    """A sequence number at or below the organisation's first event received at ``since`` or
    later (None: there is none); a bisection of at most 63 index probes."""
    newest = connection.execute(
        select(events.c.seq, events.c.received_at)
        .where(events.c.organization_id == organization_id)
        .order_by(events.c.seq.desc())
        .limit(1)
    ).first()
    if newest is None or newest[1] < since:
        return None
    start = since - _CLOCK_SLACK
    low, high = 0, int(newest[0])  # the answer is in [low, high]; the event at high qualifies
    while low < high:
        middle = (low + high) // 2
        seq, received_at = _probe(connection, organization_id, middle)
        if received_at >= start:
            high = middle
        else:
            low = seq + 1
    return low


def _in_window(organization_id: str, from_seq: int, since: datetime) -> list[ColumnElement[bool]]:
    return [
        events.c.organization_id == organization_id,
        events.c.seq >= from_seq,
        events.c.received_at >= since,
    ]


def received_counts(
    connection: Connection,
    *,
    organization_id: str,
    from_seq: int,
    since: datetime,
    recent_since: datetime,
) -> tuple[int, int, bool]:
    """(received since ``recent_since``, received since ``since``, whether the count stopped
    at ``MAX_COUNTED``): the newest rows are read first, so the first number is exact as long
    as it is under the cap."""
    newest = (
        select(events.c.received_at)
        .where(*_in_window(organization_id, from_seq, since))
        .order_by(events.c.seq.desc())
        .limit(MAX_COUNTED + 1)
        .subquery()
    )
    recent = func.coalesce(func.sum(case((newest.c.received_at >= recent_since, 1), else_=0)), 0)
    row = connection.execute(select(recent, func.count()).select_from(newest)).one()
    total = int(row[1])
    return int(row[0]), min(total, MAX_COUNTED), total > MAX_COUNTED


def top_names(
    connection: Connection, *, organization_id: str, from_seq: int, since: datetime, limit: int
) -> list[tuple[str, int]]:
    """The most frequent event names in the window, most first."""
    counted = func.count().label("n")
    rows = connection.execute(
        select(events.c.event_name, counted)
        .where(*_in_window(organization_id, from_seq, since))
        .group_by(events.c.event_name)
        .order_by(counted.desc(), events.c.event_name)
        .limit(limit)
    )
    return [(str(row[0]), int(row[1])) for row in rows]


def _bucket(connection: Connection, unit: Unit) -> ColumnElement[Any]:
    """The UTC hour ('2026-01-31 14') or day ('2026-01-31') of ``received_at`` as text."""
    if _postgres(connection):
        pattern = "YYYY-MM-DD HH24" if unit == "hour" else "YYYY-MM-DD"
        return func.to_char(func.timezone("UTC", events.c.received_at), pattern)
    return func.strftime("%Y-%m-%d %H" if unit == "hour" else "%Y-%m-%d", events.c.received_at)


@dataclass(frozen=True, slots=True)
class BucketCount:
    bucket: str
    event_name: str | None  # None: any name not in the ones asked for
    count: int


def bucket_counts(
    connection: Connection,
    *,
    organization_id: str,
    from_seq: int,
    since: datetime,
    unit: Unit,
    names: Sequence[str],
) -> list[BucketCount]:
    """Counts per time bucket for each of ``names``, the rest counted together: at most
    (buckets x (names + 1)) rows, however many names the organisation sends."""
    bucket = _bucket(connection, unit).label("bucket")
    name = (
        case((events.c.event_name.in_(list(names)), events.c.event_name), else_=None)
        if names
        else literal_column("NULL")
    ).label("name")
    rows = connection.execute(
        select(bucket, name, func.count())
        .where(*_in_window(organization_id, from_seq, since))
        .group_by(bucket, name)
    )
    return [BucketCount(str(row[0]), row[1], int(row[2])) for row in rows]


@dataclass(frozen=True, slots=True)
class Lag:
    unapplied: int  # at most MAX_COUNTED
    capped: bool
    oldest_received_at: datetime | None


def lag(connection: Connection, *, organization_id: str) -> Lag:
    """Events received but not yet applied by the pipeline (past its cursor), and when the
    first of them (in the pipeline's order) was received."""
    cursor = pipeline_queries.read_cursor(connection, organization_id)
    cursor = cursor or pipeline_queries.Cursor(last_seq=0)
    order = [events.c.txid, events.c.seq] if _postgres(connection) else [events.c.seq]
    pending = (
        select(events.c.received_at)
        .where(
            events.c.organization_id == organization_id,
            pipeline_queries.past(connection, cursor),
        )
        .order_by(*order)
        .limit(MAX_COUNTED + 1)
        .subquery()
    )
    row = connection.execute(
        select(func.count(), func.min(pending.c.received_at)).select_from(pending)
    ).one()
    total = int(row[0])
    return Lag(min(total, MAX_COUNTED), total > MAX_COUNTED, row[1])
