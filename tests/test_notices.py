"""Notices between processes, through real Redis. Two ``RedisNotices`` on one prefix stand in
for two processes: each has its own connections and its own origin."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from lehnz.notices import KINDS, RedisNotices
from tests.conftest import unique_prefix

Heard = list[tuple[str, str | None, dict[str, Any]]]
Process = tuple[RedisNotices, Heard, redis.Redis]


@pytest.fixture
def process(redis_url: str) -> Iterator[Callable[[], Process]]:
    """Start "processes" listening on one prefix; each records every notice it hears."""
    prefix = unique_prefix()
    started: list[Process] = []

    def start() -> Process:
        client = redis.Redis.from_url(redis_url, client_name=prefix)
        notices = RedisNotices(client, prefix=prefix)
        heard: Heard = []
        for kind in KINDS:
            notices.subscribe(kind, lambda org, data, kind=kind: heard.append((kind, org, data)))
        notices.start()
        assert notices.listening.wait(5)
        started.append((notices, heard, client))
        return notices, heard, client

    yield start
    for notices, _, client in started:
        notices.stop()
        client.close()


def _within(seconds: float, check: Callable[[], object]) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "did not happen in time"
        time.sleep(0.02)


def test_a_notice_runs_here_at_once_and_once_in_the_other_process(process) -> None:  # type: ignore[no-untyped-def]
    a, heard_here, _ = process()
    _, heard_there, _ = process()
    a.publish("model", "org_1", version=3)
    assert heard_here == [("model", "org_1", {"version": 3})]  # before publish returned
    _within(2, lambda: heard_there)
    time.sleep(0.2)
    assert heard_there == [("model", "org_1", {"version": 3})]
    assert heard_here == [("model", "org_1", {"version": 3})]  # not again off the channel


def test_a_malformed_message_is_ignored(process) -> None:  # type: ignore[no-untyped-def]
    a, _, client = process()
    _, heard_there, _ = process()
    channel = a._channel
    client.publish(channel, b"not json")
    client.publish(channel, b'{"kind": "keys"}')
    a.publish("keys", "org_2")
    _within(2, lambda: heard_there)
    assert heard_there == [("keys", "org_2", {})]


def test_after_losing_the_channel_a_process_assumes_everything_changed(process) -> None:  # type: ignore[no-untyped-def]
    a, _, _ = process()
    b, heard_there, client = process()
    name = client.client_getname()
    # The server drops the listener's connection, as a Redis restart would.
    victims = [c for c in client.client_list(_type="pubsub") if c["name"] == name]
    assert victims
    for victim in victims:
        client.client_kill_filter(_id=victim["id"])
    _within(5, lambda: len(heard_there) >= len(KINDS))
    assert sorted(heard_there) == sorted((kind, None, {}) for kind in KINDS)
    assert b.listening.wait(5)
    a.publish("settings", "org_3")
    _within(2, lambda: ("settings", "org_3", {}) in heard_there)
