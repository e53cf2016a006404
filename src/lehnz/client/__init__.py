"""The Python client of the lehnz API: ``Lehnz`` (blocking) and ``AsyncLehnz`` (asyncio).

    from lehnz.client import Lehnz

    with Lehnz(publishable_key="lehnz_pk_…", secret_key="lehnz_sk_…",
               base_url="http://localhost:8000") as lehnz:
        lehnz.track({"user_id": "u1", "event_name": "view", "item_id": "sku-1"})
        lehnz.recommend("u1", limit=5).all_item_ids

See docs/python-client.md.
"""

from lehnz.client._async import AsyncLehnz
from lehnz.client._core import FileInput, path_id
from lehnz.client._sync import Lehnz
from lehnz.client.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    LehnzError,
    MissingKeyError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
)

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncLehnz",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "FileInput",
    "InternalServerError",
    "Lehnz",
    "LehnzError",
    "MissingKeyError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "path_id",
]
