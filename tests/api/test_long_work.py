"""Training and imports run on threads of their own: while they hold theirs, the few request
threads (``LEHNZ_REQUEST_THREADS``) stay free for everything else."""

from __future__ import annotations

import gzip
import threading
import time
from importlib import resources
from pathlib import Path

from fastapi.testclient import TestClient

from lehnz.app import create_app
from tests.conftest import make_settings
from tests.factories import tenant


def _demo_slice(*, items: int) -> dict[str, bytes]:
    """The demo store's first ``items`` items (among them 85123A) and their events: enough
    for a training that takes a moment, small enough for a test."""
    demo = resources.files("lehnz") / "demo_data"
    item_lines = gzip.decompress((demo / "items.csv.gz").read_bytes()).decode().splitlines()
    kept = item_lines[: items + 1] + [line for line in item_lines if line.startswith("85123A,")]
    ids = {line.split(",", 1)[0] for line in kept[1:]}
    event_lines = gzip.decompress((demo / "events.csv.gz").read_bytes()).decode().splitlines()
    events = [event_lines[0]] + [line for line in event_lines[1:] if line.split(",")[1] in ids]
    return {"items": "\n".join(kept).encode(), "events": "\n".join(events).encode()}


def test_a_request_is_answered_while_trainings_hold_their_threads(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, request_threads=1, embedded_worker=False)
    with TestClient(create_app(settings)) as api:
        org = tenant(api)
        for kind, data in _demo_slice(items=300).items():
            uploaded = api.post(
                f"/api/v1/upload/{kind}",
                headers=org.secret_headers,
                files={"file": (f"{kind}.csv", data)},
            )
            assert uploaded.status_code == 200, uploaded.text
        finished: list[float] = []

        def train() -> None:
            response = api.post("/api/v1/models/train", headers=org.secret_headers)
            assert response.status_code == 200, response.text
            finished.append(time.monotonic())

        trainings = [threading.Thread(target=train) for _ in range(2)]
        for thread in trainings:
            thread.start()
        time.sleep(0.2)  # the trainings have started (they take seconds, one after another)
        item = api.get("/api/v1/items/85123A", headers=org.secret_headers)
        answered = time.monotonic()
        for thread in trainings:
            thread.join()
        assert item.status_code == 200
        # With one request thread shared with training, the read would have waited for at
        # least one training to end.
        assert len(finished) == 2 and answered < max(finished)
        assert answered < min(finished), "the read waited for a training"
