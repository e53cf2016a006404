"""Fuzzing the dashboard's own routes, which the OpenAPI-driven Schemathesis run cannot see
(they are pages, left out of the schema): every route, every form field, query parameter
and path id, with hostile values. The rule is the API's: a 4xx or a page, never a 5xx.

Each request carries a valid session and CSRF token, so the values reach the handlers
rather than stopping at the door.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lehnz.web import PAGES
from tests.dashboard import DashboardUser, sign_up

HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "\x00",
            "a\x00b",
            "é",
            "a/b",
            "%2F",
            "..",
            "-1",
            "0",
            "1e309",
            "99999999999999999999999",
            "NaN",
            "2026-13-45",
            "99999-01-01",
            "{",
            '{"a": {"b": ' * 50,
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "%",
            "_",
            "x" * 5000,
        ]
    ),
)


def _routes_of(router: Any) -> Iterator[APIRoute]:
    """Every route of a page's router, through routers it includes (FastAPI keeps those
    nested rather than copying their routes into the app's list)."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _routes_of(route.original_router)


def _dashboard_routes() -> list[tuple[str, str, APIRoute]]:
    return [
        (method, route.path, route)
        for page in PAGES
        for route in _routes_of(page.router)
        for method in sorted(route.methods)
    ]


def _fields(route: APIRoute) -> tuple[list[str], list[str], list[str]]:
    dependant = route.dependant
    path = [p.name for p in dependant.path_params]
    query = [p.alias for p in dependant.query_params]
    body = [p.alias for p in dependant.body_params]
    return path, query, body


@pytest.fixture(scope="module")
def fuzzer(api: TestClient) -> DashboardUser:
    user = sign_up(api, organization_name="Fuzz Store")
    user.keys()
    return user


def test_every_dashboard_route_is_fuzzed() -> None:
    routes = {path for _, path, _ in _dashboard_routes()}
    for page in ("/access", "/catalog", "/events", "/playground", "/analytics", "/models"):
        assert page in routes
    assert "/settings" in routes


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
    # No shrinking: a failure already names the route and the values, and shrinking a
    # multi-route example can run for minutes.
    phases=[Phase.explicit, Phase.generate],
)
@given(data=st.data())
def test_no_dashboard_route_answers_5xx(
    api: TestClient, fuzzer: DashboardUser, data: st.DataObject
) -> None:
    token = fuzzer.csrf()
    for method, template, route in _dashboard_routes():
        if template == "/logout":
            continue  # would end the fuzzer's own session
        path_names, query_names, body_names = _fields(route)
        path = template
        for name in path_names:
            value = data.draw(HOSTILE_TEXT.filter(lambda v: "\x00" not in v and v), label=name)
            encoded = quote(value, safe="")  # as a browser's link would carry it
            path = path.replace(f"{{{name}:id}}", encoded).replace(f"{{{name}}}", encoded)
        query = {
            n: data.draw(HOSTILE_TEXT, label=n) for n in query_names if data.draw(st.booleans())
        }
        form = {n: data.draw(HOSTILE_TEXT, label=n) for n in body_names if data.draw(st.booleans())}
        if method == "GET":
            response = fuzzer.client.get(path, params=query)
        else:
            response = fuzzer.client.request(
                method,
                path,
                params=query,
                data={"csrf_token": token, **form},
                headers={"X-CSRF-Token": token},
            )
        assert response.status_code < 500, (method, path, query, form, response.text[:500])
