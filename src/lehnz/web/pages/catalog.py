"""The Catalog page: upload files, search and page through items, change an item's status,
find and erase users.

Every read and write goes through the services the API uses (the catalog service, the
importer, the event history, the recommender), scoped to the signed-in organisation; the
only query of its own is the listing (``lehnz.store.catalog_page_queries``).
"""

from __future__ import annotations

from typing import Annotated, get_args

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from lehnz.api import path_ids  # noqa: F401  (registers the {…:id} path convertor)
from lehnz.catalog.models import ItemIn, ItemStatus
from lehnz.errors import LehnzError
from lehnz.store.sessions import SessionRecord
from lehnz.web.deps import CsrfChecked, SignedIn, runtime_of
from lehnz.web.pages import catalog_upload, catalog_users
from lehnz.web.pages.catalog_view import PAGE, display, id_path, render_catalog, when
from lehnz.web.templating import redirect, render

router = APIRouter()
router.include_router(catalog_upload.router)
router.include_router(catalog_users.router)

STATUSES: tuple[str, ...] = get_args(ItemStatus)


@router.get("/catalog")
def catalog(
    request: Request,
    session: SignedIn,
    q: str = "",
    after: str | None = None,
    before: str | None = None,
) -> Response:
    return render_catalog(request, session, search=q.strip(), after=after, before=before)


def _item_page(
    request: Request,
    session: SessionRecord,
    item_id: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    record = runtime_of(request).catalog.get_item(
        organization_id=session.organization_id, item_id=item_id
    )  # NotFound: the dashboard's 404 page
    item = {
        "item_id": record.item_id,
        "item_type": record.item_type,
        "status": record.status,
        "attributes": [(key, display(value)) for key, value in record.attributes.items()],
        "created": when(record.created_at),
        "updated": when(record.updated_at),
        "status_path": id_path("/catalog/items", record.item_id, "/status"),
    }
    return render(
        request,
        "catalog_item.html",
        {"item": item, "statuses": STATUSES},
        session=session,
        active=PAGE,
        error=error,
        status_code=status_code,
    )


@router.get("/catalog/items/{item_id:id}")
def item(request: Request, session: SignedIn, item_id: str) -> Response:
    return _item_page(request, session, item_id)


@router.post("/catalog/items/{item_id:id}/status", dependencies=[CsrfChecked])
def change_status(
    request: Request,
    session: SignedIn,
    item_id: str,
    status: Annotated[str, Form()] = "",
) -> Response:
    """As ``POST /api/v1/items`` with ``{"item_id", "status"}``: the other fields are kept,
    and the catalog cache hears of the change. Only an item that exists: never creates one."""
    catalog = runtime_of(request).catalog
    catalog.get_item(organization_id=session.organization_id, item_id=item_id)  # or 404
    if status not in STATUSES:
        message = f"status: choose one of {', '.join(STATUSES)}"
        return _item_page(request, session, item_id, error=message, status_code=400)
    try:
        change = ItemIn.model_validate({"item_id": item_id, "status": status})
        catalog.upsert_items(organization_id=session.organization_id, batch=[change])
    except (ValidationError, LehnzError) as exc:
        message = exc.message if isinstance(exc, LehnzError) else f"item_id: {exc}"
        return _item_page(request, session, item_id, error=message, status_code=400)
    return redirect(
        request,
        id_path("/catalog/items", item_id),
        notice=f"Status of '{item_id}' set to {status}.",
    )
