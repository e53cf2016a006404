"""Identity links: which ids were merged into which identified user."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select, update

from lehnz.store.tables import identity_links
from lehnz.store.upsert import upsert


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
    (the canonical id first, then the ids merged into it), in one query: every alias points
    straight at its final user, so the links of the id ``user_id`` resolves to are all of
    them."""
    links = identity_links.c
    resolved = (
        select(links.canonical_user_id)
        .where(links.organization_id == organization_id, links.alias_user_id == user_id)
        .scalar_subquery()
    )
    rows = connection.execute(
        select(links.alias_user_id, links.canonical_user_id)
        .where(
            links.organization_id == organization_id,
            links.canonical_user_id == func.coalesce(resolved, user_id),
        )
        .order_by(links.alias_user_id)
    ).all()
    canonical = rows[0][1] if rows else user_id
    return canonical, [canonical, *(row[0] for row in rows)]
