"""``Lehnz``: the blocking client."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from lehnz.client import _core
from lehnz.client._core import Call, EventLike, FileInput, ItemLike, UserLike
from lehnz.client.errors import APIConnectionError, APITimeoutError, LehnzError
from lehnz.client.types import (
    BasketRecommendations,
    BasketRequest,
    ErasureOut,
    EventImportReport,
    EventPageOut,
    ImportReport,
    ItemDeleted,
    ItemOut,
    Mode,
    ModelList,
    ModelOut,
    PriceOptimizedRecommendations,
    PriceOptimizedRequest,
    RecommendRequest,
    SessionRequest,
    SimilarItems,
    TrackResult,
    UpsertOut,
    UserOut,
    UserRecommendations,
)

T = TypeVar("T")


class Lehnz:
    """A client of a lehnz server (or of the hosted API).

    ``publishable_key`` is for tracking and recommendations, ``secret_key`` for the catalog,
    uploads, event history and models; a method whose key is missing raises
    ``MissingKeyError`` before sending anything. ``base_url`` is the server's root and serves
    both sides; ``ingestion_url`` (``.../api/v1`` paths) and ``recommendations_url``
    (``/recommend...``, ``/item/...``) override it for a side deployed apart. Failed attempts
    (connection errors, timeouts, 408, 429, 5xx) are retried up to ``max_retries`` times.
    ``timeout`` is in seconds. ``http_client`` is an ``httpx.Client`` to send with (left open
    by ``close()``).
    """

    def __init__(
        self,
        publishable_key: str | None = None,
        secret_key: str | None = None,
        base_url: str | None = None,
        ingestion_url: str | None = None,
        recommendations_url: str | None = None,
        domain: str = "commerce",
        max_retries: int = 2,
        timeout: float | httpx.Timeout = 10.0,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._config = _core.Config(
            publishable_key=publishable_key,
            secret_key=secret_key,
            base_url=base_url,
            ingestion_url=ingestion_url,
            recommendations_url=recommendations_url,
            domain=domain,
            max_retries=max_retries,
            timeout=timeout,
        )
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.Client()
        self.items = Items(self)
        self.users = Users(self)
        self.uploads = Uploads(self)
        self.models = Models(self)

    # ------------------------------------------------------------------------ plumbing

    def _send(self, call: Call[T]) -> T:
        headers = self._config.headers(call)
        url = self._config.url(call)
        attempt = 0
        while True:
            error: LehnzError
            try:
                response = self._http.request(
                    call.method,
                    url,
                    headers=headers,
                    content=call.body,
                    params=call.params or None,
                    files=_core.upload_files(call),
                    timeout=self._config.timeout,
                )
            except httpx.TimeoutException as exc:
                error = APITimeoutError(f"No answer from {url} in time: {exc}")
                error.__cause__ = exc
            except httpx.TransportError as exc:
                error = APIConnectionError(f"Cannot reach {url}: {exc}")
                error.__cause__ = exc
            else:
                if response.is_success:
                    return call.parse(response.json())
                error = _core.error_from(response)
            finally:
                if call.upload is not None:
                    call.upload.close()
            delay = _core.retry_delay(
                error, attempt, self._config.max_retries, idempotent=call.idempotent
            )
            if delay is None:
                raise error
            time.sleep(delay)
            attempt += 1

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Lehnz:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ events (publishable)

    def track(self, events: EventLike | Sequence[EventLike]) -> TrackResult:
        """Send one event or a list of up to 1,000 (``EventIn`` or dicts). An event without
        an ``event_id`` gets one (a UUID), so a retried batch is stored once; the result
        lists them."""
        return self._send(_core.track(events))

    def identify(self, *, user_id: str, previous_user_id: str) -> TrackResult:
        """The shopper signed in: merge ``previous_user_id`` (the anonymous id) into
        ``user_id``."""
        return self._send(_core.identify(user_id, previous_user_id))

    # --------------------------------------------------------- recommendations (publishable)

    def recommend(
        self,
        user_id: str | RecommendRequest,
        *,
        limit: int | None = None,
        page: int | None = None,
        placement: str | None = None,
        mode: Mode | None = None,
        filters: Mapping[str, Any] | None = None,
        exclude_item_ids: Sequence[str] | None = None,
        include_attributes: bool | None = None,
        include_purchased: bool | None = None,
    ) -> UserRecommendations:
        """``POST /recommend``: a personalised list for a user."""
        return self._send(
            _core.recommend(
                user_id,
                limit=limit,
                page=page,
                placement=placement,
                mode=mode,
                filters=filters,
                exclude_item_ids=exclude_item_ids,
                include_attributes=include_attributes,
                include_purchased=include_purchased,
            )
        )

    def similar_items(
        self,
        item_id: str,
        *,
        limit: int | None = None,
        page: int | None = None,
        mode: Mode | None = None,
        include_attributes: bool | None = None,
    ) -> SimilarItems:
        """``GET /item/{item_id}``: items like this one."""
        return self._send(
            _core.similar_items(
                item_id, limit=limit, page=page, mode=mode, include_attributes=include_attributes
            )
        )

    def session_recommendations(
        self,
        clicked_item_id: str | SessionRequest,
        *,
        limit: int | None = None,
        page: int | None = None,
        mode: Mode | None = None,
        filters: Mapping[str, Any] | None = None,
        exclude_item_ids: Sequence[str] | None = None,
        include_attributes: bool | None = None,
    ) -> SimilarItems:
        """``POST /recommend/session``: items nearest to a clicked item."""
        return self._send(
            _core.session(
                clicked_item_id,
                limit=limit,
                page=page,
                mode=mode,
                filters=filters,
                exclude_item_ids=exclude_item_ids,
                include_attributes=include_attributes,
            )
        )

    def basket(
        self,
        item_ids: Sequence[str] | BasketRequest,
        *,
        limit: int | None = None,
        page: int | None = None,
        user_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        exclude_item_ids: Sequence[str] | None = None,
        include_attributes: bool | None = None,
    ) -> BasketRecommendations:
        """``POST /recommend/basket``: items bought together with the cart's."""
        return self._send(
            _core.basket(
                item_ids,
                limit=limit,
                page=page,
                user_id=user_id,
                filters=filters,
                exclude_item_ids=exclude_item_ids,
                include_attributes=include_attributes,
            )
        )

    def price_optimized(
        self,
        user_id: str | PriceOptimizedRequest,
        *,
        limit: int | None = None,
        page: int | None = None,
        placement: str | None = None,
        mode: Mode | None = None,
        filters: Mapping[str, Any] | None = None,
        exclude_item_ids: Sequence[str] | None = None,
        include_attributes: bool | None = None,
    ) -> PriceOptimizedRecommendations:
        """``POST /recommend/price_optimized``: the personalised list, re-ranked to the
        user's price range."""
        return self._send(
            _core.price_optimized(
                user_id,
                limit=limit,
                page=page,
                placement=placement,
                mode=mode,
                filters=filters,
                exclude_item_ids=exclude_item_ids,
                include_attributes=include_attributes,
            )
        )


