"""Scaled-out throughput: ``/recommend`` served by 1, then 2, ``lehnz serve --service
recommendations`` processes on PostgreSQL and Redis.

A fresh database gets a dataset through an ingestion process, a worker applies the events,
the ingestion process trains. Then for each count of recommendation processes, client
threads send ``POST /recommend`` (a random known user, 12 items) round-robin over the
processes for a fixed time, and the completed requests per second, p50 and p99 are
reported. Clients, servers, PostgreSQL and Redis all share this machine's cores, so the
numbers say what one machine gives, not what a second machine would add.

Everything after registration goes through ``lehnz.client``, as a store's back end would:
uploads and training on the ingestion process, and in each client thread one ``Lehnz`` per
recommendation process (as there was one httpx client each), so the latencies include the
client's own few µs per call. A failed request (an error answer, or none) is counted, not
retried.

    .venv/bin/python bench/scaled.py --dataset ../shared/datasets/online-retail
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import harness
from harness import (
    Organisation,
    free_port,
    fresh_database,
    lehnz_env,
    register,
    start,
    stop,
    wait_ready,
)

from lehnz.client import APIConnectionError, APIStatusError


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def load(
    bases: list[str], org: Organisation, users: list[str], clients: int, seconds: float
) -> tuple[float, float, float, int]:
    """Round-robin ``POST /recommend`` from ``clients`` threads for ``seconds``."""
    latencies: list[float] = []
    failures: Counter[int] = Counter()  # by status; 0: no answer
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(number: int) -> None:
        rng = random.Random(number)
        sessions = [harness.client(base, org, timeout=30) for base in bases]
        mine: list[float] = []
        bad: Counter[int] = Counter()
        for session in itertools.cycle(sessions[number % len(sessions) :] + sessions):
            if time.monotonic() >= stop_at:
                break
            user = rng.choice(users)
            started = time.perf_counter()
            try:
                session.recommend(user, limit=12)
            except APIStatusError as error:
                bad[error.status or 0] += 1
            except APIConnectionError:
                bad[0] += 1
            else:
                mine.append((time.perf_counter() - started) * 1000)
        for session in sessions:
            session.close()
        with lock:
            latencies.extend(mine)
            failures.update(bad)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    return (
        len(latencies) / elapsed,
        statistics.median(latencies),
        percentile(latencies, 0.99),
        failures.total(),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--processes", default="1,2", help="Counts of recommendation processes")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="lehnz-scaled-"))
    print(f"process logs in {tmp}")
    with fresh_database(args.postgres) as database_url:
        env = lehnz_env(
            {
                "LEHNZ_DATABASE_URL": database_url,
                "LEHNZ_REDIS_URL": args.redis,
                "LEHNZ_REDIS_PREFIX": f"lehnz-bench-{os.getpid()}",
                "LEHNZ_SECRET_KEY": "bench-" + "s" * 40,
                "LEHNZ_TRAIN_CHECK_SECONDS": "86400",
            }
        )
        port = free_port()
        ingestion = start(
            ["serve", "--service", "ingestion", "--port", str(port), "--data-dir", str(tmp / "a")],
            env,
        )
        worker = start(["worker", "--no-training", "--data-dir", str(tmp / "w")], env)
        running = [ingestion, worker]
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, ingestion)
            with httpx.Client(base_url=base, timeout=60) as http:
                org = register(http)
            with harness.client(base, org, timeout=3600) as lehnz:
                began = time.perf_counter()
                lehnz.uploads.items(args.dataset / "items.csv")
                lehnz.uploads.events(args.dataset / "events.csv")
                with (args.dataset / "events.csv").open() as handle:
                    users = sorted({row["user_id"] for row in csv.DictReader(handle)})
                uploaded = time.perf_counter() - began
                trained = lehnz.models.train()
            print(
                f"{args.dataset.name}: uploaded in {uploaded:.0f} s; "
                f"{trained.trained_on['events']:,} events, "
                f"model v{trained.version} trained in {trained.duration_seconds} s"
            )
            rows = []
            for count in [int(n) for n in args.processes.split(",")]:
                ports = [free_port() for _ in range(count)]
                servers = [
                    start(
                        [
                            *("serve", "--service", "recommendations", "--port", str(p)),
                            *("--data-dir", str(tmp / f"r{p}")),
                        ],
                        env,
                        tmp / f"recommendations-{count}-{p}.log",
                    )
                    for p in ports
                ]
                try:
                    bases = [f"http://127.0.0.1:{p}" for p in ports]
                    for server_base, process in zip(bases, servers, strict=True):
                        wait_ready(server_base, process)
                    load(bases, org, users, args.clients, 5.0)  # warm up
                    rate, p50, p99, failed = load(bases, org, users, args.clients, args.seconds)
                    rows.append((count, rate, p50, p99, failed))
                finally:
                    for process in servers:
                        stop(process)
        finally:
            for process in running:
                stop(process)
    print(
        f"{datetime.now(UTC):%Y-%m-%d}, {os.uname().nodename}, {os.cpu_count()} cores, "
        f"{args.clients} client threads, {args.seconds:.0f} s per run, PostgreSQL + Redis"
    )
    print("| recommendation processes | requests/s | p50 ms | p99 ms | failed |")
    print("|---|---|---|---|---|")
    for count, rate, p50, p99, failed in rows:
        print(f"| {count} | {rate:.0f} | {p50:.1f} | {p99:.1f} | {failed} |")


if __name__ == "__main__":
    main()
