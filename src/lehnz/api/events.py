"""Event ingest (publishable key): validate the whole batch, append it durably, answer 202."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from lehnz.api.batch_body import one_or_many, read_batch
from lehnz.api.deps import PublishableKey, RuntimeDep
from lehnz.api.envelope import Envelope, ok
from lehnz.events.models import EventIn
from lehnz.wire.events import Accepted

router = APIRouter(prefix="/api/v1/events", tags=["events"])

MAX_BATCH = 1_000


@router.post(
    "/ingest",
    status_code=202,
    summary="Track events",
    description="**Credential: publishable key** (`X-API-KEY: lehnz_pk_…`). One event or an "
    "array of up to 1,000. 202 means the whole batch is committed to durable storage. If any "
    "event is invalid the batch is refused (400, naming each bad index) and nothing is stored. "
    "An `event_id` makes retries safe: a repeated one is acknowledged but stored once.",
    openapi_extra=one_or_many(EventIn, max_items=MAX_BATCH),
)
async def ingest(request: Request, key: PublishableKey, runtime: RuntimeDep) -> Envelope[Accepted]:
    batch = await read_batch(request, EventIn, root="events", max_size=MAX_BATCH)
    accepted = await run_in_threadpool(
        runtime.events.append, organization_id=key.organization_id, batch=batch
    )
    return ok(Accepted(accepted=accepted), "Events accepted")
