"""Finding a user from the catalog page: profile, stored events, current list; and erasure.

The profile and erasure go through the catalog service, the events through the history
that ``GET /api/v1/users/{id}/events`` reads, and the list through the recommender
``POST /recommend`` calls, over the same model, catalog and user state. The list is built
with a log that keeps nothing: a developer looking at a shopper's list is not an
impression, so it must not count in the analytics or claim the shopper's next click.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from lehnz.errors import LehnzError, NotFound
from lehnz.serving.logs import RecommendationLog
from lehnz.serving.recommender import ListOptions, RankedPage, Recommender
from lehnz.store.sessions import SessionRecord
from lehnz.web.deps import CsrfChecked, SignedIn, runtime_of
from lehnz.web.pages.catalog_view import PAGE, display, id_path, id_problem, item_name, when
from lehnz.web.templating import redirect, render

router = APIRouter()

EVENTS_SHOWN = 50
LIST_SHOWN = 12
MAX_CURSOR = 20


class _Unlogged(RecommendationLog):
    """A recommendation log that records nothing (the dashboard's look is not an impression)."""

    def record(self, row: dict[str, Any]) -> None:
        return None


def current_list(request: Request, organization_id: str, user_id: str) -> RankedPage:
    """What ``POST /recommend`` with this ``user_id`` (and defaults) would answer now."""
    runtime = runtime_of(request)
    recommender = Recommender(
        runtime.registry, runtime.catalog_cache, runtime.user_states, _Unlogged(runtime.store)
    )
    return recommender.for_user(
        organization_id=organization_id,
        user_id=user_id,
        options=ListOptions(limit=LIST_SHOWN, page=1, include_attributes=True),
        placement=None,
        include_purchased=None,
        mode="auto",
        endpoint="/recommend",
    )


def _user_context(
    request: Request, session: SessionRecord, user_id: str, before: str | None
) -> dict[str, Any]:
    runtime = runtime_of(request)
    org = session.organization_id
    profile = runtime.catalog.find_user(organization_id=org, user_id=user_id)
    history = runtime.history.page(
        organization_id=org, user_id=user_id, limit=EVENTS_SHOWN, before=before
    )
    state = runtime.user_states.get(organization_id=org, user_id=user_id).state
    if profile is None and state is None and not history.events and before is None:
        raise NotFound(f"No user with user_id '{user_id}' in this organisation")
    ranked = current_list(request, org, user_id)
    older = None
    if history.next:
        older = id_path("/catalog/users", user_id) + f"?before={history.next}#events-title"
    return {
        "user": {
            "user_id": user_id,
            "canonical": history.user_id,
            "aliases": [uid for uid in history.user_ids if uid != history.user_id],
            "profile": None
            if profile is None
            else {
                "attributes": [(key, display(value)) for key, value in profile.attributes.items()],
                "created": when(profile.created_at),
                "updated": when(profile.updated_at),
            },
            "erase_path": id_path("/catalog/users", user_id, "/erase"),
        },
        "events": [
            {
                "event_name": event.event_name,
                "user_id": event.user_id,
                "item_id": event.item_id,
                "item_path": id_path("/catalog/items", event.item_id) if event.item_id else None,
                "session_id": event.session_id,
                "recommendation_id": event.recommendation_id,
                "occurred": when(event.occurred_at),
            }
            for event in history.events
        ],
        "older_link": older,
        "recommendations": [
            {
                "item_id": item.item_id,
                "item_path": id_path("/catalog/items", item.item_id),
                "name": item_name(item.attributes or {}),
                "price": display((item.attributes or {}).get("price")),
                "score": item.score,
                "reason": item.reason,
            }
            for item in ranked.items
        ],
        "list_source": ranked.extra.get("source"),
        "model_version": ranked.extra.get("model_version"),
    }


def _page(
    request: Request,
    session: SessionRecord,
    *,
    context: dict[str, Any],
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "catalog_user.html",
        {"user": None, **context},
        session=session,
        active=PAGE,
        error=error,
        status_code=status_code,
    )


def _lookup(request: Request, session: SessionRecord, user_id: str, before: str | None) -> Response:
    shown = {"user_id": user_id[:256].replace("\x00", "")}
    problem = id_problem("user_id", user_id)
    if problem is None and before is not None and len(before) > MAX_CURSOR:
        problem = "before: not a cursor from a previous page's 'next'"
    if problem:
        return _page(request, session, context=shown, error=problem, status_code=400)
    try:
        context = _user_context(request, session, user_id, before or None)
    except LehnzError as exc:
        return _page(
            request, session, context=shown, error=exc.message, status_code=exc.status_code
        )
    return _page(request, session, context={**shown, **context})


@router.get("/catalog/users")
def find_user(
    request: Request, session: SignedIn, user_id: str | None = None, before: str | None = None
) -> Response:
    if user_id is None or user_id == "":
        return _page(request, session, context={"user_id": ""})
    return _lookup(request, session, user_id, before)


@router.get("/catalog/users/{user_id:id}")
def user_page(
    request: Request, session: SignedIn, user_id: str, before: str | None = None
) -> Response:
    """The same page at a path of its own, for links (ids with ``/`` or ``%`` included)."""
    return _lookup(request, session, user_id, before)


@router.post("/catalog/users/{user_id:id}/erase", dependencies=[CsrfChecked])
def erase_user(
    request: Request,
    session: SignedIn,
    user_id: str,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    if confirm.strip() not in ("yes", user_id) or not confirm.strip():
        return _lookup_with_error(
            request,
            session,
            user_id,
            "confirm: type the user id (or yes) to confirm the erasure; nothing was erased",
        )
    try:
        erased = runtime_of(request).catalog.erase_user(
            organization_id=session.organization_id, user_id=user_id
        )
    except LehnzError as exc:
        return _page(
            request,
            session,
            context={"user_id": user_id[:256]},
            error=exc.message,
            status_code=exc.status_code,
        )
    counted = ", ".join(f"{count} {table.replace('_', ' ')}" for table, count in erased.items())
    return redirect(request, "/catalog/users", notice=f"User '{user_id}' erased ({counted}).")


def _lookup_with_error(
    request: Request, session: SessionRecord, user_id: str, error: str
) -> Response:
    shown = {"user_id": user_id[:256]}
    try:
        context = _user_context(request, session, user_id, None)
    except LehnzError:
        context = {}
    return _page(request, session, context={**shown, **context}, error=error, status_code=400)
