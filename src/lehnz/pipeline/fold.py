"""Folding one stored event into a user's state: shared by the pipeline, which applies the
log for good, and the state reader, which folds in a user's events the pipeline has not
reached yet, so the serving side never waits for it."""

from __future__ import annotations

from typing import Any

from lehnz.pipeline.state import State, apply_event
from lehnz.pipeline.weights import EventWeights
from lehnz.store.events import StoredEvent


def fold_event(
    state: State, event: StoredEvent, weights: EventWeights, *, price: float | None
) -> tuple[float, bool]:
    """Apply ``event`` to ``state`` in place; its quantity and whether it was a purchase."""
    context = event.context
    quantity = (
        positive_number(context.get("quantity"), default=1.0) if isinstance(context, dict) else 1.0
    )
    weight, is_purchase = weights.folding(event.event_name)
    apply_event(
        state,
        event_name=event.event_name,
        item_id=event.item_id,
        weight=weight,
        at=event.occurred_at.timestamp(),
        price=price,
        quantity=quantity,
        is_purchase=is_purchase,
    )
    return quantity, is_purchase


def positive_number(value: Any, *, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return default
