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
from tests.factories import eventually, ingest, rows_of, tenant


@pytest.fixture(scope="module")
def quiet_api(isolated_settings: Settings) -> Iterator[TestClient]:
    """The app on a database of its own with no pipeline running: the tests run the workers,
    and no other app's pipeline races them."""
    with TestClient(create_app(isolated_settings)) as client:
        yield client


def _event_counts(api: TestClient, organization_id: str) -> dict[str, int]:
    rows = rows_of(api, user_states, organization_id=organization_id)
    return {row["user_id"]: row["state"]["events"] for row in rows}


def test_workers_racing_over_one_organisation_apply_each_event_once(quiet_api):
    org = tenant(quiet_api)
    for start in range(0, 3000, 1000):
        ingest(
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
    # Whatever a worker gave up on after lost races. On PostgreSQL the pipeline reads only
    # past transactions older than every running one, in any database of the server (the
    # session's other app runs its own pipeline), so draining may take a few passes.
    drain = Pipeline(store)
    eventually(
        lambda: (
            drain.process_pending() == 0
            and sum(_event_counts(quiet_api, org.organization_id).values()) == 3000
        )
    )
    counts = _event_counts(quiet_api, org.organization_id)
    assert sum(counts.values()) == 3000
    assert counts == {f"u{n}": len(range(n, 3000, 7)) for n in range(7)}
    assert sum(applied) <= 3000


class _ErasingDuringRead(Pipeline):
    """Starts erasing a user through the API right after reading its first batch, and gives
    the erasure up to a second to finish before going on to write."""

    def __init__(self, *args, erase, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._erase = erase
        self.reads = 0
        self.erasure: threading.Thread | None = None

    def _read(self, connection, organization_id, events):  # type: ignore[no-untyped-def]
        batch = super()._read(connection, organization_id, events)
        self.reads += 1
        if self.reads == 1:
            self.erasure = threading.Thread(target=self._erase)
            self.erasure.start()
            self.erasure.join(timeout=1.0)
        return batch


def test_a_batch_read_before_an_erasure_never_writes_the_user_back(quiet_api, settings):
    org = tenant(quiet_api)
    ingest(
        quiet_api,
        org,
        [
            {"user_id": "leaving", "event_name": "view", "item_id": "a"},
            {"user_id": "staying", "event_name": "view", "item_id": "b"},
            {"user_id": "leaving", "event_name": "purchase", "item_id": "a"},
        ],
    )
    erased: list[int] = []

    def erase() -> None:
        response = quiet_api.delete("/api/v1/users/leaving", headers=org.secret_headers)
        erased.append(response.status_code)

    pipeline = _ErasingDuringRead(quiet_api.app.state.runtime.store, erase=erase)
    applied = pipeline.process_pending()
    assert pipeline.erasure is not None
    pipeline.erasure.join(timeout=10)
    assert erased == [200]
    if settings.database_url is None:
        # SQLite: the erasure committed between the read and the write; the write saw the
        # bumped generation, dropped the batch and read again what the erasure left.
        assert (applied, pipeline.reads) == (1, 2)
    else:
        # PostgreSQL: the erasure waited for the batch's lock, then erased what it wrote.
        assert (applied, pipeline.reads) == (3, 1)
    assert _event_counts(quiet_api, org.organization_id) == {"staying": 1}
    gone = quiet_api.get("/api/v1/users/leaving", headers=org.secret_headers)
    assert gone.status_code == 404


def test_the_user_view_folds_in_events_the_pipeline_has_not_reached(quiet_api):
    """Freshness never waits for the pipeline: with no pipeline running, a user's view (what
    /recommend reads) already shows an acknowledged event, and applying the log later
    changes nothing in it: an event is counted once, stored or pending."""
    org = tenant(quiet_api)
    quiet_api.post(
        "/api/v1/items",
        headers=org.secret_headers,
        json=[{"item_id": "lamp", "attributes": {"price": 20}}],
    )
    ingest(
        quiet_api,
        org,
        [
            {"user_id": "new", "event_name": "view", "item_id": "lamp"},
            {"user_id": "new", "event_name": "add_to_cart", "item_id": "lamp"},
        ],
    )

    def view() -> dict:
        response = quiet_api.get("/api/v1/users/new", headers=org.secret_headers)
        assert response.status_code == 200, response.text
        return response.json()["data"]["activity"]

    before = view()
    assert before["events"] == 2 and before["cart"] == {"lamp": 1}
    assert before["typical_price"] == 20
    assert _event_counts(quiet_api, org.organization_id) == {}  # nothing applied yet
    Pipeline(quiet_api.app.state.runtime.store).process_pending()
    assert _event_counts(quiet_api, org.organization_id) == {"new": 2}
    assert view() == before
    ingest(quiet_api, org, [{"user_id": "new", "event_name": "purchase", "item_id": "lamp"}])
    after = view()
    assert after["events"] == 3 and after["cart"] == {}


def test_an_append_that_commits_late_is_applied_not_skipped(quiet_api, settings):
    """PostgreSQL appends run in parallel, so a row can commit after rows with higher
    sequence numbers. The pipeline must neither skip it nor wait for it forever."""
    if settings.database_url is None:
        pytest.skip("SQLite has one writer: rows commit in sequence order")
    from lehnz.events.log import event_row
    from lehnz.events.models import EventIn
    from lehnz.store import events as event_queries
    from lehnz.store.types import utcnow

    org = tenant(quiet_api)
    store = quiet_api.app.state.runtime.store
    late = EventIn.model_validate({"user_id": "late", "event_name": "view", "item_id": "a"})
    with store.engine.connect() as slow:
        transaction = slow.begin()
        row = event_row(org.organization_id, late, utcnow())
        event_queries.insert_prepared(slow, event_queries.prepare("postgresql", [row]))
        ingest(quiet_api, org, [{"user_id": "early", "event_name": "view", "item_id": "b"}])
        pipeline = Pipeline(store)
        pipeline.process_pending()  # must not move past the open transaction's row
        assert "late" not in _event_counts(quiet_api, org.organization_id)
        transaction.commit()

    def both_applied() -> bool:
        pipeline.process_pending()
        return _event_counts(quiet_api, org.organization_id) == {"early": 1, "late": 1}

    assert eventually(both_applied)
