"""The serving path's shortcuts change nothing a client sees: answers built as plain dicts
keep their documented shape and are the same computed on the event loop or on a thread,
cached keys and limits renewed ahead of time still honour their bounds, and lists the
database refused are written later, not lost.

Each test builds its own app: the settings under test differ from the shared ones.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import update

from lehnz.app import create_app
from lehnz.store.tables import api_keys
from lehnz.store.types import utcnow
from lehnz.wire.recommend import (
    BasketRecommendations,
    PriceOptimizedRecommendations,
    SimilarItems,
    UserRecommendations,
)
from tests.conftest import make_settings
from tests.factories import assert_error, eventually, rows_of, tenant
from tests.shop import trained_shop


def _answers(client: TestClient) -> list[dict]:
    org = trained_shop(client, tenant(client))
    answers = []
    for path, body, documented in (
        ("/recommend", {"user_id": "shoe-fan-1", "limit": 5}, UserRecommendations),
        (
            "/recommend/price_optimized",
            {"user_id": "shoe-fan-1", "limit": 5, "include_attributes": True},
            PriceOptimizedRecommendations,
        ),
        ("/recommend/basket", {"item_ids": ["shoe-1"], "limit": 5}, BasketRecommendations),
        (
            "/recommend/session",
            {"clicked_item_id": "shoe-1", "limit": 5, "include_attributes": True},
            SimilarItems,
        ),
    ):
        response = client.post(path, headers=org.publishable_headers, json=body)
        assert response.status_code == 200, response.text
        answers.append(_conforming(response.json(), documented, body.get("include_attributes")))
    response = client.get("/item/shoe-1?limit=5", headers=org.publishable_headers)
    assert response.status_code == 200, response.text
    answers.append(_conforming(response.json(), SimilarItems, False))
    for answer in answers:
        answer.pop("recommendation_id", None)
    return answers


def _conforming(answer: dict, documented: type[BaseModel], attributes: bool | None) -> dict:
    """The answer as the OpenAPI document describes it: every documented field, each
    recommendation's ``attributes`` present exactly when asked for."""
    documented.model_validate(answer)
    assert answer["success"] is True
    assert answer["recommendations"], answer
    for entry in answer["recommendations"]:
        assert ("attributes" in entry) is bool(attributes), entry
        if attributes:
            assert isinstance(entry["attributes"], dict) and entry["attributes"]
    assert answer["all_item_ids"] == [entry["item_id"] for entry in answer["recommendations"]]
    meta = answer["meta"]
    assert meta["total_pages"] == -(-meta["total_items"] // meta["limit"])
    return answer


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_every_answer_has_its_documented_shape(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The answers are built as plain dicts, not through the models the OpenAPI document
    is made from: each must still validate against its documented model."""
    url = request.getfixturevalue("postgres_database_url") if database == "postgresql" else None
    with TestClient(create_app(make_settings(tmp_path, url))) as client:
        answers = _answers(client)
    assert any(answer["all_item_ids"] for answer in answers)


def test_the_event_loop_and_a_request_thread_give_the_same_answers(tmp_path: Path) -> None:
    """LEHNZ_RECOMMEND_ON_EVENT_LOOP changes where an answer is computed, nothing else."""
    answers = {}
    for where in ("yes", "no"):
        settings = make_settings(tmp_path / where, recommend_on_event_loop=where)
        with TestClient(create_app(settings)) as client:
            assert client.app.state.recommend_on_loop is (where == "yes")
            answers[where] = _answers(client)
    assert answers["yes"] == answers["no"]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_auto_answers_on_the_loop_with_sqlite_and_on_threads_with_postgresql(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("postgres_database_url") if database == "postgresql" else None
    with TestClient(create_app(make_settings(tmp_path, url))) as client:
        assert client.app.state.recommend_on_loop is (database == "sqlite")


def test_a_key_revoked_elsewhere_is_refused_within_its_cache_time_under_steady_use(
    tmp_path: Path,
) -> None:
    """Renewing ahead keeps a busy key in memory, never past its time: a revocation made
    behind this process's back (another process, no notice) is seen within the TTL."""
    ttl = 1.0
    with TestClient(create_app(make_settings(tmp_path, key_cache_seconds=ttl))) as client:
        org = tenant(client)
        body = {"user_id": "u1", "limit": 3}
        for _ in range(20):  # steady use: the entry is renewed ahead several times
            assert client.post("/recommend", headers=org.publishable_headers, json=body).is_success
            time.sleep(0.05)
        store = client.app.state.runtime.store
        with store.write() as connection:
            connection.execute(update(api_keys).values(revoked_at=utcnow()))
        revoked_at = time.monotonic()
        while True:
            response = client.post("/recommend", headers=org.publishable_headers, json=body)
            if response.status_code == 401:
                break
            assert time.monotonic() - revoked_at < ttl + 0.5, "a revoked key kept working"
            time.sleep(0.02)
        assert_error(response, 401)


def test_a_limit_changed_elsewhere_applies_within_its_cache_time(tmp_path: Path) -> None:
    """The organisation's own limit, renewed ahead, still changes within its cache time when
    another process writes it without a notice."""
    from lehnz.store import accounts

    with TestClient(create_app(make_settings(tmp_path, rate_limit_requests=1000))) as client:
        org = tenant(client)
        runtime = client.app.state.runtime
        body = {"user_id": "u1", "limit": 3}
        for _ in range(5):
            assert client.post("/recommend", headers=org.publishable_headers, json=body).is_success
        organization_id = runtime.verifier.verify(org.publishable).organization_id
        with runtime.store.write() as connection:
            accounts.set_organization_setting(
                connection,
                organization_id,
                key="rate_limit",
                value={"requests": 1, "window_seconds": 60},
            )
        deadline = time.monotonic() + 5.0 + 1.0  # RateLimits' cache: 5 s
        while True:
            response = client.post("/recommend", headers=org.publishable_headers, json=body)
            if response.status_code == 429:
                break
            assert time.monotonic() < deadline, "the new limit never applied"
            time.sleep(0.05)


def test_lists_the_database_refused_are_written_once_it_answers_again(tmp_path: Path) -> None:
    """The impression log's batch write fails (its table is briefly gone, as in a restore);
    the lists are kept and written by the next flush, not dropped."""
    from sqlalchemy import text

    from lehnz.store.tables import recommendation_logs

    with TestClient(create_app(make_settings(tmp_path))) as client:
        org = tenant(client)
        runtime = client.app.state.runtime
        log = runtime.recommendation_log
        log.flush()
        with runtime.store.write() as connection:
            connection.execute(text("ALTER TABLE recommendation_logs RENAME TO logs_away"))
        try:
            ids = []
            for _ in range(3):
                response = client.post(
                    "/recommend", headers=org.publishable_headers, json={"user_id": "u1"}
                )
                ids.append(response.json()["recommendation_id"])
            with pytest.raises(Exception, match="recommendation_logs"):
                log.flush()
        finally:
            with runtime.store.write() as connection:
                connection.execute(text("ALTER TABLE logs_away RENAME TO recommendation_logs"))
        eventually(lambda: len(rows_of(client, recommendation_logs)) >= 3)
        stored = {row["id"] for row in rows_of(client, recommendation_logs)}
        assert set(ids) <= stored
