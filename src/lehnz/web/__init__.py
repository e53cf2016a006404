"""The dashboard: server-rendered pages over the same services as the API.

``install_dashboard`` adds the pages, their static files and the error pages to an app. The
pages call the runtime's services directly, scoped to the signed-in developer's organisation,
so there is one copy of every rule.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from lehnz.api.envelope import error_response
from lehnz.errors import LehnzError
from lehnz.web.deps import LoginRequired
from lehnz.web.pages import access, analytics, auth, catalog, events, models, playground, settings
from lehnz.web.templating import HERE, render

PAGES = (auth, access, catalog, events, playground, analytics, models, settings)


async def _mark_dashboard(request: Request) -> None:
    """Errors on these paths become pages (or redirects), not JSON envelopes."""
    request.state.dashboard = True


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


async def _error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LehnzError)
    if not getattr(request.state, "dashboard", False) or not _wants_html(request):
        return error_response(exc)
    if isinstance(exc, LoginRequired):
        target = request.url.path
        if request.method == "GET" and target not in ("/", "/login"):
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return RedirectResponse("/login", status_code=303)
    response = render(
        request,
        "error.html",
        {"title": exc.message, "message": exc.message},
        status_code=exc.status_code,
    )
    response.headers.update(exc.headers)
    return response


def install_dashboard(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for page in PAGES:
        app.include_router(
            page.router, dependencies=[Depends(_mark_dashboard)], include_in_schema=False
        )
    app.add_exception_handler(LehnzError, _error)
