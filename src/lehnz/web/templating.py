"""Rendering the dashboard's pages: one Jinja2 environment and the context every page gets.

Every page carries the navigation, the signed-in developer, this browser's CSRF token and any
notice left by the previous action, so templates never fetch those themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

from lehnz.api.client_ip import forwarded_https
from lehnz.store.sessions import SessionRecord
from lehnz.web import csrf

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

#: The navigation, in order: (link name, path). The names are the ones the issue and the
#: docs use; tests find pages by them.
SIGNED_IN_NAV = (
    ("Developer Access", "/access"),
    ("Catalog", "/catalog"),
    ("Events", "/events"),
    ("Playground", "/playground"),
    ("Analytics", "/analytics"),
    ("Models", "/models"),
    ("Settings", "/settings"),
)
SESSION_COOKIE = "lehnz_session"
NOTICE_COOKIE = "lehnz_notice"

# What a browser may load on a dashboard page: only lehnz's own files, no inline script.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def is_https(request: Request) -> bool:
    """Served over HTTPS: directly, or through a proxy in ``LEHNZ_TRUSTED_PROXIES`` that says
    so in ``X-Forwarded-Proto``."""
    if request.url.scheme == "https":
        return True
    runtime = request.app.state.runtime
    peer = request.client.host if request.client else None
    return forwarded_https(
        peer, request.headers.get("x-forwarded-proto"), runtime.settings.trusted_networks()
    )


def set_cookie(response: Response, request: Request, name: str, value: str, **kw: Any) -> None:
    """Every dashboard cookie: ``HttpOnly``, ``SameSite=Strict``, ``Secure`` over HTTPS."""
    response.set_cookie(
        name, value, httponly=True, samesite="strict", secure=is_https(request), path="/", **kw
    )


def csrf_cookie_value(request: Request) -> tuple[str, bool]:
    """This browser's CSRF cookie value, and whether it is new (to be set on the answer)."""
    value = getattr(request.state, "csrf_cookie", None) or request.cookies.get(csrf.COOKIE)
    if value and 16 <= len(value) <= 128:
        return value, False
    value = csrf.new_cookie_value()
    request.state.csrf_cookie = value
    return value, True


def base_url(request: Request) -> str:
    """This server's address as the browser reached it, for the snippets pages show."""
    return str(request.base_url).rstrip("/")


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    session: SessionRecord | None = None,
    status_code: int = 200,
    active: str | None = None,
    notice: str | None = None,
    error: str | None = None,
) -> Response:
    runtime = request.app.state.runtime
    cookie_value, new_cookie = csrf_cookie_value(request)
    shown_notice = notice or unquote(request.cookies.get(NOTICE_COOKIE, ""))
    page: dict[str, Any] = {
        "session": session,
        "nav": SIGNED_IN_NAV if session else (),
        "active": active,
        "csrf_token": csrf.token_for(cookie_value, secret=runtime.jwt_secret),
        "registration_open": runtime.settings.registration != "closed",
        "notice": (shown_notice or "")[:300] or None,
        "error": error,
        "base_url": base_url(request),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, template, page, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    if new_cookie:
        set_cookie(response, request, csrf.COOKIE, cookie_value)
    if request.cookies.get(NOTICE_COOKIE):
        response.delete_cookie(NOTICE_COOKIE, path="/")
    return response


def redirect(request: Request, path: str, *, notice: str | None = None) -> Response:
    """Post/redirect/get: a 303 to ``path``, carrying a short notice for the next page."""
    response = RedirectResponse(path, status_code=303)
    if notice:
        set_cookie(response, request, NOTICE_COOKIE, quote(notice[:300]), max_age=60)
    return response
