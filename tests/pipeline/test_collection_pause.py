"""The pipeline builds a batch's states with the garbage collector paused, and resumes it
after: a pass over new events leaves collection on and every event applied."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lehnz.app import create_app
from lehnz.pipeline.worker import Pipeline
from tests.conftest import make_settings
from tests.factories import eventually, ingest, tenant


def test_a_batch_is_folded_with_collection_paused_and_resumed_after(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    folded_with_collection: list[bool] = []
    original = Pipeline._fold_all

    def spying(self: Pipeline, *args: Any) -> None:
        folded_with_collection.append(gc.isenabled())
        original(self, *args)

    monkeypatch.setattr(Pipeline, "_fold_all", spying)
    with TestClient(create_app(make_settings(tmp_path))) as api:
        org = tenant(api)
        ingest(
            api,
            org,
            [{"user_id": "u1", "event_name": "view", "item_id": f"i{n}"} for n in range(3)],
        )

        def applied() -> bool:
            answer = api.get("/api/v1/users/u1", headers=org.secret_headers)
            return answer.status_code == 200 and answer.json()["data"]["activity"]["events"] == 3

        eventually(applied, what="the three events applied")
        assert folded_with_collection and not any(folded_with_collection)
        assert gc.isenabled()
