"""Instants as a store sends them: ISO 8601, or epoch seconds, never milliseconds.

Pydantic reads a number above about 2e10 as milliseconds, and a date whose offset moves it
past year 9999 or before year 1 overflows with a 500. Both rules live here, for event
timestamps (strict: a value out of range is refused) and for the bounds of a report's window
(lenient: a bound past the range means "everything that way").
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
EARLIEST_EPOCH = 0
LATEST_EPOCH = 253_402_300_799  # LATEST in epoch seconds

RANGE_REASON = (
    "out of range: an ISO 8601 date-time or epoch seconds from 1970 to 9999 (not milliseconds)"
)

# Epoch seconds sent as text (a query parameter, a CSV cell).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value)
    return None


def _in_utc(value: datetime) -> datetime:
    """``value`` in UTC (no zone is UTC); ``OverflowError`` when its offset leaves the years
    Python can hold."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _strict_epoch(value: Any) -> Any:
    number = _as_number(value)
    if number is None:
        return value
    if not EARLIEST_EPOCH <= number <= LATEST_EPOCH:  # NaN and infinities included
        raise ValueError(RANGE_REASON)
    return datetime.fromtimestamp(number, UTC)


def _strict_range(value: datetime) -> datetime:
    try:
        value = _in_utc(value)
    except OverflowError:
        raise ValueError(RANGE_REASON) from None
    if value < EARLIEST:
        raise ValueError(RANGE_REASON)
    return value


def _clamped_epoch(value: Any) -> Any:
    number = _as_number(value)
    if number is None:
        return value
    if math.isnan(number):
        raise ValueError("not a number")
    return datetime.fromtimestamp(min(max(number, EARLIEST_EPOCH), LATEST_EPOCH), UTC)


def _clamped_range(value: datetime) -> datetime:
    try:
        value = _in_utc(value)
    except OverflowError:
        return EARLIEST if value.year < 5000 else LATEST
    return min(max(value, EARLIEST), LATEST)


#: When an event happened: refused when out of range, since storing it would be a bug.
Timestamp = Annotated[datetime, BeforeValidator(_strict_epoch), AfterValidator(_strict_range)]

#: A bound of a window to report on: clamped into the range, since any bound is a fair ask.
WindowBound = Annotated[datetime, BeforeValidator(_clamped_epoch), AfterValidator(_clamped_range)]
