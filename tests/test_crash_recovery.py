"""A 202 survives a crash: ``lehnz serve`` killed with SIGKILL while clients are ingesting.

A real server process, on SQLite and on PostgreSQL. Four client threads send batches of 50
events with unique ``event_id``s and note which batches were acknowledged. Once about 40
batches have been acknowledged the server is killed with SIGKILL, mid-traffic. It is then
started again on the same data directory (and database), and the test reads every user's
events back through ``GET /api/v1/users/{id}/events``:

- right after the restart, before any retry: every acknowledged event is stored exactly
  once, and nothing is stored that was never sent (batches that were in flight may or may
  not be there, which is what a crash means);
- then each client re-sends its unacknowledged batches with the same ``event_id``s, as a
  real client would, replays its last acknowledged batch (an answer lost on the way back),
  and sends a few new batches; afterwards every event sent is stored exactly once,
  including those of in-flight batches that were committed but never acknowledged.

The whole test is bounded by ``DEADLINE_SECONDS``; the server's output goes to
``server-N.log`` in the test's temporary directory.
"""

from __future__ import annotations

import secrets
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import DOMAIN, PASSWORD
from tests.processes import LehnzProcess, free_port

CLIENTS = 4
BATCH = 50
USERS = 20
KILL_AFTER_ACKED = 40  # batches acknowledged overall before the SIGKILL
NEW_AFTER_RESTART = 5  # new batches per client after the restart
PAGE = 100  # small enough that reading a user's events takes several pages
DEADLINE_SECONDS = 60.0
REQUEST_TIMEOUT = 10.0


def _server(data_dir: Path, port: int, database_url: str | None, log: Path) -> LehnzProcess:
    env = {"LEHNZ_DATABASE_URL": database_url} if database_url else {}
    args = ["serve", "--data-dir", str(data_dir), "--port", str(port)]
    return LehnzProcess(args, log, env)


@dataclass
class Shared:
    """What the main thread and the clients tell each other."""

    deadline: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    acked_batches: int = 0
    crashed: threading.Event = field(default_factory=threading.Event)
    restarted: threading.Event = field(default_factory=threading.Event)
    abort: threading.Event = field(default_factory=threading.Event)

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())


class Client(threading.Thread):
    def __init__(self, number: int, run: str, base: str, key: str, shared: Shared) -> None:
        super().__init__(name=f"ingest-client-{number}", daemon=True)
        self.number = number
        self.run_id = run
        self.base = base
        self.shared = shared
        self.headers = {**DOMAIN, "X-API-KEY": key}
        self.sent: dict[str, dict[str, Any]] = {}  # every event this client ever sent
        self.acked: list[list[dict[str, Any]]] = []  # batches answered 202 before the crash
        self.unacked: list[list[dict[str, Any]]] = []  # batches sent, no 202 before the crash
        self.resent: list[list[dict[str, Any]]] = []  # unacked batches, acknowledged on retry
        self.new_after: list[list[dict[str, Any]]] = []  # batches first sent after the restart
        self.replayed: list[list[dict[str, Any]]] = []  # acknowledged batches sent once more
        self.refusals: list[str] = []  # answers other than 202 (a server bug here)
        self.errors: list[str] = []  # exceptions of this thread
        self.ready_to_restart = threading.Event()
        self.done = threading.Event()
        self._batches = 0

    def _batch(self) -> list[dict[str, Any]]:
        number = self._batches
        self._batches += 1
        batch = []
        for i in range(BATCH):
            event = {
                "user_id": f"user-{self.run_id}-{(self.number * 7 + number + i) % USERS}",
                "event_name": ("view", "click", "add_to_cart", "purchase")[i % 4],
                "item_id": f"item-{(number * BATCH + i) % 97}",
                "event_id": f"{self.run_id}-c{self.number}-b{number}-e{i}",
            }
            self.sent[event["event_id"]] = event
            batch.append(event)
        return batch

    def _post(self, http: httpx.Client, batch: list[dict[str, Any]]) -> bool:
        """True on 202; False on a transport error (the server is gone or going)."""
        try:
            response = http.post("/api/v1/events/ingest", headers=self.headers, json=batch)
        except httpx.TransportError:
            return False
        if response.status_code == 202 and response.json()["data"] == {"accepted": BATCH}:
            return True
        self.refusals.append(f"{response.status_code}: {response.text[:300]}")
        return False

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.base, timeout=REQUEST_TIMEOUT) as http:
                self._before_crash(http)
            self.ready_to_restart.set()
            if not self.shared.restarted.wait(self.shared.remaining()):
                raise TimeoutError("the server was not restarted in time")
            if self.shared.abort.is_set():
                return
            # A fresh client: nothing of the old connections is reused.
            with httpx.Client(base_url=self.base, timeout=REQUEST_TIMEOUT) as http:
                self._after_restart(http)
        except BaseException:
            self.errors.append(traceback.format_exc())
        finally:
            self.ready_to_restart.set()
            self.done.set()

    def _before_crash(self, http: httpx.Client) -> None:
        while not self.shared.abort.is_set():
            if self.shared.remaining() == 0:
                raise TimeoutError("still sending before the crash at the deadline")
            batch = self._batch()
            if self._post(http, batch):
                self.acked.append(batch)
                with self.shared.lock:
                    self.shared.acked_batches += 1
                if self.shared.crashed.is_set():
                    return
            else:
                # The server died with this batch in flight (or refused it, which the test
                # reports). Either way it is not acknowledged: keep it for a retry.
                self.unacked.append(batch)
                if self.refusals:
                    return
                if self.shared.crashed.wait(self.shared.remaining()):
                    return
                raise TimeoutError("transport error but the server was not killed")

    def _after_restart(self, http: httpx.Client) -> None:
        retries = [(batch, self.resent) for batch in self.unacked]
        # A batch whose 202 was lost on the way back looks, to the client, like one that was
        # never answered: committed, yet retried. Whether the crash produced such a batch is
        # luck (its window is between COMMIT and the answer), so replay the last acknowledged
        # batch too, and a fresh one interleaved with it.
        fresh = [(self._batch(), self.new_after) for _ in range(NEW_AFTER_RESTART)]
        replay = [(self.acked[-1], self.replayed)] if self.acked else []
        for batch, acknowledged in [*retries, *fresh[:1], *replay, *fresh[1:]]:
            while not self._post(http, batch):
                if self.refusals:
                    return
                if self.shared.remaining() == 0 or self.shared.abort.is_set():
                    raise TimeoutError("a batch was never acknowledged after the restart")
                time.sleep(0.1)
            acknowledged.append(batch)


