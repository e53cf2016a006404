"""How much an event says about a shopper's interest, by name and the organisation's families.

Starting values from DESIGN.md; the quality benchmark may retune them per organisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Family = Literal["engagement", "conversion"]

STANDARD_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "search": 0.5,
    "click": 2.0,
    "add_to_cart": 4.0,
    "remove_from_cart": -3.0,
    "checkout_start": 6.0,
    "purchase": 10.0,
    "identify": 0.0,
}
STANDARD_FAMILIES: dict[str, Family] = {
    "view": "engagement",
    "search": "engagement",
    "click": "engagement",
    "add_to_cart": "engagement",
    "remove_from_cart": "engagement",
    "checkout_start": "engagement",
    "purchase": "conversion",
    "identify": "engagement",
}
FAMILY_WEIGHTS: dict[Family, float] = {"engagement": 1.0, "conversion": 8.0}


class EventWeights:
    """Weights and families for one organisation: standard names fixed, custom names by the
    organisation's mapping (``{"wishlist": "conversion"}``), ``engagement`` otherwise."""

    def __init__(self, custom_families: Mapping[str, str] | None = None) -> None:
        self._custom: dict[str, Family] = {
            name: "conversion" if family == "conversion" else "engagement"
            for name, family in (custom_families or {}).items()
        }
        self._folding: dict[str, tuple[float, bool]] = {}

    def family(self, event_name: str) -> Family:
        return STANDARD_FAMILIES.get(event_name) or self._custom.get(event_name, "engagement")

    def weight(self, event_name: str) -> float:
        if event_name in STANDARD_WEIGHTS:
            return STANDARD_WEIGHTS[event_name]
        return FAMILY_WEIGHTS[self.family(event_name)]

    def is_conversion(self, event_name: str) -> bool:
        return self.family(event_name) == "conversion"

    def folding(self, event_name: str) -> tuple[float, bool]:
        """``(weight, counts as a purchase)`` of an event name, as the pipeline folds it:
        worked out once per name (the pipeline asks for every event)."""
        known = self._folding.get(event_name)
        if known is None:
            purchase = self.is_conversion(event_name) and event_name != "identify"
            known = self._folding[event_name] = (self.weight(event_name), purchase)
        return known
