"""A retraining after 1% more events beside a full one, the training read, and the artifact
(issue 15).

Starts a real ``lehnz serve`` (SQLite in a fresh data directory, or a fresh PostgreSQL
database with ``--postgres``; no embedded pipeline: training reads only the log and the
catalog), uploads Online Retail's items and its first ``--events`` events through the
client, then trains in this process on the same database, through ``TrainingService``:

1. ``load()`` (the training read), median of 3, beside the per-event loop it replaced (kept
   as the reference in ``tests/training/test_loader.py``);
2. a first training (it encodes the whole catalog with MiniLM and searches the settings);
3. a full retraining: the settings searched again, the embeddings from the cache;
4. the next 1% of the events uploaded, then a retraining with the default policy, which
   reuses the settings of step 3 (``lehnz.training.reuse``);
5. the serving artifact's size and write time beside the format it replaced (the embedding
   cache's vectors stored a second time, every array deflated by ``np.savez_compressed``).

    .venv/bin/python bench/retrain.py --dataset ../shared/datasets/online-retail \
        [--events 120000] [--postgres postgresql://postgres@127.0.0.1:5432/test] [--read-only]
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import select

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import harness  # noqa: E402
from tests.training.test_loader import _reference  # noqa: E402

from lehnz.engine.artifact import dumps  # noqa: E402
from lehnz.notices import Notices  # noqa: E402
from lehnz.serving.registry import ModelRegistry  # noqa: E402
from lehnz.store import Store  # noqa: E402
from lehnz.store.store import open_store  # noqa: E402
from lehnz.store.tables import organizations  # noqa: E402
from lehnz.training.loader import load  # noqa: E402
from lehnz.training.reuse import ReusePolicy  # noqa: E402
from lehnz.training.service import TrainingService  # noqa: E402


def median_seconds(run: Callable[[], Any], times: int = 3) -> float:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        spent.append(time.perf_counter() - started)
    return statistics.median(spent)


def write_events(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def old_layout(blob_arrays: dict[str, Any], cache: dict[str, Any]) -> bytes:
    """Format 1: the cache's vectors beside the embeddings, every array deflated."""
    arrays = {k: v for k, v in blob_arrays.items() if k != "cache.rows"}
    if cache:
        arrays["cache.keys"] = np.array(list(cache), dtype=np.str_)
        arrays["cache.vectors"] = np.stack(list(cache.values())).astype(np.float32)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def trained(service: TrainingService, organization_id: str) -> tuple[float, dict[str, Any]]:
    row = service.train(organization_id)
    return float(row.manifest["duration_seconds"]), row.manifest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--events", type=int, default=120_000)
    parser.add_argument("--growth", type=float, default=0.01)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--read-only", action="store_true", help="time the training read only")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lehnz-retrain-"))
    with (args.dataset / "events.csv").open() as handle:
        reader = csv.reader(handle)
        header = next(reader)
        more = int(args.events * args.growth)
        rows = list(itertools.islice(reader, args.events + more))
    settings = {"LEHNZ_TRAIN_CHECK_SECONDS": "86400", "LEHNZ_EMBEDDED_WORKER": "false"}
    with harness.serving(postgres=args.postgres, settings=settings) as server:
        with httpx.Client(base_url=server.base, timeout=60) as http:
            org = harness.register(http)
        lehnz = harness.client(server, org, timeout=3600)
        lehnz.uploads.items(args.dataset / "items.csv")
        lehnz.uploads.events(write_events(work / "first.csv", header, rows[: args.events]))
        url = (
            server_database_url(server)
            if args.postgres
            else f"sqlite:///{server.data_dir / 'lehnz.db'}"
        )
        store = open_store(url, migrate=False)
        with store.read() as connection:
            (organization_id,) = connection.execute(select(organizations.c.id)).scalars().all()
        data = load(store, organization_id)
        print(
            f"{datetime.now(UTC):%Y-%m-%d}, {os.uname().nodename}, {os.cpu_count()} cores, "
            f"{store.dialect}; first {args.events:,} events of {args.dataset.name}: "
            f"{len(data.events):,} with an item, {data.n_users:,} users, "
            f"{len(data.catalog):,} items"
        )
        new_read = median_seconds(lambda: load(store, organization_id))
        old_read = median_seconds(lambda: _reference(store, organization_id))
        print(f"load(): {new_read:.2f} s; the per-event loop it replaced: {old_read:.2f} s")
        if args.read_only:
            return

        registry = ModelRegistry(store)
        searching = service(store, registry, reuse=False)
        first, _ = trained(searching, organization_id)
        full, _ = trained(searching, organization_id)
        lehnz.uploads.events(write_events(work / "more.csv", header, rows[args.events :]))
        reusing = service(store, registry, reuse=True)
        retrain, manifest = trained(reusing, organization_id)
        reused = manifest["validation"].get("reused")
        print(f"first training (encodes the catalog, searches): {first:.1f} s")
        print(f"full retraining (searches, embeddings cached): {full:.1f} s")
        print(
            f"retraining after {more:,} more events ({args.growth:.0%}): {retrain:.1f} s, "
            f"reused: {reused}"
        )
        print(f"ratio: {retrain / full:.2f} of a full retraining")
        artifact_sizes(registry, store, organization_id)
        lehnz.close()
        store.close()


def service(store: Store, registry: ModelRegistry, *, reuse: bool) -> TrainingService:
    """``reuse``: the default policy (``lehnz serve``'s); otherwise a search every time."""
    return TrainingService(store, registry, Notices(), reuse=ReusePolicy() if reuse else None)


def server_database_url(server: harness.Server) -> str:
    """The database ``harness.serving`` made for ``server`` (its environment's URL)."""
    environ = Path(f"/proc/{server.process.pid}/environ").read_bytes().split(b"\0")
    for entry in environ:
        if entry.startswith(b"LEHNZ_DATABASE_URL="):
            return entry.split(b"=", 1)[1].decode()
    raise SystemExit("the server's database URL is unknown")


def artifact_sizes(registry: ModelRegistry, store: Store, organization_id: str) -> None:
    """The serving model written as now (each array once, only ids and indices deflated)
    and as before, median of 3 writes each."""
    from lehnz.engine.artifact import loads
    from lehnz.store import training as queries

    with store.read() as connection:
        version = queries.serving_version(connection, organization_id)
        found = queries.load_artifact(connection, organization_id, version or 0)
    loaded = registry.get(organization_id)
    assert found is not None and loaded is not None
    served = loaded.model  # as trained: its catalog's texts give the cache's keys
    _, cache = loads(found[0])
    blob = dumps(served, manifest={}, embedding_cache=cache)
    written = median_seconds(lambda: dumps(served, manifest={}, embedding_cache=cache))
    with np.load(io.BytesIO(blob)) as npz:
        arrays = {name: npz[name] for name in npz.files}
    old = old_layout(arrays, cache)
    old_written = median_seconds(lambda: old_layout(arrays, cache))
    print(
        f"artifact ({len(served.catalog):,} items, {len(cache):,} cached embeddings): "
        f"{len(blob) / 1e6:.2f} MB written in {written:.2f} s; "
        f"before (format 1): {len(old) / 1e6:.2f} MB written in {old_written:.2f} s"
    )


if __name__ == "__main__":
    main()
