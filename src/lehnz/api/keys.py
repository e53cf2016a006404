"""The organisation's API keys (developer token)."""

from __future__ import annotations

from fastapi import APIRouter, Body

from lehnz.api import path_ids  # noqa: F401  (registers the {…:id} path convertor)
from lehnz.api.deps import Developer, RuntimeDep
from lehnz.api.envelope import Envelope, ok
from lehnz.api.schemas import CreateKeyRequest, IssuedKeyOut, KeyList, KeyOut, RotateKeyRequest
from lehnz.auth.service import IssuedKey

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])

_CREDENTIAL = "**Credential: developer token** (`Authorization: Bearer <JWT>`). "


def _issued(issued: IssuedKey) -> IssuedKeyOut:
    record = issued.record
    return IssuedKeyOut(
        id=record.id,
        type=record.type,
        name=record.name,
        key=issued.key,
        created_at=record.created_at,
    )


@router.post(
    "",
    status_code=201,
    summary="Create an API key",
    description=_CREDENTIAL + "The whole key appears only in this answer.",
)
def create_key(
    body: CreateKeyRequest, developer: Developer, runtime: RuntimeDep
) -> Envelope[IssuedKeyOut]:
    issued = runtime.keys.create(
        organization_id=developer.organization_id, key_type=body.type, name=body.name
    )
    return ok(_issued(issued), "API key created; store it now, it is not shown again")


@router.get(
    "",
    summary="List API keys",
    description=_CREDENTIAL + "Revoked keys are left out; keys show a prefix and last 4.",
)
def list_keys(developer: Developer, runtime: RuntimeDep) -> Envelope[KeyList]:
    records = runtime.keys.list(organization_id=developer.organization_id)
    keys = [
        KeyOut(
            id=r.id,
            type=r.type,
            name=r.name,
            prefix=r.prefix,
            last4=r.last4,
            created_at=r.created_at,
            last_used_at=r.last_used_at,
            expires_at=r.expires_at,
        )
        for r in records
    ]
    return ok(KeyList(keys=keys))


@router.post(
    "/{key_id:id}/rotate",
    status_code=201,
    summary="Rotate an API key",
    description=_CREDENTIAL
    + "Issues a new key of the same type; the old one answers 401 at once, or after "
    "`grace_seconds`.",
)
def rotate_key(
    key_id: str,
    developer: Developer,
    runtime: RuntimeDep,
    body: RotateKeyRequest | None = Body(default=None),
) -> Envelope[IssuedKeyOut]:
    grace = body.grace_seconds if body else 0
    issued = runtime.keys.rotate(
        organization_id=developer.organization_id, key_id=key_id, grace_seconds=grace
    )
    return ok(_issued(issued), "API key rotated; store the new key now")


@router.delete(
    "/{key_id:id}",
    summary="Revoke an API key",
    description=_CREDENTIAL + "The key answers 401 from then on.",
)
def revoke_key(key_id: str, developer: Developer, runtime: RuntimeDep) -> Envelope[dict[str, str]]:
    runtime.keys.revoke(organization_id=developer.organization_id, key_id=key_id)
    return ok({"id": key_id}, "API key revoked")
