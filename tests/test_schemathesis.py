"""Schemathesis over a real ``lehnz serve``, on SQLite and on PostgreSQL: every operation of
``/openapi.json`` gets generated requests, valid and invalid, and every answer is checked
against the document with all of schemathesis's checks (no 5xx; documented status, content
type, headers and schema; schema-valid data accepted, invalid data refused; a missing
credential refused).

Each operation gets the credential it documents, of an organisation the test registers: a
publishable key, a secret key or a developer token, given to schemathesis per security
scheme, so it also tries each operation without it. ``X-Domain`` is a documented header:
schemathesis sends it, and leaves it out or wrong in invalid cases.

``LEHNZ_FUZZ_EXAMPLES`` (default 5) bounds the generated requests per operation, which keeps
this test to a couple of minutes; ``bench/fuzz.py`` runs it longer.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from pydantic import TypeAdapter, ValidationError
from schemathesis import Case
from schemathesis.config._auth import ApiKeyAuthConfig, HttpBearerAuthConfig

from lehnz.app import create_app
from lehnz.config import Settings
from lehnz.timestamps import Timestamp, WindowBound
from tests.conftest import fresh_postgres_database
from tests.factories import DOMAIN, Tenant, tenant
from tests.processes import lehnz_serve

FUZZ_EXAMPLES = int(os.environ.get("LEHNZ_FUZZ_EXAMPLES", "5"))
# In `make test` the same requests every run, so that CI is never red by chance; bench/fuzz.py
# sets LEHNZ_FUZZ_RANDOM=1 to explore new ones.
FUZZ_RANDOM = os.environ.get("LEHNZ_FUZZ_RANDOM") == "1"
START_SECONDS = 60

FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=not FUZZ_RANDOM,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


def _document() -> dict[str, Any]:
    # Built in process at collection, so that each operation is a test of its own; each
    # server is checked to serve the same document.
    app = create_app(Settings(data_dir=Path(tempfile.gettempdir()) / "lehnz-openapi-unused"))
    return app.openapi()


DOCUMENT = _document()

# --- What JSON Schema cannot say ------------------------------------------------------------
# Two rules depend on the clock or on two fields together, and a schema states neither: an
# event's timestamp lies between 1970 and 24 hours from now, and a report's `end` comes after
# its `start`. Requests that break them are refused with 400 (tests/api cover that); here they
# are not generated, so that "schema-valid data is accepted" holds for everything else.

# Read with the server's own parsers, so the filter and the server agree on every value.
_EVENT_TIME: TypeAdapter[datetime] = TypeAdapter(Timestamp)
_BOUND: TypeAdapter[datetime] = TypeAdapter(WindowBound)


def _instant(adapter: TypeAdapter[datetime], value: Any) -> datetime | None:
    """``value`` read as lehnz reads it, in UTC; None when lehnz refuses it."""
    try:
        return adapter.validate_python(value)
    except ValidationError:
        return None


def _breaks_a_clock_rule(case: Case) -> bool:
    name = case.operation.definition.raw.get("operationId")
    now = datetime.now(UTC)
    if name == "trackEvents":
        body = case.body if isinstance(case.body, list) else [case.body]
        for event in body:
            if isinstance(event, dict) and event.get("timestamp") is not None:
                at = _instant(_EVENT_TIME, event["timestamp"])
                if at is None or at >= now:
                    return True
    if name == "getAttribution":
        query = case.query or {}
        end = _instant(_BOUND, query["end"]) if "end" in query else now
        start = _instant(_BOUND, query["start"]) if "start" in query else None
        if end is not None and start is None and "start" not in query:
            start = end - timedelta(days=30)
        if start is not None and end is not None and end <= start:
            return True
    return False


def _typed_form_field(case: Case) -> bool:
    """A multipart form carries bytes only: a "number instead of a file" is sent as a file
    holding those digits, the same request as a valid one, so it cannot be refused."""
    body = case.body
    return (
        str(case.operation.definition.raw.get("operationId", "")).startswith("upload")
        and isinstance(body, dict)
        and not isinstance(body.get("file", b""), str | bytes)
    )


def _schema() -> Any:
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    # U+0000 is refused everywhere with 400 (PostgreSQL cannot store it; the document's
    # description says so); a schema cannot say so of every string, so none is generated.
    schema.config.generation.update(allow_x00=False)

    @schema.hook("filter_case")
    def _keep(_context: Any, case: Case) -> bool:
        return not _breaks_a_clock_rule(case) and not _typed_form_field(case)

    return schema


SQLITE = _schema()
POSTGRES = _schema()


@dataclass
class FuzzTarget:
    base: str
    org: Tenant
    log: Path


def _serve(
    database: AbstractContextManager[str | None], tmp: Path, schema: Any
) -> Iterator[FuzzTarget]:
    env = {
        "LEHNZ_SECRET_KEY": "fuzz-test-" + "f" * 40,
        "LEHNZ_RATE_LIMIT_REQUESTS": "1000000000",
        "LEHNZ_AUTH_RATE_LIMIT_REQUESTS": "1000000",
        "LEHNZ_TRAIN_CHECK_SECONDS": "3600",
    }
    with database as database_url:
        if database_url:
            env["LEHNZ_DATABASE_URL"] = database_url
        with lehnz_serve(tmp, env, start_seconds=START_SECONDS) as (base, server):
            with httpx.Client(base_url=base, timeout=30) as client:
                assert client.get("/openapi.json").json() == DOCUMENT
                org = tenant(client)
            schema.config.auth.openapi.schemes = {
                "PublishableKey": ApiKeyAuthConfig(api_key=org.publishable),
                "SecretKey": ApiKeyAuthConfig(api_key=org.secret),
                "DeveloperToken": HttpBearerAuthConfig(bearer=org.account.token),
            }
            yield FuzzTarget(base, org, server.log_path)


@pytest.fixture(scope="module")
def sqlite_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    yield from _serve(nullcontext(None), tmp_path_factory.mktemp("fuzz-sqlite"), SQLITE)


@pytest.fixture(scope="module")
def postgres_target(
    postgres_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzTarget]:
    tmp = tmp_path_factory.mktemp("fuzz-postgresql")
    yield from _serve(fresh_postgres_database(), tmp, POSTGRES)


def _check(case: Case, target: FuzzTarget) -> None:
    try:
        response = case.call_and_validate(base_url=target.base, timeout=60)
    finally:
        if case.operation.definition.raw.get("operationId") == "setRateLimit":
            # A generated limit of a few requests would starve every later operation.
            httpx.delete(
                f"{target.base}/api/v1/settings/rate_limit",
                headers=target.org.account.headers,
                timeout=30,
            )
    # The tenant's credential, when sent as it is, is never refused as unauthenticated.
    sent = response.request.headers
    credentials = {
        sent.get("X-API-KEY"),
        sent.get("Authorization"),
    } & {target.org.publishable, target.org.secret, f"Bearer {target.org.account.token}"}
    if credentials and response.status_code == 401:
        raise AssertionError(f"the tenant's credential was refused: {response.text}")


@SQLITE.parametrize()
@FUZZ_SETTINGS
def test_sqlite_answers_as_documented(case: Case, sqlite_target: FuzzTarget) -> None:
    _check(case, sqlite_target)


@POSTGRES.parametrize()
@FUZZ_SETTINGS
def test_postgresql_answers_as_documented(case: Case, postgres_target: FuzzTarget) -> None:
    _check(case, postgres_target)


def test_the_tenant_credentials_work(sqlite_target: FuzzTarget) -> None:
    """The fuzzing above would pass with credentials that never work (401 is documented
    everywhere); these must not be refused."""
    with httpx.Client(base_url=sqlite_target.base, timeout=30) as client:
        org = sqlite_target.org
        assert client.get("/api/v1/models", headers=org.secret_headers).status_code == 200
        assert client.get("/api/v1/keys", headers=org.account.headers).status_code == 200
        assert client.post(
            "/recommend", headers=org.publishable_headers, json={"user_id": "u"}
        ).is_success
    assert DOMAIN["X-Domain"] == "commerce"
