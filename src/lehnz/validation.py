"""Validating a JSON batch whole: every bad object is named, and nothing is kept if one is bad.

Shared by the catalog writes (``items[3].item_id: ...``) and event ingest
(``events[3].event_name: ...``), so both refuse and explain in exactly the same way.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError

from lehnz.errors import UnsupportedMediaType, ValidationFailed

M = TypeVar("M", bound=BaseModel)

MAX_REPORTED = 20

#: Deeper JSON is refused: no shop's data nests this far, and parsers recurse per level.
MAX_JSON_DEPTH = 64

# A JSON string, escapes included: brackets inside one do not nest anything. The closing
# quote is optional so that an unterminated string is consumed once, to the end: with it
# required, the search would start again at every quote inside, quadratic in the body.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?')


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether ``body`` (JSON text) opens more than ``limit`` arrays or objects inside each
    other. Linear and in C: a count first, since most bodies cannot be that deep at all."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    structure = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    steps = _STEP[np.frombuffer(structure, dtype=np.uint8)]
    return bool(steps.size and np.cumsum(steps, dtype=np.int64).max() > limit)


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = np.zeros(256, dtype=np.int8)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1


def describe(error: ValidationError, *, prefix: str) -> list[str]:
    """``prefix.field.sub[2]: reason`` for each problem of one object (no prefix: ``field``)."""
    problems = []
    for detail in error.errors(include_url=False):
        path = prefix
        for part in detail["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            else:
                path = f"{path}.{part}" if path else str(part)
        message = detail["msg"]
        if message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        problems.append(f"{path}: {message[:1].lower()}{message[1:]}")
    return problems


def parse_batch(payload: Any, model: type[M], *, root: str, max_size: int) -> list[M]:
    """One object or an array of up to ``max_size`` objects, each validated by ``model``.

    Raises ``ValidationFailed`` naming every bad index (the message shows the first 20) when
    any object is invalid, so a caller stores all or nothing.
    """
    if isinstance(payload, bytes | bytearray):
        raise UnsupportedMediaType("Content-Type must be application/json")
    if isinstance(payload, dict):
        objects, single = [payload], True
    elif isinstance(payload, list):
        objects, single = payload, False
    else:
        raise ValidationFailed([f"{root}: must be a JSON object or an array of objects"])
    if not objects:
        raise ValidationFailed([f"{root}: the array is empty; send at least one object"])
    if len(objects) > max_size:
        raise ValidationFailed(
            [f"{root}: at most {max_size:,} objects per request, got {len(objects):,}"]
        )
    valid: list[M] = []
    problems: list[str] = []
    bad_indexes = 0
    for index, candidate in enumerate(objects):
        prefix = root if single else f"{root}[{index}]"
        if not isinstance(candidate, dict):
            problems.append(f"{prefix}: must be a JSON object")
            bad_indexes += 1
            continue
        try:
            valid.append(model.model_validate(candidate))
        except ValidationError as exc:
            bad_indexes += 1
            if bad_indexes <= MAX_REPORTED:
                problems.extend(describe(exc, prefix=prefix))
    if problems:
        summary = f"{bad_indexes} of {len(objects)} {root} invalid; nothing was stored"
        raise ValidationFailed(
            problems, message=f"{summary}: " + "; ".join(problems[:MAX_REPORTED])
        )
    return valid


# PostgreSQL cannot store U+0000 in text or JSONB; both databases refuse it the same way.
NUL_REASON = "must not contain the NUL character (\\u0000)"


def nul_paths(value: Any, path: str) -> list[str]:
    """Where in a parsed JSON value a string (or an object key) holds U+0000."""
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    found: list[str] = []
    if isinstance(value, list):
        for index, item in enumerate(value):
            found += nul_paths(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                found.append(child.replace("\x00", "\\u0000"))
            found += nul_paths(item, child)
    return found
