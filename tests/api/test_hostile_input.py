"""Hostile input, table-driven: every case gets its 4xx in the envelope, naming the field or
the limit, and the stored data is byte-identical before and after.

Each case is one request a stranger could send. The snapshot covers every row of the
tenant's organisation in every table, and the accounts tables whole (a refused registration
must create nothing).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lehnz.api.limits import EVENTS_LIMIT, MiB
from lehnz.store.tables import metadata, pipeline_cursors
from lehnz.validation import MAX_JSON_DEPTH
from tests.factories import DOMAIN, assert_error, eventually, ingest, rows_of, tenant

INGEST = "/api/v1/events/ingest"


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"x": value}
    return value


def _event(**fields: Any) -> dict[str, Any]:
    return {"user_id": "shopper", "event_name": "view", "item_id": "lamp", **fields}


def _chunks(total: int, size: int = MiB) -> Iterator[bytes]:
    """A body sent with ``Transfer-Encoding: chunked``: no Content-Length to refuse it by."""
    sent = 0
    yield b'[{"user_id": "u", "event_name": "view", "context": {"pad": "'
    while sent < total:
        yield b"a" * size
        sent += size
    yield b'"}}]'


JSON = {"Content-Type": "application/json"}


@dataclass
class Case:
    """One hostile request and the refusal it must get (by default a POST refused with 400
    ``validation_error``)."""

    name: str
    path: str
    credential: str  # "publishable", "secret", "token" or "none"
    fragments: tuple[str, ...] = ()
    json: Any = None
    content: bytes | Callable[[], Iterator[bytes]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] | None = None
    method: str = "POST"
    status: int = 400
    code: str = "validation_error"


def _deep(prefix: bytes, suffix: bytes = b"}") -> bytes:
    """A JSON body with 10,000 nested arrays where ``prefix`` leaves a value open."""
    return prefix + b"[" * 10_000 + b"]" * 10_000 + suffix


OUT_OF_RANGE = ("timestamp", "out of range")

CASES = [
    # Timestamps no date can hold: numbers, non-standard constants, offsets past year 9999.
    *(
        Case(
            f"ingest timestamp {text}",
            INGEST,
            "publishable",
            OUT_OF_RANGE,
            content=f'{{"user_id": "u", "event_name": "view", "timestamp": {text}}}'.encode(),
            headers=JSON,
        )
        for text in ("1e20", "-1e20", "1e400", "-1e400", "Infinity", "NaN", "-1", "1e12")
    ),
    Case(
        "ingest timestamp before 1970",
        INGEST,
        "publishable",
        OUT_OF_RANGE,
        json=_event(timestamp="1969-12-31T23:59:59Z"),
    ),
    Case(
        "ingest timestamp at year 9999 with an offset",
        INGEST,
        "publishable",
        OUT_OF_RANGE,
        json=_event(timestamp="9999-12-31T23:59:59-14:00"),
    ),
    Case(
        "ingest batch whose last timestamp is bad",
        INGEST,
        "publishable",
        ("events[999].timestamp",),
        json=[_event(item_id=f"i{n}") for n in range(999)] + [_event(timestamp=1e20)],
    ),
    # Nesting: Python's parser recurses once per level.
    Case(
        "ingest nested 10,000 levels",
        INGEST,
        "publishable",
        (f"nested deeper than {MAX_JSON_DEPTH} levels",),
        content=b'{"user_id": "u", "event_name": "view", "context": '
        + b'{"x": ' * 10_000
        + b"1"
        + b"}" * 10_001,
        headers=JSON,
    ),
    Case(
        "ingest array nested 10,000 levels",
        INGEST,
        "publishable",
        ("nested deeper",),
        content=_deep(b"", b""),
        headers=JSON,
    ),
    Case(
        "ingest nested one level too deep",
        INGEST,
        "publishable",
        ("nested deeper",),
        json=_event(context=_nested(MAX_JSON_DEPTH)),
    ),
    *(
        Case(
            f"{name} nested 10,000 levels",
            path,
            credential,
            ("nested deeper",),
            content=body,
            headers=JSON,
        )
        for name, path, credential, body in (
            ("recommend", "/recommend", "publishable", _deep(b'{"user_id": "u", "filters": ')),
            ("register", "/api/v1/auth/register", "none", _deep(b'{"email": ')),
            (
                "items",
                "/api/v1/items",
                "secret",
                _deep(b'{"item_id": "i", "attributes": {"a": ', b"}}"),
            ),
        )
    ),
    # An unterminated string of escaped quotes (2 MB): a depth check quadratic in it would
    # take hours here; a linear one takes milliseconds.
    Case(
        "ingest unterminated string of 1,000,000 escaped quotes",
        INGEST,
        "publishable",
        ("nested deeper",),
        content=b"[" * (MAX_JSON_DEPTH + 1) + b'"' + b'\\"' * 1_000_000,
        headers=JSON,
    ),
    # Bodies over the limit with no Content-Length.
    *(
        Case(
            f"{name} chunked over the limit",
            path,
            credential,
            (limit,),
            content=body,
            headers=JSON,
            status=413,
            code="payload_too_large",
        )
        for name, path, credential, limit, body in (
            ("ingest", INGEST, "publishable", "5 MB", lambda: _chunks(EVENTS_LIMIT + 1)),
            ("recommend", "/recommend", "publishable", "5 MB", lambda: _chunks(EVENTS_LIMIT + 1)),
            (
                "items",
                "/api/v1/items",
                "secret",
                "64 MB",
                lambda: _chunks(64 * MiB + 1, size=4 * MiB),
            ),
        )
    ),
    # The NUL rule, whatever the encoding or content type claims.
    Case(
        "ingest NUL with no content type",
        INGEST,
        "publishable",
        ("user_id", "NUL"),
        content=json.dumps(_event(user_id="a\u0000b")).encode(),
    ),
    *(
        Case(
            f"ingest as {encoding}",
            INGEST,
            "publishable",
            ("UTF-8",),
            content=json.dumps(_event(user_id="a\u0000b")).encode(encoding),
            headers=JSON,
        )
        for encoding in ("utf-16", "utf-16-le", "utf-32", "utf-32-be")
    ),
    Case(
        "ingest as latin-1",
        INGEST,
        "publishable",
        ("UTF-8", "position"),
        content=json.dumps(_event(user_id="café"), ensure_ascii=False).encode("latin-1"),
        headers=JSON,
    ),
    Case(
        "items NUL as UTF-16",
        "/api/v1/items",
        "secret",
        ("UTF-8",),
        content=json.dumps({"item_id": "a\u0000"}).encode("utf-16"),
        headers=JSON,
    ),
    Case(
        "register NUL in the organisation name with no content type",
        "/api/v1/auth/register",
        "none",
        ("organization_name", "NUL"),
        content=json.dumps(
            {"email": "nul@example.com", "password": "long enough", "organization_name": "a\0"}
        ).encode(),
    ),
    Case(
        "register NUL in the e-mail as UTF-32",
        "/api/v1/auth/register",
        "none",
        ("UTF-8",),
        content=json.dumps(
            {"email": "n\u0000@example.com", "password": "long enough", "organization_name": "a"}
        ).encode("utf-32"),
        headers=JSON,
    ),
    Case(
        "users NUL as UTF-16 with a charset",
        "/api/v1/users",
        "secret",
        ("UTF-8",),
        content=json.dumps({"user_id": "a\u0000"}).encode("utf-16"),
        headers={"Content-Type": "application/json; charset=utf-16"},
    ),
    # Cursors that are not ours.
    *(
        Case(
            f"events before={before!r}",
            "/api/v1/users/shopper/events",
            "secret",
            ("before",),
            params={"before": before},
            method="GET",
        )
        for before in (
            "99999999999999999999",
            "9223372036854775808",
            "²",
            "١٢",
            "-1",
            "1e3",
            " 12",
            "12 ",
            "0x10",
        )
    ),
    # The framework's own refusals, in the envelope with catalogued codes.
    Case(
        "malformed JSON on a FastAPI-parsed body",
        "/recommend",
        "publishable",
        ("malformed JSON",),
        content=b'{"user_id": ',
        headers=JSON,
    ),
    Case(
        "malformed JSON with no content type",
        "/api/v1/auth/login",
        "none",
        ("body",),
        content=b'{"email": ',
    ),
]


@pytest.fixture(scope="module")
def org(api: TestClient):  # type: ignore[no-untyped-def]
    """A tenant with a catalog and a few applied events: the data the refusals must leave."""
    org = tenant(api)
    api.post("/api/v1/items", headers=org.secret_headers, json=[{"item_id": "lamp"}])
    api.post("/api/v1/users", headers=org.secret_headers, json=[{"user_id": "shopper"}])
    ingest(api, org, [_event(), _event(event_name="add_to_cart")])

    def applied() -> bool:
        cursor = rows_of(api, pipeline_cursors, organization_id=org.organization_id)
        return bool(cursor) and cursor[0]["last_seq"] > 0

    eventually(applied)
    return org


def snapshot(api: TestClient, organization_id: str) -> dict[str, list[str]]:
    """Every row of the organisation in every table, and the accounts tables whole, as
    sorted JSON text: equal snapshots mean byte-identical stored data."""
    tables: dict[str, list[str]] = {}
    for table in metadata.sorted_tables:
        if table.name in ("organizations", "developers"):
            rows = rows_of(api, table)
        elif "organization_id" in table.c:
            rows = rows_of(api, table, organization_id=organization_id)
        else:
            continue
        tables[table.name] = sorted(json.dumps(row, default=repr, sort_keys=True) for row in rows)
    return tables


def _headers(case: Case, org) -> dict[str, str]:  # type: ignore[no-untyped-def]
    credential = {
        "publishable": org.publishable_headers,
        "secret": org.secret_headers,
        "token": org.account.headers,
        "none": DOMAIN,
    }[case.credential]
    return {**credential, **case.headers}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_hostile_request_is_refused_in_the_envelope_and_stores_nothing(api, org, case):
    before = snapshot(api, org.organization_id)
    content = case.content() if callable(case.content) else case.content
    response = api.request(
        case.method,
        case.path,
        headers=_headers(case, org),
        json=case.json,
        content=content,
        params=case.params,
    )
    body = assert_error(response, case.status, *case.fragments)
    assert body["code"] == case.code
    assert response.headers["content-type"] == "application/json"
    assert snapshot(api, org.organization_id) == before


def test_the_neighbours_of_the_refusals_are_accepted(api, org):
    """Just inside each limit: the rule refuses the hostile case, not its honest neighbour."""
    headers = org.publishable_headers
    inside = _event(context=_nested(MAX_JSON_DEPTH - 2), timestamp=0)
    assert api.post(INGEST, headers=headers, json=inside).status_code == 202
    assert api.post(INGEST, headers=headers, json=_event(timestamp=1.7e9)).status_code == 202
    text = json.dumps(_event(context={"brackets": "[" * 10_000}))
    response = api.post(INGEST, headers=headers, content=text)  # no Content-Type: JSON
    assert response.status_code == 202, response.text
    bom = json.dumps(_event(user_id="ünïcode")).encode("utf-8")
    response = api.post(
        INGEST, headers={**headers, "Content-Type": "application/json"}, content=bom
    )
    assert response.status_code == 202, response.text
    page = api.get(
        "/api/v1/users/shopper/events", headers=org.secret_headers, params={"before": "12"}
    )
    assert page.status_code == 200, page.text


def test_a_405_names_every_method_the_path_has(api, org):
    response = api.patch("/api/v1/settings/rate_limit", headers=org.account.headers, json={})
    body = assert_error(response, 405, "PATCH", "GET", "PUT", "DELETE")
    assert body["code"] == "method_not_allowed"
    allowed = {method.strip() for method in response.headers["allow"].split(",")}
    assert {"GET", "PUT", "DELETE"} <= allowed
    response = api.delete("/recommend", headers=org.publishable_headers)
    assert_error(response, 405)
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("method", "requested_headers", "fragment"),
    [("DELETE", "X-API-KEY", "method"), ("POST", "X-Evil", "headers")],
)
def test_a_refused_cors_preflight_is_in_the_envelope(
    sqlite_api, method, requested_headers, fragment
):
    response = sqlite_api.options(
        "/recommend",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": requested_headers,
        },
    )
    body = assert_error(response, 400, "CORS preflight refused", fragment)
    assert body["code"] == "bad_request"


@pytest.mark.parametrize(
    ("start", "end", "shown_start", "shown_end"),
    [
        ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1970-01-01", "9999-12-31"),
        ("-1e20", "1e20", "1970-01-01", "9999-12-31"),
        ("1772366400", "3193862640435847.0", "2026-03-01", "9999-12-31"),
        ("1772366400", "1772452800.5", "2026-03-01", "2026-03-02"),
    ],
)
def test_a_report_window_past_the_representable_years_is_clamped(
    api, org, start, end, shown_start, shown_end
):
    """Any bound is a fair question about a window; epoch numbers are seconds, never
    milliseconds, and a bound past 1970-9999 means "everything that way"."""
    params = {"start": start, **({"end": end} if end else {})}
    response = api.get("/api/v1/stats/attribution", headers=org.account.headers, params=params)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["start"].startswith(shown_start)
    if shown_end:
        assert data["end"].startswith(shown_end)


def test_a_report_bound_that_is_not_an_instant_is_400(api, org):
    for bad in ("nan", "Infinity", "yesterday"):
        response = api.get(
            "/api/v1/stats/attribution", headers=org.account.headers, params={"start": bad}
        )
        assert_error(response, 400, "start")
