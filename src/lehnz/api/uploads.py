"""File uploads of items, users and events (secret key, ``multipart/form-data``)."""

from __future__ import annotations

import functools
from typing import IO, Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile

from lehnz.api.deps import RuntimeDep, SecretKey
from lehnz.api.envelope import Envelope, ok
from lehnz.api.long_work import run_long
from lehnz.errors import BadRequest, PayloadTooLarge
from lehnz.imports.importer import FileTooLarge, UnreadableFile
from lehnz.imports.rows import Kind
from lehnz.runtime import Runtime
from lehnz.wire.uploads import EventImportReport, ImportReport

router = APIRouter(prefix="/api/v1/upload", tags=["uploads"])

_DESCRIPTION = (
    "**Credential: secret key** (`X-API-KEY: lehnz_sk_…`). Multipart field `file`: a CSV with "
    "a header row (unknown columns become {extra}), a JSON array, or NDJSON, detected from the "
    "file name or its content; gzip accepted. Valid rows are imported and each rejected row "
    "is reported with its line (the first 100, and the count of all); `?strict=true` refuses "
    "the whole file on any error. A file over a limit (unpacked size, records, reading time: "
    "413; record or field length: 400) is refused whole and writes nothing."
)


UploadedFile = Annotated[UploadFile, File(description="CSV, JSON array or NDJSON; may be gzip.")]
Strict = Annotated[bool, Query(description="Refuse the whole file if any row is invalid.")]


def import_upload(
    runtime: Runtime,
    *,
    kind: Kind,
    organization_id: str,
    raw: IO[bytes],
    filename: str | None,
    strict: bool,
) -> dict[str, Any]:
    """Import one uploaded file and answer its report; the importer's refusals as the
    errors the API answers (the dashboard's upload calls this too)."""
    try:
        report = runtime.importer.run(
            kind=kind,
            organization_id=organization_id,
            raw=raw,
            filename=filename,
            strict=strict,
            timeout_seconds=runtime.settings.upload_timeout_seconds,
        )
    except FileTooLarge as exc:
        raise PayloadTooLarge(f"Cannot import the file: {exc}") from exc
    except UnreadableFile as exc:
        raise BadRequest(f"Cannot import the file: {exc}") from exc
    return report.as_dict()


async def _import(
    request: Request, kind: Kind, file: UploadFile, strict: bool, key: Any, runtime: Runtime
) -> tuple[dict[str, Any], str]:
    report = await run_long(
        request,
        functools.partial(
            import_upload,
            runtime,
            kind=kind,
            organization_id=key.organization_id,
            raw=file.file,
            filename=file.filename,
            strict=strict,
        ),
    )
    return report, f"{report['imported']} {kind} imported, {report['rejected']} rejected"


@router.post("/items", summary="Upload items", description=_DESCRIPTION.format(extra="attributes"))
async def upload_items(
    file: UploadedFile,
    key: SecretKey,
    runtime: RuntimeDep,
    request: Request,
    strict: Strict = False,
) -> Envelope[ImportReport]:
    report, message = await _import(request, "items", file, strict, key, runtime)
    return ok(ImportReport.model_validate(report), message)


@router.post("/users", summary="Upload users", description=_DESCRIPTION.format(extra="attributes"))
async def upload_users(
    file: UploadedFile,
    key: SecretKey,
    runtime: RuntimeDep,
    request: Request,
    strict: Strict = False,
) -> Envelope[ImportReport]:
    report, message = await _import(request, "users", file, strict, key, runtime)
    return ok(ImportReport.model_validate(report), message)


@router.post(
    "/events", summary="Upload events", description=_DESCRIPTION.format(extra="`context` fields")
)
async def upload_events(
    file: UploadedFile,
    key: SecretKey,
    runtime: RuntimeDep,
    request: Request,
    strict: Strict = False,
) -> Envelope[EventImportReport]:
    report, message = await _import(request, "events", file, strict, key, runtime)
    return ok(EventImportReport.model_validate(report), message)
