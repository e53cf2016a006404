"""Sequence numbers are never handed out twice, and each organisation's retraining counts
only its own events.

The pipeline and the request-time fold-in read only events past a cursor; a number reused
after an erasure would put new events behind it, stored but never applied.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lehnz.app import create_app
from lehnz.config import Settings
from lehnz.store.tables import events as event_log
from lehnz.store.tables import pipeline_cursors
from lehnz.training.scheduler import MIN_NEW_EVENTS, needs_training
from tests.conftest import fresh_postgres_database, make_settings
from tests.factories import eventually, ingest, rows_of, tenant


@pytest.fixture
def own_api(settings: Settings, tmp_path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """An app with its pipeline on a database no other test writes to, so that the erased
    events really are the newest rows of the log."""
    if settings.database_url is None:
        with TestClient(create_app(make_settings(tmp_path))) as client:
            yield client
        return
    with (
        fresh_postgres_database() as url,
        TestClient(create_app(make_settings(tmp_path, url))) as client,
    ):
        yield client


def _applied_everything(api: TestClient, organization_id: str) -> bool:
    sent = [row["seq"] for row in rows_of(api, event_log, organization_id=organization_id)]
    cursor = rows_of(api, pipeline_cursors, organization_id=organization_id)
    return bool(cursor) and cursor[0]["last_seq"] >= max(sent, default=0)


def _activity_events(api: TestClient, org, user_id: str) -> int:  # type: ignore[no-untyped-def]
    response = api.get(f"/api/v1/users/{user_id}", headers=org.secret_headers)
    assert response.status_code == 200, response.text
    return int(response.json()["data"]["activity"]["events"])


def test_events_after_an_erasure_of_the_newest_are_all_applied(own_api):
    api = own_api
    org = tenant(api)
    ingest(
        api,
        org,
        [{"user_id": "erase_me", "event_name": "view", "item_id": f"i{n}"} for n in range(2)],
    )
    eventually(lambda: _applied_everything(api, org.organization_id))
    erased = api.delete("/api/v1/users/erase_me", headers=org.secret_headers)
    assert erased.status_code == 200, erased.text

    ingest(
        api,
        org,
        [{"user_id": "victim", "event_name": "view", "item_id": f"v{n}"} for n in range(3)],
    )
    eventually(lambda: _applied_everything(api, org.organization_id))

    assert _activity_events(api, org, "victim") == 3
    history = api.get("/api/v1/users/victim/events", headers=org.secret_headers).json()["data"]
    assert len(history["events"]) == 3


def test_a_restarted_sqlite_server_does_not_reuse_erased_numbers(tmp_path):
    """AUTOINCREMENT's high-water mark is stored in the file, so it survives a restart."""
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings)) as api:
        org = tenant(api)
        ingest(api, org, [{"user_id": "erase_me", "event_name": "view", "item_id": "x"}] * 2)
        highest = max(row["seq"] for row in rows_of(api, event_log))
        assert api.delete("/api/v1/users/erase_me", headers=org.secret_headers).status_code == 200
    with TestClient(create_app(settings)) as api:
        ingest(api, org, {"user_id": "victim", "event_name": "view", "item_id": "y"})
        (row,) = rows_of(api, event_log, user_id="victim")
        assert row["seq"] > highest
        eventually(lambda: _activity_events(api, org, "victim") == 1)


def test_a_quiet_organisation_is_not_retrained_by_another_ones_events(own_api):
    api = own_api
    store = api.app.state.runtime.store
    quiet, busy = tenant(api), tenant(api)
    ingest(
        api,
        quiet,
        [{"user_id": f"u{n}", "event_name": "view", "item_id": f"i{n % 3}"} for n in range(4)],
    )
    trained = api.post("/api/v1/models/train", headers=quiet.secret_headers)
    assert trained.status_code == 200, trained.text
    assert not needs_training(store, quiet.organization_id, max_age_seconds=3600)

    # Many events for another store, then one more for the quiet one: its single new event,
    # numbered hundreds past its last, must not count as hundreds.
    for start in range(0, MIN_NEW_EVENTS + 100, 500):
        batch = [
            {"user_id": f"b{n}", "event_name": "view", "item_id": f"i{n % 7}"}
            for n in range(start, start + 500)
        ]
        ingest(api, busy, batch)
    ingest(api, quiet, {"user_id": "u0", "event_name": "view", "item_id": "i1"})
    assert not needs_training(store, quiet.organization_id, max_age_seconds=3600)
    assert needs_training(store, busy.organization_id, max_age_seconds=3600)

    # Its own events do count: enough of them make it stale.
    for start in range(0, MIN_NEW_EVENTS, 500):
        batch = [
            {"user_id": f"q{n}", "event_name": "view", "item_id": f"i{n % 3}"}
            for n in range(start, start + 500)
        ]
        ingest(api, quiet, batch)
    assert needs_training(store, quiet.organization_id, max_age_seconds=3600)
