"""Why an item is on a list, in words a shopper reads ("Because you viewed Blue Mug").

A reason is asked for a page's items at once: the personal reason's one costly step (the
history's weighted neighbour rows) is then built once per page, and nothing a reason needs
outlives the call, so a ranked list can be kept (``answer_cache``) without its reasons'
working arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lehnz.serving.catalog_cache import CatalogView

#: The reasons for a page's positions (in the model's item order), in the same order.
Reasons = Callable[[Sequence[int]], list[str]]


class Names:
    """An item's display name: its current ``name`` or ``title``, else its id. Reads the live
    catalog view at each call, so a renamed item is named anew."""

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


def naming(names: Names, position: int, text: str) -> Reasons:
    """``text`` with ``{name}`` the current name of the item at ``position``, for every
    target: named when worded, so a kept list names a renamed item anew."""
    return lambda targets: [text.format(name=names(position))] * len(targets)


def cold(model: Any) -> Reasons:
    """Trending or popular, in the item's category when it has one."""

    def one(target: int) -> str:
        categories = model.catalog.categories
        category = categories[target] if target < len(categories) else None
        if model.trending[target] > 0:
            return f"Trending in {category}" if category else "Trending now"
        return f"Popular in {category}" if category else "Popular with shoppers"

    return lambda targets: [one(target) for target in targets]


def personal(
    model: Any,
    names: Names,
    indices: NDArray[np.int32],
    strengths: NDArray[np.float32],
    purchases: NDArray[np.float32],
) -> Reasons:
    """Bought before, or the history item that did most for the item's score. What a page's
    reasons need is built per call and let go, so a kept list holds only the arrays."""
    fallback = cold(model)

    def reasons(targets: Sequence[int]) -> list[str]:
        bought = {int(i): int(n) for i, n in zip(indices, purchases, strict=True)}
        contributions = None  # built for the first target that needs it, for this page only
        out = []
        for target in targets:
            if target in bought:
                count = bought[target]
                if count > 1:
                    out.append(f"You bought this {count} times")
                else:
                    out.append(
                        "You bought this before" if count == 1 else "You looked at this recently"
                    )
                continue
            if contributions is None:
                contributions = model.contributions(indices, strengths)
            source = contributions.top(target)
            if source is not None:
                verb = "bought" if bought.get(source, 0) > 0 else "viewed"
                out.append(f"Because you {verb} {names(source)}")
            else:
                out.append(fallback([target])[0])
        return out

    return reasons


def with_cart(
    model: Any, names: Names, cart: NDArray[np.int32], otherwise: Reasons, *, text: str
) -> Reasons:
    """``text`` (with ``{name}``) naming the cart item that goes best with each target; the
    ``otherwise`` reason where none does."""

    def reasons(targets: Sequence[int]) -> list[str]:
        sources = model.basket_contributors(targets, cart)
        rest = otherwise([t for t, s in zip(targets, sources, strict=True) if s is None])
        out = []
        for source in sources:
            out.append(text.format(name=names(source)) if source is not None else rest.pop(0))
        return out

    return reasons


def in_price_range(
    prices: NDArray[np.floating], median: float, width: float, base: Reasons
) -> Reasons:
    """``base``'s reason, saying so when the item's price is near the shopper's usual one
    (within one width in log space, as the re-ranking measures it)."""

    def reasons(targets: Sequence[int]) -> list[str]:
        with np.errstate(invalid="ignore", divide="ignore"):
            distance = (
                np.log(prices[np.asarray(targets, dtype=np.intp)]) - math.log(median)
            ) / width
        near = (np.isfinite(distance) & (np.abs(distance) < 1.0)).tolist()
        return [
            f"{reason}, in your usual price range" if is_near else reason
            for is_near, reason in zip(near, base(targets), strict=True)
        ]

    return reasons
