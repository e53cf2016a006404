"""What a dashboard handler needs: the signed-in session, and a checked CSRF token.

``SignedIn`` reads the session cookie; without a live session a page answers with a redirect
to the log-in form (a script's request gets a 401 envelope instead). ``CsrfChecked`` refuses
any post whose token does not match this browser's cookie, before the handler runs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from lehnz.api.client_ip import client_ip
from lehnz.errors import Forbidden, RateLimited, Unauthorized
from lehnz.runtime import Runtime
from lehnz.store.sessions import SessionRecord
from lehnz.web import csrf
from lehnz.web.forms import checked_form
from lehnz.web.templating import SESSION_COOKIE


class LoginRequired(Unauthorized):
    default_message = "Log in to the dashboard first"


class CsrfRefused(Forbidden):
    code = "csrf_failed"
    default_message = (
        "The form's security token is missing or stale; reload the page and submit it again"
    )


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def signed_in(request: Request) -> SessionRecord:
    session = runtime_of(request).sessions.find(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise LoginRequired()
    return session


async def check_csrf(request: Request) -> None:
    """A post's token: the form's ``csrf_token`` field or the ``X-CSRF-Token`` header.

    The form is checked on the way (``checked_form``): every dashboard post goes through here.
    """
    submitted = request.headers.get(csrf.HEADER)
    form = await checked_form(request)
    if submitted is None and form is not None:
        value = form.get(csrf.FIELD)
        submitted = value if isinstance(value, str) else None
    secret = runtime_of(request).jwt_secret
    if not csrf.is_valid(request.cookies.get(csrf.COOKIE), submitted, secret=secret):
        raise CsrfRefused()


def charge_auth_attempt(request: Request) -> None:
    """The API's sign-up and log-in window (per client address) applies to the forms too."""
    runtime = runtime_of(request)
    peer = request.client.host if request.client else None
    address = client_ip(
        peer, request.headers.get("x-forwarded-for"), runtime.settings.trusted_networks()
    )
    decision = runtime.rate_limits.charge_auth(address)
    if decision is not None and not decision.allowed:
        raise RateLimited(
            f"Too many sign-up and log-in attempts from this address; "
            f"retry in {decision.reset_seconds} s",
            headers={"Retry-After": str(decision.reset_seconds)},
        )


SignedIn = Annotated[SessionRecord, Depends(signed_in)]
CsrfChecked = Depends(check_csrf)
