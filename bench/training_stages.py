"""Where a full training's time and memory go, stage by stage, on a store made by
``bench/load/scale.py`` (or any data directory): loading the events, embedding the catalog
(from nothing: no cache), the settings grid, the basket grid, the final fit and the ANN
index. Each stage's wall and CPU seconds, and the process's peak resident memory after it.

    .venv/bin/python bench/training_stages.py /var/tmp/lehnz-scale/data-1 [--org ORG]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

from lehnz.config import Settings
from lehnz.engine import ann, trainer
from lehnz.engine.minilm import DIMENSIONS
from lehnz.engine.semantic import embed
from lehnz.store import open_store
from lehnz.training.loader import load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--org")
    parser.add_argument(
        "--skip-embedding",
        action="store_true",
        help="zero vectors instead of MiniLM (to time the other stages again quickly)",
    )
    args = parser.parse_args()
    store = open_store(Settings(data_dir=args.data_dir).resolved_database_url())
    org = args.org or _only_org(store)
    stages: list[dict[str, float | str]] = []

    def stage(name: str, work):  # type: ignore[no-untyped-def]
        wall, cpu = time.perf_counter(), time.process_time()
        out = work()
        stages.append(
            {
                "stage": name,
                "wall_s": round(time.perf_counter() - wall, 1),
                "cpu_s": round(time.process_time() - cpu, 1),
                "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
        print(json.dumps(stages[-1]), flush=True)
        return out

    data = stage("load events and catalog", lambda: load(store, org))
    inp = trainer.TrainingInput(
        events=data.events, catalog=data.catalog, n_users=data.n_users, embedding_cache={}
    )
    if args.skip_embedding:
        embeddings = np.zeros((len(inp.catalog), DIMENSIONS), dtype=np.float32)
        method = "minilm"
    else:
        embeddings, method, _ = stage("embed catalog", lambda: embed(inp.catalog.texts, {}))
    params, _ = stage("settings grid", lambda: trainer.choose_params(inp, embeddings, method))
    stage("basket grid", lambda: trainer.choose_basket_params(inp.events, len(inp.catalog)))
    stage(
        "final fit",
        lambda: trainer._fit(
            inp.events,
            inp.n_users,
            inp.catalog,
            params,
            seed=0,
            embeddings=embeddings,
            method=method,
        ),
    )
    stage("ANN index", lambda: ann.build(embeddings))
    total = sum(float(s["wall_s"]) for s in stages)
    print(f"total {total:.0f} s wall; events {len(data.events):,}, items {len(data.catalog):,}")


def _only_org(store) -> str:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with store.read() as connection:
        return str(connection.execute(text("SELECT id FROM organizations LIMIT 1")).scalar_one())


if __name__ == "__main__":
    main()
