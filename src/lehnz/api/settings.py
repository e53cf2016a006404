"""Organisation settings (developer token)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from lehnz.api.deps import Developer, RuntimeDep
from lehnz.api.envelope import Envelope, ok
from lehnz.catalog.models import NOT_BLANK
from lehnz.pipeline.weights import STANDARD_FAMILIES
from lehnz.settings_service import MAX_CUSTOM_EVENTS

router = APIRouter(prefix="/api/v1/settings", tags=["settings"])

_CREDENTIAL = "**Credential: developer token** (`Authorization: Bearer <JWT>`). "

FamilyMap = dict[str, Literal["engagement", "conversion"]]

# What the settings service accepts, for the document (its own messages name each problem).
_FAMILIES_SCHEMA: dict[str, Any] = {
    "example": {"wishlist": "conversion"},
    "maxProperties": MAX_CUSTOM_EVENTS,
    "propertyNames": {
        "minLength": 1,
        "maxLength": 256,
        "pattern": NOT_BLANK,
        "not": {"enum": sorted(STANDARD_FAMILIES)},
    },
    "additionalProperties": {"type": "string", "enum": ["engagement", "conversion"]},
}


@router.get(
    "/event_families",
    summary="Custom event families",
    description=_CREDENTIAL + "The organisation's mapping of custom event names to families.",
)
def get_event_families(developer: Developer, runtime: RuntimeDep) -> Envelope[dict[str, str]]:
    return ok(runtime.settings_service.event_families(organization_id=developer.organization_id))


@router.put(
    "/event_families",
    summary="Set custom event families",
    description=_CREDENTIAL
    + "Replaces the mapping of custom event names to `engagement` or `conversion`, e.g. "
    '`{"wishlist": "conversion"}`. A custom name not in the mapping counts as engagement; '
    "standard names keep their fixed families. Applies to events processed from then on.",
)
def put_event_families(
    families: Annotated[dict[str, object], Body(json_schema_extra=_FAMILIES_SCHEMA)],
    developer: Developer,
    runtime: RuntimeDep,
) -> Envelope[dict[str, str]]:
    mapping = runtime.settings_service.set_event_families(
        organization_id=developer.organization_id, families=families
    )
    return ok(mapping, "Event families saved")


class RateLimitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests: int = Field(ge=1, le=1_000_000_000, description="Requests allowed per window.")
    window_seconds: int = Field(ge=1, le=86_400, description="Length of the window.")


class RateLimitSetting(BaseModel):
    requests: int
    window_seconds: int
    source: Literal["organization", "server"] = Field(
        description="`organization`: set here; `server`: the server-wide default."
    )


def _rate_limit(runtime: RuntimeDep, organization_id: str) -> RateLimitSetting:
    # A change made here has already cleared this process's cached limit (its notice).
    limit = runtime.rate_limits.organization_limit(organization_id)
    return RateLimitSetting(
        requests=limit.requests, window_seconds=limit.window_seconds, source=limit.source
    )


@router.get(
    "/rate_limit",
    summary="Request limit",
    description=_CREDENTIAL + "The request window that every API key of the organisation "
    "shares, and whether it is the organisation's own or the server-wide default.",
)
def get_rate_limit(developer: Developer, runtime: RuntimeDep) -> Envelope[RateLimitSetting]:
    return ok(_rate_limit(runtime, developer.organization_id))


@router.put(
    "/rate_limit",
    summary="Set the request limit",
    description=_CREDENTIAL + "Sets the organisation's own request window, e.g. "
    '`{"requests": 20000, "window_seconds": 900}`; every process applies it within seconds. '
    "Requests with a developer token (this dashboard API) are not counted against it.",
)
def put_rate_limit(
    body: RateLimitBody, developer: Developer, runtime: RuntimeDep
) -> Envelope[RateLimitSetting]:
    runtime.settings_service.set_rate_limit(
        organization_id=developer.organization_id,
        requests=body.requests,
        window_seconds=body.window_seconds,
    )
    return ok(_rate_limit(runtime, developer.organization_id), "Rate limit saved")


@router.delete(
    "/rate_limit",
    summary="Go back to the server-wide request limit",
    description=_CREDENTIAL + "Forgets the organisation's own window; the server-wide one "
    "(`LEHNZ_RATE_LIMIT_REQUESTS` per `LEHNZ_RATE_LIMIT_WINDOW_SECONDS`) applies again.",
)
def delete_rate_limit(developer: Developer, runtime: RuntimeDep) -> Envelope[RateLimitSetting]:
    runtime.settings_service.set_rate_limit(
        organization_id=developer.organization_id, requests=None, window_seconds=None
    )
    return ok(_rate_limit(runtime, developer.organization_id), "Rate limit reset")
