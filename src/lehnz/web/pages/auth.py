"""Sign up, log in and log out: the same accounts as the API, held in a session cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from lehnz.api.schemas import RegisterRequest
from lehnz.auth.service import create_account
from lehnz.auth.tokens import DeveloperIdentity
from lehnz.errors import LehnzError, NotFound, RateLimited, RegistrationClosed
from lehnz.web import csrf
from lehnz.web.deps import CsrfChecked, charge_auth_attempt, runtime_of
from lehnz.web.templating import SESSION_COOKIE, redirect, render, set_cookie

router = APIRouter()

FormText = Annotated[str, Form()]


def _safe_next(target: str | None) -> str:
    """Only a path on this server: never ``//elsewhere`` or a full URL (an open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target[:500]
    return "/access"


def _signed_in_response(request: Request, identity: DeveloperIdentity, target: str) -> Response:
    runtime = runtime_of(request)
    token = runtime.sessions.start(identity)
    response = redirect(request, _safe_next(target))
    set_cookie(response, request, SESSION_COOKIE, token, max_age=runtime.sessions.ttl_seconds)
    # A fresh CSRF value: one planted in this browser before the log-in is worth nothing now.
    set_cookie(response, request, csrf.COOKIE, csrf.new_cookie_value())
    return response


def _current(request: Request) -> bool:
    return runtime_of(request).sessions.find(request.cookies.get(SESSION_COOKIE)) is not None


@router.get("/")
def home(request: Request) -> Response:
    return redirect(request, "/access" if _current(request) else "/login")


@router.get("/login")
def login_form(request: Request, next: str = "/access") -> Response:
    if _current(request):
        return redirect(request, _safe_next(next))
    return render(request, "login.html", {"next": _safe_next(next)}, active="Log in")


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request, email: FormText = "", password: FormText = "", next: FormText = "/access"
) -> Response:
    context = {"next": _safe_next(next), "email": email[:320]}
    try:
        charge_auth_attempt(request)
        identity = runtime_of(request).accounts.authenticate(
            email=email[:320], password=password[:1024]
        )
    except LehnzError as exc:
        response = render(
            request,
            "login.html",
            context,
            status_code=exc.status_code,
            error=exc.message,
            active="Log in",
        )
        response.headers.update(exc.headers)
        return response
    return _signed_in_response(request, identity, next)


def _require_open(request: Request) -> None:
    if runtime_of(request).settings.registration == "closed":
        raise NotFound("Sign-up is closed on this server; an operator creates organisations")


@router.get("/signup")
def signup_form(request: Request) -> Response:
    _require_open(request)
    return render(request, "signup.html", {}, active="Sign up")


@router.post("/signup", dependencies=[CsrfChecked])
def signup(
    request: Request,
    email: FormText = "",
    password: FormText = "",
    organization_name: FormText = "",
) -> Response:
    if runtime_of(request).settings.registration == "closed":
        raise RegistrationClosed()
    context = {"email": email[:320], "organization_name": organization_name[:200]}
    try:
        charge_auth_attempt(request)
        body = RegisterRequest(
            email=email.strip(), password=password, organization_name=organization_name.strip()
        )
        account = create_account(
            runtime_of(request).store,
            email=body.email,
            password=body.password,
            organization_name=body.organization_name,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return render(
            request, "signup.html", context, status_code=400, error=problems, active="Sign up"
        )
    except LehnzError as exc:
        status = exc.status_code
        response = render(
            request, "signup.html", context, status_code=status, error=exc.message, active="Sign up"
        )
        if isinstance(exc, RateLimited):
            response.headers.update(exc.headers)
        return response
    identity = DeveloperIdentity(account.developer_id, account.organization_id)
    return _signed_in_response(request, identity, "/access")


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> Response:
    runtime_of(request).sessions.end(request.cookies.get(SESSION_COOKIE))
    response = redirect(request, "/login", notice="You are logged out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
