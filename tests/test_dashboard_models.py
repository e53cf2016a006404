"""The Models page: versions with what they chose and scored, and "Train now" in the
background through the same trainer as the API, one run at a time per organisation."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from lehnz.errors import Conflict
from lehnz.store.tables import events, models
from lehnz.store.training import ModelRow
from tests.dashboard import DashboardUser, sign_up
from tests.factories import assert_error, eventually, rows_of
from tests.shop import catalog, history

JSON = {"Accept": "application/json"}


def _with_history(api: TestClient) -> tuple[DashboardUser, dict[str, str]]:
    """A signed-in organisation with the shop's catalog and events, through the API."""
    user = sign_up(api, organization_name="Model Shop")
    publishable, secret = user.keys()
    assert api.post("/api/v1/items", headers=secret, json=catalog()).status_code == 200
    sent = history()
    for start in range(0, len(sent), 1000):
        response = api.post(
            "/api/v1/events/ingest", headers=publishable, json=sent[start : start + 1000]
        )
        assert response.status_code == 202
    eventually(
        lambda: len(rows_of(api, events, organization_id=user.organization_id)) == len(sent),
        timeout=20,
    )
    return user, secret


@pytest.fixture(scope="module")
def shop(api: TestClient) -> tuple[DashboardUser, dict[str, str]]:
    """One organisation with history for the tests that train (versions add up)."""
    return _with_history(api)


@pytest.fixture(scope="module")
def empty(api: TestClient) -> DashboardUser:
    """One organisation with no events and no models."""
    return sign_up(api, organization_name="Empty Shop")


def _versions(api: TestClient, user: DashboardUser) -> list[int]:
    rows = rows_of(api, models, organization_id=user.organization_id)
    return sorted(row["version"] for row in rows)


def _status(user: DashboardUser) -> dict:
    response = user.client.get("/models/status", headers=JSON)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def _serving_status(user: DashboardUser) -> dict:
    def done() -> dict | None:
        status = _status(user)
        assert status["state"] != "failed", status
        return status if status["state"] == "serving" else None

    return eventually(done, timeout=60, interval=0.2)


def _script_post(user: DashboardUser, path: str) -> object:
    """As static/models.js posts: the token in the header, asking for JSON."""
    return user.client.post(path, headers={**JSON, "X-CSRF-Token": user.csrf("/models")})


