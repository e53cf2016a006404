"""A shopper's ranked candidates, kept while nothing they depend on changes.

A personal list is a pure function of the model and the shopper's stored state (the history's
strengths decay from the shopper's own newest event, not from the clock), so two requests
with the same model version and the same state get the same candidates. Most requests come
from shoppers with no event since their last list: for them the fold-in, the blend and the
top-k are done once, and only the page (live catalog, filters, exclusions) and its log entry
are built per request. The key holds the state's fingerprint, so any applied event, merge or
deletion reaches the next answer as it did before; a shopper with events the pipeline has not
applied yet is never served from here (their state is folded in per request). Similar-item
and basket lists are kept the same way, keyed by the item or the basket as sent.

Bounded twice: by entries (least recently used leaves first) and by age, so memory stays flat
however many shoppers pass through and a list never outlives ``max_age`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


#: Baskets' lists are kept apart, in a cache this many times smaller than the lists' own
#: (``LEHNZ_ANSWER_CACHE_ENTRIES``): most carts are asked for once, product pages' one-item
#: baskets again and again.
BASKET_SHARE = 4


class AnswerCache(Generic[Value]):
    def __init__(
        self,
        *,
        max_entries: int,
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_entries = max_entries
        self._max_age = max_age
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, Value]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0  # answers served from an entry
        self.misses = 0  # answers ranked anew (and kept)

    @property
    def enabled(self) -> bool:
        return self._max_entries > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Value | None:
        if not self.enabled:
            return None
        with self._lock:
            found = self._entries.get(key)
            if found is not None and self._clock() - found[0] > self._max_age:
                del self._entries[key]
                found = None
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found[1]

    def put(self, key: Hashable, value: Value) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._entries[key] = (self._clock(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
