"""Training one organisation's model, choosing its settings on its own latest events.

The organisation's events are split in time: the latest ``VALIDATION_SHARE`` of the time
span is held out, candidate settings (recency half-life, collaborative model, how much room
repeat purchases get, a touch of popularity) are scored by NDCG@10 on what each user really
did in that slice, and the best is retrained on everything. Nothing is tuned by hand to a
dataset; a store where nobody buys twice ends up with no room for repeats, a grocer with a
lot.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from lehnz.engine import ann
from lehnz.engine.als import fit_item_factors
from lehnz.engine.history import strength
from lehnz.engine.metrics import hit_at_k, ndcg_at_k, recall_at_k
from lehnz.engine.model import OrgModel, Params, unit, unit_rows
from lehnz.engine.semantic import embed
from lehnz.engine.sparse import cosine_neighbours, ease_neighbours, lift_neighbours
from lehnz.engine.types import SECONDS_PER_DAY, CatalogArrays, EventArrays

logger = logging.getLogger("lehnz.engine")

VALIDATION_SHARE = 0.1
MAX_VALIDATION_USERS = 600
NEIGHBOURS = 100
TRENDING_HALF_LIFE_DAYS = 7.0
EASE_MAX_ITEMS = 3000
ALS_FACTORS = 64

HALF_LIVES = (30.0, 120.0, 10_000.0)
CF_MODELS: tuple[tuple[str, float], ...] = (
    ("knn", 0.0),
    ("ease", 50.0),
    ("ease", 500.0),
    ("als", 0.0),
)
REPEAT_WEIGHTS = (0.0, 0.2, 0.5, 0.8)
POPULARITY_WEIGHTS = (0.0, 0.05, 0.2, 0.5)
POPULARITY_MIXES = (0.0, 1.0)
BASKET_ALPHAS = (0.5, 0.75, 1.0)
BASKET_SHRINKS = (0.0, 2.0, 10.0)
BASKET_POPULARITY = (0.001, 0.05, 0.2, 0.5, 1.0, 2.0, 5.0)
MAX_VALIDATION_BASKETS = 1000


@dataclass
class Reuse:
    """Settings an earlier training's search chose, to fit again without searching."""

    params: Params
    repeat_share: float


@dataclass
class TrainingInput:
    events: EventArrays
    catalog: CatalogArrays
    n_users: int
    embedding_cache: dict[str, NDArray[np.float32]] = field(default_factory=dict)
    seed: int = 7
    use_semantic_model: bool = True
    # Given: skip the validation grids (most of a training's time) and fit these settings.
    reuse: Reuse | None = None


@dataclass
class TrainingResult:
    model: OrgModel
    embedding_cache: dict[str, NDArray[np.float32]]
    validation: dict[str, Any]
    seconds: float


