"""A retraining after a small ingest fits the settings the last search chose instead of
searching again, and says so in the version's record; after a large growth it searches."""

from __future__ import annotations

import time
from datetime import timedelta

from lehnz.store.training import ModelRow
from lehnz.store.types import utcnow
from lehnz.training.reuse import ReusePolicy
from tests.factories import ingest, tenant
from tests.shop import SHOES, catalog, history


def _more(count: int, tag: str) -> list[dict]:
    now = time.time()
    return [
        {
            "user_id": f"new-{tag}-{n % 7}",
            "event_name": "purchase",
            "item_id": SHOES[n % len(SHOES)],
            "timestamp": now - count + n,
        }
        for n in range(count)
    ]


def _train(api, org) -> dict:  # type: ignore[no-untyped-def]
    trained = api.post("/api/v1/models/train", headers=org.secret_headers)
    assert trained.status_code == 200, trained.text
    return trained.json()["data"]


def test_a_small_ingest_reuses_the_settings_and_a_large_growth_searches_again(api):
    org = tenant(api)
    assert api.post("/api/v1/items", headers=org.secret_headers, json=catalog()).is_success
    events = history()
    ingest(api, org, events)

    first = _train(api, org)
    assert "reused" not in first["validation"] and first["validation"]["metrics"]
    chosen = first["validation"]["chosen"]
    stored = first["trained_on"]["events"]

    ingest(api, org, _more(max(1, stored // 100), "a"))  # 1% more
    second = _train(api, org)
    assert second["trained_on"]["events"] > stored
    reused = second["validation"]["reused"]
    assert reused["from_version"] == first["version"]
    assert reused["searched_version"] == first["version"] and reused["reuses"] == 1
    assert reused["searched_on_events"] == stored and 0 < reused["events_growth"] < 0.1
    assert second["validation"]["chosen"] == chosen
    assert "metrics" not in second["validation"]  # no metrics claimed for unsearched data

    ingest(api, org, _more(max(1, stored // 100), "b"))  # the chain keeps the search's base
    third = _train(api, org)
    assert third["validation"]["reused"]["from_version"] == second["version"]
    assert third["validation"]["reused"]["searched_version"] == first["version"]
    assert third["validation"]["reused"]["reuses"] == 2

    ingest(api, org, _more(stored // 5, "c"))  # 20% more since the search
    fourth = _train(api, org)
    assert "reused" not in fourth["validation"] and fourth["validation"]["metrics"]

    listed = api.get("/api/v1/models", headers=org.secret_headers).json()["data"]["models"]
    assert [("reused" in m["validation"]) for m in listed] == [False, True, True, False]
    served = api.post("/recommend", headers=org.publishable_headers, json={"user_id": "new-a-1"})
    assert served.status_code == 200 and served.json()["meta"]["model_version"] == 4


def _searched(version: int = 3, *, events: int = 1000, items: int = 100, **extra) -> ModelRow:  # type: ignore[no-untyped-def]
    return ModelRow(
        id="model_x",
        version=version,
        status="serving",
        created_at=utcnow() - timedelta(hours=2),
        trained_at=utcnow() - timedelta(hours=2),
        manifest={
            "trained_on": {"events": events, "items": items},
            "validation": {"chosen": {"half_life_days": 30.0}, "repeat_share": 0.25, **extra},
        },
        artifact_size=1,
        serving=True,
    )


def test_the_policy_searches_again_when_the_store_changed_or_the_search_is_old():
    policy = ReusePolicy()
    now = utcnow()
    decided = policy.decide(_searched(), events=1050, items=100, now=now)
    assert decided is not None
    reuse, record = decided
    assert reuse.params.half_life_days == 30.0 and reuse.repeat_share == 0.25
    assert record["from_version"] == 3 and record["reuses"] == 1
    assert policy.decide(None, events=10, items=1, now=now) is None
    assert policy.decide(_searched(), events=1100, items=100, now=now) is None  # +10%
    assert policy.decide(_searched(), events=999, items=100, now=now) is None  # events erased
    assert policy.decide(_searched(), events=1000, items=106, now=now) is None  # catalog +6%
    assert policy.decide(_searched(), events=1000, items=100, now=now + timedelta(days=1)) is None
    skipped = _searched()
    skipped.manifest["validation"] = {"skipped": "fewer than 100 events"}
    assert policy.decide(skipped, events=1000, items=100, now=now) is None
    strange = _searched()
    strange.manifest["validation"]["chosen"] = {"no_such_setting": 1}
    assert policy.decide(strange, events=1000, items=100, now=now) is None
    # A reuse of a reuse counts from the search, and stops after ``max_reuses``.
    chained = _searched(4, reused={**record, "reuses": 24})
    assert policy.decide(chained, events=1010, items=100, now=now) is None
    chained = _searched(4, reused={**record, "reuses": 3})
    again = policy.decide(chained, events=1090, items=100, now=now)
    assert again is not None and again[1]["reuses"] == 4 and again[1]["searched_version"] == 3
    assert policy.decide(chained, events=1100, items=100, now=now) is None
