"""What training reads (the whole log and catalog of one organisation) and the models table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, func, select, update

from lehnz.store.tables import events, identity_links, items, models


def iter_events(
    connection: Connection, organization_id: str, *, up_to_seq: int
) -> Iterator[tuple[Any, ...]]:
    """(seq, user_id, item_id, event_name, occurred_at, session_id) in log order."""
    result = connection.execution_options(yield_per=20_000).execute(
        select(
            events.c.seq,
            events.c.user_id,
            events.c.item_id,
            events.c.event_name,
            events.c.occurred_at,
            events.c.session_id,
        )
        .where(events.c.organization_id == organization_id, events.c.seq <= up_to_seq)
        .order_by(events.c.seq)
    )
    for row in result:
        yield tuple(row)


class FirstSeen:
    """Numbers a column of ids as they stream in: each distinct value gets the next number
    at its first appearance. Only the distinct values and one integer a row are kept, never
    a Python string a row (10 million events' ids as strings were gigabytes)."""

    def __init__(self) -> None:
        self._number: dict[Any, int] = {}
        self._codes: list[NDArray[np.int64]] = []

    def add(self, values: list[Any]) -> None:
        number = self._number
        # Loops in C (dict.fromkeys, map) but for the values new in this chunk.
        new = [value for value in dict.fromkeys(values) if value not in number]
        number.update(zip(new, range(len(number), len(number) + len(new)), strict=True))
        self._codes.append(
            np.fromiter(map(number.__getitem__, values), dtype=np.int64, count=len(values))
        )

    def result(self) -> Numbered:
        codes = np.concatenate(self._codes) if self._codes else np.zeros(0, dtype=np.int64)
        return Numbered(list(self._number), codes)


@dataclass(frozen=True, slots=True)
class Numbered:
    """A column of ids: the distinct values in order of first appearance, and each row's
    number among them."""

    values: list[Any]
    codes: NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class EventColumns:
    """The events training reads (those with an item), column by column, in log order."""

    users: Numbered
    items: Numbered
    event_names: Numbered
    occurred_us: NDArray[np.int64]  # microseconds since the epoch
    sessions: Numbered  # None for an event without one


#: Rows fetched from the driver at a time: each chunk's rows are numbered and dropped.
EVENT_CHUNK = 50_000


def event_columns(connection: Connection, organization_id: str, *, up_to_seq: int) -> EventColumns:
    """Every event with an item up to ``up_to_seq``, straight from the driver's cursor.

    Through SQLAlchemy each row was built, typed and wrapped one by one (and every
    timestamp made a ``datetime``), which cost more than the database took to read it.
    Here each chunk of rows is split into columns in C (``map(itemgetter)``), its ids
    numbered (``FirstSeen``) and its timestamps parsed by NumPy: integers (PostgreSQL) or
    SQLite's text, as ``bulk.sqlite_time`` writes it. PostgreSQL streams through a
    server-side cursor."""
    postgres = connection.dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    stamp = "(extract(epoch FROM occurred_at) * 1000000)::bigint" if postgres else "occurred_at"
    query = (
        f"SELECT user_id, item_id, event_name, {stamp}, session_id FROM events "
        f"WHERE organization_id = {mark} AND seq <= {mark} AND item_id IS NOT NULL "
        "ORDER BY seq"
    )
    driver = connection.connection
    cursor = driver.cursor(name="lehnz_training_events") if postgres else driver.cursor()
    users, items_, names, sessions = FirstSeen(), FirstSeen(), FirstSeen(), FirstSeen()
    stamps: list[NDArray[np.int64]] = []
    try:
        cursor.execute(query, (organization_id, up_to_seq))
        while rows := cursor.fetchmany(EVENT_CHUNK):
            users.add(list(map(itemgetter(0), rows)))
            items_.add(list(map(itemgetter(1), rows)))
            names.add(list(map(itemgetter(2), rows)))
            times = list(map(itemgetter(3), rows))
            if postgres:
                stamps.append(np.array(times, dtype=np.int64))
            else:
                stamps.append(np.array(times, dtype="datetime64[us]").astype(np.int64))
            sessions.add(list(map(itemgetter(4), rows)))
    finally:
        cursor.close()
    occurred = np.concatenate(stamps) if stamps else np.zeros(0, dtype=np.int64)
    return EventColumns(
        users.result(), items_.result(), names.result(), occurred, sessions.result()
    )


def last_seq(connection: Connection, organization_id: str) -> int:
    value = connection.execute(
        select(func.max(events.c.seq)).where(events.c.organization_id == organization_id)
    ).scalar_one_or_none()
    return int(value or 0)


def count_events_after(
    connection: Connection, organization_id: str, *, after_seq: int, at_most: int
) -> int:
    """How many of this organisation's events lie past ``after_seq``, counting no further
    than ``at_most``: the trainer only asks whether a threshold is reached, and a busy store
    should not make it count millions of rows every check."""
    newer = (
        select(events.c.seq)
        .where(events.c.organization_id == organization_id, events.c.seq > after_seq)
        .limit(at_most)
        .subquery()
    )
    return int(connection.execute(select(func.count()).select_from(newer)).scalar_one())


def catalog_changed_at(connection: Connection, organization_id: str) -> datetime | None:
    value: datetime | None = connection.execute(
        select(func.max(items.c.updated_at)).where(items.c.organization_id == organization_id)
    ).scalar_one_or_none()
    return value


def all_links(connection: Connection, organization_id: str) -> dict[str, str]:
    rows = connection.execute(
        select(identity_links.c.alias_user_id, identity_links.c.canonical_user_id).where(
            identity_links.c.organization_id == organization_id
        )
    )
    return {row[0]: row[1] for row in rows}


def all_items(
    connection: Connection, organization_id: str
) -> list[tuple[str, str, dict[str, Any]]]:
    rows = connection.execute(
        select(items.c.item_id, items.c.status, items.c.attributes)
        .where(items.c.organization_id == organization_id)
        .order_by(items.c.item_id)
    )
    return [(row[0], row[1], row[2] or {}) for row in rows]


@dataclass(frozen=True, slots=True)
class ModelRow:
    id: str
    version: int
    status: str
    created_at: datetime
    trained_at: datetime | None
    manifest: dict[str, Any]
    artifact_size: int | None
    serving: bool


_COLUMNS = [models.c[name] for name in ModelRow.__slots__]


def next_version(connection: Connection, organization_id: str) -> int:
    value = connection.execute(
        select(func.max(models.c.version)).where(models.c.organization_id == organization_id)
    ).scalar_one_or_none()
    return int(value or 0) + 1


def insert_model(
    connection: Connection, *, organization_id: str, row: ModelRow, artifact: bytes
) -> None:
    connection.execute(
        update(models).where(models.c.organization_id == organization_id).values(serving=False)
    )
    connection.execute(
        models.insert().values(
            id=row.id,
            organization_id=organization_id,
            version=row.version,
            status=row.status,
            created_at=row.created_at,
            trained_at=row.trained_at,
            manifest=row.manifest,
            artifact=artifact,
            artifact_size=row.artifact_size,
            serving=row.serving,
        )
    )


def drop_artifacts_before(connection: Connection, organization_id: str, version: int) -> int:
    """Free the artifacts of versions older than ``version``; their rows (manifest, metrics)
    stay. The number of artifacts dropped."""
    result = connection.execute(
        update(models)
        .where(
            models.c.organization_id == organization_id,
            models.c.version < version,
            models.c.artifact.is_not(None),
        )
        .values(artifact=None)
    )
    return int(result.rowcount or 0)


def list_models(connection: Connection, organization_id: str, *, limit: int = 20) -> list[ModelRow]:
    rows = connection.execute(
        select(*_COLUMNS)
        .where(models.c.organization_id == organization_id)
        .order_by(models.c.version.desc())
        .limit(limit)
    )
    return [ModelRow(**row._mapping) for row in rows]


def serving_version(connection: Connection, organization_id: str) -> int | None:
    value = connection.execute(
        select(models.c.version).where(
            models.c.organization_id == organization_id, models.c.serving.is_(True)
        )
    ).scalar_one_or_none()
    return None if value is None else int(value)


def organizations_with_a_model(connection: Connection) -> list[str]:
    """Every organisation with a serving model (a start's preload; not tenant data)."""
    rows = connection.execute(select(models.c.organization_id).where(models.c.serving.is_(True)))
    return [str(row[0]) for row in rows]


def serving_model(connection: Connection, organization_id: str) -> ModelRow | None:
    row = connection.execute(
        select(*_COLUMNS).where(
            models.c.organization_id == organization_id, models.c.serving.is_(True)
        )
    ).first()
    return None if row is None else ModelRow(**row._mapping)


def load_artifact(
    connection: Connection, organization_id: str, version: int
) -> tuple[bytes, dict[str, Any]] | None:
    row = connection.execute(
        select(models.c.artifact, models.c.manifest).where(
            models.c.organization_id == organization_id, models.c.version == version
        )
    ).first()
    return (bytes(row[0]), dict(row[1])) if row and row[0] is not None else None
