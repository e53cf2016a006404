"""What the catalog page shows: the item listing, and the checks on what a visitor typed.

Kept apart from the routes so the upload handler can answer with the same page (its report
above the same listing) without the modules importing each other.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from starlette.responses import Response

from lehnz.catalog.models import NOT_BLANK
from lehnz.store.catalog import ItemRecord, count_items
from lehnz.store.catalog_page_queries import ItemPage, page_items
from lehnz.store.sessions import SessionRecord
from lehnz.web.deps import runtime_of
from lehnz.web.templating import render

PAGE = "Catalog"
PAGE_SIZE = 25
MAX_SEARCH = 200
MAX_ID = 256  # ``ExternalId``: what the API accepts as an item or user id

_NOT_BLANK = re.compile(NOT_BLANK)


def id_problem(field: str, value: str) -> str | None:
    """Why ``value`` cannot be an item or user id (the API's rule), naming ``field``."""
    if "\x00" in value:
        return f"{field}: must not contain the NUL character"
    if len(value) > MAX_ID:
        return f"{field}: at most {MAX_ID} characters (got {len(value)})"
    if not _NOT_BLANK.search(value):
        return f"{field}: give an id that is not blank"
    return None


def id_path(prefix: str, value: str, suffix: str = "") -> str:
    """A path to an id, escaped as the ``{…:id}`` convertor reads it (``/`` and ``%`` too)."""
    return f"{prefix}/{quote(value, safe='')}{suffix}"


def display(value: Any) -> str:
    """An attribute value as text: strings as they are, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def item_name(attributes: dict[str, Any]) -> str:
    return display(attributes.get("name") or attributes.get("title"))


def when(value: datetime | None) -> dict[str, str] | None:
    """A timestamp for a ``<time>`` element: machine-readable and short."""
    if value is None:
        return None
    return {"iso": value.isoformat(), "text": value.strftime("%Y-%m-%d %H:%M")}


def item_row(record: ItemRecord) -> dict[str, Any]:
    attributes = record.attributes or {}
    return {
        "item_id": record.item_id,
        "path": id_path("/catalog/items", record.item_id),
        "name": item_name(attributes),
        "price": display(attributes.get("price")),
        "category": display(attributes.get("category")),
        "status": record.status,
        "updated": when(record.updated_at),
    }


def listing_problems(search: str, after: str | None, before: str | None) -> list[str]:
    problems = []
    if "\x00" in search:
        problems.append("q: must not contain the NUL character")
    elif len(search) > MAX_SEARCH:
        problems.append(f"q: search for at most {MAX_SEARCH} characters (got {len(search)})")
    for field, value in (("after", after), ("before", before)):
        if value is not None and ("\x00" in value or len(value) > MAX_ID):
            problems.append(f"{field}: not an item id from a page link")
    if after is not None and before is not None:
        problems.append("before: give either after or before, not both")
    return problems


def _link(search: str, **cursor: str) -> str:
    query = {"q": search} if search else {}
    return "/catalog?" + urlencode({**query, **cursor}) + "#items-title"


def _listing(
    request: Request, session: SessionRecord, search: str, after: str | None, before: str | None
) -> dict[str, Any]:
    with runtime_of(request).store.read() as connection:
        page: ItemPage = page_items(
            connection,
            organization_id=session.organization_id,
            search=search or None,
            after=after,
            before=before,
            limit=PAGE_SIZE,
        )
        total = count_items(connection, organization_id=session.organization_id)
    rows = [item_row(record) for record in page.items]
    previous_link = next_link = None
    if rows and page.has_previous:
        previous_link = _link(search, before=rows[0]["item_id"])
    if rows and page.has_next:
        next_link = _link(search, after=rows[-1]["item_id"])
    return {
        "items": rows,
        "item_count": total,
        "previous_link": previous_link,
        "next_link": next_link,
        "paged": after is not None or before is not None,
    }


def render_catalog(
    request: Request,
    session: SessionRecord,
    *,
    search: str = "",
    after: str | None = None,
    before: str | None = None,
    report: dict[str, Any] | None = None,
    refused: bool = False,
    upload: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The catalog page: the upload form (with a report), the listing, the user lookup.

    Bad listing parameters leave the listing out rather than guessing what was meant."""
    problems = listing_problems(search, after, before)
    context: dict[str, Any] = {
        "search": search[:MAX_SEARCH].replace("\x00", ""),
        "report": report,
        "refused": refused,
        "upload": upload or {},
        "items": None,
    }
    if problems:
        error = "; ".join(problems) if error is None else error
        status_code = 400 if status_code == 200 else status_code
    else:
        context.update(_listing(request, session, search, after, before))
    return render(
        request,
        "catalog.html",
        context,
        session=session,
        active=PAGE,
        error=error,
        status_code=status_code,
    )