def user_item_matrix(
    events: EventArrays, n_users: int, n_items: int, half_life_days: float
) -> sp.csr_matrix:
    """Users x items strengths, by the same formula serving applies to a user's state."""
    if len(events) == 0:
        return sp.csr_matrix((n_users, n_items), dtype=np.float32)
    keys = events.user.astype(np.int64) * n_items + events.item
    unique, inverse = np.unique(keys, return_inverse=True)
    weight = np.bincount(inverse, weights=events.weight.astype(np.float64)).astype(np.float64)
    last = np.full(len(unique), -np.inf)
    np.maximum.at(last, inverse, events.time)
    users = (unique // n_items).astype(np.int32)
    items = (unique % n_items).astype(np.int32)
    user_last = np.full(n_users, -np.inf)
    np.maximum.at(user_last, users, last)
    values = strength(weight, user_last[users] - last, half_life_days)
    keep = values > 0
    return sp.csr_matrix(
        (values[keep].astype(np.float32), (users[keep], items[keep])), shape=(n_users, n_items)
    )


def basket_matrix(events: EventArrays, n_items: int) -> sp.csr_matrix:
    """Baskets x items (binary) over events of add-to-cart strength or more, and purchases."""
    strong = (events.weight >= 4.0) | events.is_purchase
    keys = events.basket[strong & (events.basket >= 0)]
    items = events.item[strong & (events.basket >= 0)]
    if len(keys) == 0:
        return sp.csr_matrix((0, n_items), dtype=np.float32)
    _, rows = np.unique(keys, return_inverse=True)
    matrix = sp.csr_matrix(
        (np.ones(len(items), dtype=np.float32), (rows, items)), shape=(rows.max() + 1, n_items)
    )
    matrix.data[:] = 1.0
    return matrix


def popularity(
    events: EventArrays, n_items: int
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
    """(trending, popular, support): decayed and all-time positive interactions, and the number
    of distinct users per item."""
    positive = events.weight > 0
    items, users, times = events.item[positive], events.user[positive], events.time[positive]
    if len(items) == 0:
        zeros = np.zeros(n_items, dtype=np.float32)
        return zeros, zeros.copy(), zeros.copy()
    now = times.max()
    decay = np.power(0.5, (now - times) / (TRENDING_HALF_LIFE_DAYS * SECONDS_PER_DAY))
    trending = np.bincount(items, weights=decay, minlength=n_items).astype(np.float32)
    popular = np.log1p(np.bincount(items, minlength=n_items)).astype(np.float32)
    pairs = np.unique(users.astype(np.int64) * n_items + items)
    support = np.bincount((pairs % n_items).astype(np.int64), minlength=n_items).astype(np.float32)
    return trending, popular, support


REPEAT_RATE_PRIOR_WEIGHT = 5.0


def repeat_rates(events: EventArrays, n_items: int) -> NDArray[np.float32]:
    """Per item, the share of its buyers who bought it more than once, shrunk towards the
    store's overall share by ``REPEAT_RATE_PRIOR_WEIGHT`` buyers' worth of evidence."""
    bought = events.is_purchase
    pairs = events.user[bought].astype(np.int64) * n_items + events.item[bought]
    unique, counts = np.unique(pairs, return_counts=True)
    items = (unique % n_items).astype(np.int64)
    buyers = np.bincount(items, minlength=n_items).astype(np.float64)
    repeaters = np.bincount(items, weights=(counts > 1), minlength=n_items)
    prior = float(repeaters.sum() / buyers.sum()) if buyers.sum() else 0.0
    rate = (repeaters + REPEAT_RATE_PRIOR_WEIGHT * prior) / (buyers + REPEAT_RATE_PRIOR_WEIGHT)
    return rate.astype(np.float32)


def repeat_share(events: EventArrays, split: float) -> float:
    """Of the items users bought after ``split``, the share they had bought before it."""
    bought = events.is_purchase
    before = {
        (int(u), int(i))
        for u, i in zip(
            events.user[bought & (events.time < split)],
            events.item[bought & (events.time < split)],
            strict=True,
        )
    }
    after = {
        (int(u), int(i))
        for u, i in zip(
            events.user[bought & (events.time >= split)],
            events.item[bought & (events.time >= split)],
            strict=True,
        )
    }
    if not after:
        return 0.0
    return len(after & before) / len(after)


def _fit(
    events: EventArrays,
    n_users: int,
    catalog: CatalogArrays,
    params: Params,
    *,
    seed: int,
    embeddings: NDArray[np.float32],
    method: str,
    shared: dict[Any, Any] | None = None,
    with_baskets: bool = True,
) -> OrgModel:
    """Fit every part for ``params``. ``shared`` carries what several candidates of one
    validation run have in common (popularity; the user matrix and cosine neighbours per
    half-life), so each is computed once; validation also skips the basket model."""
    shared = {} if shared is None else shared
    n_items = len(catalog)
    if "popularity" not in shared:
        shared["popularity"] = popularity(events, n_items)
    trending, popular, support = shared["popularity"]
    key = ("x", params.half_life_days)
    if key not in shared:
        x = user_item_matrix(events, n_users, n_items, params.half_life_days)
        shared[key] = (x, cosine_neighbours(x, k=NEIGHBOURS, shrink=10.0))
    x, neighbours = shared[key]
    cf: sp.csr_matrix | None = None
    factors = None
    if params.cf_model == "ease":
        cf = ease_neighbours(x, l2=params.ease_l2, max_items=EASE_MAX_ITEMS, k=NEIGHBOURS)
    elif params.cf_model == "als":
        factors = fit_item_factors(
            x,
            factors=ALS_FACTORS,
            regularization=params.als_regularization,
            alpha=params.als_alpha,
            iterations=15,
            seed=seed,
        )
    else:
        cf = neighbours
    if with_baskets:
        baskets = basket_matrix(events, n_items)
        together = lift_neighbours(
            baskets, k=NEIGHBOURS, alpha=params.basket_alpha, shrink=params.basket_shrink
        )
    else:
        together = sp.csr_matrix((n_items, n_items), dtype=np.float32)
    return OrgModel(
        catalog=catalog,
        params=params,
        trending=trending,
        popular=popular,
        support=support,
        neighbours=neighbours,
        cf=cf,
        item_factors=factors,
        bought_together=together,
        embeddings=embeddings,
        embedding_method=method,
        repeat_share=0.0,
        repeat_rate=repeat_rates(events, n_items),
    )


def _validation_targets(
    events: EventArrays, split: float, rng: np.random.Generator
) -> dict[int, set[int]]:
    later = events.time >= split
    earlier_users = set(np.unique(events.user[~later]).tolist())
    conversions = later & events.is_purchase
    chosen = conversions if conversions.sum() >= 20 else later & (events.weight > 0)
    targets: dict[int, set[int]] = {}
    for user, item in zip(events.user[chosen], events.item[chosen], strict=True):
        if int(user) in earlier_users:
            targets.setdefault(int(user), set()).add(int(item))
    users = sorted(targets)
    if len(users) > MAX_VALIDATION_USERS:
        users = sorted(rng.choice(users, MAX_VALIDATION_USERS, replace=False).tolist())
    return {u: targets[u] for u in users}


#: Validation ranks each user's items among the union of each part's best this many; the
#: blend's top 20 lies there in practice, and ranking ~1,000 columns instead of the whole
#: catalog makes the grid affordable on large catalogs.
CANDIDATES_PER_PART = 250


@dataclass
class _Candidates:
    """Per validation user, the columns worth ranking and every part's score there."""

    columns: NDArray[np.int64]  # users x C item indices (duplicates masked by ``valid``)
    valid: NDArray[np.bool_]
    repeat: NDArray[np.float32]
    explore: NDArray[np.float32]
    trending: NDArray[np.float32]
    popular: NDArray[np.float32]
    bought: NDArray[np.bool_]
    cold: NDArray[np.bool_]


#: Validation users ranked at a time: a partition of the whole catalog returns an index per
#: item, so 600 users x 100,000 items at once held 480 MB of indices for 150,000 kept.
_ROWS_AT_A_TIME = 64


def _best_columns(scores: NDArray[Any], depth: int) -> NDArray[np.int64]:
    depth = min(depth, scores.shape[1])
    if depth == scores.shape[1]:
        return np.tile(np.arange(scores.shape[1]), (scores.shape[0], 1))
    best = np.empty((scores.shape[0], depth), dtype=np.int64)
    for start in range(0, scores.shape[0], _ROWS_AT_A_TIME):
        rows = slice(start, start + _ROWS_AT_A_TIME)
        best[rows] = np.argpartition(-scores[rows], depth - 1, axis=1)[:, :depth]
    return best


def _candidates(
    model: OrgModel,
    parts: tuple[NDArray[np.float32], NDArray[np.float32]],
    bought: sp.csr_matrix,
) -> _Candidates:
    repeat, explore = parts
    users = repeat.shape[0]
    trending, popular = unit(model.trending), unit(model.popular)
    global_best = np.concatenate(
        [_best_columns(trending[None, :], CANDIDATES_PER_PART)[0],
         _best_columns(popular[None, :], CANDIDATES_PER_PART)[0]]
    )  # fmt: skip
    columns = np.concatenate(
        [
            _best_columns(repeat, CANDIDATES_PER_PART),
            _best_columns(explore, CANDIDATES_PER_PART),
            np.tile(global_best, (users, 1)),
        ],
        axis=1,
    )
    columns.sort(axis=1)
    valid = np.ones(columns.shape, dtype=bool)
    valid[:, 1:] = columns[:, 1:] != columns[:, :-1]
    owned = bought.toarray() > 0
    return _Candidates(
        columns=columns,
        valid=valid,
        repeat=np.take_along_axis(repeat, columns, axis=1),
        explore=np.take_along_axis(explore, columns, axis=1),
        trending=trending[columns],
        popular=popular[columns],
        bought=np.take_along_axis(owned, columns, axis=1),
        cold=np.asarray(repeat.max(axis=1) <= 0).ravel(),
    )


def _evaluate(
    params: Params, c: _Candidates, targets: list[set[int]], k: int = 10
) -> dict[str, float]:
    """Metrics of ``params`` over all validation users at once, ranking each user's
    candidate columns exactly as ``OrgModel.blend_units`` and ``cold_start`` score them."""
    mix = params.all_time_popularity
    popularity = (1.0 - mix) * c.trending + mix * c.popular
    scores = (
        params.repeat_weight * c.repeat
        + (1.0 - params.repeat_weight) * c.explore
        + params.popularity_weight * popularity
    )
    if c.cold.any():
        scores[c.cold] = (c.trending + 0.01 * c.popular)[c.cold]
    if not params.include_purchased_default:
        scores[c.bought] = -np.inf
    return _ranked_metrics(scores, c, targets, k)


def _ranked_metrics(
    scores: NDArray[Any], c: _Candidates, targets: list[set[int]], k: int = 10
) -> dict[str, float]:
    scores[~c.valid] = -np.inf
    depth = min(20, scores.shape[1])
    top = _best_columns(scores, depth)
    order = np.take_along_axis(-scores, top, axis=1).argsort(axis=1, kind="stable")
    ranked = np.take_along_axis(c.columns, np.take_along_axis(top, order, axis=1), axis=1)
    ndcg = [ndcg_at_k(r.tolist(), t, k) for r, t in zip(ranked, targets, strict=True)]
    recall = [recall_at_k(r.tolist(), t, 20) for r, t in zip(ranked, targets, strict=True)]
    hits = [hit_at_k(r.tolist(), t, k) for r, t in zip(ranked, targets, strict=True)]
    return {
        "ndcg@10": float(np.mean(ndcg)),
        "recall@20": float(np.mean(recall)),
        "hit@10": float(np.mean(hits)),
        "users": len(ndcg),
    }


def _baselines(c: _Candidates, targets: list[set[int]]) -> dict[str, dict[str, float]]:
    """What simple rankers score on the same users and candidate columns, so the chosen
    setting's metrics can be read against them: everyone gets the all-time bestsellers, or
    this week's trending items, or their own past items again (bestsellers after those)."""
    return {
        "popularity": _ranked_metrics(c.popular.copy(), c, targets),
        "trending": _ranked_metrics(c.trending.copy(), c, targets),
        "buy_again": _ranked_metrics(c.repeat + 1e-3 * c.popular, c, targets),
    }


def _purchase_matrix(events: EventArrays, n_users: int, n_items: int) -> sp.csr_matrix:
    bought = events.is_purchase
    return sp.csr_matrix(
        (np.ones(int(bought.sum()), dtype=np.float32), (events.user[bought], events.item[bought])),
        shape=(n_users, n_items),
    )


def choose_params(
    inp: TrainingInput, embeddings: NDArray[np.float32], method: str
) -> tuple[Params, dict[str, Any]]:
    """Score the candidate settings on the latest slice of the organisation's own events."""
    events = inp.events
    n_items = len(inp.catalog)
    if len(events) < 100:
        return Params(), {"skipped": "fewer than 100 events"}
    start, end = float(events.time.min()), float(events.time.max())
    split = end - VALIDATION_SHARE * (end - start)
    rng = np.random.default_rng(inp.seed)
    targets = _validation_targets(events, split, rng)
    if len(targets) < 10:
        return Params(), {"skipped": "fewer than 10 users to validate on"}
    train = events.subset(events.time < split)
    share = repeat_share(events, split)
    purchases = _purchase_matrix(train, inp.n_users, n_items)
    users = np.array(sorted(targets), dtype=np.int64)
    relevant = [targets[int(u)] for u in users]
    bought = purchases[users]
    results = []
    baselines: dict[str, dict[str, float]] = {}
    shared: dict[Any, Any] = {}

    def search(half_life: float, cf_model: str, l2: float) -> None:
        nonlocal baselines
        base = Params(half_life_days=half_life, cf_model=cf_model, ease_l2=l2 or 200.0)
        try:
            model = _fit(
                train,
                inp.n_users,
                inp.catalog,
                base,
                seed=inp.seed,
                embeddings=embeddings,
                method=method,
                shared=shared,
                with_baskets=False,
            )
        except (ValueError, np.linalg.LinAlgError) as exc:
            logger.warning("candidate %s failed: %s", base.as_dict(), exc)
            return
        x = shared[("x", half_life)][0][users]
        for item_repeat in (False, True):
            model.params = Params(**{**base.as_dict(), "item_repeat": item_repeat})
            repeat, explore = model.parts(x, bought)
            candidates = _candidates(model, (unit_rows(repeat), unit_rows(explore)), bought)
            if not baselines:
                baselines = _baselines(candidates, relevant)
            for repeat_weight, popularity_weight, mix in itertools.product(
                REPEAT_WEIGHTS, POPULARITY_WEIGHTS, POPULARITY_MIXES
            ):
                if popularity_weight == 0.0 and mix > 0.0:
                    continue
                for include in (True, False):
                    params = Params(
                        half_life_days=half_life,
                        cf_model=cf_model,
                        ease_l2=base.ease_l2,
                        repeat_weight=repeat_weight,
                        popularity_weight=popularity_weight,
                        all_time_popularity=mix,
                        include_purchased_default=include,
                        item_repeat=item_repeat,
                    )
                    metrics = _evaluate(params, candidates, relevant)
                    results.append((metrics["ndcg@10"], params, metrics))

    # ALS is the costly model to fit (a third of a large store's grid per half-life): it
    # is tried at the half-life the other models found best, not at every one.
    for half_life, (cf_model, l2) in itertools.product(HALF_LIVES, CF_MODELS):
        if cf_model != "als":
            search(half_life, cf_model, l2)
    if results:
        best_half_life = max(results, key=lambda r: r[0])[1].half_life_days
        for cf_model, l2 in CF_MODELS:
            if cf_model == "als":
                search(best_half_life, cf_model, l2)
    results.sort(key=lambda r: -r[0])
    _, best, metrics = results[0]
    report = {
        "split_at": split,
        "validation_users": len(targets),
        "repeat_share": share,
        "chosen": best.as_dict(),
        "metrics": metrics,
        "baselines": baselines,
        "candidates": len(results),
        "top": [{"ndcg@10": round(r[0], 4), **r[1].as_dict()} for r in results[:5]],
    }
    return best, report


def choose_basket_params(
    events: EventArrays, n_items: int
) -> tuple[dict[str, float], dict[str, Any]]:
    """How to normalise bought-together counts, and how much popularity to add, for this
    store: each candidate is scored by leaving one item out of each of the latest baskets
    and asking whether the rest put it in their top 10."""
    default = {"alpha": 0.5, "shrink": 2.0, "popularity": 0.001}
    strong = ((events.weight >= 4.0) | events.is_purchase) & (events.basket >= 0)
    if strong.sum() < 100:
        return default, {"skipped": "fewer than 100 basket events"}
    keys, times, items = events.basket[strong], events.time[strong], events.item[strong]
    order = np.argsort(times, kind="stable")
    keys, items, times = keys[order], items[order], times[order]
    first_seen: dict[int, float] = {}
    for key, stamp in zip(keys.tolist(), times.tolist(), strict=True):
        first_seen.setdefault(key, stamp)
    cut = np.quantile(np.array(list(first_seen.values())), 1.0 - VALIDATION_SHARE)
    late = np.array([first_seen[k] >= cut for k in keys.tolist()])
    held: dict[int, list[int]] = {}
    for key, item in zip(keys[late].tolist(), items[late].tolist(), strict=True):
        members = held.setdefault(key, [])
        if item not in members:
            members.append(item)
    rng = np.random.default_rng(7)
    cases = [(m[int(rng.integers(len(m)))], m) for m in held.values() if len(m) >= 2]
    cases = cases[:MAX_VALIDATION_BASKETS]
    if len(cases) < 20:
        return default, {"skipped": "fewer than 20 baskets to validate on"}
    early = events.subset(np.isin(events.basket, keys[~late]) & (events.basket >= 0))
    matrix = basket_matrix(early, n_items)
    popular = np.log1p(np.bincount(early.item, minlength=n_items)).astype(np.float32)
    popular_unit = popular / max(float(popular.max()), 1e-9)
    results = []
    rests = [np.array([m for m in members if m != left], dtype=np.int32) for left, members in cases]
    depth = min(10, n_items - 1)
    for alpha, shrink in itertools.product(BASKET_ALPHAS, BASKET_SHRINKS):
        together = lift_neighbours(matrix, k=NEIGHBOURS, alpha=alpha, shrink=shrink)
        summed = []
        for rest in rests:
            scores = np.asarray(together[rest].sum(axis=0)).ravel()
            top = scores.max()
            summed.append(scores / top if top > 0 else scores)
        for weight in BASKET_POPULARITY:
            hits = 0
            for (left_out, _), rest, scores in zip(cases, rests, summed, strict=True):
                blended = scores + weight * popular_unit
                blended[rest] = -np.inf
                hits += int(left_out in np.argpartition(-blended, depth)[:depth])
            results.append((hits / len(cases), alpha, shrink, weight))
    results.sort(key=lambda r: -r[0])
    hit, alpha, shrink, weight = results[0]
    chosen = {"alpha": alpha, "shrink": shrink, "popularity": weight}
    return chosen, {"baskets": len(cases), "hit@10": hit, "chosen": chosen}


def train(inp: TrainingInput) -> TrainingResult:
    started = time.perf_counter()
    texts = inp.catalog.texts
    embeddings, method, cache = embed(texts, inp.embedding_cache, use_model=inp.use_semantic_model)
    if inp.reuse is not None:
        params = Params(**inp.reuse.params.as_dict())
        validation: dict[str, Any] = {
            "chosen": params.as_dict(),
            "repeat_share": inp.reuse.repeat_share,
        }
    else:
        params, validation = choose_params(inp, embeddings, method)
        basket_params, basket_validation = choose_basket_params(inp.events, len(inp.catalog))
        params.basket_alpha = basket_params["alpha"]
        params.basket_shrink = basket_params["shrink"]
        params.basket_popularity_weight = basket_params["popularity"]
        validation["basket"] = basket_validation
        if "chosen" in validation:  # what serves: the blend's choice with the basket's
            validation["chosen"] = params.as_dict()
    model = _fit(
        inp.events,
        inp.n_users,
        inp.catalog,
        params,
        seed=inp.seed,
        embeddings=embeddings,
        method=method,
    )
    share = validation.get("repeat_share")
    model.repeat_share = float(share) if share is not None else 0.0
    model.semantic_index = ann.build(embeddings)  # None below ann.MIN_ITEMS items: exact
    return TrainingResult(
        model=model,
        embedding_cache=cache,
        validation=validation,
        seconds=time.perf_counter() - started,
    )
