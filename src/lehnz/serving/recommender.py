"""The five recommendation questions, answered from the model in memory, the live catalog
and the user's live state; every answer logged under a ``recommendation_id``.

No training, table scan or model load happens here: the user's state is one indexed row,
the catalog and the model are in memory.
"""

from __future__ import annotations

import functools
import math
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lehnz.engine.history import history_vector
from lehnz.engine.model import unit
from lehnz.errors import NotFound
from lehnz.pipeline.reader import UserStateReader
from lehnz.pipeline.state import State, price_band
from lehnz.serving import topk
from lehnz.serving.catalog_cache import CatalogCache, CatalogView
from lehnz.serving.filters import Predicate
from lehnz.serving.logs import RecommendationLog
from lehnz.serving.registry import LoadedModel, ModelRegistry
from lehnz.store.types import utcnow

MAX_LIST = 500
Reason = Callable[[int], str]


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
    ) -> None:
        self._registry = registry
        self._catalog = catalog
        self._users = users
        self._log = log

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
        state = self._users.get(organization_id=organization_id, user_id=user_id).state
        if loaded is None:
            return self._fallback(organization_id, view, options, endpoint, placement, user_id, {})
        model = loaded.model
        index = model.catalog.index
        items: Mapping[str, Any] = state["items"] if state else {}
        indices, strengths, purchases = history_vector(
            items, index, half_life_days=model.params.half_life_days
        )
        names = _Names(view, model.catalog.item_ids)
        extra: dict[str, Any] = {}
        if mode == "popular" or len(indices) == 0:
            scores = model.cold_start()
            reason = _cold_reason(model, names)
            extra["source"] = "cold_start" if mode != "popular" else "popular"
        else:
            if mode == "collaborative":
                scores = unit(model.collaborative(indices, strengths))
            elif mode == "semantic":
                scores = model.semantic_profile(indices, strengths)
            else:
                scores, _, _ = model.personal_scores(indices, strengths, purchases)
            scores = unit(scores) + 1e-3 * unit(model.cold_start())
            reason = _personal_reason(model, names, indices, strengths, purchases)
            extra["source"] = "personalized"
            allow_repeats = (
                include_purchased
                if include_purchased is not None
                else model.params.include_purchased_default
            )
            if not allow_repeats and len(indices):
                scores[indices[purchases > 0]] = -np.inf
            scores, reason = self._placement(model, state, placement, scores, reason, names)
        if price_optimized:
            scores, reason = _price_rerank(model, state, scores, reason)
        return self._answer(
            organization_id,
            loaded,
            view,
            scores,
            reason,
            options,
            endpoint,
            placement,
            user_id,
            extra,
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
        names = _Names(view, model.catalog.item_ids)
        name = names(position)
        if mode == "popular":
            scores, reason = model.cold_start(), _cold_reason(model, names)
        elif mode == "collaborative":
            scores = model.similar_collaborative(position)
            reason = _const(f"Customers who viewed {name} also viewed this")
        elif mode == "semantic":
            scores, reason = model.similar_semantic(position), _const(f"Similar to {name}")
        else:
            scores, share = model.similar_auto(position)
            text = (
                f"Customers who viewed {name} also viewed this"
                if share >= 0.5
                else f"Similar to {name}"
            )
            reason = _const(text)
        scores = np.where(np.isfinite(scores), scores, -np.inf)
        extra = {"item_id": item_id, "mode": mode}
        return self._answer(
            organization_id, loaded, view, scores, reason, options, endpoint, None, None, extra
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
        names = _Names(view, model.catalog.item_ids)
        known = np.array(
            [i for i in (loaded.index_of(x) for x in item_ids) if i is not None], dtype=np.int32
        )
        if len(known) == 0:
            scores, reason = model.cold_start(), _cold_reason(model, names)
        else:
            scores = model.basket_scores(known)

            def reason(target: int) -> str:
                source = model.basket_contributor(target, known)
                return (
                    f"Bought together with {names(source)}"
                    if source is not None
                    else _cold_reason(model, names)(target)
                )

        return self._answer(
            organization_id, loaded, view, scores, reason, options, endpoint, "cart", user_id, extra
        )

    # -- shared steps -------------------------------------------------------------------------

    def _placement(
        self,
        model: Any,
        state: State | None,
        placement: str | None,
        scores: NDArray[np.float32],
        reason: Reason,
        names: _Names,
    ) -> tuple[NDArray[np.float32], Reason]:
        """``cart``: blend in what goes with the cart; ``pdp``: what is like the last item
        viewed. Any other placement is the personal list as it is."""
        if state is None or placement not in ("cart", "pdp"):
            return scores, reason
        index = model.catalog.index
        if placement == "cart":
            cart = np.array([index[i] for i in state["cart"] if i in index], dtype=np.int32)
            if len(cart) == 0:
                return scores, reason
            together = unit(model.basket(cart))
            blended = scores + together
            blended[cart] = -np.inf

            def cart_reason(target: int) -> str:
                source = model.basket_contributor(target, cart)
                return (
                    f"Goes with {names(source)} in your cart"
                    if source is not None
                    else reason(target)
                )

            return blended, cart_reason
        last = next(
            (index[entry[0]] for entry in reversed(state["recent"]) if entry[0] in index), None
        )
        if last is None:
            return scores, reason
        similar, _ = model.similar_auto(last)
        blended = scores + np.where(np.isfinite(similar), unit(np.maximum(similar, 0)), 0.0)
        blended[last] = -np.inf
        return blended.astype(np.float32), _const(f"Because you viewed {names(last)}")

    def _answer(
        self,
        organization_id: str,
        loaded: LoadedModel,
        view: CatalogView,
        scores: NDArray[np.float32],
        reason: Reason,
        options: ListOptions,
        endpoint: str,
        placement: str | None,
        user_id: str | None,
        extra: dict[str, Any],
    ) -> RankedPage:
        model = loaded.model
        item_ids = model.catalog.item_ids
        scores = np.where(
            self._catalog.active_mask(organization_id, loaded.version, item_ids), scores, -np.inf
        )
        # Excluded items score -inf: the ranked list is the finite scores, best first. Only
        # the best MAX_LIST are ordered, unless filters pass over many of them.
        if not options.exclude and options.filters is None:
            chosen: list[int] = topk.top_k(scores, MAX_LIST).tolist()
        else:
            chosen = []
            for position in topk.ranked(scores, first=MAX_LIST):
                if len(chosen) >= MAX_LIST:
                    break
                item_id = item_ids[position]
                if item_id in options.exclude:
                    continue
                if options.filters is not None:
                    entry = view.items[item_id]
                    if not options.filters(item_id, entry.item_type, entry.attributes):
                        continue
                chosen.append(position)
        start = (options.page - 1) * options.limit
        page = chosen[start : start + options.limit]
        ranked = [
            RankedItem(
                item_id=item_ids[i],
                score=round(float(scores[i]), 4),
                reason=reason(i),
                attributes=view.items[item_ids[i]].attributes
                if options.include_attributes
                else None,
            )
            for i in page
        ]
        return self._logged(
            organization_id,
            ranked,
            len(chosen),
            endpoint,
            placement,
            user_id,
            {**extra, "model_version": loaded.version},
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


class _Names:
    """An item's display name: its current ``name`` or ``title``, else its id."""

    def __init__(self, view: CatalogView, item_ids: list[str]) -> None:
        self._view = view
        self._ids = item_ids

    def __call__(self, position: int | None) -> str:
        if position is None:
            return "an item"
        item_id = self._ids[position]
        entry = self._view.items.get(item_id)
        attributes = entry.attributes if entry else {}
        name = attributes.get("name") or attributes.get("title")
        return (
            str(name).strip().title()
            if isinstance(name, str) and name.isupper()
            else str(name or item_id)
        )


def _const(text: str) -> Reason:
    return lambda _target: text


def _cold_reason(model: Any, names: _Names) -> Reason:
    def reason(target: int) -> str:
        category = (
            model.catalog.categories[target] if target < len(model.catalog.categories) else None
        )
        if model.trending[target] > 0:
            return f"Trending in {category}" if category else "Trending now"
        return f"Popular in {category}" if category else "Popular with shoppers"

    return reason


def _personal_reason(
    model: Any,
    names: _Names,
    indices: NDArray[np.int32],
    strengths: NDArray[np.float32],
    purchases: NDArray[np.float32],
) -> Reason:
    bought = {int(i): int(n) for i, n in zip(indices, purchases, strict=True)}

    @functools.cache
    def contributions() -> Any:  # built for the first item that needs it, then shared
        return model.contributions(indices, strengths)

    def reason(target: int) -> str:
        if target in bought:
            count = bought[target]
            if count > 1:
                return f"You bought this {count} times"
            return "You bought this before" if count == 1 else "You looked at this recently"
        source = contributions().top(target)
        if source is not None:
            verb = "bought" if bought.get(source, 0) > 0 else "viewed"
            return f"Because you {verb} {names(source)}"
        return _cold_reason(model, names)(target)

    return reason


def _price_rerank(
    model: Any, state: State | None, scores: NDArray[np.float32], reason: Reason
) -> tuple[NDArray[np.float32], Reason]:
    """Scale each score by how close the item's price is to the user's usual price (in log
    space, with the user's own spread); unpriced items keep half their score. Without a
    price history the list is unchanged."""
    band = price_band(state) if state else None
    if band is None:
        return scores, reason
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

    def price_reason(target: int) -> str:
        base = reason(target)
        if np.isfinite(distance[target]) and abs(distance[target]) < 1.0:
            return f"{base}, in your usual price range"
        return base

    return reranked, price_reason
