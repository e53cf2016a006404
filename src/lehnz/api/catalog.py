"""Items and users (secret key)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from lehnz.api import path_ids  # noqa: F401  (registers the {…:id} path convertor)
from lehnz.api.batch_body import RawJson, one_or_many
from lehnz.api.deps import RuntimeDep, SecretKey
from lehnz.api.envelope import Envelope, ok
from lehnz.catalog.models import ItemIn, UserIn
from lehnz.catalog.service import UpsertResult
from lehnz.errors import NotFound
from lehnz.pipeline.state import price_band, purchases
from lehnz.validation import parse_batch
from lehnz.wire.catalog import (
    ActivityOut,
    ErasureOut,
    EventPageOut,
    ItemOut,
    StoredEventOut,
    UpsertOut,
    UserOut,
)

router = APIRouter(prefix="/api/v1", tags=["catalog"])

MAX_BATCH = 10_000
_CREDENTIAL = "**Credential: secret key** (`X-API-KEY: lehnz_sk_…`). "


def _upserted(result: UpsertResult) -> UpsertOut:
    return UpsertOut(upserted=result.upserted, created=result.created, updated=result.updated)


@router.post(
    "/items",
    summary="Upsert items",
    description=_CREDENTIAL
    + "One item or an array of up to 10,000, upserted by `item_id`. Fields left out keep their "
    "stored value; `attributes` is replaced whole. A batch with any invalid item is refused "
    "whole (400, naming each bad index) and stores nothing.",
    openapi_extra=one_or_many(ItemIn, max_items=MAX_BATCH),
)
def upsert_items(payload: RawJson, key: SecretKey, runtime: RuntimeDep) -> Envelope[UpsertOut]:
    batch = parse_batch(payload, ItemIn, root="items", max_size=MAX_BATCH)
    result = runtime.catalog.upsert_items(organization_id=key.organization_id, batch=batch)
    return ok(_upserted(result), f"{result.upserted} items upserted")


@router.post(
    "/users",
    summary="Upsert users",
    description=_CREDENTIAL
    + "One user or an array of up to 10,000, upserted by `user_id`; all or nothing.",
    openapi_extra=one_or_many(UserIn, max_items=MAX_BATCH),
)
def upsert_users(payload: RawJson, key: SecretKey, runtime: RuntimeDep) -> Envelope[UpsertOut]:
    batch = parse_batch(payload, UserIn, root="users", max_size=MAX_BATCH)
    result = runtime.catalog.upsert_users(organization_id=key.organization_id, batch=batch)
    return ok(_upserted(result), f"{result.upserted} users upserted")


@router.get("/items/{item_id:id}", summary="Get an item", description=_CREDENTIAL)
def get_item(item_id: str, key: SecretKey, runtime: RuntimeDep) -> Envelope[ItemOut]:
    record = runtime.catalog.get_item(organization_id=key.organization_id, item_id=item_id)
    return ok(ItemOut(**asdict(record)))


@router.get(
    "/users/{user_id:id}",
    summary="Get a user",
    description=_CREDENTIAL
    + "The profile you sent, and `activity`: what lehnz derived from the user's events (recent "
    "items, cart, purchases, typical price), identities stitched. 404 when neither exists.",
)
def get_user(user_id: str, key: SecretKey, runtime: RuntimeDep) -> Envelope[UserOut]:
    record = runtime.catalog.find_user(organization_id=key.organization_id, user_id=user_id)
    view = runtime.user_states.get(organization_id=key.organization_id, user_id=user_id)
    if record is None and view.state is None:
        raise NotFound(f"No user with user_id '{user_id}'")
    activity = None
    if view.state is not None:
        state = view.state
        band = price_band(state)
        recent = list(dict.fromkeys(entry[0] for entry in reversed(state["recent"])))
        activity = ActivityOut(
            user_id=view.user_id,
            events=state["events"],
            last_event_at=datetime.fromtimestamp(state["last_at"], UTC)
            if state["last_at"]
            else None,
            recent_items=recent[:20],
            cart=state["cart"],
            purchased=purchases(state),
            typical_price=round(band[0], 2) if band else None,
        )
    return ok(
        UserOut(
            user_id=user_id,
            attributes=record.attributes if record else None,
            created_at=record.created_at if record else None,
            updated_at=record.updated_at if record else None,
            activity=activity,
        )
    )


@router.get(
    "/users/{user_id:id}/events",
    summary="A user's stored events",
    description=_CREDENTIAL
    + "The events stored for the user and every id merged into it (identity stitching), "
    "newest first, `limit` per page (1 to 1,000, default 100); pass the answer's `next` as "
    '`before` for the next page. For debugging "my events don\'t show".',
)
def user_events(
    user_id: str,
    key: SecretKey,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[str | None, Query(description="A `next` cursor.")] = None,
) -> Envelope[EventPageOut]:
    page = runtime.history.page(
        organization_id=key.organization_id, user_id=user_id, limit=limit, before=before
    )
    stored = [
        StoredEventOut(
            event_id=e.event_id,
            user_id=e.user_id,
            event_name=e.event_name,
            item_id=e.item_id,
            session_id=e.session_id,
            recommendation_id=e.recommendation_id,
            previous_user_id=e.previous_user_id,
            context=e.context,
            timestamp=e.occurred_at,
            received_at=e.received_at,
        )
        for e in page.events
    ]
    out = EventPageOut(user_id=page.user_id, user_ids=page.user_ids, events=stored, next=page.next)
    return ok(out)


@router.delete(
    "/items/{item_id:id}",
    summary="Delete an item",
    description=_CREDENTIAL + "Sets the status to `deleted`: the item is never recommended again.",
)
def delete_item(item_id: str, key: SecretKey, runtime: RuntimeDep) -> Envelope[dict[str, str]]:
    runtime.catalog.delete_item(organization_id=key.organization_id, item_id=item_id)
    return ok({"item_id": item_id, "status": "deleted"}, "Item deleted")


@router.delete(
    "/users/{user_id:id}",
    summary="Erase a user",
    description=_CREDENTIAL
    + "Right to erasure: deletes the profile, every event (including those of anonymous ids "
    "merged into the user), identity links and recommendation logs. 404 when nothing was "
    "stored about the user.",
)
def erase_user(user_id: str, key: SecretKey, runtime: RuntimeDep) -> Envelope[ErasureOut]:
    erased = runtime.catalog.erase_user(organization_id=key.organization_id, user_id=user_id)
    return ok(ErasureOut(user_id=user_id, erased=erased), "User erased")
