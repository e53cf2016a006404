"""Growing a store a hundredfold: import, pipeline, training, memory and ``/recommend``
latency at 1/100, 1/10 and the whole of issue 15's store (1M shoppers, 100k items, 10M
events), each made by ``synth.py``.

For each size, on a fresh data directory (SQLite, the default), through the product's own
commands:

1. ``lehnz serve`` just long enough to register an organisation and make its publishable key;
2. ``lehnz import items`` then ``lehnz import events`` (timed, each a process of its own);
3. the pipeline drained by a process running what ``lehnz worker`` runs
   (``runtime.pipeline.process_pending()`` until nothing is left), timed;
4. ``lehnz train`` under ``/usr/bin/time -v``: its time and peak resident memory;
5. ``lehnz serve`` again: one warm-up request (which loads the model), then ``--requests``
   ``POST /recommend`` one at a time for shoppers drawn at random, with the key; p50 and
   p99 as the client saw them, and the server's resident memory after them.

    .venv/bin/python bench/load/scale.py --sizes 100 10          # 1/100, then 1/10
    .venv/bin/python bench/load/scale.py --sizes 1 --work /var/tmp/lehnz-scale
    PYTHONPATH=/tmp/before/src .venv/bin/python bench/load/scale.py --sizes 10 --ingest-only
    .venv/bin/python bench/load/scale.py --sizes 1 --work /var/tmp/lehnz-scale --train-again

Each size's figures are added to ``scale-results.json`` beside this file (a size run again
replaces its row), printed as a Markdown table row, and the plot ``bench/plots/scale.svg``
is drawn from all of them. The machine's other work shows in the times: run it on a quiet
machine, and say how quiet it was.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
import harness  # noqa: E402
import synth  # noqa: E402

RESULTS = HERE / "scale-results.json"
PLOT = HERE.parent / "plots" / "scale.svg"
#: The issue's store, and the fractions of it measured.
FULL = {"users": 1_000_000, "items": 100_000, "events": 10_000_000}
SETTINGS = {"LEHNZ_TRAIN_CHECK_SECONDS": "86400"}  # no training but the timed one

DRAIN = """
import sys, time
from pathlib import Path
from lehnz.config import Settings
from lehnz.runtime import build_runtime
runtime = build_runtime(Settings(data_dir=Path(sys.argv[1])))
started, cpu, applied = time.perf_counter(), time.process_time(), 0
while True:
    done = runtime.pipeline.process_pending()
    applied += done
    if done == 0:
        break
print(applied, time.perf_counter() - started, time.process_time() - cpu)
runtime.close()
"""


def children_cpu() -> float:
    """CPU seconds (user and system) of the child processes waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def lehnz(args: list[str], env: dict[str, str], log: Path) -> tuple[float, float, str]:
    """Run ``python -m lehnz <args>`` to the end: its wall time, its CPU time (a fairer
    figure on a busy machine) and its output (also in ``log``)."""
    started, cpu = time.perf_counter(), children_cpu()
    done = subprocess.run(
        [sys.executable, "-m", "lehnz", *args], env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"lehnz {' '.join(args)} failed, see {log}")
    return elapsed, children_cpu() - cpu, done.stdout


