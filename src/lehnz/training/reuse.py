"""Whether a retraining may fit the settings an earlier search chose, and skip the search.

The validation grids (``choose_params``, ``choose_basket_params``) are most of a training's
time, and settings chosen on a store barely change when the store barely does: a retrain
after 1% more events reuses them and costs a fraction of a full one. Each version records
where its settings came from (``validation.reused``: the version whose search chose them,
and the store then), so ``GET /api/v1/models`` says which versions searched.

A search runs again when any of these holds, each measured against the store *at the
search* (not the last reuse, so small growths do not add up unseen):

- the events grew by ``max_growth`` (10%) or more, or shrank (an erasure): the held-out
  slice the settings were scored on is no longer the latest one;
- the catalog's size changed by more than ``max_catalog_change`` (5%);
- ``max_reuses`` (24) versions in a row reused them: with the hourly retraining of
  ``LEHNZ_TRAIN_MAX_AGE_SECONDS``'s default, about a day;
- the search is ``max_age`` (1 day) old: a store's habits drift (seasons, sales) even when
  it grows slowly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lehnz.engine.model import Params
from lehnz.engine.trainer import Reuse
from lehnz.store.training import ModelRow


@dataclass(frozen=True)
class ReusePolicy:
    max_growth: float = 0.10
    max_catalog_change: float = 0.05
    max_reuses: int = 24
    max_age: timedelta = timedelta(days=1)

    def decide(
        self, previous: ModelRow | None, *, events: int, items: int, now: datetime
    ) -> tuple[Reuse, dict[str, Any]] | None:
        """The settings to reuse and the record of it (``validation.reused``), or None when
        this training should search."""
        if previous is None:
            return None
        validation = previous.manifest.get("validation") or {}
        chosen, share = validation.get("chosen"), validation.get("repeat_share")
        if not isinstance(chosen, dict) or not isinstance(share, int | float):
            return None  # the search was skipped (too few events) or the record is old
        lineage = validation.get("reused")
        if isinstance(lineage, dict):
            searched = lineage
            reuses = int(lineage.get("reuses", 0))
        else:
            trained_on = previous.manifest.get("trained_on") or {}
            when = previous.trained_at or previous.created_at
            searched = {
                "searched_version": previous.version,
                "searched_at": when.isoformat(),
                "searched_on_events": trained_on.get("events"),
                "searched_on_items": trained_on.get("items"),
            }
            reuses = 0
        try:
            base_events = int(searched["searched_on_events"])
            base_items = int(searched["searched_on_items"])
            age = now - datetime.fromisoformat(str(searched["searched_at"]))
            params = Params(**chosen)
        except (KeyError, TypeError, ValueError):
            return None
        growth = (events - base_events) / base_events if base_events else float("inf")
        if (
            not 0 <= growth < self.max_growth
            or abs(items - base_items) > self.max_catalog_change * base_items
            or reuses >= self.max_reuses
            or age >= self.max_age
        ):
            return None
        record = {
            "from_version": previous.version,
            **{key: searched[key] for key in _SEARCH_KEYS},
            "reuses": reuses + 1,
            "events_growth": round(growth, 4),
        }
        return Reuse(params, float(share)), record


_SEARCH_KEYS = ("searched_version", "searched_at", "searched_on_events", "searched_on_items")
