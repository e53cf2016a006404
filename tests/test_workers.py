"""``lehnz serve --workers 2`` in the embedded mode (SQLite, no Redis), as a real process.

The workers trust a cached key and look for new models on their own only every 300 seconds,
so anything that reaches the other worker within ``NOTICE_SECONDS`` came through the notice
file the workers share. Each request opens a connection of its own, so the kernel hands
each to either worker; the test of the limit checks from their CPU time that both served.

The test that kills the pipeline's worker runs last: the others assume it is alive.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import DOMAIN, Tenant, create_key, tenant, within
from tests.processes import LehnzProcess, lehnz_serve
from tests.shop import HATS, catalog, history

NOTICE_SECONDS = 5.0  # a notice is read within 0.1 s; a model also has to load
LEADER = re.compile(r"Process \[(\d+)\] runs the pipeline and scheduled training")


@dataclass
class Server:
    base: str
    process: LehnzProcess
    data_dir: Path

    def client(self) -> httpx.Client:
        """A client whose every request opens a new connection (a worker picked anew)."""
        return httpx.Client(
            base_url=self.base, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
        )

    def worker_pids(self) -> list[int]:
        """The workers alive now (a killed one stays in /proc until reaped: not counted)."""
        found = re.findall(r"Started server process \[(\d+)\]", self.process.log_text())
        return [int(pid) for pid in found if _alive(int(pid))]

    def leaders(self) -> list[int]:
        return [int(pid) for pid in LEADER.findall(self.process.log_text())]

    def sql(self, query: str, *params: object) -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"file:{self.data_dir / 'lehnz.db'}?mode=ro", uri=True) as db:
            return db.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("workers")
    env = {
        "LEHNZ_KEY_CACHE_SECONDS": "300",
        "LEHNZ_MODEL_CHECK_SECONDS": "300",
        "LEHNZ_RATE_LIMIT_REQUESTS": "100000",
        "LEHNZ_AUTH_RATE_LIMIT_REQUESTS": "100000",
        "LEHNZ_TRAIN_CHECK_SECONDS": "3600",
    }
    with lehnz_serve(tmp, env, workers=2, start_seconds=120) as (base, process):
        yield Server(base, process, tmp / "data")


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def every_answer(http: httpx.Client, org: Tenant, user_id: str, times: int) -> set[Any]:
    """The model versions of ``times`` answers, each on a new connection."""
    versions = set()
    for _ in range(times):
        response = http.post(
            "/recommend", headers=org.publishable_headers, json={"user_id": user_id}
        )
        assert response.status_code == 200, response.text
        versions.add(response.json()["meta"]["model_version"])
    return versions


def applied(server: Server, organization_id: str) -> tuple[int, int]:
    """(the pipeline's position, the newest event) of one organisation."""
    rows = server.sql(
        "SELECT (SELECT coalesce(max(last_seq), 0) FROM pipeline_cursors "
        "WHERE organization_id = ?), (SELECT coalesce(max(seq), 0) FROM events "
        "WHERE organization_id = ?)",
        organization_id,
        organization_id,
    )
    return int(rows[0][0]), int(rows[0][1])


def test_one_worker_runs_the_pipeline(server: Server) -> None:
    assert len(server.worker_pids()) == 2, server.process.log_text()
    leaders = within(5, server.leaders, "a worker taking the pipeline")
    assert len(leaders) == 1 and leaders[0] in server.worker_pids()
    time.sleep(1.5)  # the other worker keeps asking for the lock, every second, in vain
    assert server.leaders() == leaders


def test_the_limit_is_exact_across_both_workers(server: Server, http: httpx.Client) -> None:
    org = tenant(http)
    limit = {"requests": 150, "window_seconds": 900}
    saved = http.put("/api/v1/settings/rate_limit", headers=org.account.headers, json=limit)
    assert saved.status_code == 200, saved.text
    pids = server.worker_pids()
    before = {pid: cpu_ticks(pid) for pid in pids}
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def client(number: int) -> None:
        with server.client() as own:
            for n in range(50):
                if (number + n) % 2:
                    response = own.get("/api/v1/items/none", headers=org.secret_headers)
                else:
                    response = own.post(
                        "/recommend", headers=org.publishable_headers, json={"user_id": "u"}
                    )
                with lock:
                    statuses[response.status_code] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(statuses.values()) == 400
    assert statuses[429] == 250, statuses
    assert statuses[200] + statuses[404] == 150, statuses
    # Both workers answered a good share (an idle worker spends no tick in a second).
    spent = {pid: cpu_ticks(pid) - before[pid] for pid in pids}
    assert all(ticks >= 5 for ticks in spent.values()), spent


def test_a_new_limit_reaches_every_worker_at_once(server: Server, http: httpx.Client) -> None:
    org = tenant(http)
    body = {"user_id": "u"}
    for _ in range(10):  # both workers have the server's limit cached
        assert http.post("/recommend", headers=org.publishable_headers, json=body).is_success
    limit = {"requests": 12, "window_seconds": 600}
    saved = http.put("/api/v1/settings/rate_limit", headers=org.account.headers, json=limit)
    assert saved.status_code == 200, saved.text
    time.sleep(0.5)
    seen = {
        http.post("/recommend", headers=org.publishable_headers, json=body).headers.get(
            "RateLimit-Limit"
        )
        for _ in range(10)
    }
    assert seen == {"12"}


def test_a_revoked_key_is_refused_by_every_worker(server: Server, http: httpx.Client) -> None:
    org = tenant(http)
    body = {"user_id": "u1"}
    for _ in range(10):  # both workers have checked (and cached) the key
        assert http.post("/recommend", headers=org.publishable_headers, json=body).is_success
    keys = http.get("/api/v1/keys", headers=org.account.headers).json()["data"]["keys"]
    publishable_id = next(k["id"] for k in keys if k["type"] == "publishable")
    assert http.delete(f"/api/v1/keys/{publishable_id}", headers=org.account.headers).is_success
    time.sleep(0.5)
    statuses = {
        http.post("/recommend", headers=org.publishable_headers, json=body).status_code
        for _ in range(10)
    }
    assert statuses == {401}

    fresh = create_key(http, org.account, "publishable")
    fresh_headers = {**DOMAIN, "X-API-KEY": fresh["key"]}
    for _ in range(10):
        assert http.post("/recommend", headers=fresh_headers, json=body).status_code == 200
    rotated = http.post(f"/api/v1/keys/{fresh['id']}/rotate", headers=org.account.headers)
    assert rotated.status_code == 201, rotated.text
    # A rotated key keeps working through its grace period, everywhere; the new one too.
    new_headers = {**DOMAIN, "X-API-KEY": rotated.json()["data"]["key"]}
    for _ in range(10):
        assert http.post("/recommend", headers=new_headers, json=body).status_code == 200


def test_ingest_pipeline_and_training_reach_every_worker(
    server: Server, http: httpx.Client
) -> None:
    org = tenant(http)
    assert http.post("/api/v1/items", headers=org.secret_headers, json=catalog()).is_success
    events = history()
    for start in range(0, len(events), 1000):
        sent = http.post(
            "/api/v1/events/ingest",
            headers=org.publishable_headers,
            json=events[start : start + 1000],
        )
        assert sent.status_code == 202, sent.text
    # Events sent to either worker are applied by the one pipeline (it polls every 0.5 s).
    within(10, lambda: (pos := applied(server, org.organization_id))[0] == pos[1] > 0, "pipeline")
    assert every_answer(http, org, "convert", 6) == {None}

    trained = http.post("/api/v1/models/train", headers=org.secret_headers)
    assert trained.status_code == 200, trained.text
    version = trained.json()["data"]["version"]
    within(NOTICE_SECONDS, lambda: every_answer(http, org, "convert", 10) == {version}, "swap")
    assert every_answer(http, org, "convert", 20) == {version}  # both workers, for good

    # An event sent to one worker moves the very next list, whichever worker answers it.
    moved = [{"user_id": "convert", "event_name": "add_to_cart", "item_id": h} for h in HATS[:3]]
    sent = http.post("/api/v1/events/ingest", headers=org.publishable_headers, json=moved)
    assert sent.status_code == 202
    for _ in range(10):
        answer = http.post(
            "/recommend", headers=org.publishable_headers, json={"user_id": "convert", "limit": 3}
        ).json()
        assert all(item.startswith("hat") for item in answer["all_item_ids"]), answer

    again = http.post("/api/v1/models/train", headers=org.secret_headers)
    assert again.json()["data"]["version"] == version + 1
    within(NOTICE_SECONDS, lambda: every_answer(http, org, "convert", 10) == {version + 1}, "swap")
    assert every_answer(http, org, "convert", 20) == {version + 1}


def test_another_worker_takes_the_pipeline_when_its_worker_dies(
    server: Server, http: httpx.Client
) -> None:
    [leader] = within(5, server.leaders, "a worker taking the pipeline")
    os.kill(leader, signal.SIGKILL)
    successors = within(
        10, lambda: [pid for pid in server.leaders() if pid != leader], "another worker leading"
    )
    assert len(successors) == 1
    # uvicorn replaced the dead worker; the pipeline still applies what either receives.
    within(60, lambda: len(server.worker_pids()) == 2, "a replacement worker")
    org = tenant(http)
    events = [{"user_id": f"u{n}", "event_name": "view", "item_id": "i1"} for n in range(20)]
    for _ in range(5):
        sent = http.post("/api/v1/events/ingest", headers=org.publishable_headers, json=events)
        assert sent.status_code == 202, sent.text
    within(10, lambda: (pos := applied(server, org.organization_id))[0] == pos[1] > 0, "pipeline")


def test_the_workers_end_with_their_parent_however_it_ends(server: Server) -> None:
    within(60, lambda: len(server.worker_pids()) == 2, "two workers")
    server.process.kill()  # SIGKILL: uvicorn's supervisor cannot stop them itself
    within(10, lambda: not server.worker_pids(), "the orphaned workers exiting")
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.base}/healthz", timeout=2)