def wait_ready(base: str, process: subprocess.Popen[bytes], seconds: float = 600) -> None:
    """``harness.wait_ready`` with more patience: on a busy machine, loading a large store's
    model can take minutes."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not start")


CREDENTIALS = {"email": "scale@example.com", "password": "benchmark"}


def register(data_dir: Path, env: dict[str, str], *, again: bool = False) -> tuple[str, str]:
    """A new organisation (or, ``again``, the one registered before) and a new publishable
    key, through a short-lived ``lehnz serve``."""
    port = harness.free_port()
    process = harness.start(["serve", "--data-dir", str(data_dir), "--port", str(port)], env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, process)
        with httpx.Client(base_url=base, timeout=60) as http:
            if again:
                answer = http.post("/api/v1/auth/login", headers=harness.DOMAIN, json=CREDENTIALS)
                answer.raise_for_status()
                with sqlite3.connect(data_dir / "lehnz.db") as database:
                    (organization_id,) = database.execute(
                        "SELECT id FROM organizations"
                    ).fetchone()  # the store's one organisation
                data = {**answer.json()["data"], "organization_id": organization_id}
            else:
                answer = http.post(
                    "/api/v1/auth/register",
                    headers=harness.DOMAIN,
                    json={**CREDENTIALS, "organization_name": "Scale"},
                )
                answer.raise_for_status()
                data = answer.json()["data"]
            developer = {**harness.DOMAIN, "Authorization": f"Bearer {data['token']}"}
            key = http.post("/api/v1/keys", headers=developer, json={"type": "publishable"})
            key.raise_for_status()
            return str(data["organization_id"]), str(key.json()["data"]["key"])
    finally:
        harness.stop(process)


def train(org: str, data_dir: Path, env: dict[str, str], log: Path) -> tuple[float, float, float]:
    """``lehnz train`` under ``/usr/bin/time -v``: wall seconds, CPU seconds, peak RSS in MB."""
    command = [sys.executable, "-m", "lehnz", "train", "--org", org, "--data-dir", str(data_dir)]
    timer = "/usr/bin/time"
    started, cpu = time.perf_counter(), children_cpu()
    done = subprocess.run([timer, "-v", *command], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"training failed, see {log}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return elapsed, children_cpu() - cpu, int(peak.group(1)) / 1024 if peak else math.nan


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def serve(
    data_dir: Path, env: dict[str, str], key: str, users: int, requests: int, log: Path
) -> dict[str, float]:
    """``/recommend`` one request at a time for random shoppers: p50/p99 ms, RSS in MB."""
    port = harness.free_port()
    process = harness.start(
        ["serve", "--data-dir", str(data_dir), "--port", str(port)], env, log=log
    )
    base = f"http://127.0.0.1:{port}"
    headers = {**harness.DOMAIN, "X-API-KEY": key}
    rng = random.Random(15)
    try:
        wait_ready(base, process)
        with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
            started = time.perf_counter()
            first = http.post("/recommend", json={"user_id": "u0", "limit": 12})
            first.raise_for_status()
            first_ms = (time.perf_counter() - started) * 1000
            latencies, failed = [], 0
            for _ in range(requests):
                body = {"user_id": f"u{rng.randrange(users)}", "limit": 12}
                started = time.perf_counter()
                try:
                    status = http.post("/recommend", json=body).status_code
                except httpx.TransportError:  # the server dropped the connection after a 500
                    status = 0
                latencies.append((time.perf_counter() - started) * 1000)
                if status != 200:  # counted and shown, not hidden in the times
                    failed += 1
        latencies.sort()
        return {
            "first_request_ms": first_ms,
            "p50_ms": statistics.median(latencies),
            "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            "serving_rss_mb": rss_mb(process.pid),
            "failed_requests": failed,
        }
    finally:
        harness.stop(process)


def train_and_serve(
    fraction: int, org: str, key: str, env: dict[str, str], *, requests: int, work: Path
) -> dict[str, Any]:
    """``lehnz train`` timed, then ``/recommend`` one request at a time: the row's fields."""
    label = f"1/{fraction}" if fraction > 1 else "full"
    data_dir = work / f"data-{fraction}"
    users = FULL["users"] // fraction
    train_s, train_cpu, train_peak = train(org, data_dir, env, work / f"train-{fraction}.log")
    print(f"{label}: training {train_s:.0f} s, peak {train_peak:.0f} MB", flush=True)
    served = serve(data_dir, env, key, users, requests, work / f"serve-{fraction}.log")
    return {
        "training_s": round(train_s, 1),
        "training_cpu_s": round(train_cpu, 1),
        "training_peak_mb": round(train_peak),
        **{name: round(value, 1) for name, value in served.items()},
        "requests": requests,
    }


