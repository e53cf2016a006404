"""The five recommendation questions, answered from the model in memory, the live catalog
and the user's live state; every answer logged under a ``recommendation_id``.

No training, table scan or model load happens here: the user's state is one indexed row,
the catalog and the model are in memory. A list's ranking is kept while its inputs and the
model stay the same (``answer_cache``): the shopper's stored state, the item, or the basket
as sent; the page, the live catalog and the log entry are made per request.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lehnz.engine.history import history_vector
from lehnz.engine.model import unit
from lehnz.errors import NotFound
from lehnz.pipeline.reader import UserStateReader
from lehnz.pipeline.state import State, price_band
from lehnz.serving import reasons as why
from lehnz.serving.answer_cache import AnswerCache
from lehnz.serving.candidates import MAX_LIST, Candidates, choose, filtered
from lehnz.serving.catalog_cache import CatalogCache, CatalogView
from lehnz.serving.filters import Predicate
from lehnz.serving.logs import RecommendationLog
from lehnz.serving.reasons import Names, Reasons
from lehnz.serving.registry import LoadedModel, ModelRegistry
from lehnz.store.types import utcnow

__all__ = ["MAX_LIST", "ListOptions", "RankedItem", "RankedPage", "Recommender"]

#: A list's scores over the model's items, its reasons, and what its answer adds.
Scored = tuple[NDArray[np.float32], Reasons, dict[str, Any]]


@dataclass
class ListOptions:
    limit: int
    page: int
    filters: Predicate | None = None
    exclude: set[str] = field(default_factory=set)
    include_attributes: bool = False


@dataclass
class RankedItem:
    item_id: str
    score: float
    reason: str
    attributes: dict[str, Any] | None = None


@dataclass
class RankedPage:
    recommendation_id: str
    items: list[RankedItem]
    total: int
    extra: dict[str, Any] = field(default_factory=dict)


class Recommender:
    def __init__(
        self,
        registry: ModelRegistry,
        catalog: CatalogCache,
        users: UserStateReader,
        log: RecommendationLog,
        cache: AnswerCache[Candidates] | None = None,
        basket_cache: AnswerCache[Candidates] | None = None,
    ) -> None:
        """``basket_cache`` keeps baskets' lists apart from ``cache``: a stream of carts, each
        asked for once, must not push out the shoppers' and items' lists."""
        self._registry = registry
        self._catalog = catalog
        self._users = users
        self._log = log
        off: AnswerCache[Candidates] = AnswerCache(max_entries=0, max_age=0)
        self._cache = cache if cache is not None else off
        self._basket_cache = basket_cache if basket_cache is not None else off

    def is_warm(self, organization_id: str) -> bool:
        """Whether an answer for this organisation reads only memory and a few indexed rows:
        its model and catalog are loaded. A cold one may take seconds (an artifact, a whole
        catalog), which the event loop must not wait for."""
        return self._registry.has_looked(organization_id) and self._catalog.is_fresh(
            organization_id
        )

    # -- the endpoints ----------------------------------------------------------------------

    def for_user(
        self,
        *,
        organization_id: str,
        user_id: str,
        options: ListOptions,
        placement: str | None,
        include_purchased: bool | None,
        mode: str,
        endpoint: str,
        price_optimized: bool = False,
    ) -> RankedPage:
        loaded = self._registry.get(organization_id)
        view = self._catalog.view(organization_id)
        user = self._users.get(organization_id=organization_id, user_id=user_id)
        if loaded is None:
            return self._fallback(organization_id, view, options, endpoint, placement, user_id, {})
        model = loaded.model

        def scored() -> Scored:
            return _personal(
                model,
                Names(view, model.catalog.item_ids),
                user.state,  # decoded here only: a kept list never needs it
                placement=placement,
                include_purchased=include_purchased,
                mode=mode,
                price_optimized=price_optimized,
            )

        # The same state (by its fingerprint) and the same model rank the same way; a state
        # with events folded in past the pipeline has no fingerprint and is ranked anew.
        key = (
            None
            if user.fingerprint is None
            else (
                organization_id,
                loaded.version,
                user.fingerprint,
                mode,
                placement,
                include_purchased,
                price_optimized,
            )
        )
        return self._answer(
            organization_id, loaded, view, key, scored, options, endpoint, placement, user_id
        )

    def similar_item(
        self, *, organization_id: str, item_id: str, options: ListOptions, mode: str, endpoint: str
    ) -> RankedPage:
        loaded = self._registry.get(organization_id)
        view = self._catalog.view(organization_id)
        if item_id not in view.items:
            raise NotFound(f"No item with item_id '{item_id}'")
        options.exclude.add(item_id)
        position = loaded.index_of(item_id) if loaded else None
        if loaded is None or position is None:
            return self._fallback(
                organization_id,
                view,
                options,
                endpoint,
                None,
                None,
                {"item_id": item_id, "mode": mode},
                like=item_id,
            )
        model = loaded.model
        names = Names(view, model.catalog.item_ids)

        def scored() -> Scored:
            reasons: Reasons
            if mode == "popular":
                scores, reasons = model.cold_start(), why.cold(model)
            elif mode == "collaborative":
                scores = model.similar_collaborative(position)
                reasons = why.naming(
                    names, position, "Customers who viewed {name} also viewed this"
                )
            elif mode == "semantic":
                scores = model.similar_semantic(position)
                reasons = why.naming(names, position, "Similar to {name}")
            else:
                scores, share = model.similar_auto(position)
                text = (
                    "Customers who viewed {name} also viewed this"
                    if share >= 0.5
                    else "Similar to {name}"
                )
                reasons = why.naming(names, position, text)
            finite = np.where(np.isfinite(scores), scores, -np.inf).astype(np.float32)
            return finite, reasons, {"item_id": item_id, "mode": mode}

        # An item's similar items depend on the model and the item alone: kept as lists are.
        key = (organization_id, loaded.version, "item", position, mode)
        return self._answer(
            organization_id, loaded, view, key, scored, options, endpoint, None, None
        )

    def basket(
        self,
        *,
        organization_id: str,
        item_ids: list[str],
        options: ListOptions,
        endpoint: str,
        user_id: str | None,
    ) -> RankedPage:
        loaded = self._registry.get(organization_id)
        view = self._catalog.view(organization_id)
        options.exclude.update(item_ids)
        extra = {"basket_items": item_ids, "source": "co_occurrence"}
        if loaded is None:
            return self._fallback(organization_id, view, options, endpoint, "cart", user_id, extra)
        model = loaded.model
        known = np.array(
            [i for i in (loaded.index_of(x) for x in item_ids) if i is not None], dtype=np.int32
        )

        def scored() -> Scored:
            if len(known) == 0:
                return model.cold_start(), why.cold(model), extra
            names = Names(view, model.catalog.item_ids)
            reasons = why.with_cart(
                model, names, known, why.cold(model), text="Bought together with {name}"
            )
            return model.basket_scores(known), reasons, extra

        # A basket's list depends on the model and the basket as asked (its order names the
        # reasons; its unknown ids are echoed back). The same basket comes back as a product
        # page's "bought together" or a cart page reloaded; kept in a cache of its own.
        key = (organization_id, loaded.version, "basket", tuple(item_ids))
        return self._answer(
            organization_id,
            loaded,
            view,
            key,
            scored,
            options,
            endpoint,
            "cart",
            user_id,
            cache=self._basket_cache,
        )

    # -- shared steps -------------------------------------------------------------------------

    def _answer(
        self,
        organization_id: str,
        loaded: LoadedModel,
        view: CatalogView,
        key: Hashable | None,
        scored: Callable[[], Scored],
        options: ListOptions,
        endpoint: str,
        placement: str | None,
        user_id: str | None,
        *,
        cache: AnswerCache[Candidates] | None = None,
    ) -> RankedPage:
        """The page of the list ``scored`` gives, ranked once and kept under ``key`` in
        ``cache`` (the lists' own by default; never without a key)."""
        kept = self._cache if cache is None else cache
        fresh = None
        candidates = kept.get(key) if key is not None else None
        if candidates is None:
            fresh = scored()
            candidates = Candidates.of(*fresh)
            if key is not None:
                kept.put(key, candidates)

        def all_scores() -> NDArray[np.float32]:  # for a list the head cannot fill
            return (fresh or scored())[0]

        catalog = loaded.model.catalog
        item_ids = catalog.item_ids
        excluded = [catalog.index[i] for i in options.exclude if i in catalog.index]
        chosen = choose(
            candidates,
            active=self._catalog.active_mask(organization_id, loaded.version, item_ids),
            excluded=np.array(excluded, dtype=np.intp),
            item_ids=item_ids,
            keep=filtered(options.filters, view.items),
            all_scores=all_scores,
        )
        start = (options.page - 1) * options.limit
        page: list[int] = chosen.positions[start : start + options.limit].tolist()
        scores: list[float] = chosen.scores[start : start + options.limit].tolist()
        texts = candidates.reasons_for(page, view.version)
        ranked = [
            RankedItem(
                item_id=item_ids[position],
                score=round(score, 4),
                reason=text,
                attributes=view.items[item_ids[position]].attributes
                if options.include_attributes
                else None,
            )
            for position, score, text in zip(page, scores, texts, strict=True)
        ]
        return self._logged(
            organization_id,
            ranked,
            len(chosen.positions),
            endpoint,
            placement,
            user_id,
            {**candidates.extra, "model_version": loaded.version},
        )

    def _fallback(
        self,
        organization_id: str,
        view: CatalogView,
        options: ListOptions,
        endpoint: str,
        placement: str | None,
        user_id: str | None,
        extra: dict[str, Any],
        like: str | None = None,
    ) -> RankedPage:
        """Before any model exists (or for an item newer than the model): the newest active
        items, those sharing ``like``'s category first."""
        category = view.items[like].attributes.get("category") if like else None
        candidates = [
            (item_id, entry)
            for item_id, entry in view.items.items()
            if entry.status == "active"
            and item_id not in options.exclude
            and (
                options.filters is None
                or options.filters(item_id, entry.item_type, entry.attributes)
            )
        ]
        candidates.sort(
            key=lambda pair: (
                category is None or pair[1].attributes.get("category") != category,
                -pair[1].updated_at.timestamp(),
                pair[0],
            )
        )
        candidates = candidates[:MAX_LIST]
        start = (options.page - 1) * options.limit
        ranked = [
            RankedItem(
                item_id=item_id,
                score=0.0,
                reason=f"More in {category}"
                if category and entry.attributes.get("category") == category
                else "New in the catalog",
                attributes=entry.attributes if options.include_attributes else None,
            )
            for item_id, entry in candidates[start : start + options.limit]
        ]
        return self._logged(
            organization_id,
            ranked,
            len(candidates),
            endpoint,
            placement,
            user_id,
            {"source": "catalog", **extra, "model_version": None},
        )

    def _logged(
        self,
        organization_id: str,
        ranked: list[RankedItem],
        total: int,
        endpoint: str,
        placement: str | None,
        user_id: str | None,
        extra: dict[str, Any],
    ) -> RankedPage:
        recommendation_id = "rec_" + secrets.token_urlsafe(12)
        self._log.record(
            {
                "id": recommendation_id,
                "organization_id": organization_id,
                "endpoint": endpoint,
                "placement": placement,
                "user_id": user_id,
                "item_ids": [r.item_id for r in ranked],
                "created_at": utcnow(),
            }
        )
        return RankedPage(recommendation_id, ranked, total, extra)


def _personal(
    model: Any,
    names: Names,
    state: State | None,
    *,
    placement: str | None,
    include_purchased: bool | None,
    mode: str,
    price_optimized: bool,
) -> Scored:
    """The personal list's scores and reasons, from the model and the state alone: the same
    inputs give the same list, which is what lets ``Recommender`` keep it."""
    index = model.catalog.index
    items: Mapping[str, Any] = state["items"] if state else {}
    indices, strengths, purchases = history_vector(
        items, index, half_life_days=model.params.half_life_days
    )
    extra: dict[str, Any] = {}
    reasons: Reasons
    if mode == "popular" or len(indices) == 0:
        scores = model.cold_start()
        reasons = why.cold(model)
        extra["source"] = "cold_start" if mode != "popular" else "popular"
    else:
        if mode == "collaborative":
            scores = unit(model.collaborative(indices, strengths))
        elif mode == "semantic":
            scores = model.semantic_profile(indices, strengths)
        else:
            scores, _, _ = model.personal_scores(indices, strengths, purchases)
        scores = unit(scores) + 1e-3 * unit(model.cold_start())
        reasons = why.personal(model, names, indices, strengths, purchases)
        extra["source"] = "personalized"
        allow_repeats = (
            include_purchased
            if include_purchased is not None
            else model.params.include_purchased_default
        )
        if not allow_repeats and len(indices):
            scores[indices[purchases > 0]] = -np.inf
        scores, reasons = _placement(model, state, placement, scores, reasons, names)
    if price_optimized:
        scores, reasons = _price_rerank(model, state, scores, reasons)
    return scores, reasons, extra


def _placement(
    model: Any,
    state: State | None,
    placement: str | None,
    scores: NDArray[np.float32],
    reasons: Reasons,
    names: Names,
) -> tuple[NDArray[np.float32], Reasons]:
    """``cart``: blend in what goes with the cart; ``pdp``: what is like the last item
    viewed. Any other placement is the personal list as it is."""
    if state is None or placement not in ("cart", "pdp"):
        return scores, reasons
    index = model.catalog.index
    if placement == "cart":
        cart = np.array([index[i] for i in state["cart"] if i in index], dtype=np.int32)
        if len(cart) == 0:
            return scores, reasons
        together = unit(model.basket(cart))
        blended = scores + together
        blended[cart] = -np.inf
        return blended, why.with_cart(
            model, names, cart, reasons, text="Goes with {name} in your cart"
        )
    last = next((index[entry[0]] for entry in reversed(state["recent"]) if entry[0] in index), None)
    if last is None:
        return scores, reasons
    similar, _ = model.similar_auto(last)
    blended = scores + np.where(np.isfinite(similar), unit(np.maximum(similar, 0)), 0.0)
    blended[last] = -np.inf
    return blended.astype(np.float32), why.naming(names, last, "Because you viewed {name}")


def _price_rerank(
    model: Any, state: State | None, scores: NDArray[np.float32], reasons: Reasons
) -> tuple[NDArray[np.float32], Reasons]:
    """Scale each score by how close the item's price is to the user's usual price (in log
    space, with the user's own spread); unpriced items keep half their score. Without a
    price history the list is unchanged."""
    band = price_band(state) if state else None
    if band is None:
        return scores, reasons
    median, spread = band
    prices = model.catalog.prices
    width = math.log(max(spread, 1.0)) + 0.35
    with np.errstate(invalid="ignore", divide="ignore"):
        distance = (np.log(prices) - math.log(median)) / width
    closeness = np.where(np.isfinite(distance), np.exp(-0.5 * distance**2), 0.5).astype(np.float32)
    positive = np.where(np.isfinite(scores), np.maximum(scores, 0.0), scores)
    reranked = np.where(
        np.isfinite(positive), positive * closeness + 1e-6 * closeness, -np.inf
    ).astype(np.float32)
    return reranked, why.in_price_range(prices, median, width, reasons)
