"""Upload benchmark: a whole dataset through /api/v1/upload/*, rows per second and the
server's peak memory.

Starts a real ``lehnz serve`` on a fresh data directory (SQLite) or a fresh PostgreSQL
database, registers an organisation, and uploads ``items.csv`` then ``events.csv``:

    .venv/bin/python bench/upload.py --dataset ../shared/datasets/online-retail
    .venv/bin/python bench/upload.py --dataset ../shared/datasets/online-retail \
        --postgres postgresql://postgres@127.0.0.1:5432/test

Peak memory is the server process's VmHWM (high-water resident set) from /proc.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

DOMAIN = {"X-Domain": "commerce"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_ready(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("server exited during start-up")
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("server did not start")


def repeated(path: Path, times: int, directory: Path) -> Path:
    """``path`` with its data rows written ``times`` times, to test memory on a big file."""
    target = directory / f"events-x{times}.csv"
    with path.open("rb") as source:
        header = source.readline()
        body = source.read()
    with target.open("wb") as out:
        out.write(header)
        for _ in range(times):
            out.write(body)
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--postgres", help="server URL; a fresh database is made on it")
    parser.add_argument(
        "--repeat", type=int, default=1, help="upload events.csv repeated N times in one file"
    )
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="lehnz-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEHNZ_")}
    database = None
    if args.postgres:
        database = f"lehnz_bench_{secrets.token_hex(4)}"
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        env["LEHNZ_DATABASE_URL"] = f"{args.postgres.rpartition('/')[0]}/{database}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "lehnz", "serve", "--data-dir", str(data_dir), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(base, server)
        baseline = peak_rss_mb(server.pid)
        client = httpx.Client(base_url=base, timeout=3600)
        token = client.post(
            "/api/v1/auth/register",
            headers=DOMAIN,
            json={"email": "bench@example.com", "password": "benchmark", "organization_name": "B"},
        ).json()["data"]["token"]
        key = client.post(
            "/api/v1/keys",
            headers={**DOMAIN, "Authorization": f"Bearer {token}"},
            json={"type": "secret", "name": "bench"},
        ).json()["data"]["key"]
        results = []
        for kind in ("items", "events"):
            path = args.dataset / f"{kind}.csv"
            if kind == "events" and args.repeat > 1:
                path = repeated(path, args.repeat, data_dir)
            started = time.perf_counter()
            with path.open("rb") as handle:
                response = client.post(
                    f"/api/v1/upload/{kind}",
                    headers={**DOMAIN, "X-API-KEY": key},
                    files={"file": (path.name, handle, "text/csv")},
                )
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            data = response.json()["data"]
            results.append((kind, path.stat().st_size, data, elapsed))
        peak = peak_rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        if database:
            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database))
                )

    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{backend}, {args.dataset.name}, {datetime.now(UTC):%Y-%m-%d}, {platform.node()}")
    print("| file | size | rows | imported | rejected | seconds | rows/s |")
    print("|---|---|---|---|---|---|---|")
    for kind, size, data, elapsed in results:
        print(
            f"| {kind} | {size / 1e6:.1f} MB | {data['rows']:,} | {data['imported']:,} | "
            f"{data['rejected']:,} | {elapsed:.1f} | {data['rows'] / elapsed:,.0f} |"
        )
    print(f"server peak RSS: {peak:.0f} MB (after start-up: {baseline:.0f} MB)")


if __name__ == "__main__":
    main()
