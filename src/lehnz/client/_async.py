"""``AsyncLehnz``: the asyncio client (the same methods as ``Lehnz``, awaited)."""

from __future__ import annotations

import asyncio
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


class AsyncLehnz:
    """The asyncio twin of ``Lehnz``: the same arguments and methods, awaited.

    ``publishable_key`` is for tracking and recommendations, ``secret_key`` for the catalog,
    uploads, event history and models; a method whose key is missing raises
    ``MissingKeyError`` before sending anything. ``base_url`` is the server's root and serves
    both sides; ``ingestion_url`` (``.../api/v1`` paths) and ``recommendations_url``
    (``/recommend...``, ``/item/...``) override it for a side deployed apart. Failed attempts
    (connection errors, timeouts, 408, 429, 5xx) are retried up to ``max_retries`` times.
    ``timeout`` is in seconds. ``http_client`` is an ``httpx.AsyncClient`` to send with (left open
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
        http_client: httpx.AsyncClient | None = None,
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
        self._http = http_client if http_client is not None else httpx.AsyncClient()
        self.items = AsyncItems(self)
        self.users = AsyncUsers(self)
        self.uploads = AsyncUploads(self)
        self.models = AsyncModels(self)

    # ------------------------------------------------------------------------ plumbing

    async def _send(self, call: Call[T]) -> T:
        headers = self._config.headers(call)
        url = self._config.url(call)
        attempt = 0
        while True:
            error: LehnzError
            try:
                response = await self._http.request(
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
            await asyncio.sleep(delay)
            attempt += 1

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncLehnz:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ events (publishable)

    async def track(self, events: EventLike | Sequence[EventLike]) -> TrackResult:
        """Send one event or a list of up to 1,000 (``EventIn`` or dicts). An event without
        an ``event_id`` gets one (a UUID), so a retried batch is stored once; the result
        lists them."""
        return await self._send(_core.track(events))

    async def identify(self, *, user_id: str, previous_user_id: str) -> TrackResult:
        """The shopper signed in: merge ``previous_user_id`` (the anonymous id) into
        ``user_id``."""
        return await self._send(_core.identify(user_id, previous_user_id))

    # --------------------------------------------------------- recommendations (publishable)

    async def recommend(
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
        return await self._send(
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

    async def similar_items(
        self,
        item_id: str,
        *,
        limit: int | None = None,
        page: int | None = None,
        mode: Mode | None = None,
        include_attributes: bool | None = None,
    ) -> SimilarItems:
        """``GET /item/{item_id}``: items like this one."""
        return await self._send(
            _core.similar_items(
                item_id, limit=limit, page=page, mode=mode, include_attributes=include_attributes
            )
        )

    async def session_recommendations(
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
        return await self._send(
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

    async def basket(
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
        return await self._send(
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

    async def price_optimized(
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
        return await self._send(
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


class AsyncItems:
    """The catalog's items (secret key)."""

    def __init__(self, client: AsyncLehnz) -> None:
        self._client = client

    async def upsert(self, items: ItemLike | Sequence[ItemLike]) -> UpsertOut:
        """One item or a list of up to 10,000, upserted by ``item_id``; all or nothing."""
        return await self._client._send(_core.upsert("items", items))

    async def get(self, item_id: str) -> ItemOut:
        return await self._client._send(_core.get_item(item_id))

    async def delete(self, item_id: str) -> ItemDeleted:
        """Sets the item's status to ``deleted``: it is never recommended again."""
        return await self._client._send(_core.delete_item(item_id))


class AsyncUsers:
    """User profiles, their derived activity and stored events (secret key)."""

    def __init__(self, client: AsyncLehnz) -> None:
        self._client = client

    async def upsert(self, users: UserLike | Sequence[UserLike]) -> UpsertOut:
        return await self._client._send(_core.upsert("users", users))

    async def get(self, user_id: str) -> UserOut:
        return await self._client._send(_core.get_user(user_id))

    async def delete(self, user_id: str) -> ErasureOut:
        """Erases the user: profile, events, identity links, recommendation logs."""
        return await self._client._send(_core.delete_user(user_id))

    async def events(
        self, user_id: str, *, limit: int | None = None, before: str | None = None
    ) -> EventPageOut:
        """The user's stored events, newest first; pass ``next`` as ``before`` for more."""
        return await self._client._send(_core.user_events(user_id, limit=limit, before=before))


class AsyncUploads:
    """File imports (secret key): a CSV, JSON array or NDJSON file, gzip accepted, given as
    a path, bytes or a binary file object. ``filename`` tells the format when the name does
    not; ``strict=True`` refuses the whole file on any bad row."""

    def __init__(self, client: AsyncLehnz) -> None:
        self._client = client

    async def items(
        self, file: FileInput, *, filename: str | None = None, strict: bool = False
    ) -> ImportReport:
        return await self._client._send(_core.upload_catalog("items", file, filename, strict))

    async def users(
        self, file: FileInput, *, filename: str | None = None, strict: bool = False
    ) -> ImportReport:
        return await self._client._send(_core.upload_catalog("users", file, filename, strict))

    async def events(
        self, file: FileInput, *, filename: str | None = None, strict: bool = False
    ) -> EventImportReport:
        return await self._client._send(_core.upload_events(file, filename, strict))


class AsyncModels:
    """Training and model versions (secret key)."""

    def __init__(self, client: AsyncLehnz) -> None:
        self._client = client

    async def train(self) -> ModelOut:
        """Trains now; answers once the new version serves."""
        return await self._client._send(_core.train())

    async def list(self) -> ModelList:
        return await self._client._send(_core.list_models())
