"""Ingest throughput: events per second through ``POST /api/v1/events/ingest``, beside the
raw insert rate of the same database.

Starts a real ``lehnz serve`` on a fresh data directory (SQLite) or a fresh PostgreSQL
database, registers an organisation, and has 4 concurrent clients send realistic events
(``view``/``click``/``add_to_cart``/``purchase``, ``item_id``, ``session_id``,
``context: {"quantity": 1}``, a random ``event_id``) in batches of 500:

    .venv/bin/python bench/ingest.py
    .venv/bin/python bench/ingest.py --postgres postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/ingest.py --events 200000 --clients processes

The raw rate is the same rows written with the database's own driver, by as many threads,
in transactions of as many rows, with plain ``executemany`` into a copy of the ``events``
table (the server's schema, made by its migrations, in a separate SQLite file or a separate
PostgreSQL database): ``sqlite3`` with the server's PRAGMAs and ``BEGIN IMMEDIATE``, or
psycopg 3. No HTTP, no validation, no duplicate check: the ceiling the server works under.

Batches are JSON-encoded before the clock starts, so the clients spend their time on HTTP
only. ``--clients threads`` (the default) runs the clients as threads of this process;
``--clients processes`` as separate processes, to see whether the client's GIL limits it.

Raw httpx on purpose, not ``lehnz.client``: this measures the server's ingest throughput,
so the bodies are serialised before the clock starts and sent as they are. The client would
build and encode each batch (and give every event an ``event_id``) inside the timed loop,
measuring itself as well. Registration is raw too (the client has no developer paths).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import secrets
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).parent))
from harness import free_port, lehnz_env, wait_ready
from harness import start as start_lehnz
from harness import stop as stop_lehnz

DOMAIN = {"X-Domain": "commerce"}
NAMES = ("view", "click", "add_to_cart", "purchase")
NAME_WEIGHTS = (70, 20, 7, 3)
USERS = 20_000
ITEMS = 5_000
COLUMNS = (
    "organization_id",
    "event_id",
    "user_id",
    "event_name",
    "item_id",
    "session_id",
    "recommendation_id",
    "previous_user_id",
    "context",
    "occurred_at",
    "received_at",
)


# --- the events -----------------------------------------------------------------------------


def make_events(seed: int, count: int) -> list[dict[str, Any]]:
    """``count`` events, the same for the same ``seed``: shoppers browsing in sessions."""
    rng = random.Random(seed)
    events = []
    user = session = ""
    for i in range(count):
        if i % 10 == 0:  # a visit of ten events
            number = rng.randrange(USERS)
            user, session = f"user-{number}", f"sess-{seed}-{i}"
        events.append(
            {
                "user_id": user,
                "event_name": rng.choices(NAMES, NAME_WEIGHTS)[0],
                "item_id": f"item-{rng.randrange(ITEMS)}",
                "session_id": session,
                "context": {"quantity": 1},
                "event_id": f"{rng.getrandbits(128):032x}",
            }
        )
    return events


def shares(total: int, clients: int, batch: int) -> list[int]:
    """Events per client: whole batches, as even as possible, adding up to ``total``."""
    batches = -(-total // batch)
    per = [batches // clients + (1 if n < batches % clients else 0) for n in range(clients)]
    counts = [b * batch for b in per]
    counts[-1] -= sum(counts) - total  # the last batch of the last client may be short
    return counts


def encoded_batches(seed: int, count: int, batch: int) -> list[bytes]:
    events = make_events(seed, count)
    return [json.dumps(events[i : i + batch]).encode() for i in range(0, count, batch)]


# --- HTTP clients ---------------------------------------------------------------------------


def send_all(base: str, key: str, batches: list[bytes], expected: list[int]) -> list[float]:
    """Post every batch; the latency of each. Anything but 202 with the full count fails."""
    headers = {**DOMAIN, "X-API-KEY": key, "Content-Type": "application/json"}
    latencies = []
    with httpx.Client(base_url=base, timeout=120) as client:
        for body, size in zip(batches, expected, strict=True):
            started = time.perf_counter()
            response = client.post("/api/v1/events/ingest", headers=headers, content=body)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 202 or response.json()["data"]["accepted"] != size:
                raise RuntimeError(f"{response.status_code}: {response.text[:500]}")
    return latencies


def batch_sizes(count: int, batch: int) -> list[int]:
    return [min(batch, count - i) for i in range(0, count, batch)]


def _process_client(
    seed: int,
    count: int,
    batch: int,
    base: str,
    key: str,
    barrier: Any,
    results: Any,
) -> None:
    batches = encoded_batches(seed, count, batch)
    barrier.wait()
    cpu = time.process_time()
    try:
        latencies = send_all(base, key, batches, batch_sizes(count, batch))
        results.put((seed, latencies, time.process_time() - cpu, None))
    except Exception as exc:
        results.put((seed, [], time.process_time() - cpu, repr(exc)))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_http(
    base: str, key: str, server_pid: int, counts: list[int], batch: int, mode: str
) -> dict[str, Any]:
    clients = len(counts)
    latencies: list[float] = []
    if mode == "threads":
        prepared = [encoded_batches(seed, n, batch) for seed, n in enumerate(counts)]
        errors: list[str] = []
        barrier = threading.Barrier(clients + 1)

        def client(seed: int) -> None:
            barrier.wait()
            try:
                latencies.extend(
                    send_all(base, key, prepared[seed], batch_sizes(counts[seed], batch))
                )
            except Exception as exc:
                errors.append(repr(exc))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        cpu_client, cpu_server = os.times(), cpu_seconds(server_pid)
        barrier.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        after = os.times()
        client_cpu = (after.user - cpu_client.user) + (after.system - cpu_client.system)
        if errors:
            raise SystemExit(f"ingest failed: {errors[0]}")
    else:
        context = multiprocessing.get_context("spawn")
        mp_barrier = context.Barrier(clients + 1)
        results = context.Queue()
        processes = [
            context.Process(
                target=_process_client,
                args=(seed, n, batch, base, key, mp_barrier, results),
            )
            for seed, n in enumerate(counts)
        ]
        for process in processes:
            process.start()
        cpu_server = cpu_seconds(server_pid)
        mp_barrier.wait(timeout=300)
        started = time.perf_counter()
        outcomes = [results.get(timeout=3600) for _ in processes]
        elapsed = time.perf_counter() - started
        for process in processes:
            process.join()
        failed = [error for *_, error in outcomes if error]
        if failed:
            raise SystemExit(f"ingest failed: {failed[0]}")
        client_cpu = sum(cpu for _, _, cpu, _ in outcomes)
        for _, own, _, _ in outcomes:
            latencies.extend(own)
    server_cpu = cpu_seconds(server_pid) - cpu_server
    latencies.sort()
    return {
        "events": sum(counts),
        "seconds": elapsed,
        "rate": sum(counts) / elapsed,
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3,
        "server_cpu": server_cpu / elapsed,
        "client_cpu": client_cpu / elapsed,
    }


# --- raw inserts ----------------------------------------------------------------------------


def raw_rows(organization_id: str, seed: int, count: int) -> list[list[Any]]:
    """The same events as the HTTP client's, as the columns the server stores; the two
    timestamps are filled in per transaction, as the server does."""
    return [
        [
            organization_id,
            e["event_id"],
            e["user_id"],
            e["event_name"],
            e["item_id"],
            e["session_id"],
            None,
            None,
            e["context"],
            None,
            None,
        ]
        for e in make_events(seed, count)
    ]


def run_threads(target: Callable[[int], None], clients: int) -> float:
    barrier = threading.Barrier(clients + 1)
    errors: list[str] = []

    def worker(n: int) -> None:
        barrier.wait()
        try:
            target(n)
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"raw insert failed: {errors[0]}")
    return elapsed


INSERT = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES "


def raw_sqlite(path: Path, rows: list[list[list[Any]]], batch: int) -> float:
    """``sqlite3`` as the server configures it (src/lehnz/store/database.py)."""
    statement = INSERT + f"({', '.join('?' * len(COLUMNS))})"

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
        connection.isolation_level = None
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA busy_timeout=30000")
        return connection

    connections = [connect() for _ in rows]
    for own in rows:  # SQLite stores the JSON as text, the times as naive UTC text
        for row in own:
            row[8] = json.dumps(row[8])

    def insert(n: int) -> None:
        connection, own = connections[n], rows[n]
        for start in range(0, len(own), batch):
            chunk = own[start : start + batch]
            now = str(datetime.now(UTC).replace(tzinfo=None))
            for row in chunk:
                row[9] = row[10] = now
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(statement, chunk)
            connection.execute("COMMIT")

    try:
        return run_threads(insert, len(rows))
    finally:
        for connection in connections:
            connection.close()


def raw_postgres(url: str, rows: list[list[list[Any]]], batch: int) -> float:
    statement = INSERT + f"({', '.join(['%s'] * len(COLUMNS))})"
    connections = [psycopg.connect(url) for _ in rows]
    for own in rows:
        for row in own:
            row[8] = Jsonb(row[8])

    def insert(n: int) -> None:
        connection, own = connections[n], rows[n]
        for start in range(0, len(own), batch):
            chunk = own[start : start + batch]
            now = datetime.now(UTC)
            for row in chunk:
                row[9] = row[10] = now
            with connection.transaction(), connection.cursor() as cursor:
                cursor.executemany(statement, chunk)

    try:
        return run_threads(insert, len(rows))
    finally:
        for connection in connections:
            connection.close()


def run_raw(
    directory: Path, database_url: str | None, counts: list[int], batch: int
) -> dict[str, Any]:
    """A separate database with the server's schema (its own migrations) and one
    organisation, then the same rows inserted with the driver alone."""
    from lehnz.config import Settings
    from lehnz.runtime import build_runtime

    runtime = build_runtime(
        Settings(data_dir=directory, database_url=database_url, secret_key="r" * 40)
    )
    organization = runtime.accounts.register(
        email="raw@example.com", password="benchmark", organization_name="Raw"
    ).organization_id
    runtime.close()
    rows = [raw_rows(organization, seed, n) for seed, n in enumerate(counts)]
    if database_url:
        elapsed = raw_postgres(database_url, rows, batch)
    else:
        elapsed = raw_sqlite(directory / "lehnz.db", rows, batch)
    stored = count_events(database_url, directory / "lehnz.db", organization)
    if stored != sum(counts):
        raise SystemExit(f"raw insert stored {stored} of {sum(counts)} rows")
    return {"events": sum(counts), "seconds": elapsed, "rate": sum(counts) / elapsed}


# --- the server -----------------------------------------------------------------------------


def count_events(database_url: str | None, sqlite_path: Path, organization_id: str) -> int:
    query = "SELECT count(*) FROM events WHERE organization_id = "
    if database_url:
        with psycopg.connect(database_url) as connection:
            row = connection.execute(query + "%s", (organization_id,)).fetchone()
    else:
        with sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True) as connection:
            row = connection.execute(query + "?", (organization_id,)).fetchone()
    assert row is not None
    return int(row[0])


def create_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{admin_url.rpartition('/')[0]}/{name}"


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def register(base: str) -> tuple[str, str]:
    """A fresh organisation: its id and a publishable key."""
    with httpx.Client(base_url=base, headers=DOMAIN, timeout=60) as client:
        response = client.post(
            "/api/v1/auth/register",
            json={"email": "bench@example.com", "password": "benchmark", "organization_name": "B"},
        )
        response.raise_for_status()
        data = response.json()["data"]
        key = client.post(
            "/api/v1/keys",
            headers={"Authorization": f"Bearer {data['token']}"},
            json={"type": "publishable", "name": "bench"},
        )
        key.raise_for_status()
    return data["organization_id"], key.json()["data"]["key"]


def server_problems(log: Path) -> list[str]:
    lines = log.read_text(errors="replace").splitlines()
    return [line for line in lines if "Traceback" in line or line.startswith(("ERROR", "WARN"))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", help="server URL; fresh databases are made on it")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--clients", choices=("threads", "processes"), default="threads")
    parser.add_argument(
        "--no-embedded-worker",
        action="store_true",
        help="serve without the in-process pipeline (as when lehnz worker runs apart)",
    )
    args = parser.parse_args()
    counts = shares(args.events, args.concurrency, args.batch)
    load_before = os.getloadavg()[0]

    data_dir = Path(tempfile.mkdtemp(prefix="lehnz-bench-ingest-"))
    env = lehnz_env()
    if args.no_embedded_worker:
        env["LEHNZ_EMBEDDED_WORKER"] = "false"
    databases: list[str] = []
    server_url = raw_url = None
    if args.postgres:
        token = secrets.token_hex(4)
        databases = [f"lehnz_bench_{token}", f"lehnz_bench_{token}_raw"]
        server_url = create_database(args.postgres, databases[0])
        raw_url = create_database(args.postgres, databases[1])
        env["LEHNZ_DATABASE_URL"] = server_url
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = data_dir / "server.log"
    server = start_lehnz(
        ["serve", "--data-dir", str(data_dir / "server"), "--port", str(port)], env, log
    )
    try:
        wait_ready(base, server)
        organization, key = register(base)
        warm = encoded_batches(seed=10_000, count=args.batch, batch=args.batch)
        send_all(base, key, warm, [args.batch])  # first request: key look-up, caches
        http = run_http(base, key, server.pid, counts, args.batch, args.clients)
        stored = count_events(server_url, data_dir / "server" / "lehnz.db", organization)
        if stored != args.events + args.batch:
            raise SystemExit(f"the server stored {stored} of {args.events + args.batch}")
        stop_lehnz(server)
        raw = run_raw(data_dir / "raw", raw_url, counts, args.batch)
    finally:
        if server.poll() is None:
            stop_lehnz(server)
        for name in databases:
            assert args.postgres is not None
            drop_database(args.postgres, name)

    if args.postgres:
        with psycopg.connect(args.postgres) as connection:
            version = connection.execute("SHOW server_version").fetchone()
        backend, engine = "PostgreSQL", f"PostgreSQL {version[0] if version else '?'}"
    else:
        backend, engine = "SQLite", f"SQLite {sqlite3.sqlite_version}"
    print(
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.node()}, {os.cpu_count()} CPUs (nproc), "
        f"{platform.machine()}, Python {platform.python_version()}, {engine}"
    )
    print(
        f"{args.events:,} events, batches of {args.batch}, {args.concurrency} client "
        f"{args.clients}; raw: {args.concurrency} threads, transactions of {args.batch} rows"
    )
    print()
    print("| backend | HTTP events/s | raw events/s | ratio |")
    print("|---|---|---|---|")
    ratio = http["rate"] / raw["rate"]
    print(f"| {backend} | {http['rate']:,.0f} | {raw['rate']:,.0f} | {ratio:.2f} |")
    print()
    print(
        f"HTTP: {http['seconds']:.1f} s, batch latency p50 {http['p50_ms']:.0f} ms, "
        f"p99 {http['p99_ms']:.0f} ms; server CPU {http['server_cpu']:.0%} of one core, "
        f"clients CPU {http['client_cpu']:.0%}; stored {stored:,} (incl. a warm-up batch)"
    )
    print(f"raw: {raw['seconds']:.1f} s")
    print(  # other work on the machine skews every number above
        f"load average (1 min): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    problems = server_problems(log)
    print(f"server log: {len(problems)} error/warning lines" + (":" if problems else ""))
    for line in problems[:20]:
        print(f"    {line}")


if __name__ == "__main__":
    main()
