"""Decoding JSON from files as RFC 8259 has it, and checking what came out.

Python's ``json`` accepts ``NaN``, ``Infinity`` and ``-Infinity``, which are not JSON. They are
decoded here to a marker instead of failing the decode, so one such row is rejected with its
line while the rest of a JSON array (which cannot be resynchronised after an error) still
imports.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from lehnz.imports.limits import ReadLimits

#: Deeper values are refused as a bad row: the validators downstream recurse.
MAX_DEPTH = 64


class NonStandardConstant:
    """What ``NaN``, ``Infinity`` or ``-Infinity`` decodes to: never valid in a record."""

    def __init__(self, name: str) -> None:
        self.name = name


DECODER = json.JSONDecoder(parse_constant=NonStandardConstant)

#: What a decode can raise on a hostile text: malformed JSON, an integer of more than 4,300
#: digits (``ValueError``), or nesting deeper than the interpreter's stack (``RecursionError``).
DECODE_ERRORS = (ValueError, RecursionError)


def decode_error_reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)


def may_have_a_problem(text: str, start: int, end: int, limits: ReadLimits) -> bool:
    """Whether the record encoded in ``text[start:end]`` needs ``problem``'s walk: a string
    is never longer decoded than encoded, nesting needs as many brackets, and a constant
    needs its name, so most records are cleared by a few scans in C."""
    return (
        end - start > limits.field_chars
        or text.find("NaN", start, end) >= 0
        or text.find("Infinity", start, end) >= 0
        or text.count("[", start, end) + text.count("{", start, end) > MAX_DEPTH
    )


def problem(record: dict[str, Any], limits: ReadLimits, line: int) -> str | None:
    """Why the decoded ``record`` cannot be one (a non-standard constant, nesting deeper than
    ``MAX_DEPTH``), or ``None``. A string or key longer than ``limits.field_chars`` raises: the
    file as a whole is refused. Iterative, so a deep value cannot overflow it; only containers
    are stacked, so a flat record costs one pass over its values."""
    field_chars = limits.field_chars
    pending: list[tuple[dict[str, Any] | list[Any], int]] = [(record, 0)]
    while pending:
        container, depth = pending.pop()
        if depth >= MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels"
        children: Iterable[Any] = container
        if isinstance(container, dict):
            if any(len(key) > field_chars for key in container):
                raise limits.field_too_long(line)
            children = container.values()
        for child in children:
            if isinstance(child, str):
                if len(child) > field_chars:
                    raise limits.field_too_long(line)
            elif isinstance(child, dict | list):
                pending.append((child, depth + 1))
            elif isinstance(child, NonStandardConstant):
                return f"malformed JSON: {child.name} is not valid JSON (RFC 8259)"
    return None