@pytest.fixture
def hold_training(api: TestClient, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Makes the trainer wait for ``release`` (and count its calls) before training."""
    trainer = api.app.state.runtime.trainer  # type: ignore[attr-defined]
    real: Callable[[str], ModelRow] = trainer.train
    release = threading.Event()
    calls: list[str] = []

    def held(organization_id: str) -> ModelRow:
        calls.append(organization_id)
        assert release.wait(30)
        return real(organization_id)

    monkeypatch.setattr(trainer, "train", held)
    yield release, calls
    release.set()


def test_train_now_serves_a_version_the_api_lists(api: TestClient, shop) -> None:  # type: ignore[no-untyped-def]
    user, secret = shop
    before = _versions(api, user)
    page = user.client.get("/models")
    assert page.status_code == 200
    assert 'id="train-form"' in page.text and "Train now" in page.text
    assert '/static/models.js"' in page.text

    response = user.post("/models/train", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/models"
    status = _serving_status(user)
    new = len(before) + 1
    assert status["text"] == f"Version {new} is serving" and status["version"] == new
    assert status["elapsed_seconds"] > 0

    page = user.client.get("/models").text
    assert re.search(rf'id="train-status"[^>]*>Version {new} is serving<', page)
    assert f'data-version="{new}" data-serving="true"' in page
    assert "Popularity" in page and "Trending" in page and "Buy again" in page
    assert "Settings it chose" in page and "cf_model" in page
    assert "<svg" in page and "style=" not in page

    listed = api.get("/api/v1/models", headers=secret).json()["data"]["models"]
    assert listed[0]["version"] == new and listed[0]["serving"] is True
    validation = listed[0]["validation"]
    assert set(validation["baselines"]) == {"popularity", "trending", "buy_again"}
    assert 0.0 <= validation["baselines"]["popularity"]["ndcg@10"] <= 1.0
    assert listed[0]["trained_on"]["events"] == len(history())
    assert _versions(api, user) == [*before, new]

    # Another version through the script's post: the newest is listed first and serves; the
    # earlier one stays viewable.
    started = _script_post(user, "/models/train")
    assert started.status_code == 202 and started.json()["started"] is True
    assert _serving_status(user)["text"] == f"Version {new + 1} is serving"
    page = user.client.get("/models").text
    assert page.index(f'data-version="{new + 1}"') < page.index(f'data-version="{new}"')
    earlier = user.client.get(f"/models/{new}")
    assert earlier.status_code == 200 and f">Version {new}" in earlier.text
    # No events since: the second run refit the searched settings, and its page says so.
    later = user.client.get(f"/models/{new + 1}").text
    assert 'id="settings-reused"' in later
    assert f"Settings reused from version {new}:" in later


def test_a_second_click_joins_the_running_training(api: TestClient, shop, hold_training) -> None:  # type: ignore[no-untyped-def]
    release, calls = hold_training
    user, _ = shop
    before = _versions(api, user)
    first = _script_post(user, "/models/train")
    assert first.status_code == 202 and first.json()["started"] is True
    second = _script_post(user, "/models/train")
    assert second.status_code == 202 and second.json()["started"] is False
    assert second.json()["state"] == "running"
    again = user.post("/models/train")  # the form, without scripts: back to the page
    assert again.status_code == 200 and "already running" in again.text
    assert re.search(r'id="train-status"[^>]*>Training… \d+ s<', again.text)
    assert "<progress" in again.text and "Train now</button>" in again.text
    assert _status(user)["state"] == "running"
    release.set()
    assert _serving_status(user)["version"] == len(before) + 1
    assert calls == [user.organization_id]
    assert _versions(api, user) == [*before, len(before) + 1]


def test_without_events_the_page_says_so(api: TestClient, empty: DashboardUser) -> None:
    user = empty
    response = user.post("/models/train")
    assert response.status_code == 409
    assert "No events yet" in response.text
    assert_error(_script_post(user, "/models/train"), 409, "no events yet")
    assert _status(user)["state"] == "idle"
    assert rows_of(api, models, organization_id=user.organization_id) == []


@pytest.mark.parametrize(
    ("failure", "shown"),
    [
        (Conflict("the catalog is being replaced"), "Training failed: the catalog is being"),
        (RuntimeError("secret internals"), "Training failed: an unexpected error"),
    ],
)
def test_a_failed_run_is_reported(
    api: TestClient,
    shop,
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
    shown: str,  # type: ignore[no-untyped-def]
) -> None:
    user, _ = shop
    before = _versions(api, user)

    def broken(organization_id: str) -> ModelRow:
        raise failure

    trainer = api.app.state.runtime.trainer  # type: ignore[attr-defined]
    monkeypatch.setattr(trainer, "train", broken)
    assert _script_post(user, "/models/train").status_code == 202
    status = eventually(lambda: _status(user) if _status(user)["state"] == "failed" else None)
    assert status["text"].startswith(shown)
    assert "secret internals" not in status["text"]
    page = user.client.get("/models").text
    assert re.search(r'id="train-status"[^>]*class="error">Training failed', page)
    assert _versions(api, user) == before
    monkeypatch.undo()
    # The next click starts a new run.
    assert _script_post(user, "/models/train").json()["started"] is True
    assert _serving_status(user)["version"] == len(before) + 1


def test_other_organisations_versions_do_not_show(
    api: TestClient,
    shop,
    empty: DashboardUser,  # type: ignore[no-untyped-def]
) -> None:
    owner, secret = shop
    if not _versions(api, owner):
        assert api.post("/api/v1/models/train", headers=secret).status_code == 200
    page = empty.client.get("/models")
    assert page.status_code == 200 and "data-version=" not in page.text
    assert "Model Shop" not in page.text
    assert empty.client.get("/models/1").status_code == 404
    assert _status(empty) == {
        "state": "idle",
        "elapsed_seconds": None,
        "version": None,
        "message": None,
        "text": "No model yet: send events, then train one.",
    }


@pytest.mark.parametrize(
    "path", ["/models/0", "/models/2", "/models/99999999999999999999", "/models/abc", "/models/-1"]
)
def test_unknown_versions_are_404(api: TestClient, empty: DashboardUser, path: str) -> None:
    assert empty.client.get(path).status_code == 404


def test_train_needs_the_token_and_a_session(api: TestClient, empty: DashboardUser) -> None:
    user = empty
    assert user.client.post("/models/train").status_code == 403
    assert user.client.post("/models/train", headers=JSON).status_code == 403
    anonymous = TestClient(api.app, headers={"Accept": "application/json"})
    assert anonymous.get("/models/status").status_code == 401
    assert user.client.get("/static/models.js").status_code == 200
