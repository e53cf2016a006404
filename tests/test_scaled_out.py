"""The scaled-out mode, as real processes on real PostgreSQL and Redis.

One ``lehnz serve --service ingestion`` (A), one ``lehnz serve --service recommendations``
(B) and one ``lehnz worker``, on a database of their own and a Redis prefix of their own.
They share nothing else: each has its own data directory. The processes trust a cached key
and look for new models only every 300 seconds, so anything that reaches B within 5 seconds
came through the Redis notices.

Each test uses an organisation of its own; their order does not matter except that the
worker test, which replaces the worker, runs last.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import fresh_postgres_database, unique_prefix
from tests.factories import DOMAIN, Tenant, create_key, tenant, within
from tests.processes import LehnzProcess, free_port
from tests.shop import HATS, catalog, history

START_SECONDS = 60.0
NOTICE_SECONDS = 5.0  # the bound for a new model or a revoked key to reach B


@dataclass
class Cluster:
    a: httpx.Client
    b: httpx.Client
    database_url: str
    env: dict[str, str]
    tmp: Path
    worker: LehnzProcess

    def org(self) -> Tenant:
        """A new organisation, registered through the ingestion process."""
        return tenant(self.a)

    def start_worker(self, name: str, *args: str) -> LehnzProcess:
        worker = LehnzProcess(
            ["worker", "--data-dir", str(self.tmp / name), "--poll", "0.1", *args],
            self.tmp / f"{name}.log",
            self.env,
        )
        worker.wait_for_output("lehnz worker:", time.monotonic() + START_SECONDS)
        return worker

    def sql(self, query: str, *params: object) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            return connection.execute(query, params).fetchall()  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def cluster(
    postgres_database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("scaled")
    with fresh_postgres_database() as database_url:
        env = {
            "LEHNZ_DATABASE_URL": database_url,
            "LEHNZ_REDIS_URL": redis_url,
            "LEHNZ_REDIS_PREFIX": unique_prefix(),
            "LEHNZ_SECRET_KEY": "scaled-out-test-" + "k" * 40,
            "LEHNZ_KEY_CACHE_SECONDS": "300",
            "LEHNZ_MODEL_CHECK_SECONDS": "300",
            "LEHNZ_RATE_LIMIT_REQUESTS": "100000",
            "LEHNZ_AUTH_RATE_LIMIT_REQUESTS": "100000",
            "LEHNZ_TRAIN_CHECK_SECONDS": "3600",
        }
        ports = {"ingestion": free_port(), "recommendations": free_port()}
        servers = {
            service: LehnzProcess(
                [
                    "serve",
                    "--service",
                    service,
                    "--port",
                    str(port),
                    "--data-dir",
                    str(tmp / service),
                ],
                tmp / f"{service}.log",
                env,
            )
            for service, port in ports.items()
        }
        started: list[LehnzProcess] = list(servers.values())
        try:
            deadline = time.monotonic() + START_SECONDS
            for service, server in servers.items():
                server.wait_ready(f"http://127.0.0.1:{ports[service]}", deadline)
            cluster = Cluster(
                a=httpx.Client(base_url=f"http://127.0.0.1:{ports['ingestion']}", timeout=60),
                b=httpx.Client(base_url=f"http://127.0.0.1:{ports['recommendations']}", timeout=60),
                database_url=database_url.replace("postgresql+psycopg", "postgresql"),
                env=env,
                tmp=tmp,
                worker=None,  # type: ignore[arg-type]
            )
            cluster.worker = cluster.start_worker("worker")
            started.append(cluster.worker)
            yield cluster
            cluster.a.close()
            cluster.b.close()
        finally:
            for process in started:
                process.stop()


def applied(cluster: Cluster, organization_id: str) -> tuple[int, int]:
    """(the pipeline's position, the newest event) of one organisation."""
    rows = cluster.sql(
        "SELECT (SELECT coalesce(max(last_seq), 0) FROM pipeline_cursors "
        "WHERE organization_id = %s), (SELECT coalesce(max(seq), 0) FROM events "
        "WHERE organization_id = %s)",
        organization_id,
        organization_id,
    )
    return int(rows[0][0]), int(rows[0][1])


def recommend(cluster: Cluster, org: Tenant, user_id: str, limit: int = 3) -> dict[str, Any]:
    response = cluster.b.post(
        "/recommend", headers=org.publishable_headers, json={"user_id": user_id, "limit": limit}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_ingest_and_training_on_one_process_show_on_the_other(cluster: Cluster) -> None:
    for process in (cluster.a, cluster.b):
        assert process.get("/readyz").json()["data"] == {"database": "ok", "redis": "ok"}
    org = cluster.org()
    assert (
        cluster.a.post("/api/v1/items", headers=org.secret_headers, json=catalog()).status_code
        == 200
    )
    events = history()
    for start in range(0, len(events), 1000):
        sent = cluster.a.post(
            "/api/v1/events/ingest",
            headers=org.publishable_headers,
            json=events[start : start + 1000],
        )
        assert sent.status_code == 202, sent.text
    # The worker, a process of its own, applies the events.
    within(10, lambda: (pos := applied(cluster, org.organization_id))[0] == pos[1] > 0, "pipeline")
    assert recommend(cluster, org, "convert")["meta"]["model_version"] is None

    trained = cluster.a.post("/api/v1/models/train", headers=org.secret_headers)
    assert trained.status_code == 200, trained.text
    version = trained.json()["data"]["version"]
    within(
        NOTICE_SECONDS,
        lambda: recommend(cluster, org, "convert")["meta"]["model_version"] == version,
        "B serving the new model",
    )

    # An event sent to A moves B's next list, without retraining.
    moved = [{"user_id": "convert", "event_name": "add_to_cart", "item_id": h} for h in HATS[:3]]
    assert (
        cluster.a.post(
            "/api/v1/events/ingest", headers=org.publishable_headers, json=moved
        ).status_code
        == 202
    )
    answer = within(
        2.0,
        lambda: (
            (r := recommend(cluster, org, "convert"))
            and all(i.startswith("hat") for i in r["all_item_ids"])
            and r
        ),
        "an event through A moving B's list",
    )
    assert answer["meta"]["model_version"] == version

    # A second training: B swaps to it as well.
    again = cluster.a.post("/api/v1/models/train", headers=org.secret_headers)
    assert again.json()["data"]["version"] == version + 1
    within(
        NOTICE_SECONDS,
        lambda: recommend(cluster, org, "convert")["meta"]["model_version"] == version + 1,
        "B serving the retrained model",
    )


def test_a_key_revoked_or_rotated_on_one_process_is_refused_on_both(cluster: Cluster) -> None:
    org = cluster.org()
    body = {"user_id": "u1"}
    # Both processes have checked (and cached) the key.
    assert (
        cluster.b.post("/recommend", headers=org.publishable_headers, json=body).status_code == 200
    )
    event = {"user_id": "u1", "event_name": "view", "item_id": "i1"}
    assert (
        cluster.a.post(
            "/api/v1/events/ingest", headers=org.publishable_headers, json=event
        ).status_code
        == 202
    )

    key_id = cluster.a.get("/api/v1/keys", headers=org.account.headers).json()["data"]["keys"]
    publishable_id = next(k["id"] for k in key_id if k["type"] == "publishable")
    assert cluster.a.delete(
        f"/api/v1/keys/{publishable_id}", headers=org.account.headers
    ).is_success
    assert (
        cluster.a.post(
            "/api/v1/events/ingest", headers=org.publishable_headers, json=event
        ).status_code
        == 401
    )
    within(
        NOTICE_SECONDS,
        lambda: (
            cluster.b.post("/recommend", headers=org.publishable_headers, json=body).status_code
            == 401
        ),
        "B refusing the revoked key",
    )

    fresh = create_key(cluster.a, org.account, "publishable")
    fresh_headers = {**DOMAIN, "X-API-KEY": fresh["key"]}
    assert cluster.b.post("/recommend", headers=fresh_headers, json=body).status_code == 200
    rotated = cluster.a.post(f"/api/v1/keys/{fresh['id']}/rotate", headers=org.account.headers)
    assert rotated.status_code == 201, rotated.text
    new_headers = {**DOMAIN, "X-API-KEY": rotated.json()["data"]["key"]}
    within(
        NOTICE_SECONDS,
        lambda: cluster.b.post("/recommend", headers=fresh_headers, json=body).status_code == 401,
        "B refusing the rotated-out key",
    )
    assert cluster.b.post("/recommend", headers=new_headers, json=body).status_code == 200


def test_the_organisations_limit_is_exact_across_both_processes(cluster: Cluster) -> None:
    org = cluster.org()
    limit = {"requests": 1000, "window_seconds": 900}
    saved = cluster.a.put("/api/v1/settings/rate_limit", headers=org.account.headers, json=limit)
    assert saved.status_code == 200, saved.text
    statuses: Counter[int] = Counter()
    limits: set[str] = set()
    lock = threading.Lock()

    def client(number: int) -> None:
        with (
            httpx.Client(base_url=cluster.a.base_url, timeout=30) as a,
            httpx.Client(base_url=cluster.b.base_url, timeout=30) as b,
        ):
            for n in range(150):
                if (number + n) % 2:
                    response = a.get("/api/v1/items/none", headers=org.secret_headers)
                else:
                    response = b.post(
                        "/recommend", headers=org.publishable_headers, json={"user_id": "u"}
                    )
                with lock:
                    statuses[response.status_code] += 1
                    limits.add(response.headers.get("RateLimit-Limit", "missing"))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(statuses.values()) == 1200
    assert statuses[429] == 200, statuses
    assert statuses[200] + statuses[404] == 1000, statuses
    assert limits == {"1000"}


def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(cluster: Cluster) -> None:
    # SIGTERM, what docker stop sends: the worker stops cleanly.
    cluster.worker.process.send_signal(signal.SIGTERM)
    assert cluster.worker.process.wait(timeout=30) == 0, cluster.worker.log_text()
    cluster.worker.stop()
    org = cluster.org()
    users, per_user = 200, 100
    events = [
        {"user_id": f"user-{n % users}", "event_name": "view", "item_id": f"item-{n % 997}"}
        for n in range(users * per_user)
    ]
    for start in range(0, len(events), 1000):
        sent = cluster.a.post(
            "/api/v1/events/ingest",
            headers=org.publishable_headers,
            json=events[start : start + 1000],
        )
        assert sent.status_code == 202, sent.text
    position, newest = applied(cluster, org.organization_id)
    assert position == 0 < newest

    first = cluster.start_worker("worker-killed", "--no-training")
    try:
        at_kill = within(
            30,
            lambda: 0 < (pos := applied(cluster, org.organization_id))[0] < pos[1] and pos,
            "the first worker's progress",
        )
        first.kill()
    finally:
        first.stop()
    position, _ = applied(cluster, org.organization_id)
    assert position < newest, "the first worker finished before it could be killed"

    second = cluster.start_worker("worker-second", "--no-training")
    try:
        within(60, lambda: applied(cluster, org.organization_id)[0] == newest, "the catch-up")
    finally:
        second.stop()

    counts = {}
    for n in range(users):
        answer = cluster.a.get(f"/api/v1/users/user-{n}", headers=org.secret_headers)
        assert answer.status_code == 200, answer.text
        counts[n] = answer.json()["data"]["activity"]["events"]
    assert set(counts.values()) == {per_user}, Counter(counts.values())
    assert at_kill[0] < newest
