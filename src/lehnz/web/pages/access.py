"""Developer Access: the organisation's API keys, and how to use them from each client."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from lehnz.api import path_ids  # noqa: F401  (registers the {…:id} path convertor)
from lehnz.auth.service import IssuedKey
from lehnz.errors import LehnzError
from lehnz.store.sessions import SessionRecord
from lehnz.web.deps import CsrfChecked, SignedIn, runtime_of
from lehnz.web.templating import redirect, render

router = APIRouter()

PAGE = "Developer Access"
MAX_GRACE_SECONDS = 30 * 24 * 3600


def _page(
    request: Request,
    session: SessionRecord,
    *,
    issued: IssuedKey | None = None,
    error: str | None = None,
    status_code: int = 200,
    form: dict[str, Any] | None = None,
) -> Response:
    keys = runtime_of(request).keys.list(organization_id=session.organization_id)
    context = {"keys": keys, "issued": issued, "form": form or {}}
    return render(
        request,
        "access.html",
        context,
        session=session,
        active=PAGE,
        error=error,
        status_code=status_code,
    )


@router.get("/access")
def access(request: Request, session: SignedIn) -> Response:
    return _page(request, session)


@router.post("/access/keys", dependencies=[CsrfChecked])
def create_key(
    request: Request,
    session: SignedIn,
    type: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> Response:
    form = {"type": type, "name": name[:200]}
    problems = []
    if type not in ("publishable", "secret"):
        problems.append("type: choose publishable or secret")
    if not name.strip() or len(name) > 200:
        problems.append("name: give the key a name of 1 to 200 characters")
    if problems:
        return _page(request, session, error="; ".join(problems), status_code=400, form=form)
    issued = runtime_of(request).keys.create(
        organization_id=session.organization_id,
        key_type="publishable" if type == "publishable" else "secret",
        name=name.strip(),
    )
    # Shown in this answer and never again: the store keeps only its hash.
    return _page(request, session, issued=issued)


@router.post("/access/keys/{key_id:id}/rotate", dependencies=[CsrfChecked])
def rotate_key(
    request: Request,
    session: SignedIn,
    key_id: str,
    grace_seconds: Annotated[str, Form()] = "0",
) -> Response:
    try:
        grace = int(grace_seconds or "0")
    except ValueError:
        grace = -1
    if not 0 <= grace <= MAX_GRACE_SECONDS:
        message = f"grace_seconds: a whole number of seconds from 0 to {MAX_GRACE_SECONDS}"
        return _page(request, session, error=message, status_code=400)
    try:
        issued = runtime_of(request).keys.rotate(
            organization_id=session.organization_id, key_id=key_id, grace_seconds=grace
        )
    except LehnzError as exc:
        return _page(request, session, error=exc.message, status_code=exc.status_code)
    return _page(request, session, issued=issued)


@router.post("/access/keys/{key_id:id}/revoke", dependencies=[CsrfChecked])
def revoke_key(request: Request, session: SignedIn, key_id: str) -> Response:
    try:
        runtime_of(request).keys.revoke(organization_id=session.organization_id, key_id=key_id)
    except LehnzError as exc:
        return _page(request, session, error=exc.message, status_code=exc.status_code)
    return redirect(request, "/access", notice="Key revoked: it answers 401 from now on.")
