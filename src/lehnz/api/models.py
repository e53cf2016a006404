"""Training and model versions (secret key)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from lehnz.api.deps import RuntimeDep, SecretKey
from lehnz.api.envelope import Envelope, ok
from lehnz.api.long_work import run_long
from lehnz.store.training import ModelRow
from lehnz.wire.models import ModelOut

router = APIRouter(prefix="/api/v1/models", tags=["models"])

_CREDENTIAL = "**Credential: secret key** (`X-API-KEY: lehnz_sk_…`). "


def _out(row: ModelRow) -> ModelOut:
    manifest = row.manifest
    return ModelOut(
        id=row.id,
        version=row.version,
        serving=row.serving,
        created_at=row.created_at,
        trained_at=row.trained_at,
        artifact_bytes=row.artifact_size,
        duration_seconds=manifest.get("duration_seconds"),
        trained_on=manifest.get("trained_on", {}),
        validation=manifest.get("validation", {}),
        embedding_method=manifest.get("embedding_method"),
    )


@router.post(
    "/train",
    summary="Train now",
    description=_CREDENTIAL
    + "Trains the organisation's model on all its events and catalog, and answers once the "
    "new version serves.",
)
async def train(key: SecretKey, runtime: RuntimeDep, request: Request) -> Envelope[ModelOut]:
    row = await run_long(request, runtime.trainer.train, key.organization_id)
    return ok(_out(row), f"Model version {row.version} is serving")


@router.get(
    "",
    summary="Model versions",
    description=_CREDENTIAL
    + "The latest 20 versions: when trained, on how much data, how long it took, the "
    "artifact's size, the settings training chose and their validation metrics.",
)
def list_models(key: SecretKey, runtime: RuntimeDep) -> Envelope[dict[str, list[ModelOut]]]:
    return ok({"models": [_out(row) for row in runtime.trainer.list(key.organization_id)]})
