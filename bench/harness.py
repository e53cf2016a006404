"""What every benchmark does first: start a real ``lehnz serve`` (SQLite in a fresh data
directory, or a fresh PostgreSQL database), register an organisation with both keys, and
stop everything afterwards.

Registration and key creation (the developer token's paths) are not in ``lehnz.client``, so
``register`` sends them with plain httpx; everything after that goes through the client a
store's back end would use (``client``), except where a benchmark measures the server's raw
cost on purpose (see the top of ``ingest.py``, ``auth_overhead.py`` and ``bombs.py``)."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

from lehnz.client import Lehnz

DOMAIN = {"X-Domain": "commerce"}
# A benchmark sends far more than the default 1,000 requests per 15 minutes; it measures the
# server, not its rate limits.
UNLIMITED = {
    "LEHNZ_RATE_LIMIT_REQUESTS": "1000000000",
    "LEHNZ_AUTH_RATE_LIMIT_REQUESTS": "1000000",
}


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    data_dir: Path


@dataclass
class Organisation:
    """The developer's headers, each key's headers (for raw httpx), and the keys."""

    developer: dict[str, str]
    secret: dict[str, str]
    publishable: dict[str, str]
    secret_key: str
    publishable_key: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
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


def lehnz_env(settings: dict[str, str] | None = None) -> dict[str, str]:
    """This shell's environment without its ``LEHNZ_*`` settings, limits lifted, plus
    ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEHNZ_")}
    # One process unless a benchmark asks for workers: figures stay comparable with earlier
    # runs, and peak_rss_mb(pid) reads that one process.
    return {**env, **UNLIMITED, "LEHNZ_WORKERS": "1", **(settings or {})}


def start(args: list[str], env: dict[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
    """``python -m lehnz <args>``, its output in ``log`` (or discarded)."""
    with log.open("wb") if log else contextlib.nullcontext(subprocess.DEVNULL) as output:
        return subprocess.Popen(
            [sys.executable, "-m", "lehnz", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def fresh_database(postgres: str) -> Iterator[str]:
    """A new database on the server at ``postgres``, dropped afterwards."""
    database = f"lehnz_bench_{secrets.token_hex(4)}"
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        yield f"{postgres.rpartition('/')[0]}/{database}"
    finally:
        with psycopg.connect(postgres, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))


@contextmanager
def serving(
    *, postgres: str | None = None, settings: dict[str, str] | None = None
) -> Iterator[Server]:
    """A ``lehnz serve`` process on a free port, stopped (and its database dropped) after."""
    with contextlib.ExitStack() as stack:
        env = lehnz_env(settings)
        if postgres:
            env["LEHNZ_DATABASE_URL"] = stack.enter_context(fresh_database(postgres))
        data_dir = Path(tempfile.mkdtemp(prefix="lehnz-bench-"))
        port = free_port()
        process = start(["serve", "--data-dir", str(data_dir), "--port", str(port)], env)
        server = Server(f"http://127.0.0.1:{port}", process, data_dir)
        try:
            wait_ready(server.base, process)
            yield server
        finally:
            stop(process)


def register(client: httpx.Client) -> Organisation:
    """A new organisation with a secret and a publishable key, through the developer paths
    (raw httpx: the client does not cover them)."""
    answer = client.post(
        "/api/v1/auth/register",
        headers=DOMAIN,
        json={
            "email": f"bench-{secrets.token_hex(4)}@example.com",
            "password": "benchmark",
            "organization_name": "Bench",
        },
    )
    answer.raise_for_status()
    developer = {**DOMAIN, "Authorization": f"Bearer {answer.json()['data']['token']}"}
    keys = {}
    for key_type in ("secret", "publishable"):
        answer = client.post("/api/v1/keys", headers=developer, json={"type": key_type})
        answer.raise_for_status()
        keys[key_type] = answer.json()["data"]["key"]
    return Organisation(
        developer,
        {**DOMAIN, "X-API-KEY": keys["secret"]},
        {**DOMAIN, "X-API-KEY": keys["publishable"]},
        keys["secret"],
        keys["publishable"],
    )


def client(server: Server | str, org: Organisation, **options: Any) -> Lehnz:
    """A ``Lehnz`` client of ``server`` (or a base URL) with both of ``org``'s keys.

    ``options`` go to ``Lehnz`` (``timeout``, ``recommendations_url``, ...). Retries are off
    unless asked for: a benchmark stops at a failure, or counts it, instead of hiding it
    (and the wait before a retry) in its numbers."""
    options.setdefault("max_retries", 0)
    return Lehnz(
        publishable_key=org.publishable_key,
        secret_key=org.secret_key,
        base_url=server if isinstance(server, str) else server.base,
        **options,
    )
