"""``lehnz.client.Lehnz`` against a real server: every method, and every error class from a
real answer."""

from __future__ import annotations

import gzip
import io
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lehnz.client import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    Lehnz,
    LehnzError,
    MissingKeyError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    path_id,
)
from lehnz.client._core import error_from
from lehnz.client.types import EventIn, ItemIn, RecommendRequest, UserIn
from tests.factories import DOMAIN, PASSWORD, Tenant, eventually
from tests.processes import free_port

ITEMS = [
    {"item_id": f"sku-{n}", "attributes": {"name": f"Red mug {n}", "price": 5 + n}}
    for n in range(6)
]


@pytest.fixture(scope="module")
def lehnz(server: str, org: Tenant) -> Iterator[Lehnz]:
    with Lehnz(publishable_key=org.publishable, secret_key=org.secret, base_url=server) as client:
        yield client


@pytest.fixture(scope="module")
def trained(lehnz: Lehnz) -> Lehnz:
    """A small catalog, shoppers who buy its items together, and a trained model."""
    lehnz.items.upsert(ITEMS)
    events = [
        {"user_id": f"shopper-{u}", "event_name": "purchase", "item_id": f"sku-{(u + s) % 6}"}
        for u in range(8)
        for s in range(3)
    ]
    lehnz.track(events)
    eventually(lambda: (lehnz.users.get("shopper-7").activity or {}) and True, timeout=10)
    lehnz.models.train()
    return lehnz


def test_track_and_identify_are_stored_and_listed_newest_first(lehnz: Lehnz) -> None:
    one = lehnz.track({"user_id": "anon-1", "event_name": "view", "item_id": "sku-1"})
    assert one.accepted == 1 and len(one.event_ids) == 1
    many = lehnz.track(
        [
            EventIn(user_id="anon-1", event_name="click", item_id="sku-2"),
            {
                "user_id": "anon-1",
                "event_name": "add_to_cart",
                "item_id": "sku-2",
                "event_id": "e1",
            },
        ]
    )
    assert many.accepted == 2 and many.event_ids[1] == "e1"
    assert lehnz.identify(user_id="member-1", previous_user_id="anon-1").accepted == 1

    # Identities are stitched by the pipeline, in the background.
    page = eventually(lambda: (p := lehnz.users.events("member-1")).events[3:] and p, timeout=10)
    assert set(page.user_ids) == {"member-1", "anon-1"}
    names = [event.event_name for event in page.events]
    assert names == ["identify", "add_to_cart", "click", "view"]
    assert {event.event_id for event in page.events} >= {*one.event_ids, *many.event_ids}

    first = lehnz.users.events("member-1", limit=2)
    assert len(first.events) == 2 and first.next
    rest = lehnz.users.events("member-1", limit=2, before=first.next)
    assert [e.event_name for e in first.events + rest.events] == names


def test_a_batch_sent_again_with_its_event_ids_is_stored_once(lehnz: Lehnz) -> None:
    batch = [{"user_id": "retry-1", "event_name": "view", "item_id": f"sku-{n}"} for n in range(3)]
    first = lehnz.track(batch)
    assert len(set(first.event_ids)) == 3 and batch[0].keys() == {
        "user_id",
        "event_name",
        "item_id",
    }
    again = [{**event, "event_id": id} for event, id in zip(batch, first.event_ids, strict=True)]
    assert lehnz.track(again).event_ids == first.event_ids
    stored = lehnz.users.events("retry-1").events
    assert sorted(e.event_id or "" for e in stored) == sorted(first.event_ids)
    # Without the ids, the same batch is three new events.
    lehnz.track(batch)
    assert len(lehnz.users.events("retry-1").events) == 6


def test_items_upsert_get_delete_with_awkward_ids(lehnz: Lehnz) -> None:
    ids = ["shoes/42", "..", "a b%c?#", "ünï"]
    result = lehnz.items.upsert(
        [ItemIn(item_id=i, attributes={"name": i, "price": "12.50"}) for i in ids]
    )
    assert (result.upserted, result.created) == (4, 4)
    for item_id in ids:
        item = lehnz.items.get(item_id)
        assert (item.item_id, item.status, item.attributes["price"]) == (item_id, "active", 12.5)
    # Fields left out of a model keep their stored value.
    lehnz.items.upsert(ItemIn(item_id="shoes/42", status="inactive"))
    assert lehnz.items.upsert({"item_id": "shoes/42", "attributes": {}}).updated == 1
    assert lehnz.items.get("shoes/42").status == "inactive"
    deleted = lehnz.items.delete("..")
    assert (deleted.item_id, deleted.status) == ("..", "deleted")
    assert lehnz.items.get("..").status == "deleted"
    assert path_id("..") == "%2E%2E" and path_id("shoes/42") == "shoes%2F42"
    with pytest.raises(ValueError):
        lehnz.items.get("")


