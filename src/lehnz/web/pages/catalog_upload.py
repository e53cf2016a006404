"""Uploading a file of items, users or events from the catalog page.

The same importer, limits and errors as ``/api/v1/upload/*`` (``lehnz.api.uploads``). A
browser without scripts posts the form and gets the page back with the report; the page's
script posts the same form with ``Accept: application/json`` (to show upload progress,
which ``fetch`` cannot) and gets the API's envelope.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.responses import Response

from lehnz.api.envelope import ok
from lehnz.api.long_work import run_long
from lehnz.api.uploads import import_upload
from lehnz.errors import LehnzError, ValidationFailed
from lehnz.imports.rows import Kind
from lehnz.web.deps import CsrfChecked, SignedIn, runtime_of
from lehnz.web.pages.catalog_view import render_catalog
from lehnz.wire.uploads import EventImportReport, ImportReport

router = APIRouter()

UPLOAD_PATH = "/catalog/upload"
KINDS: dict[str, Kind] = {"items": "items", "users": "users", "events": "events"}
_TRUE = ("on", "yes", "true", "1")


def _wants_json(request: Request) -> bool:
    """The page's script asks for JSON; a browser's own form post accepts text/html."""
    return "text/html" not in request.headers.get("accept", "")


def _envelope(report: dict[str, Any]) -> JSONResponse:
    model: BaseModel = (
        EventImportReport.model_validate(report)
        if report["kind"] == "events"
        else ImportReport.model_validate(report)
    )
    message = f"{report['imported']} {report['kind']} imported, {report['rejected']} rejected"
    return JSONResponse(ok(model, message).model_dump(mode="json"))


@router.post(UPLOAD_PATH, dependencies=[CsrfChecked])
async def upload(
    request: Request,
    session: SignedIn,
    kind: Annotated[str, Form()] = "",
    strict: Annotated[str, Form()] = "",
) -> Response:
    # Declaring form fields makes FastAPI parse the form (and close its files afterwards,
    # even when the CSRF check refuses the post); the file is read from that same form.
    file = (await request.form()).get("file")
    chosen = {"kind": kind if kind in KINDS else "items", "strict": strict in _TRUE}
    problems = []
    if kind not in KINDS:
        problems.append("kind: choose items, users or events")
    if not isinstance(file, UploadFile) or (not file.filename and not file.size):
        problems.append("file: choose a CSV, JSON or NDJSON file (gzip allowed)")
    try:
        if problems:
            raise ValidationFailed(problems, message="; ".join(problems))
        assert isinstance(file, UploadFile)
        report = await run_long(
            request,
            functools.partial(
                import_upload,
                runtime_of(request),
                kind=KINDS[kind],
                organization_id=session.organization_id,
                raw=file.file,
                filename=file.filename,
                strict=strict in _TRUE,
            ),
        )
    except LehnzError as exc:
        if _wants_json(request):
            raise  # the error envelope; a strict refusal carries the report under data
        refused = exc.extra.get("data")
        return render_catalog(
            request,
            session,
            report=refused if isinstance(refused, dict) else None,
            refused=True,
            upload=chosen,
            error=exc.message,
            status_code=exc.status_code,
        )
    if _wants_json(request):
        return _envelope(report)
    return render_catalog(request, session, report=report, upload=chosen)
