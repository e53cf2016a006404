"""The dashboard's catalog listing: one organisation's items, searched and paged by id.

Keyset paging on the primary key ``(organization_id, item_id)``: a page is one index range
read of ``limit + 1`` rows, however deep in the catalog it is, so no page costs a scan of
what came before it (offset paging would). A search narrows the same range with a
case-insensitive substring match on the id, ``name`` or ``title``; the term's LIKE wildcards
are escaped, so ``%`` and ``_`` match themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, or_, select

from lehnz.store.catalog import ITEM_RECORD_COLUMNS, ItemRecord
from lehnz.store.tables import items

_ESCAPE = "\\"


@dataclass(frozen=True, slots=True)
class ItemPage:
    items: list[ItemRecord]
    #: An item before the first shown / after the last shown exists (for previous/next links).
    has_previous: bool
    has_next: bool


def like_pattern(term: str) -> str:
    """``term`` as a LIKE substring pattern that matches it literally."""
    escaped = (
        term.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%").replace("_", _ESCAPE + "_")
    )
    return f"%{escaped}%"


def _matches(term: str) -> ColumnElement[bool]:
    pattern = like_pattern(term)
    return or_(
        items.c.item_id.ilike(pattern, escape=_ESCAPE),
        items.c.attributes["name"].as_string().ilike(pattern, escape=_ESCAPE),
        items.c.attributes["title"].as_string().ilike(pattern, escape=_ESCAPE),
    )


def page_items(
    connection: Connection,
    *,
    organization_id: str,
    search: str | None,
    after: str | None,
    before: str | None,
    limit: int,
) -> ItemPage:
    """``limit`` items in id order: the first page, the page after ``after`` or the page
    before ``before`` (at most one of the two)."""
    scope = [items.c.organization_id == organization_id]
    if search:
        scope.append(_matches(search))
    columns = ITEM_RECORD_COLUMNS
    if before is not None:
        query = (
            select(*columns)
            .where(and_(*scope, items.c.item_id < before))
            .order_by(items.c.item_id.desc())
            .limit(limit + 1)
        )
        rows = list(connection.execute(query))
        more = len(rows) > limit
        found = [ItemRecord(**row._mapping) for row in reversed(rows[:limit])]
        return ItemPage(found, has_previous=more, has_next=True)
    condition = and_(*scope, items.c.item_id > after) if after is not None else and_(*scope)
    query = select(*columns).where(condition).order_by(items.c.item_id).limit(limit + 1)
    rows = list(connection.execute(query))
    found = [ItemRecord(**row._mapping) for row in rows[:limit]]
    return ItemPage(found, has_previous=after is not None, has_next=len(rows) > limit)
