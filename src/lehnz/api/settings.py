"""Organisation settings (developer token)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body

from lehnz.api.deps import Developer, RuntimeDep
from lehnz.api.envelope import ERROR_RESPONSES, Envelope, ok

router = APIRouter(prefix="/api/v1/settings", tags=["settings"], responses=ERROR_RESPONSES)

_CREDENTIAL = "**Credential: developer token** (`Authorization: Bearer <JWT>`). "

FamilyMap = dict[str, Literal["engagement", "conversion"]]


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
    families: Annotated[
        dict[str, object], Body(json_schema_extra={"example": {"wishlist": "conversion"}})
    ],
    developer: Developer,
    runtime: RuntimeDep,
) -> Envelope[dict[str, str]]:
    mapping = runtime.settings_service.set_event_families(
        organization_id=developer.organization_id, families=families
    )
    return ok(mapping, "Event families saved")