def _register(base: str) -> tuple[str, str]:
    """A fresh organisation; its publishable and secret keys."""
    with httpx.Client(base_url=base, headers=DOMAIN, timeout=REQUEST_TIMEOUT) as http:
        response = http.post(
            "/api/v1/auth/register",
            json={
                "email": f"crash-{secrets.token_hex(6)}@example.com",
                "password": PASSWORD,
                "organization_name": "Crash Test",
            },
        )
        assert response.status_code == 201, response.text
        bearer = {"Authorization": f"Bearer {response.json()['data']['token']}"}
        keys = []
        for key_type in ("publishable", "secret"):
            made = http.post(
                "/api/v1/keys", headers=bearer, json={"type": key_type, "name": "crash"}
            )
            assert made.status_code == 201, made.text
            keys.append(made.json()["data"]["key"])
    return keys[0], keys[1]


def _stored(base: str, secret: str, user_ids: list[str]) -> tuple[list[dict[str, Any]], int]:
    """Every stored event of ``user_ids``, following ``next`` to the end; and the number of
    users whose events took more than one page."""
    found: list[dict[str, Any]] = []
    paged = 0
    headers = {**DOMAIN, "X-API-KEY": secret}
    with httpx.Client(base_url=base, headers=headers, timeout=REQUEST_TIMEOUT) as http:
        for user_id in user_ids:
            before: str | None = None
            pages = 0
            while True:
                params: dict[str, Any] = {"limit": PAGE}
                if before is not None:
                    params["before"] = before
                response = http.get(f"/api/v1/users/{user_id}/events", params=params)
                assert response.status_code == 200, response.text
                data = response.json()["data"]
                found.extend(data["events"])
                pages += 1
                assert pages <= 1000, "the cursor never ends"
                before = data["next"]
                if before is None:
                    break
            paged += pages > 1
    return found, paged


