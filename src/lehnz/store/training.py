"""What training reads (the whole log and catalog of one organisation) and the models table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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


def load_artifact(
    connection: Connection, organization_id: str, version: int
) -> tuple[bytes, dict[str, Any]] | None:
    row = connection.execute(
        select(models.c.artifact, models.c.manifest).where(
            models.c.organization_id == organization_id, models.c.version == version
        )
    ).first()
    return (bytes(row[0]), dict(row[1])) if row and row[0] is not None else None
