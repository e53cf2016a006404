"""What the workers of ``lehnz serve --workers N`` share, each piece on its own: the
rate-limit table (counted from several real processes at once), the notice file and the
pipeline's lock. ``tests/test_workers.py`` checks them together, over HTTP."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from lehnz.leadership import Leadership
from lehnz.notices import FileNotices
from lehnz.ratelimit import SharedLimiter

spawn = multiprocessing.get_context("spawn")


def _count(path: str, key: str, hits: int, limit: int, results: Any) -> None:
    limiter = SharedLimiter(Path(path))
    allowed = sum(limiter.hit(key, limit=limit, window_seconds=900).allowed for _ in range(hits))
    results.put(allowed)


def test_the_table_counts_exactly_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "ratelimits"
    SharedLimiter.create(path)
    results = spawn.Queue()
    processes = [
        spawn.Process(target=_count, args=(str(path), "org:o1", 2000, 5000, results))
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    assert sum(results.get(timeout=5) for _ in processes) == 5000  # 8,000 hits, 5,000 allowed
    after = SharedLimiter(path).hit("org:o1", limit=5000, window_seconds=900)
    assert (after.allowed, after.remaining) == (False, 0)


def test_the_table_counts_exactly_across_threads(tmp_path: Path) -> None:
    path = tmp_path / "ratelimits"
    SharedLimiter.create(path)
    limiter = SharedLimiter(path)
    allowed: list[bool] = []

    def hit() -> None:
        for _ in range(1000):
            allowed.append(limiter.hit("org:o1", limit=2500, window_seconds=900).allowed)

    threads = [threading.Thread(target=hit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 2500


def test_windows_are_per_key_and_per_length_and_end(tmp_path: Path) -> None:
    path = tmp_path / "ratelimits"
    SharedLimiter.create(path)
    now = [1000.0]
    one = SharedLimiter(path, clock=lambda: now[0])
    other = SharedLimiter(path, clock=lambda: now[0])  # another worker
    decisions = [one.hit("org:a", limit=2, window_seconds=60) for _ in range(2)]
    decisions.append(other.hit("org:a", limit=2, window_seconds=60))
    assert [d.allowed for d in decisions] == [True, True, False]
    assert decisions[-1].headers()[-1] == (b"retry-after", b"60")
    assert other.hit("org:b", limit=2, window_seconds=60).remaining == 1
    assert other.hit("org:a", limit=2, window_seconds=30).remaining == 1  # its own window
    now[0] += 60  # the window ended: a fresh one, in either worker
    fresh = one.hit("org:a", limit=2, window_seconds=60)
    assert (fresh.allowed, fresh.remaining, fresh.reset_seconds) == (True, 1, 60)


def test_a_crowded_table_gives_up_the_window_ending_soonest(tmp_path: Path) -> None:
    path = tmp_path / "ratelimits"
    SharedLimiter.create(path, slots=32)  # every key shares the 32 slots' one probe range
    limiter = SharedLimiter(path, clock=lambda: 1000.0)
    for n in range(32):
        assert limiter.hit(f"auth:{n}", limit=1, window_seconds=100 + n).allowed
    assert limiter.hit("auth:new", limit=1, window_seconds=900).allowed  # took auth:0's slot
    assert limiter.hit("auth:new", limit=1, window_seconds=900).allowed is False
    assert limiter.hit("auth:31", limit=1, window_seconds=131).allowed is False  # kept


def test_a_file_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ratelimits"
    path.write_bytes(b"x" * 1024)
    with pytest.raises(ValueError, match="not a lehnz rate-limit table"):
        SharedLimiter(path)
    with pytest.raises(ValueError, match="power of two"):
        SharedLimiter.create(path, slots=1000)


def test_notices_reach_the_other_workers_and_not_their_sender(tmp_path: Path) -> None:
    path = tmp_path / "notices"
    FileNotices.create(path)
    sender, receiver = FileNotices(path), FileNotices(path)
    got: dict[str, list[tuple[str | None, dict[str, Any]]]] = {"sender": [], "receiver": []}
    sender.subscribe("keys", lambda org, data: got["sender"].append((org, data)))
    receiver.subscribe("keys", lambda org, data: got["receiver"].append((org, data)))
    receiver.start()
    try:
        sender.publish("keys", "org_1", reason="revoked")
        deadline = time.monotonic() + 5
        while not got["receiver"] and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        receiver.close()
    assert got["receiver"] == [("org_1", {"reason": "revoked"})]
    assert got["sender"] == [("org_1", {"reason": "revoked"})]  # in process, once
    sender.receive_pending()
    assert len(got["sender"]) == 1  # its own line is not run again
    sender.close()


def test_a_half_written_notice_waits_and_a_new_file_means_anything_changed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "notices"
    FileNotices.create(path)
    receiver = FileNotices(path)
    got: list[tuple[str | None, dict[str, Any]]] = []
    receiver.subscribe("settings", lambda org, data: got.append((org, data)))
    line = b'{"origin":"x","kind":"settings","organization_id":"org_2","data":{}}\n'
    with path.open("ab") as handle:
        handle.write(line[:20])
        handle.flush()
        receiver.receive_pending()
        assert got == []
        handle.write(line[20:] + b"not json\n")
    receiver.receive_pending()
    assert got == [("org_2", {})]  # and the malformed line was skipped
    FileNotices.create(path)  # a new parent started: offsets mean nothing now
    receiver.receive_pending()
    assert got[-1] == (None, {})
    receiver.close()


def test_one_holder_of_the_pipeline_and_a_successor_when_it_stops(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.lock"
    started: list[str] = []
    stopped: list[str] = []

    def duties(name: str) -> Any:
        def start() -> Any:
            started.append(name)
            return lambda: stopped.append(name)

        return start

    first, second = Leadership(path, retry_seconds=0.05), Leadership(path, retry_seconds=0.05)
    first.run(duties("first"))
    deadline = time.monotonic() + 5
    while not first.leading and time.monotonic() < deadline:
        time.sleep(0.01)
    second.run(duties("second"))
    time.sleep(0.3)
    assert (started, first.leading, second.leading) == (["first"], True, False)
    first.stop()  # as the kernel does when the holder dies
    assert stopped == ["first"]
    deadline = time.monotonic() + 5
    while not second.leading and time.monotonic() < deadline:
        time.sleep(0.01)
    assert started == ["first", "second"]
    second.stop()
    assert stopped == ["first", "second"]