def train_again(fraction: int, work: Path, requests: int) -> dict[str, Any]:
    """Training and serving again on the store a previous run imported (its models
    deleted, so the training searches its settings and embeds the catalog from nothing);
    the import and pipeline figures stay those of the stored row."""
    size = {name: count // fraction for name, count in FULL.items()}
    label = f"1/{fraction}" if fraction > 1 else "full"
    data_dir = work / f"data-{fraction}"
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    before = next((r for r in stored if r["events"] == size["events"]), None)
    if before is None or not (data_dir / "lehnz.db").exists():
        raise SystemExit(f"{label}: no earlier run to train again (in {data_dir} and {RESULTS})")
    with sqlite3.connect(data_dir / "lehnz.db") as database:
        database.execute("DELETE FROM models")
    env = harness.lehnz_env(SETTINGS)
    # No model now: a server with its embedded worker would start training at once.
    org, key = register(data_dir, {**env, "LEHNZ_EMBEDDED_WORKER": "false"}, again=True)
    trained = train_and_serve(fraction, org, key, env, requests=requests, work=work)
    return {
        **before,
        **trained,
        "trained_again": f"{datetime.now(UTC):%Y-%m-%d}",
        "load_average": os.getloadavg()[0],
    }


def run_size(
    fraction: int, work: Path, requests: int, *, ingest_only: bool = False
) -> dict[str, Any]:
    size = {name: count // fraction for name, count in FULL.items()}
    label = f"1/{fraction}" if fraction > 1 else "full"
    store = work / f"store-{fraction}"
    if not (store / "events.csv").exists():
        started = time.perf_counter()
        synth.generate(store, seed=15, **size)
        print(f"{label}: generated in {time.perf_counter() - started:.0f} s", flush=True)
    data_dir = work / f"data-{fraction}"
    shutil.rmtree(data_dir, ignore_errors=True)
    env = harness.lehnz_env(SETTINGS)
    org, key = register(data_dir, env)
    common = ["--org", org, "--data-dir", str(data_dir)]
    items_s, _, _ = lehnz(
        ["import", "items", str(store / "items.csv"), *common], env, work / f"items-{fraction}.log"
    )
    events_s, events_cpu, said = lehnz(
        ["import", "events", str(store / "events.csv"), *common],
        env,
        work / f"events-{fraction}.log",
    )
    print(f"{label}: import {events_s:.0f} s ({said.strip().splitlines()[-1]})", flush=True)
    drained = subprocess.run(
        [sys.executable, "-c", DRAIN, str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    applied, pipeline_s, pipeline_cpu = int(drained[0]), float(drained[1]), float(drained[2])
    print(
        f"{label}: pipeline {pipeline_s:.0f} s for {applied:,} events; CPU: import "
        f"{events_cpu:.1f} s ({size['events'] / events_cpu:,.0f} events/s), pipeline "
        f"{pipeline_cpu:.1f} s ({applied / pipeline_cpu:,.0f} events/s)",
        flush=True,
    )
    if ingest_only:
        return {}
    trained = train_and_serve(fraction, org, key, env, requests=requests, work=work)
    return {
        "label": label,
        **size,
        "items_import_s": round(items_s, 1),
        "events_import_s": round(events_s, 1),
        "events_import_cpu_s": round(events_cpu, 1),
        "import_events_per_s": round(size["events"] / events_s),
        "pipeline_s": round(pipeline_s, 1),
        "pipeline_cpu_s": round(pipeline_cpu, 1),
        "pipeline_events_per_s": round(applied / pipeline_s),
        **trained,
        "date": f"{datetime.now(UTC):%Y-%m-%d}",
        "machine": f"{platform.node()}, {os.cpu_count()} cores",
        "load_average": os.getloadavg()[0],
    }


HEADER = (
    "| store | import: wall (events/s), CPU | pipeline: wall (events/s), CPU "
    "| training: wall, CPU | training peak | serving RSS | p50 / p99, one at a time |\n"
    "|---|---|---|---|---|---|---|"
)


def row(result: dict[str, Any]) -> str:
    def cpu(key: str) -> str:
        return f", {result[key]:.0f} s" if key in result else ""

    return (
        f"| {result['users']:,} users x {result['items']:,} items x {result['events']:,} events "
        f"| {result['events_import_s']:.0f} s ({result['import_events_per_s']:,})"
        f"{cpu('events_import_cpu_s')} "
        f"| {result['pipeline_s']:.0f} s ({result['pipeline_events_per_s']:,})"
        f"{cpu('pipeline_cpu_s')} "
        f"| {result['training_s']:.0f} s{cpu('training_cpu_s')} "
        f"| {result['training_peak_mb']:,} MB "
        f"| {result['serving_rss_mb']:.0f} MB "
        f"| {result['p50_ms']:.1f} / {result['p99_ms']:.1f} ms"
        f"{failed_note(result)} |"
    )


def failed_note(result: dict[str, Any]) -> str:
    failed = int(result.get("failed_requests", 0))
    return f" ({failed:,} of {result['requests']:,} failed)" if failed else ""


def plot(results: list[dict[str, Any]], path: Path) -> None:
    """Three log-log panels against the store's events: seconds (import, pipeline,
    training), MB (training peak, serving RSS), ms (p50, p99). Plain SVG, no library."""
    results = sorted(results, key=lambda r: r["events"])
    panels = [
        ("seconds", [("events_import_s", "import"), ("pipeline_s", "pipeline"),
                     ("training_s", "training")]),
        ("MB", [("training_peak_mb", "training peak"), ("serving_rss_mb", "serving RSS")]),
        ("ms, /recommend", [("p50_ms", "p50"), ("p99_ms", "p99")]),
    ]  # fmt: skip
    colours = ("#1f77b4", "#d62728", "#2ca02c")
    width, height, pad = 300, 240, 48
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * 3}" height="{height + 40}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{width * 3}" height="{height + 40}" fill="white"/>',
    ]
    xs = [math.log10(r["events"]) for r in results]
    x_low, x_high = math.floor(min(xs)), math.ceil(max(xs))
    x_high = max(x_high, x_low + 1)
    for index, (unit, series) in enumerate(panels):
        left = index * width + pad
        plot_w, plot_h = width - pad - 12, height - pad
        values = [r[key] for r in results for key, _ in series if r.get(key, 0) > 0]
        if not values:
            continue
        y_low = math.floor(math.log10(min(values)))
        y_high = max(math.ceil(math.log10(max(values))), y_low + 1)

        def at(x: float, y: float, left: int = left, low: int = y_low, high: int = y_high) -> str:
            px = left + (x - x_low) / (x_high - x_low) * (width - pad - 12)
            py = 20 + (height - pad) * (1 - (math.log10(y) - low) / (high - low))
            return f"{px:.1f},{py:.1f}"

        parts.append(
            f'<rect x="{left}" y="20" width="{plot_w}" height="{plot_h}" fill="none" '
            'stroke="#999"/>'
        )
        parts.append(f'<text x="{left}" y="14">{unit} (log)</text>')
        for decade in range(y_low, y_high + 1):
            y = at(x_low, 10.0**decade).split(",")[1]
            parts.append(f'<text x="{left - 4}" y="{y}" text-anchor="end">{10.0**decade:g}</text>')
        for decade in range(x_low, x_high + 1):
            x = at(decade, 10.0**y_low).split(",")[0]
            parts.append(
                f'<text x="{x}" y="{20 + plot_h + 14}" text-anchor="middle">{10**decade:.0e}</text>'
            )
        for number, (key, name) in enumerate(series):
            points = [at(math.log10(r["events"]), r[key]) for r in results if r.get(key, 0) > 0]
            colour = colours[number]
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                f'points="{" ".join(points)}"/>'
            )
            for point in points:
                x, y = point.split(",")
                parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>')
            parts.append(
                f'<text x="{left + 6}" y="{34 + 13 * number}" fill="{colour}">{name}</text>'
            )
        parts.append(
            f'<text x="{left + plot_w / 2}" y="{height + 30}" text-anchor="middle">'
            "events in the store</text>"
        )
    parts.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[100, 10], help="fractions: 100, 10, 1 (full)"
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/lehnz-scale"))
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument(
        "--ingest-only",
        action="store_true",
        help="import and pipeline only, printed and not stored (to compare two versions: "
        "run once with PYTHONPATH set to the other version's src)",
    )
    parser.add_argument(
        "--train-again",
        action="store_true",
        help="train and serve again on the stores a previous run left in --work",
    )
    args = parser.parse_args()
    if any(size < 1 for size in args.sizes):
        raise SystemExit("--sizes are fractions of the full store: 1, 10, 100, ...")
    args.work.mkdir(parents=True, exist_ok=True)
    stored: list[dict[str, Any]] = []
    for fraction in args.sizes:
        if args.train_again:
            result = train_again(fraction, args.work, args.requests)
        else:
            result = run_size(fraction, args.work, args.requests, ingest_only=args.ingest_only)
        if args.ingest_only:
            continue
        # Read just before writing: another size may be running beside this one.
        stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
        stored = [r for r in stored if r["events"] != result["events"]] + [result]
        stored.sort(key=lambda r: r["events"])
        RESULTS.write_text(json.dumps(stored, indent=1) + "\n")
        plot(stored, PLOT)
        print(HEADER)
        print(row(result), flush=True)
    if args.ingest_only:
        return
    print(f"\n{datetime.now(UTC):%Y-%m-%d}, {platform.node()}, {os.cpu_count()} cores")
    print(HEADER)
    for result in stored:
        print(row(result))


if __name__ == "__main__":
    main()
