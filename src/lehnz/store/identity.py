"""Identity links: which ids were merged into which identified user."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from lehnz.store.tables import identity_links
from lehnz.store.upsert import upsert


def canonical_of(connection: Connection, *, organization_id: str, user_id: str) -> str:
    """The id ``user_id`` was merged into, or itself. Links are kept flat (every alias
    points straight at its final user), so one look-up resolves a chain."""
    found = connection.execute(
        select(identity_links.c.canonical_user_id).where(
            identity_links.c.organization_id == organization_id,
            identity_links.c.alias_user_id == user_id,
        )
    ).scalar_one_or_none()
    return found or user_id


def aliases_of(connection: Connection, *, organization_id: str, user_id: str) -> list[str]:
    return list(
        connection.execute(
            select(identity_links.c.alias_user_id)
            .where(
                identity_links.c.organization_id == organization_id,
                identity_links.c.canonical_user_id == user_id,
            )
            .order_by(identity_links.c.alias_user_id)
        ).scalars()
    )


def merge(
    connection: Connection, *, organization_id: str, alias: str, into: str, at: datetime
) -> None:
    """Point ``alias`` and every id already merged into it at ``into``."""
    connection.execute(
        update(identity_links)
        .where(
            identity_links.c.organization_id == organization_id,
            identity_links.c.canonical_user_id == alias,
        )
        .values(canonical_user_id=into)
    )
    upsert(
        connection,
        identity_links,
        [
            {
                "organization_id": organization_id,
                "alias_user_id": alias,
                "canonical_user_id": into,
                "created_at": at,
            }
        ],
        key=["organization_id", "alias_user_id"],
        update=["canonical_user_id", "created_at"],
    )


def with_aliases(
    connection: Connection, *, organization_id: str, user_id: str
) -> tuple[str, list[str]]:
    """The canonical id ``user_id`` resolves to, and every id whose events are that user's
    (the canonical id first, then the ids merged into it)."""
    canonical = canonical_of(connection, organization_id=organization_id, user_id=user_id)
    aliases = aliases_of(connection, organization_id=organization_id, user_id=canonical)
    return canonical, [canonical, *aliases]
