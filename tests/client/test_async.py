"""``lehnz.client.AsyncLehnz`` against the same real server, run with ``asyncio.run``."""

from __future__ import annotations

import asyncio
import io

import httpx
import pytest

from lehnz.client import (
    APIConnectionError,
    APITimeoutError,
    AsyncLehnz,
    BadRequestError,
    MissingKeyError,
    NotFoundError,
    PermissionDeniedError,
)
from tests.factories import Tenant
from tests.processes import free_port


def test_the_async_client_does_what_the_sync_one_does(server: str, org: Tenant) -> None:
    async def scenario() -> None:
        async with AsyncLehnz(
            publishable_key=org.publishable, secret_key=org.secret, base_url=server
        ) as lehnz:
            assert (await lehnz.items.upsert([{"item_id": "a/1"}, {"item_id": "a-2"}])).created
            assert (await lehnz.items.get("a/1")).item_id == "a/1"
            assert (await lehnz.items.delete("a-2")).status == "deleted"
            assert (await lehnz.users.upsert({"user_id": "async-u"})).upserted == 1
            report = await lehnz.uploads.items(io.BytesIO(b"item_id\na-3\n"), filename="i.csv")
            assert report.imported == 1
            assert (await lehnz.uploads.users(b"user_id\nasync-v\n")).imported == 1
            events = b'{"user_id": "async-u", "event_name": "view", "item_id": "a/1"}\n'
            assert (await lehnz.uploads.events(events, filename="e.ndjson")).imported == 1
            tracked = await asyncio.gather(
                *(
                    lehnz.track({"user_id": "async-u", "event_name": "click", "item_id": "a-3"})
                    for _ in range(5)
                )
            )
            assert sum(t.accepted for t in tracked) == 5
            await lehnz.identify(user_id="async-member", previous_user_id="async-u")
            page = await lehnz.users.events("async-u", limit=3)
            assert len(page.events) == 3 and page.next
            assert (await lehnz.users.get("async-v")).user_id == "async-v"
            assert (await lehnz.users.delete("async-v")).user_id == "async-v"

            model = await lehnz.models.train()
            assert (await lehnz.models.list()).models[0].version == model.version
            assert (await lehnz.recommend("async-u", limit=2)).meta.limit == 2
            assert (await lehnz.price_optimized("async-u")).source == "price_optimized"
            assert (await lehnz.basket(["a/1"])).basket_items == ["a/1"]
            assert (await lehnz.session_recommendations("a/1")).item_id == "a/1"
            assert (await lehnz.similar_items("a/1", limit=2)).mode == "semantic"

            with pytest.raises(NotFoundError):
                await lehnz.similar_items("never-sent")
            with pytest.raises(BadRequestError):
                await lehnz.basket([])

        async with AsyncLehnz(publishable_key=org.secret, base_url=server) as wrong:
            with pytest.raises(PermissionDeniedError):
                await wrong.recommend("u")
            with pytest.raises(MissingKeyError):
                await wrong.items.get("x")
        closed = f"http://127.0.0.1:{free_port()}"
        async with AsyncLehnz(publishable_key="lehnz_pk_x", base_url=closed, max_retries=1) as gone:
            with pytest.raises(APIConnectionError):
                await gone.recommend("u")
        async with httpx.AsyncClient() as http:
            mine = AsyncLehnz(publishable_key=org.publishable, base_url=server, http_client=http)
            assert (await mine.recommend("u")).all_item_ids is not None
            await mine.close()
            assert not http.is_closed

    asyncio.run(scenario())


def test_the_async_client_raises_a_timeout_on_a_slow_answer(server: str, org: Tenant) -> None:
    async def scenario() -> None:
        timeout = httpx.Timeout(5.0, read=0.0001)
        async with AsyncLehnz(
            secret_key=org.secret, base_url=server, timeout=timeout, max_retries=0
        ) as quick:
            with pytest.raises(APITimeoutError) as error:
                await quick.models.train()
            assert isinstance(error.value, APIConnectionError) and error.value.status is None

    asyncio.run(scenario())
