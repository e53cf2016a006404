"""The organisation's own row, as the dashboard's Settings page changes it (scoped by id)."""

from __future__ import annotations

from sqlalchemy import Connection, update

from lehnz.store.tables import organizations


def rename_organization(connection: Connection, organization_id: str, name: str) -> bool:
    """Whether the organisation exists (and is now called ``name``)."""
    result = connection.execute(
        update(organizations).where(organizations.c.id == organization_id).values(name=name)
    )
    return result.rowcount == 1