class Items:
    """The catalog's items (secret key)."""

    def __init__(self, client: Lehnz) -> None:
        self._client = client

    def upsert(self, items: ItemLike | Sequence[ItemLike]) -> UpsertOut:
        """One item or a list of up to 10,000, upserted by ``item_id``; all or nothing."""
        return self._client._send(_core.upsert("items", items))

    def get(self, item_id: str) -> ItemOut:
        return self._client._send(_core.get_item(item_id))

    def delete(self, item_id: str) -> ItemDeleted:
        """Sets the item's status to ``deleted``: it is never recommended again."""
        return self._client._send(_core.delete_item(item_id))


class Users:
    """User profiles, their derived activity and stored events (secret key)."""

    def __init__(self, client: Lehnz) -> None:
        self._client = client

    def upsert(self, users: UserLike | Sequence[UserLike]) -> UpsertOut:
        return self._client._send(_core.upsert("users", users))

    def get(self, user_id: str) -> UserOut:
        return self._client._send(_core.get_user(user_id))

    def delete(self, user_id: str) -> ErasureOut:
        """Erases the user: profile, events, identity links, recommendation logs."""
        return self._client._send(_core.delete_user(user_id))

    def events(
        self, user_id: str, *, limit: int | None = None, before: str | None = None
    ) -> EventPageOut:
        """The user's stored events, newest first; pass ``next`` as ``before`` for more."""
        return self._client._send(_core.user_events(user_id, limit=limit, before=before))


class Uploads:
    """File imports (secret key): a CSV, JSON array or NDJSON file, gzip accepted, given as
    a path, bytes or a binary file object. ``filename`` tells the format when the name does
    not; ``strict=True`` refuses the whole file on any bad row."""

    def __init__(self, client: Lehnz) -> None:
        self._client = client

    def items(
        self, file: FileInput, *, filename: str | None = None, strict: bool = False
    ) -> ImportReport:
        return self._client._send(_core.upload_catalog("items", file, filename, strict))

    def users(
        self, file: FileInput, *, filename: str | None = None, strict: bool = False
    ) -> ImportReport:
        return self._client._send(_core.upload_catalog("users", file, filename, strict))

    def events(
        self, file: FileInput, *, filename: str | None = None, strict: bool = False
    ) -> EventImportReport:
        return self._client._send(_core.upload_events(file, filename, strict))


class Models:
    """Training and model versions (secret key)."""

    def __init__(self, client: Lehnz) -> None:
        self._client = client

    def train(self) -> ModelOut:
        """Trains now; answers once the new version serves."""
        return self._client._send(_core.train())

    def list(self) -> ModelList:
        return self._client._send(_core.list_models())
