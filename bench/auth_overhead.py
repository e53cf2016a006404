"""What checking an API key costs per request.

In process: ``KeyVerifier.verify`` with a warm cache (the normal case) and with the cache
disabled (a database look-up every time). Over HTTP against a real ``lehnz serve``: a
keyed path whose handler does almost nothing besides the key check (``POST
/api/v1/events/ingest`` with an invalid body, refused after the key is checked) beside the
same request without a key (refused before any key check).

    .venv/bin/python bench/auth_overhead.py

Raw httpx on purpose, not ``lehnz.client``: the point is to isolate the server's key check,
so both cases send the same empty array with nothing else of the client's work (encoding,
reading the error into an exception) on the clock, and one of them goes without a key,
which the client refuses to send at all (``MissingKeyError``).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from harness import DOMAIN, register, serving

from lehnz.auth.key_verifier import KeyVerifier
from lehnz.config import Settings
from lehnz.runtime import build_runtime

N = 20_000


def in_process() -> None:
    runtime = build_runtime(Settings(data_dir=Path(tempfile.mkdtemp()), secret_key="b" * 40))
    org = runtime.accounts.register(
        email="b@example.com", password="benchmark", organization_name="B"
    ).organization_id
    key = runtime.keys.create(organization_id=org, key_type="publishable", name="b").key
    for label, ttl in (("warm cache", 5.0), ("no cache (database each time)", 0.0)):
        verifier = KeyVerifier(runtime.store, ttl_seconds=ttl)
        verifier.verify(key)
        n = N if ttl else N // 10
        started = time.perf_counter()
        for _ in range(n):
            verifier.verify(key)
        per_call = (time.perf_counter() - started) / n * 1e6
        print(f"verify(), {label}: {per_call:.1f} µs per call")
    runtime.close()


def over_http() -> None:
    with serving() as server:
        client = httpx.Client(base_url=server.base)
        org = register(client)
        cases = {
            "no key (401 before any key check)": DOMAIN,
            "valid key (key checked, then 400 on the body)": org.publishable,
        }
        for label, headers in cases.items():
            times = []
            for _ in range(3000):
                started = time.perf_counter()
                client.post("/api/v1/events/ingest", headers=headers, json=[])
                times.append(time.perf_counter() - started)
            times = sorted(times[500:])
            p50 = statistics.median(times) * 1e3
            p99 = times[int(len(times) * 0.99)] * 1e3
            print(f"HTTP, {label}: p50 {p50:.2f} ms, p99 {p99:.2f} ms")


if __name__ == "__main__":
    in_process()
    over_http()
