"""Queries over the dashboard's sessions, looked up by the hash of the cookie's token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from lehnz.store.tables import dashboard_sessions, developers, organizations


@dataclass(frozen=True, slots=True)
class SessionRecord:
    developer_id: str
    organization_id: str
    email: str
    organization_name: str
    expires_at: datetime


def insert_session(
    connection: Connection,
    *,
    token_hash: str,
    developer_id: str,
    organization_id: str,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    connection.execute(
        insert(dashboard_sessions).values(
            token_hash=token_hash,
            developer_id=developer_id,
            organization_id=organization_id,
            created_at=created_at,
            expires_at=expires_at,
        )
    )


def find_live_session(
    connection: Connection, token_hash: str, now: datetime
) -> SessionRecord | None:
    row = connection.execute(
        select(
            dashboard_sessions.c.developer_id,
            dashboard_sessions.c.organization_id,
            developers.c.email,
            organizations.c.name.label("organization_name"),
            dashboard_sessions.c.expires_at,
        )
        .join(developers, developers.c.id == dashboard_sessions.c.developer_id)
        .join(organizations, organizations.c.id == dashboard_sessions.c.organization_id)
        .where(dashboard_sessions.c.token_hash == token_hash)
        .where(dashboard_sessions.c.expires_at > now)
    ).first()
    return SessionRecord(**row._mapping) if row else None


def delete_session(connection: Connection, token_hash: str) -> None:
    connection.execute(
        delete(dashboard_sessions).where(dashboard_sessions.c.token_hash == token_hash)
    )


def delete_expired(connection: Connection, now: datetime) -> None:
    connection.execute(delete(dashboard_sessions).where(dashboard_sessions.c.expires_at <= now))