def _event_ids(batches: list[list[dict[str, Any]]]) -> set[str]:
    return {event["event_id"] for batch in batches for event in batch}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_acknowledged_events_survive_sigkill_and_retries_are_stored_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    database_url = (
        request.getfixturevalue("postgres_database_url") if backend == "postgresql" else None
    )
    shared = Shared(deadline=time.monotonic() + DEADLINE_SECONDS)
    data_dir = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    run = secrets.token_hex(4)
    servers: list[LehnzProcess] = []
    clients: list[Client] = []
    try:
        servers.append(_server(data_dir, port, database_url, tmp_path / "server-1.log"))
        servers[0].wait_ready(base, shared.deadline)
        publishable, secret = _register(base)

        clients = [Client(n, run, base, publishable, shared) for n in range(CLIENTS)]
        for client in clients:
            client.start()
        while shared.acked_batches < KILL_AFTER_ACKED:
            assert shared.remaining() > DEADLINE_SECONDS / 2, "ingest too slow to reach the kill"
            stopped = [c for c in clients if c.ready_to_restart.is_set()]
            assert not stopped, [(c.errors, c.refusals) for c in stopped]
            time.sleep(0.005)
        servers[0].kill()
        shared.crashed.set()
        for client in clients:
            assert client.ready_to_restart.wait(shared.remaining()), "a client never stopped"
        for client in clients:
            assert not client.errors, client.errors
            assert not client.refusals, client.refusals

        acked = _event_ids([b for c in clients for b in c.acked])
        unacked = _event_ids([b for c in clients for b in c.unacked])
        sent = {eid: e for c in clients for eid, e in c.sent.items()}
        user_ids = sorted({event["user_id"] for event in sent.values()})
        assert len(acked) >= KILL_AFTER_ACKED * BATCH
        assert not acked & unacked

        servers.append(_server(data_dir, port, database_url, tmp_path / "server-2.log"))
        servers[1].wait_ready(base, shared.deadline)

        # Before any retry: the crash lost nothing acknowledged and invented nothing.
        stored, _ = _stored(base, secret, user_ids)
        counts = Counter(event["event_id"] for event in stored)
        duplicates = {eid: n for eid, n in counts.items() if n > 1}
        assert not duplicates, f"stored more than once after the crash: {duplicates}"
        missing = acked - counts.keys()
        assert not missing, f"{len(missing)} acknowledged events lost by the crash"
        assert counts.keys() <= acked | unacked, "stored events nobody sent"
        committed_unacked = len(counts.keys() & unacked)

        shared.restarted.set()
        for client in clients:
            assert client.done.wait(shared.remaining()), "a client did not finish its retries"
        for client in clients:
            assert not client.errors, client.errors
            assert not client.refusals, client.refusals
            assert len(client.resent) == len(client.unacked)
            assert len(client.new_after) == NEW_AFTER_RESTART
            assert len(client.replayed) == (1 if client.acked else 0)

        # After the retries, replays and new batches: every event sent is stored exactly once.
        sent = {eid: e for c in clients for eid, e in c.sent.items()}
        stored, paged = _stored(base, secret, user_ids)
        counts = Counter(event["event_id"] for event in stored)
        duplicates = {eid: n for eid, n in counts.items() if n > 1}
        replayed = _event_ids([b for c in clients for b in c.replayed])
        assert replayed, "no acknowledged batch was replayed"
        assert not duplicates, (
            f"{len(duplicates)} events stored more than once "
            f"({len(duplicates.keys() & unacked)} of them in flight at the crash, "
            f"{len(duplicates.keys() & replayed)} replayed after a 202)"
        )
        assert counts.keys() == sent.keys(), (
            f"missing {len(sent.keys() - counts.keys())}, "
            f"unexpected {len(counts.keys() - sent.keys())}"
        )
        for event in stored:
            expected = sent[event["event_id"]]
            assert (event["user_id"], event["event_name"], event["item_id"]) == (
                expected["user_id"],
                expected["event_name"],
                expected["item_id"],
            )
        assert paged > 0, "no user's events took more than one page: the cursor went untested"
        assert len(stored) == len(sent) == sum(len(c.sent) for c in clients)
        assert "Traceback" not in servers[1].log_text(), servers[1].log_text()[-5000:]
        print(
            f"\n{backend}: {len(acked)} acknowledged and {len(unacked)} in flight at the kill "
            f"({committed_unacked} of those committed without an answer); "
            f"{len(replayed)} acknowledged events replayed; "
            f"{len(stored)} stored once each after retries; "
            f"{DEADLINE_SECONDS - shared.remaining():.1f} s"
        )
    finally:
        shared.abort.set()
        shared.crashed.set()
        shared.restarted.set()
        for server in reversed(servers):
            server.stop()
        for client in clients:
            client.join(timeout=REQUEST_TIMEOUT + 5)
    assert not any(client.is_alive() for client in clients), "a client thread hung"