def test_users_upsert_get_delete(lehnz: Lehnz) -> None:
    assert lehnz.users.upsert(UserIn(user_id="u/1", attributes={"age": 30})).created == 1
    assert lehnz.users.upsert([{"user_id": "u-2"}]).upserted == 1
    lehnz.track({"user_id": "u/1", "event_name": "view", "item_id": "sku-0"})
    user = eventually(lambda: (u := lehnz.users.get("u/1")).activity and u, timeout=10)
    assert user.attributes == {"age": 30} and user.activity.events == 1
    erased = lehnz.users.delete("u/1")
    assert erased.user_id == "u/1" and erased.erased
    with pytest.raises(NotFoundError):
        lehnz.users.get("u/1")


def test_uploads_from_a_path_bytes_and_a_file_object(lehnz: Lehnz, tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("item_id,name,price\nup-1,Jug,3\nup-2,Bowl,oops\n")
    report = lehnz.uploads.items(path)
    assert (report.kind, report.format, report.imported, report.rejected) == (
        "items",
        "csv",
        1,
        1,
    )
    assert report.errors[0].line == 3
    with pytest.raises(BadRequestError):
        lehnz.uploads.items(path, strict=True)
    users = lehnz.uploads.users(
        b'{"user_id": "up-u1"}\n{"user_id": "up-u2"}\n', filename="u.ndjson"
    )
    assert (users.format, users.imported) == ("ndjson", 2)
    events = gzip.compress(
        b'[{"user_id": "up-u1", "event_name": "view", "item_id": "up-1", "event_id": "x1"}]'
    )
    report_events = lehnz.uploads.events(io.BytesIO(events), filename="events.json.gz")
    assert (report_events.imported, report_events.duplicates) == (1, 0)
    again = lehnz.uploads.events(io.BytesIO(events), filename="events.json.gz")
    assert again.duplicates == 1


def test_models_and_every_recommendation_method(trained: Lehnz) -> None:
    lehnz = trained
    models = lehnz.models.list().models
    assert models and models[0].serving and models[0].trained_on

    mine = lehnz.recommend("shopper-1", limit=3, placement="home", include_purchased=True)
    assert mine.recommendation_id.startswith("rec_") and mine.user_id == "shopper-1"
    assert len(mine.all_item_ids) == 3 == mine.meta.limit
    assert [r.item_id for r in mine.recommendations] == mine.all_item_ids
    again = lehnz.recommend(RecommendRequest(user_id="shopper-1", limit=3), page=2)
    assert again.meta.page == 2 and not set(again.all_item_ids) & set(mine.all_item_ids)
    filtered = lehnz.recommend("nobody", filters={"price": {"lt": 7}}, include_attributes=True)
    assert {"sku-0", "sku-1"} <= set(filtered.all_item_ids)
    assert all((r.attributes or {})["price"] < 7 for r in filtered.recommendations)

    similar = lehnz.similar_items("sku-1", limit=2, mode="collaborative")
    assert similar.item_id == "sku-1" and similar.mode == "collaborative"
    assert len(similar.all_item_ids) <= 2 and "sku-1" not in similar.all_item_ids
    session = lehnz.session_recommendations("sku-1", limit=3, exclude_item_ids=["sku-2"])
    assert "sku-2" not in session.all_item_ids and session.item_id == "sku-1"
    basket = lehnz.basket(["sku-1", "sku-2"], limit=3)
    assert basket.basket_items == ["sku-1", "sku-2"] and basket.all_item_ids
    cheap = lehnz.price_optimized("shopper-1", limit=4)
    assert cheap.source == "price_optimized" and cheap.user_id == "shopper-1"
    with pytest.raises(NotFoundError):
        lehnz.similar_items("no-such-item")


def test_each_method_raises_before_sending_when_its_key_is_missing() -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: a request would fail
    with Lehnz(secret_key="lehnz_sk_x", base_url=closed) as secret_only:
        with pytest.raises(MissingKeyError, match="publishable_key"):
            secret_only.track({"user_id": "u", "event_name": "view"})
        with pytest.raises(MissingKeyError):
            secret_only.recommend("u")
    with Lehnz(publishable_key="lehnz_pk_x", base_url=closed) as publishable_only:
        with pytest.raises(MissingKeyError, match="secret_key"):
            publishable_only.items.get("x")
        with pytest.raises(MissingKeyError):
            publishable_only.models.train()


def test_error_classes_from_real_answers(server: str, org: Tenant, raw: httpx.Client) -> None:
    with Lehnz(publishable_key=org.publishable, secret_key=org.secret, base_url=server) as ok:
        with pytest.raises(BadRequestError) as bad:
            ok.track({"user_id": "u"})
        assert bad.value.status == 400 and bad.value.code == "validation_error"
        assert "event_name" in bad.value.message and bad.value.detail
        with pytest.raises(BadRequestError):
            ok.recommend("u", limit=1000)
        with pytest.raises(NotFoundError) as missing:
            ok.items.get("never-sent")
        assert (missing.value.status, missing.value.code) == (404, "not_found")
        big = [
            {"user_id": "big", "event_name": "view", "context": {"pad": "x" * 6_000}}
            for _ in range(1_000)
        ]
        with pytest.raises(PayloadTooLargeError) as large:
            ok.track(big)
        assert (large.value.status, large.value.code) == (413, "payload_too_large")

    with Lehnz(publishable_key="lehnz_pk_" + "x" * 40, base_url=server) as unknown:
        with pytest.raises(AuthenticationError) as auth:
            unknown.recommend("u")
        assert (auth.value.status, auth.value.code) == (401, "invalid_api_key")

    with Lehnz(publishable_key=org.secret, secret_key=org.publishable, base_url=server) as swap:
        with pytest.raises(PermissionDeniedError) as denied:
            swap.recommend("u")
        assert (denied.value.status, denied.value.code) == (403, "wrong_key_type")
        with pytest.raises(PermissionDeniedError):
            swap.items.get("x")

    # The client has no sign-up method; a duplicate sign-up's real answer reads as a 409.
    duplicate = raw.post(
        "/api/v1/auth/register",
        headers=DOMAIN,
        json={"email": org.account.email, "password": PASSWORD, "organization_name": "x"},
    )
    conflict = error_from(duplicate)
    assert isinstance(conflict, ConflictError) and conflict.code == "conflict"
    assert isinstance(conflict, LehnzError) and conflict.headers


def test_connection_errors_are_retried_then_raised() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    with Lehnz(publishable_key="lehnz_pk_x", base_url=closed, max_retries=0) as once:
        with pytest.raises(APIConnectionError) as error:
            once.recommend("u")
        assert error.value.status is None and not isinstance(error.value, APITimeoutError)
    with Lehnz(publishable_key="lehnz_pk_x", base_url=closed, max_retries=2) as thrice:
        started = time.monotonic()
        with pytest.raises(APIConnectionError):
            thrice.recommend("u")
        # Backoff of about 0.5 s, then 1 s (each with up to 25% jitter below).
        assert 0.7 < time.monotonic() - started < 5


def test_a_slow_answer_raises_a_timeout(server: str, org: Tenant) -> None:
    timeout = httpx.Timeout(5.0, read=0.0001)
    with Lehnz(secret_key=org.secret, base_url=server, timeout=timeout, max_retries=0) as quick:
        with pytest.raises(APITimeoutError) as error:
            quick.models.train()
        assert isinstance(error.value, APIConnectionError)


def test_separate_base_urls_and_a_caller_supplied_http_client(server: str, org: Tenant) -> None:
    with httpx.Client() as http:
        client = Lehnz(
            publishable_key=org.publishable,
            secret_key=org.secret,
            ingestion_url=f"{server}/api/v1",
            recommendations_url=server,
            http_client=http,
        )
        assert client.track({"user_id": "split", "event_name": "view"}).accepted == 1
        assert client.recommend("split").recommendation_id
        client.close()
        assert not http.is_closed  # the caller's client is the caller's to close
    with Lehnz(secret_key=org.secret, ingestion_url=server) as root:  # a root URL works too
        assert root.models.list()


def test_bench_quality_over_http_goes_through_the_client(server: str, tmp_path: Path) -> None:
    from lehnz.evaluation.quality import run

    items = ["item_id,name,category"] + [
        f"i{n},Thing {n},{'red' if n < 5 else 'blue'}" for n in range(10)
    ]
    (tmp_path / "items.csv").write_text("\n".join(items) + "\n")
    rows = ["user_id,item_id,event_name,timestamp,session_id"]
    for step in range(10):
        for user in range(24):
            item = (user % 2) * 5 + (user + step) % 5
            stamp = f"2024-01-{1 + step:02d}T10:{user:02d}:00"
            rows.append(f"u{user},i{item},purchase,{stamp},b{user}-{step // 2}")
    (tmp_path / "events.csv").write_text("\n".join(rows) + "\n")
    over_http = run(tmp_path, test_fraction=0.2, users=50, http=server)
    in_process = run(tmp_path, test_fraction=0.2, users=50)
    assert over_http["mode"] == "http" and over_http.keys() == in_process.keys()
    assert over_http["lehnz_model"].keys() == in_process["lehnz_model"].keys()
    assert over_http["lehnz_model"]["trained_on"]["events"] == 192
    assert over_http["results"].keys() == in_process["results"].keys()
    assert over_http["basket"]["baskets"] > 0 and over_http["session"]["pairs"] > 0


def test_a_timed_out_training_is_not_sent_again_but_a_read_is(server: str, org: Tenant) -> None:
    """Training may have started although no answer came: repeating it would train twice.
    A read is safe to repeat, and is. Every request sent is counted on the wire."""
    sent: list[str] = []
    hooks = {"request": [lambda request: sent.append(request.url.path)]}
    timeout = httpx.Timeout(5.0, read=0.0001)
    with (
        httpx.Client(event_hooks=hooks) as http,
        Lehnz(secret_key=org.secret, base_url=server, timeout=timeout, http_client=http) as quick,
    ):
        with pytest.raises(APITimeoutError):
            quick.models.train()
        assert sent == ["/api/v1/models/train"]
        sent.clear()
        with pytest.raises(APITimeoutError):
            quick.users.events("nobody-in-particular")
        assert len(sent) == 3  # max_retries=2 by default
