"""What the dashboard's Models page reads beyond the API's list: one version by number, and
whether the organisation has any events to train on. Every query is scoped by organisation."""

from __future__ import annotations

from sqlalchemy import Connection, select

from lehnz.store.tables import events, models
from lehnz.store.training import ModelRow

_COLUMNS = [models.c[name] for name in ModelRow.__slots__]


def model_version(connection: Connection, organization_id: str, version: int) -> ModelRow | None:
    row = connection.execute(
        select(*_COLUMNS).where(
            models.c.organization_id == organization_id, models.c.version == version
        )
    ).first()
    return ModelRow(**row._mapping) if row else None


def has_events(connection: Connection, organization_id: str) -> bool:
    found = connection.execute(
        select(events.c.seq).where(events.c.organization_id == organization_id).limit(1)
    ).first()
    return found is not None
