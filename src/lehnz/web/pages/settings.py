"""Settings: the organisation's custom event families, its request limit and its name.

Each form calls the same ``SettingsService`` method as ``/api/v1/settings`` and builds the
same request model where the API has one (``RateLimitBody``), so a refusal names the same
field with the same reason. Event families are edited as text, one ``event_name = family``
per line, and become the mapping the API's ``PUT /api/v1/settings/event_families`` takes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from lehnz.api.settings import RateLimitBody
from lehnz.errors import LehnzError, ValidationFailed
from lehnz.pipeline.weights import STANDARD_FAMILIES
from lehnz.settings_service import MAX_CUSTOM_EVENTS
from lehnz.store.sessions import SessionRecord
from lehnz.validation import NUL_REASON, describe
from lehnz.web.deps import CsrfChecked, SignedIn, runtime_of
from lehnz.web.templating import redirect, render

router = APIRouter()

PAGE = "Settings"
#: Longer than any valid mapping's text (1000 names of 256 characters and a family each).
MAX_FAMILIES_TEXT = MAX_CUSTOM_EVENTS * 300


def families_text(mapping: dict[str, str]) -> str:
    return "".join(f"{name} = {family}\n" for name, family in sorted(mapping.items()))


def parse_families(text: str) -> dict[str, object]:
    """``event_name = family`` per line (blank lines and ``#`` comments skipped) as the
    mapping the service takes; the family is after the last ``=``, so a name may hold one."""
    if len(text) > MAX_FAMILIES_TEXT:
        raise ValidationFailed([f"event_families: at most {MAX_FAMILIES_TEXT} characters"])
    mapping: dict[str, object] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, equals, family = stripped.rpartition("=")
        name = name.strip()
        if not equals or not name:
            problems.append(f"event_families: line {number}: write event_name = family")
        elif name in mapping:
            problems.append(f"event_families: line {number}: {name!r} is given twice")
        else:
            mapping[name] = family.strip()
    if problems:
        raise ValidationFailed(problems)
    return mapping


def _nul_free(**fields: str) -> None:
    problems = [f"{name}: {NUL_REASON}" for name, value in fields.items() if "\x00" in value]
    if problems:
        raise ValidationFailed(problems)


def _page(
    request: Request,
    session: SessionRecord,
    *,
    error: str | None = None,
    status_code: int = 200,
    form: dict[str, Any] | None = None,
) -> Response:
    runtime = runtime_of(request)
    organization_id = session.organization_id
    families = runtime.settings_service.event_families(organization_id=organization_id)
    limit = runtime.rate_limits.organization_limit(organization_id)
    context = {
        "families": families,
        "families_text": families_text(families),
        "standard_families": STANDARD_FAMILIES,
        "limit": limit,
        "server_limit": (
            runtime.settings.rate_limit_requests,
            runtime.settings.rate_limit_window_seconds,
        ),
        "form": form or {},
    }
    return render(
        request,
        "settings.html",
        context,
        session=session,
        active=PAGE,
        error=error,
        status_code=status_code,
    )


def _refused(
    request: Request, session: SessionRecord, exc: LehnzError, form: dict[str, Any]
) -> Response:
    return _page(request, session, error=exc.message, status_code=exc.status_code, form=form)


@router.get("/settings")
def settings_page(request: Request, session: SignedIn) -> Response:
    return _page(request, session)


@router.post("/settings/event_families", dependencies=[CsrfChecked])
def set_event_families(
    request: Request, session: SignedIn, event_families: Annotated[str, Form()] = ""
) -> Response:
    form = {"event_families": event_families[:MAX_FAMILIES_TEXT]}
    try:
        _nul_free(event_families=event_families)
        mapping = parse_families(event_families)
        runtime_of(request).settings_service.set_event_families(
            organization_id=session.organization_id, families=mapping
        )
    except ValidationFailed as exc:
        if not all(p.startswith("event_families") for p in exc.problems):
            exc = ValidationFailed([f"event_families: {p}" for p in exc.problems])
        return _refused(request, session, exc, form)
    return redirect(request, "/settings", notice="Event families saved.")


@router.post("/settings/rate_limit", dependencies=[CsrfChecked])
def set_rate_limit(
    request: Request,
    session: SignedIn,
    requests: Annotated[str, Form()] = "",
    window_seconds: Annotated[str, Form()] = "",
) -> Response:
    form = {"requests": requests[:30], "window_seconds": window_seconds[:30]}
    try:
        _nul_free(requests=requests, window_seconds=window_seconds)
        try:
            body = RateLimitBody(requests=requests.strip(), window_seconds=window_seconds.strip())
        except ValidationError as exc:
            raise ValidationFailed(describe(exc, prefix="")) from None
    except ValidationFailed as exc:
        return _refused(request, session, exc, form)
    runtime_of(request).settings_service.set_rate_limit(
        organization_id=session.organization_id,
        requests=body.requests,
        window_seconds=body.window_seconds,
    )
    return redirect(
        request,
        "/settings",
        notice=f"Rate limit saved: {body.requests} requests per {body.window_seconds} s.",
    )


@router.post("/settings/rate_limit/reset", dependencies=[CsrfChecked])
def reset_rate_limit(request: Request, session: SignedIn) -> Response:
    runtime_of(request).settings_service.set_rate_limit(
        organization_id=session.organization_id, requests=None, window_seconds=None
    )
    return redirect(request, "/settings", notice="Rate limit reset to the server-wide default.")


@router.post("/settings/name", dependencies=[CsrfChecked])
def rename(request: Request, session: SignedIn, name: Annotated[str, Form()] = "") -> Response:
    form = {"name": name[:200]}
    try:
        _nul_free(name=name)
        kept = runtime_of(request).settings_service.rename_organization(
            organization_id=session.organization_id, name=name
        )
    except LehnzError as exc:
        return _refused(request, session, exc, form)
    return redirect(request, "/settings", notice=f"Organisation renamed to “{kept}”.")
