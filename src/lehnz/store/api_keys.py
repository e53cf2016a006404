"""Queries over API keys. Only hashes are stored; the whole key never reaches this module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, or_, select, update

from lehnz.store.tables import api_keys


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: str
    organization_id: str
    type: str
    name: str
    key_hash: str
    prefix: str
    last4: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None


def insert_api_key(connection: Connection, record: ApiKeyRecord) -> None:
    connection.execute(
        insert(api_keys).values(
            id=record.id,
            organization_id=record.organization_id,
            type=record.type,
            name=record.name,
            key_hash=record.key_hash,
            prefix=record.prefix,
            last4=record.last4,
            created_at=record.created_at,
            last_used_at=record.last_used_at,
            revoked_at=record.revoked_at,
            expires_at=record.expires_at,
        )
    )


def find_by_hash(connection: Connection, key_hash: str) -> ApiKeyRecord | None:
    row = connection.execute(select(api_keys).where(api_keys.c.key_hash == key_hash)).first()
    return ApiKeyRecord(**row._mapping) if row else None


def find_by_id(connection: Connection, *, organization_id: str, key_id: str) -> ApiKeyRecord | None:
    row = connection.execute(
        select(api_keys).where(
            api_keys.c.organization_id == organization_id, api_keys.c.id == key_id
        )
    ).first()
    return ApiKeyRecord(**row._mapping) if row else None


def list_usable(
    connection: Connection, *, organization_id: str, now: datetime
) -> list[ApiKeyRecord]:
    """Keys that still work: not revoked, and not past a rotation's grace period."""
    rows = connection.execute(
        select(api_keys)
        .where(
            api_keys.c.organization_id == organization_id,
            api_keys.c.revoked_at.is_(None),
            or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now),
        )
        .order_by(api_keys.c.created_at, api_keys.c.id)
    ).all()
    return [ApiKeyRecord(**row._mapping) for row in rows]


def revoke(
    connection: Connection, *, organization_id: str, key_id: str, revoked_at: datetime
) -> None:
    connection.execute(
        update(api_keys)
        .where(api_keys.c.organization_id == organization_id, api_keys.c.id == key_id)
        .values(revoked_at=revoked_at)
    )


def expire(
    connection: Connection, *, organization_id: str, key_id: str, expires_at: datetime
) -> None:
    connection.execute(
        update(api_keys)
        .where(api_keys.c.organization_id == organization_id, api_keys.c.id == key_id)
        .values(expires_at=expires_at)
    )


def touch_last_used(connection: Connection, *, key_id: str, used_at: datetime) -> None:
    connection.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=used_at))


def revoke_by_name(
    connection: Connection, *, organization_id: str, name: str, revoked_at: datetime
) -> None:
    connection.execute(
        update(api_keys)
        .where(
            api_keys.c.organization_id == organization_id,
            api_keys.c.name == name,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=revoked_at)
    )
