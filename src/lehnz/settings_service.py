"""Per-organisation settings that developers change from the dashboard."""

from __future__ import annotations

import re
from collections.abc import Mapping

from lehnz.catalog.models import NOT_BLANK
from lehnz.errors import NotFound, ValidationFailed
from lehnz.notices import Notices
from lehnz.pipeline.weights import STANDARD_FAMILIES
from lehnz.ratelimit.policy import SETTING as RATE_LIMIT_SETTING
from lehnz.store import Store, settings_queries
from lehnz.store import accounts as account_queries

FAMILIES = ("engagement", "conversion")
MAX_CUSTOM_EVENTS = 1000
MAX_ORGANIZATION_NAME = 200
_NOT_BLANK = re.compile(NOT_BLANK)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class SettingsService:
    def __init__(self, store: Store, notices: Notices) -> None:
        self._store = store
        self._notices = notices

    def event_families(self, *, organization_id: str) -> dict[str, str]:
        with self._store.read() as connection:
            settings = account_queries.organization_settings(connection, organization_id)
        return dict(settings.get("event_families") or {})

    def set_event_families(
        self, *, organization_id: str, families: Mapping[str, object]
    ) -> dict[str, str]:
        """Replace the organisation's mapping of custom event names to families. Names not in
        it count as ``engagement``; the standard names' families are fixed."""
        problems = []
        for name, family in families.items():
            if name in STANDARD_FAMILIES:
                problems.append(f"{name}: a standard event name; its family is fixed")
            elif not _NOT_BLANK.search(name) or len(name) > 256:
                problems.append(f"{name!r}: an event name has 1 to 256 characters")
            elif family not in FAMILIES:
                problems.append(f"{name}: must be 'engagement' or 'conversion', got {family!r}")
        if len(families) > MAX_CUSTOM_EVENTS:
            problems.append(f"body: at most {MAX_CUSTOM_EVENTS} custom event names")
        if problems:
            raise ValidationFailed(problems)
        mapping = {name: str(family) for name, family in families.items()}
        with self._store.write() as connection:
            account_queries.set_organization_setting(
                connection, organization_id, key="event_families", value=mapping
            )
        return mapping

    def set_rate_limit(
        self, *, organization_id: str, requests: int | None, window_seconds: int | None
    ) -> None:
        """The organisation's own request window (``None``: the server-wide one again).
        Every process applies it within seconds, at once where notices reach it."""
        value = (
            None if requests is None else {"requests": requests, "window_seconds": window_seconds}
        )
        with self._store.write() as connection:
            account_queries.set_organization_setting(
                connection, organization_id, key=RATE_LIMIT_SETTING, value=value
            )
        self._notices.publish("settings", organization_id)

    def rename_organization(self, *, organization_id: str, name: str) -> str:
        """Give the organisation a new name (surrounding spaces dropped): 1 to 200 characters
        as on sign-up, not blank, and no control characters (the name shows in every page's
        header). Returns the name kept."""
        name = name.strip()
        if not _NOT_BLANK.search(name) or len(name) > MAX_ORGANIZATION_NAME:
            raise ValidationFailed([f"name: 1 to {MAX_ORGANIZATION_NAME} characters, not blank"])
        if _CONTROL.search(name):
            raise ValidationFailed(["name: no control characters (such as NUL or line breaks)"])
        with self._store.write() as connection:
            if not settings_queries.rename_organization(connection, organization_id, name):
                raise NotFound("No such organisation")
        return name
