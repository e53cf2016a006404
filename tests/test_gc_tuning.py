"""A serving process collects its young objects less often than CPython's default, and
keeps the older generations' settings."""

from __future__ import annotations

import gc

from lehnz.gc_tuning import YOUNG_THRESHOLD, tune_for_serving


def test_serving_raises_only_the_young_generations_threshold() -> None:
    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        tune_for_serving()
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    finally:
        gc.set_threshold(*saved)
