"""Semantic neighbours through the approximate index (``lehnz.engine.ann``) beside exact search.

    .venv/bin/python bench/ann.py --items 100000 --sizes 5000 10000 20000 50000 \\
        --real ../shared/datasets/complete-journey ../shared/datasets/online-retail \\
        --real-cache /tmp/lehnz-ann-real.npy

For each catalog: the index's build time (single-threaded, as training builds it), its size
in the artifact, the time to load and check it, and its memory; then ``similar_semantic``
per query (p50, p99) exactly and through the index, and recall@10 and @100 of the served
order against exact search, over items of the catalog as queries.

Catalogs: clustered synthetic unit vectors (384 dimensions: 40 categories of 25 sub-categories,
items spread around them, nearest neighbours at a cosine of about 0.75 as with product
titles; random unit vectors have no near neighbours and say little), and, with ``--real``,
MiniLM embeddings of real product names (encoded once, then read from ``--real-cache``).
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

# As `lehnz serve` and `lehnz train` run it (lehnz.cli): one BLAS thread. With two on a busy
# 2-core machine, each exact product of the catalog waits for the other thread.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from lehnz.engine import ann
from lehnz.engine.artifact import dumps
from lehnz.engine.model import OrgModel, Params
from lehnz.engine.types import CatalogArrays
from lehnz.serving import topk


def clustered(n: int, dimensions: int = 384, *, seed: int = 3) -> NDArray[np.float32]:
    rng = np.random.default_rng(seed)

    def unit(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(x / np.linalg.norm(x, axis=-1, keepdims=True))

    tops = unit(rng.standard_normal((40, dimensions)))
    subs = unit(
        tops[rng.integers(0, 40, 1000)] + 0.35 * unit(rng.standard_normal((1000, dimensions)))
    )
    items = subs[rng.integers(0, 1000, n)] + 0.6 * unit(rng.standard_normal((n, dimensions)))
    return unit(items).astype(np.float32)


def real(datasets: list[Path], cache: Path | None) -> NDArray[np.float32]:
    if cache is not None and cache.exists():
        return np.asarray(np.load(cache), dtype=np.float32)
    from lehnz.engine.minilm import MiniLMEncoder
    from lehnz.engine.semantic import item_text

    texts: list[str] = []
    for dataset in datasets:
        with (dataset / "items.csv").open() as handle:
            texts.extend(item_text(row) for row in csv.DictReader(handle))
    started = time.perf_counter()
    vectors = MiniLMEncoder().encode(sorted(set(t for t in texts if t)))
    print(f"encoded {len(vectors)} texts in {time.perf_counter() - started:.0f} s")
    if cache is not None:
        np.save(cache, vectors)
    return vectors


def model_over(embeddings: NDArray[np.float32], index: ann.SemanticIndex | None) -> OrgModel:
    n = len(embeddings)
    empty = sp.csr_matrix((n, n), dtype=np.float32)
    zeros = np.zeros(n, dtype=np.float32)
    catalog = CatalogArrays(
        item_ids=[str(i) for i in range(n)],
        texts=[],
        prices=np.full(n, np.nan, dtype=np.float32),
        categories=[None] * n,
        names=[None] * n,
    )
    return OrgModel(
        catalog=catalog,
        params=Params(),
        trending=zeros,
        popular=zeros,
        support=zeros,
        neighbours=empty,
        cf=empty,
        item_factors=None,
        bought_together=empty,
        embeddings=embeddings,
        embedding_method="minilm",
        repeat_share=0.0,
        semantic_index=index,
    )


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def timed(
    models: tuple[OrgModel, OrgModel], queries: list[int]
) -> tuple[list[list[NDArray[np.intp]]], list[list[float]]]:
    """For each model: the served order (best 100) and the seconds of ``similar_semantic``
    per query. The models take turns query by query, so a busy machine slows both alike."""
    orders: list[list[NDArray[np.intp]]] = [[], []]
    seconds: list[list[float]] = [[], []]
    for item in queries:
        for side, model in enumerate(models):
            started = time.perf_counter()
            scores = model.similar_semantic(item)
            seconds[side].append(time.perf_counter() - started)
            orders[side].append(topk.top_k(scores, 100))
    return orders, seconds


def measure(name: str, embeddings: NDArray[np.float32], n_queries: int) -> None:
    n = len(embeddings)
    queries = np.random.default_rng(11).choice(n, min(n_queries, n), replace=False).tolist()
    before = rss_mb()
    started = time.perf_counter()
    index = ann.build(embeddings, min_items=0)
    build = time.perf_counter() - started
    assert index is not None
    built_mb = rss_mb() - before
    stored = index.to_array()
    started = time.perf_counter()
    ann.SemanticIndex.from_array(stored, embeddings)
    load = time.perf_counter() - started
    sizes, save_seconds = [], []
    for model in (model_over(embeddings, None), model_over(embeddings, index)):
        started = time.perf_counter()
        sizes.append(len(dumps(model, manifest={}, embedding_cache={})))
        save_seconds.append(time.perf_counter() - started)
    added_mb, added_seconds = (sizes[1] - sizes[0]) / 1e6, save_seconds[1] - save_seconds[0]
    (exact_orders, orders), (exact_seconds, seconds) = timed(
        (model_over(embeddings, None), model_over(embeddings, index)), queries
    )
    recall_10 = np.mean(
        [len(set(a[:10]) & set(e[:10])) / 10 for a, e in zip(orders, exact_orders, strict=True)]
    )
    recall_100 = np.mean(
        [len(set(a) & set(e)) / 100 for a, e in zip(orders, exact_orders, strict=True)]
    )
    exact_p50, exact_p99 = np.percentile(exact_seconds, [50, 99]) * 1000
    p50, p99 = np.percentile(seconds, [50, 99]) * 1000
    print(
        f"| {name} | {n:,} | {exact_p50:.2f} / {exact_p99:.2f} | {p50:.2f} / {p99:.2f} "
        f"| {recall_10:.4f} | {recall_100:.4f} | {build:.1f} s | {load:.2f} s "
        f"| {len(stored) / 1e6:.0f} MB | +{added_mb:.0f} MB, +{added_seconds:.1f} s "
        f"| {index.memory_bytes / 1e6:.0f} MB (RSS +{built_mb:.0f} MB) |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--sizes", type=int, nargs="*", default=[], help="smaller catalogs too")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--real", type=Path, nargs="*", default=[], help="datasets' items.csv")
    parser.add_argument("--real-cache", type=Path)
    args = parser.parse_args()
    print(
        "| catalog | items | exact p50 / p99 ms | index p50 / p99 ms | recall@10 | recall@100 "
        "| build | load + check | index | artifact (size, save time) | memory |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    if args.real:
        measure("MiniLM, product names", real(args.real, args.real_cache), args.queries)
    for n in [*sorted(args.sizes), args.items]:
        if n > 0:  # --items 0: only the real embeddings
            measure("clustered synthetic", clustered(n), args.queries)


if __name__ == "__main__":
    main()
