"""A serving process collects its young objects less often than CPython's default, and
keeps the older generations' settings; batch work pauses collection and always resumes it."""

from __future__ import annotations

import gc
import threading

import pytest

from lehnz.gc_tuning import YOUNG_THRESHOLD, collection_paused, tune_for_serving


def test_serving_raises_only_the_young_generations_threshold() -> None:
    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        tune_for_serving()
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    finally:
        gc.set_threshold(*saved)


def test_a_pause_turns_collection_off_and_back_on() -> None:
    assert gc.isenabled()
    with collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_pause_leaves_collection_off_when_it_was_off_before() -> None:
    gc.disable()
    try:
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_collection_comes_back_when_the_last_of_overlapping_pauses_ends() -> None:
    """The pipeline's thread and another may pause at once: the first to leave must not turn
    collection on under the other."""
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with collection_paused():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    assert inside.wait(5)
    with collection_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread is still inside
    leave.set()
    thread.join(5)
    assert gc.isenabled()


def test_an_error_inside_a_pause_still_ends_it() -> None:
    with pytest.raises(RuntimeError), collection_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()
