"""Only the newest ``LEHNZ_MODEL_ARTIFACTS_KEPT`` versions keep their artifact: every
retraining used to add one to the database for good. Older versions stay listed."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from lehnz.app import create_app
from lehnz.store.tables import models
from tests.conftest import make_settings
from tests.factories import rows_of, tenant
from tests.shop import catalog, history


def test_old_artifacts_are_dropped_and_their_versions_stay_listed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, model_artifacts_kept=2, embedded_worker=False)
    with TestClient(create_app(settings)) as api:
        org = tenant(api)
        other = tenant(api)
        for shop in (org, other):
            assert api.post("/api/v1/items", headers=shop.secret_headers, json=catalog()).is_success
            sent = api.post(
                "/api/v1/events/ingest", headers=shop.publishable_headers, json=history()[:900]
            )
            assert sent.status_code == 202
        assert api.post("/api/v1/models/train", headers=other.secret_headers).is_success
        for _ in range(4):
            trained = api.post("/api/v1/models/train", headers=org.secret_headers)
            assert trained.status_code == 200, trained.text

        stored = {
            row["version"]: row["artifact"] is not None
            for row in rows_of(api, models, organization_id=org.organization_id)
        }
        assert stored == {1: False, 2: False, 3: True, 4: True}
        listed = api.get("/api/v1/models", headers=org.secret_headers).json()["data"]["models"]
        assert [m["version"] for m in listed] == [4, 3, 2, 1]
        assert listed[0]["serving"] and not listed[3]["serving"]
        # The oldest version's record is whole: when and on what it trained.
        assert listed[3]["trained_on"]["events"] > 0 and listed[3]["duration_seconds"]
        # Another organisation's only version keeps its artifact.
        (theirs,) = rows_of(api, models, organization_id=other.organization_id)
        assert theirs["artifact"] is not None
        served = api.post("/recommend", headers=org.publishable_headers, json={"user_id": "u1"})
        assert served.status_code == 200 and served.json()["meta"]["model_version"] == 4
