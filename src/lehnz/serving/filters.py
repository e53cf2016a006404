"""Attribute filters: ``{"category": "shoes", "price": {"gte": 10, "lt": 100}}``.

All conditions must hold. A bare value means ``eq``; an object holds operators (``eq ne in
nin gt gte lt lte exists``). ``item_type`` and ``item_id`` address those fields, any other
key an attribute. For list-valued attributes (``category: ["a", "b"]``), ``eq`` means
"contains" and ``in`` means "shares any value". Parsing fails loudly on an unknown operator
so a typo never silently returns everything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lehnz.errors import ValidationFailed

OPERATORS = ("eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "exists")
Predicate = Callable[[str, str, Mapping[str, Any]], bool]

_MISSING = object()


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if actual is _MISSING:
        return op in ("ne", "nin")
    if op == "eq":
        return expected in _values(actual)
    if op == "ne":
        return expected not in _values(actual)
    if op == "in":
        return any(v in expected for v in _values(actual))
    if op == "nin":
        return not any(v in expected for v in _values(actual))
    if isinstance(actual, bool) or not isinstance(actual, int | float):
        if isinstance(actual, str) and isinstance(expected, str):
            pass  # strings compare lexically (dates in ISO form work)
        else:
            return False
    try:
        return {
            "gt": actual > expected,
            "gte": actual >= expected,
            "lt": actual < expected,
            "lte": actual <= expected,
        }[op]
    except TypeError:
        return False


def parse_filters(spec: Mapping[str, Any] | None, *, field: str = "filters") -> Predicate | None:
    if not spec:
        return None
    conditions: list[tuple[str, str, Any]] = []
    problems: list[str] = []
    for key, condition in spec.items():
        if isinstance(condition, dict):
            if not condition:
                problems.append(f"{field}.{key}: an empty condition")
            for op, expected in condition.items():
                if op not in OPERATORS:
                    problems.append(
                        f"{field}.{key}.{op}: unknown operator; use one of {', '.join(OPERATORS)}"
                    )
                elif op in ("in", "nin") and not isinstance(expected, list):
                    problems.append(f"{field}.{key}.{op}: must be an array")
                elif op == "exists" and not isinstance(expected, bool):
                    problems.append(f"{field}.{key}.exists: must be true or false")
                else:
                    conditions.append((key, op, expected))
        else:
            conditions.append((key, "eq", condition))
    if problems:
        raise ValidationFailed(problems)

    def predicate(item_id: str, item_type: str, attributes: Mapping[str, Any]) -> bool:
        for key, op, expected in conditions:
            if key == "item_id":
                actual: Any = item_id
            elif key == "item_type":
                actual = item_type
            else:
                actual = attributes.get(key, _MISSING)
                if actual is None:
                    actual = _MISSING
            if op == "exists":
                if (actual is not _MISSING) != expected:
                    return False
            elif not _compare(op, actual, expected):
                return False
        return True

    return predicate
