"""Queries over organisations and their developers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from lehnz.store.tables import developers, organizations


@dataclass(frozen=True, slots=True)
class DeveloperRecord:
    id: str
    organization_id: str
    email: str
    password_hash: str
    created_at: datetime


def insert_organization(
    connection: Connection, *, organization_id: str, name: str, created_at: datetime
) -> None:
    connection.execute(
        insert(organizations).values(
            id=organization_id, name=name, settings={}, created_at=created_at
        )
    )


def insert_developer(
    connection: Connection,
    *,
    developer_id: str,
    organization_id: str,
    email: str,
    password_hash: str,
    created_at: datetime,
) -> None:
    connection.execute(
        insert(developers).values(
            id=developer_id,
            organization_id=organization_id,
            email=email,
            password_hash=password_hash,
            created_at=created_at,
        )
    )


def find_developer_by_email(connection: Connection, email: str) -> DeveloperRecord | None:
    row = connection.execute(select(developers).where(developers.c.email == email)).first()
    return DeveloperRecord(**row._mapping) if row else None


def set_password_hash(connection: Connection, *, developer_id: str, password_hash: str) -> None:
    connection.execute(
        update(developers)
        .where(developers.c.id == developer_id)
        .values(password_hash=password_hash)
    )


def organization_settings(connection: Connection, organization_id: str) -> dict[str, Any]:
    value = connection.execute(
        select(organizations.c.settings).where(organizations.c.id == organization_id)
    ).scalar_one_or_none()
    return dict(value or {})


def organization_exists(connection: Connection, organization_id: str) -> bool:
    found = connection.execute(
        select(organizations.c.id).where(organizations.c.id == organization_id)
    ).first()
    return found is not None


def set_organization_setting(
    connection: Connection, organization_id: str, *, key: str, value: Any
) -> None:
    """Replace one top-level key of the organisation's settings document."""
    current = connection.execute(
        select(organizations.c.settings)
        .where(organizations.c.id == organization_id)
        .with_for_update()
    ).scalar_one()
    updated = {**(current or {}), key: value}
    connection.execute(
        update(organizations).where(organizations.c.id == organization_id).values(settings=updated)
    )
