"""From a file's raw record to the object the API would take.

A CSV cell is text; a JSON record is already typed. Both get the same treatment: the known
fields are picked out and everything else becomes an attribute (items, users) or part of
``context`` (events), so a flat export from any shop system imports as it is.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from lehnz.imports.jsonvalues import DECODE_ERRORS, DECODER, MAX_DEPTH, NonStandardConstant

Kind = Literal["items", "users", "events"]

_ITEM_FIELDS = ("item_id", "item_type", "status")
_USER_FIELDS = ("user_id",)
_EVENT_FIELDS = (
    "user_id",
    "event_name",
    "item_id",
    "session_id",
    "recommendation_id",
    "previous_user_id",
    "timestamp",
    "event_id",
)
# Context values the engines compute with (revenue is price times quantity).
_NUMERIC_CONTEXT = ("quantity", "price")
# A CSV timestamp written as a number (epoch seconds): signs and exponents included, so
# "1e20" reaches the validator as the out-of-range number it is, as it would from JSON.
_EPOCH = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _cell(value: Any, *, from_csv: bool) -> Any:
    """A CSV cell holding a JSON array or object becomes that value; other cells stay text,
    and so does a cell that is not standard JSON (``[NaN]``, an integer of 5,000 digits,
    nesting past ``MAX_DEPTH``)."""
    if from_csv and isinstance(value, str) and value[:1] in "[{":
        try:
            parsed = DECODER.decode(value)
        except DECODE_ERRORS:
            return value
        return value if _non_standard(parsed) else parsed
    return value


def _non_standard(value: Any) -> bool:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, NonStandardConstant) or depth > MAX_DEPTH:
            return True
        if isinstance(current, dict):
            stack.extend((item, depth + 1) for item in current.values())
        elif isinstance(current, list):
            stack.extend((item, depth + 1) for item in current)
    return False


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    return value


def to_object(kind: Kind, values: dict[str, Any], *, from_csv: bool) -> dict[str, Any]:
    if from_csv:
        # An empty CSV cell means "no value", not an empty string.
        values = {key: value for key, value in values.items() if value != ""}
    if kind == "events":
        return _event(values, from_csv=from_csv)
    fields = _ITEM_FIELDS if kind == "items" else _USER_FIELDS
    result = {field: values[field] for field in fields if field in values}
    attributes = values.get("attributes")
    extra = {
        key: _cell(value, from_csv=from_csv)
        for key, value in values.items()
        if key not in fields and key != "attributes"
    }
    if isinstance(attributes, str) and from_csv:
        attributes = _cell(attributes, from_csv=True)
    if attributes is not None or extra:
        if attributes is None:
            attributes = {}
        result["attributes"] = (
            {**extra, **attributes} if isinstance(attributes, dict) else attributes
        )
    return result


def _event(values: dict[str, Any], *, from_csv: bool) -> dict[str, Any]:
    result = {field: values[field] for field in _EVENT_FIELDS if field in values}
    if from_csv and isinstance(result.get("timestamp"), str):
        stamp = result["timestamp"].strip()
        result["timestamp"] = _number(stamp) if _EPOCH.fullmatch(stamp) else stamp
    context = values.get("context")
    if from_csv:
        context = _cell(context, from_csv=True)
    extra = {
        key: _cell(value, from_csv=from_csv)
        for key, value in values.items()
        if key not in _EVENT_FIELDS and key != "context"
    }
    if extra:
        context = {**extra, **context} if isinstance(context, dict) else {**extra}
    if isinstance(context, dict):
        for key in _NUMERIC_CONTEXT:
            if key in context:
                context[key] = _number(context[key])
    if context is not None:
        result["context"] = context
    return result
