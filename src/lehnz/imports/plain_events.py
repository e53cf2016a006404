"""The common CSV event row, checked and turned into a log row without building a model.

Why: at a million events, validating each row through ``EventIn`` (and the conversions
around it) was most of an import's time. Nearly every row of a real export is plain: ids
that are short printable text, an ISO 8601 time in UTC, a few extra columns of text or
numbers. Such a row is checked here with the same rules the model applies and becomes the
same log row ``lehnz.events.log.event_row`` would make of the model. Anything this module is
not certain about (an epoch number, an offset other than UTC, a JSON cell, a NUL, a blank
id, ``identify``...) returns ``None``, and the row goes through the model as before, which
gives the exact rejection the API would: this path only ever accepts what the model accepts,
and stores it identically.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from lehnz.imports.rows import _EVENT_FIELDS, _NUMERIC_CONTEXT, _number

#: ``YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+00:00]``: RFC 3339 in UTC, read alike by pydantic and
#: ``datetime.fromisoformat`` (which still refuses a day or hour that does not exist).
_UTC_STAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|\+00:00)?"
)
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
#: ``EventIn`` refuses times more than 24 hours ahead; a minute's margin leaves the rows
#: near that line to the model, so that the two clocks' readings never disagree.
_AHEAD = timedelta(hours=24) - timedelta(minutes=1)
_ID_LENGTH = 256
_SAFE_INTEGER = 2**53
_LENGTHS = {"session_id": 256, "recommendation_id": 64, "event_id": 128}


def _id(value: str) -> bool:
    # ExternalId: 1 to 256 characters, not blank. A first character in ASCII ! to ~ is
    # not blank by any definition; anything else is left to the model.
    return 0 < len(value) <= _ID_LENGTH and "!" <= value[0] <= "~"


class PlainEvents:
    """Rows of one file, with the moment "now" read once per chunk (see ``refresh``)."""

    def __init__(self) -> None:
        self._latest = datetime.now(UTC) + _AHEAD

    def refresh(self) -> None:
        self._latest = datetime.now(UTC) + _AHEAD

    def row(self, values: dict[str, str]) -> dict[str, Any] | None:
        """The log row of a CSV record (without ``organization_id`` and ``received_at``;
        ``occurred_at`` None when the row has no time), or None for the model to decide."""
        user_id = values.get("user_id", "")
        event_name = values.get("event_name", "")
        if not (_id(user_id) and _id(event_name)) or event_name == "identify":
            return None
        if "context" in values:  # a JSON document: the model's path parses it
            return None
        item_id = values.get("item_id") or None
        if item_id is not None and not _id(item_id):
            return None
        previous = values.get("previous_user_id") or None
        if previous is not None and not _id(previous):
            return None
        context: dict[str, Any] | None = None
        row: dict[str, Any] = {
            "event_id": None,
            "user_id": user_id,
            "event_name": event_name,
            "item_id": item_id,
            "session_id": None,
            "recommendation_id": None,
            "previous_user_id": previous,
            "context": None,
            "occurred_at": None,
        }
        for key, value in values.items():
            if "\x00" in value:
                return None
            if key in _EVENT_FIELDS:
                if key in _LENGTHS and value:
                    if len(value) > _LENGTHS[key]:
                        return None
                    row[key] = value
                continue
            if value == "":  # an empty cell is no value
                continue
            if value[:1] in "[{" or "\x00" in key:  # a JSON cell: the model's path parses it
                return None
            if context is None:
                context = {}
            context[key] = value
        if context is not None:
            for key in _NUMERIC_CONTEXT:
                if key in context:
                    number = _number(context[key])
                    if isinstance(number, float) and not math.isfinite(number):
                        return None
                    if isinstance(number, int) and abs(number) > _SAFE_INTEGER:
                        return None
                    context[key] = number
            row["context"] = context
        stamp = values.get("timestamp", "").strip()
        if stamp:
            if not _UTC_STAMP.fullmatch(stamp):
                return None
            if not stamp.endswith(("Z", "+00:00")):  # no offset: UTC, parsed as such in
                stamp += "+00:00"  # one step (``.replace(tzinfo=UTC)`` after cost four parses)
            try:
                occurred = datetime.fromisoformat(stamp)
            except ValueError:
                return None
            if not _EARLIEST <= occurred <= self._latest:
                return None
            row["occurred_at"] = occurred
        return row
