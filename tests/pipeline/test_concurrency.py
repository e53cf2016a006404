"""The pipeline reads a batch outside its write transaction; these prove that racing it,
with other workers or with an erasure, loses nothing and applies nothing twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lehnz.app import create_app
from lehnz.config import Settings
from lehnz.pipeline.worker import Pipeline
from lehnz.store.tables import user_states
from tests.factories import rows_of, tenant


@pytest.fixture(scope="module")
def quiet_api(settings: Settings) -> Iterator[TestClient]:
    """The app on the same database with no embedded pipeline: the test runs the workers."""
    app = create_app(settings.model_copy(update={"embedded_worker": False}))
    with TestClient(app) as client:
        yield client


def _ingest(api: TestClient, org, events) -> None:  # type: ignore[no-untyped-def]
    response = api.post("/api/v1/events/ingest", headers=org.publishable_headers, json=events)
    assert response.status_code == 202, response.text


def _event_counts(api: TestClient, organization_id: str) -> dict[str, int]:
    rows = rows_of(api, user_states, organization_id=organization_id)
    return {row["user_id"]: row["state"]["events"] for row in rows}


def test_workers_racing_over_one_organisation_apply_each_event_once(quiet_api):
    org = tenant(quiet_api)
    for start in range(0, 3000, 1000):
        _ingest(
            quiet_api,
            org,
            [
                {"user_id": f"u{n % 7}", "event_name": "view", "item_id": f"i{n}"}
                for n in range(start, start + 1000)
            ],
        )
    store = quiet_api.app.state.runtime.store
    workers = [Pipeline(store, batch_size=100) for _ in range(3)]
    applied: list[int] = []
    threads = [
        threading.Thread(target=lambda w=w: applied.append(w.process_pending())) for w in workers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    Pipeline(store).process_pending()  # whatever a worker gave up on after lost races
    counts = _event_counts(quiet_api, org.organization_id)
    assert sum(counts.values()) == 3000
    assert counts == {f"u{n}": len(range(n, 3000, 7)) for n in range(7)}
    assert sum(applied) <= 3000


class _ErasingDuringRead(Pipeline):
    """Erases a user through the API right after reading its first batch, before writing."""

    def __init__(self, *args, erase, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._erase = erase
        self.reads = 0

    def _read(self, connection, organization_id, events):  # type: ignore[no-untyped-def]
        batch = super()._read(connection, organization_id, events)
        self.reads += 1
        if self.reads == 1:
            self._erase()
        return batch


def test_a_batch_read_before_an_erasure_never_writes_the_user_back(quiet_api):
    org = tenant(quiet_api)
    _ingest(
        quiet_api,
        org,
        [
            {"user_id": "leaving", "event_name": "view", "item_id": "a"},
            {"user_id": "staying", "event_name": "view", "item_id": "b"},
            {"user_id": "leaving", "event_name": "purchase", "item_id": "a"},
        ],
    )

    def erase() -> None:
        response = quiet_api.delete("/api/v1/users/leaving", headers=org.secret_headers)
        assert response.status_code == 200, response.text

    pipeline = _ErasingDuringRead(quiet_api.app.state.runtime.store, erase=erase)
    assert pipeline.process_pending() == 1  # only the event that survived the erasure
    assert pipeline.reads == 2  # the first read was refused at write time and read again
    assert _event_counts(quiet_api, org.organization_id) == {"staying": 1}
    gone = quiet_api.get("/api/v1/users/leaving", headers=org.secret_headers)
    assert gone.status_code == 404
