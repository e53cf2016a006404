"""One holder at a time across processes: the lock that keeps two workers from training the
same organisation at once, on both databases.

Two ``Store`` objects on one database stand in for two processes: each has its own
connections (PostgreSQL) or its own open file (SQLite), which is what the lock tells apart.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from lehnz.config import Settings
from lehnz.notices import Notices
from lehnz.serving.registry import ModelRegistry
from lehnz.store import Store, open_store
from lehnz.store.locks import organization_lock
from lehnz.training.service import TrainingService


@pytest.fixture
def two_stores(isolated_settings: Settings) -> Iterator[tuple[Store, Store]]:
    url = isolated_settings.resolved_database_url()
    first, second = open_store(url), open_store(url, migrate=False)
    yield first, second
    first.close()
    second.close()


def test_a_held_lock_is_refused_to_another_holder_until_released(
    two_stores: tuple[Store, Store],
) -> None:
    first, second = two_stores
    with organization_lock(first, "train", "org_a", wait=False) as held:
        assert held
        with organization_lock(second, "train", "org_a", wait=False) as other:
            assert not other
        # Another organisation, or another purpose, is a different lock.
        with organization_lock(second, "train", "org_b", wait=False) as other:
            assert other
        with organization_lock(second, "import", "org_a", wait=False) as other:
            assert other
    with organization_lock(second, "train", "org_a", wait=False) as other:
        assert other


def test_a_waiting_holder_gets_the_lock_when_it_is_released(
    two_stores: tuple[Store, Store],
) -> None:
    first, second = two_stores
    order: list[str] = []

    def wait_for_it() -> None:
        with organization_lock(second, "train", "org_w", wait=True) as held:
            order.append(f"second in, held={held}")

    with organization_lock(first, "train", "org_w", wait=True):
        order.append("first in")
        waiter = threading.Thread(target=wait_for_it)
        waiter.start()
        waiter.join(timeout=0.5)
        assert waiter.is_alive(), "the waiter got in while the lock was held"
        order.append("first out")
    waiter.join(timeout=10)
    assert order == ["first in", "first out", "second in, held=True"]


def test_scheduled_training_skips_an_organisation_another_worker_is_training(
    two_stores: tuple[Store, Store],
) -> None:
    first, second = two_stores
    trainer = TrainingService(second, ModelRegistry(second), Notices())
    asked: list[str] = []

    def needed() -> bool:
        asked.append("asked")
        return False

    with organization_lock(first, "train", "org_t", wait=False) as held:
        assert held
        assert trainer.train_if_needed("org_t", needed) is False
        assert asked == []  # not even asked: another worker has it
    assert trainer.train_if_needed("org_t", needed) is False
    assert asked == ["asked"]  # the lock was free; training was simply not needed
