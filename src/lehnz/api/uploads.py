"""File uploads of items, users and events (secret key, ``multipart/form-data``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile

from lehnz.api.deps import RuntimeDep, SecretKey
from lehnz.api.envelope import ERROR_RESPONSES, Envelope, ok
from lehnz.errors import BadRequest
from lehnz.imports.importer import UnreadableFile
from lehnz.imports.rows import Kind

router = APIRouter(prefix="/api/v1/upload", tags=["uploads"], responses=ERROR_RESPONSES)

_DESCRIPTION = (
    "**Credential: secret key** (`X-API-KEY: lehnz_sk_…`). Multipart field `file`: a CSV with "
    "a header row (unknown columns become {extra}), a JSON array, or NDJSON, detected from the "
    "file name or its content; gzip accepted. Valid rows are imported and each rejected row "
    "is reported with its line (the first 100, and the count of all); `?strict=true` refuses "
    "the whole file on any error."
)

UploadedFile = Annotated[UploadFile, File(description="CSV, JSON array or NDJSON; may be gzip.")]
Strict = Annotated[bool, Query(description="Refuse the whole file if any row is invalid.")]


def _import(
    kind: Kind, file: UploadFile, strict: bool, key: Any, runtime: RuntimeDep
) -> Envelope[dict[str, Any]]:
    try:
        report = runtime.importer.run(
            kind=kind,
            organization_id=key.organization_id,
            raw=file.file,
            filename=file.filename,
            strict=strict,
        )
    except UnreadableFile as exc:
        raise BadRequest(f"Cannot import the file: {exc}") from exc
    message = f"{report.imported} {kind} imported, {report.rejected} rejected"
    return ok(report.as_dict(), message)


@router.post("/items", summary="Upload items", description=_DESCRIPTION.format(extra="attributes"))
def upload_items(
    file: UploadedFile, key: SecretKey, runtime: RuntimeDep, strict: Strict = False
) -> Envelope[dict[str, Any]]:
    return _import("items", file, strict, key, runtime)


@router.post("/users", summary="Upload users", description=_DESCRIPTION.format(extra="attributes"))
def upload_users(
    file: UploadedFile, key: SecretKey, runtime: RuntimeDep, strict: Strict = False
) -> Envelope[dict[str, Any]]:
    return _import("users", file, strict, key, runtime)


@router.post(
    "/events", summary="Upload events", description=_DESCRIPTION.format(extra="`context` fields")
)
def upload_events(
    file: UploadedFile, key: SecretKey, runtime: RuntimeDep, strict: Strict = False
) -> Envelope[dict[str, Any]]:
    return _import("events", file, strict, key, runtime)
