"""Dashboard statistics: what recommendation lists were shown and what they earned."""

from __future__ import annotations

from datetime import datetime

from lehnz.errors import ValidationFailed
from lehnz.store import Store
from lehnz.store import stats as queries
from lehnz.store.stats import AttributionRow


class StatsService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def attribution(
        self, *, organization_id: str, start: datetime, end: datetime
    ) -> list[AttributionRow]:
        if end <= start:
            raise ValidationFailed(["end: must be after start"])
        with self._store.read() as connection:
            return queries.attribution(
                connection, organization_id=organization_id, start=start, end=end
            )
