"""A list's scores ranked once, then cut to a page per request.

What a list holds depends on two kinds of input: the scores (the model and the shopper's
state: costly, and the same until either changes) and the live conditions of each request
(which items are active now, the request's filters and exclusions, the page). ``Candidates``
keeps the first part as the best ``HEAD`` positions in order; ``choose`` applies the second.
When the head runs out before a list is full (filters that pass over most of it), the whole
score vector is ranked again, in the same order a full sort gives, so the two paths agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lehnz.serving import topk
from lehnz.serving.filters import Predicate
from lehnz.serving.reasons import Reasons

#: The longest list a request can page through.
MAX_LIST = 500
#: Positions kept ranked: a list's worth, and room for a few inactive or excluded items.
HEAD = MAX_LIST + 140


@dataclass(slots=True)
class Candidates:
    positions: NDArray[np.int32]  # the best finite-scored positions, best first, ties by position
    scores: NDArray[np.float32]  # their scores
    complete: bool  # ``positions`` holds every finite-scored position
    reasons: Reasons
    extra: dict[str, Any]
    #: Reasons already worded, by position, for the catalog version ``worded_for``: names
    #: are read from the live catalog, so a rename (a new version) words them again.
    worded: dict[int, str] = field(default_factory=dict)
    worded_for: int = -1

    @classmethod
    def of(cls, scores: NDArray[np.float32], reasons: Reasons, extra: dict[str, Any]) -> Candidates:
        head = topk.top_k(scores, HEAD)
        return cls(
            head.astype(np.int32),
            scores[head].astype(np.float32),
            len(head) < HEAD,
            reasons,
            extra,
        )

    def reasons_for(self, positions: Sequence[int], catalog_version: int) -> list[str]:
        if catalog_version != self.worded_for:
            self.worded, self.worded_for = {}, catalog_version
        worded = self.worded  # this version's, even if another request starts the next one
        missing = [p for p in positions if p not in worded]
        if missing:
            worded.update(zip(missing, self.reasons(missing), strict=True))
        return [worded[p] for p in positions]


@dataclass(frozen=True, slots=True)
class Chosen:
    positions: NDArray[np.integer[Any]]  # the list, best first, at most MAX_LIST
    scores: NDArray[np.float32]  # their scores


def choose(
    candidates: Candidates,
    *,
    active: NDArray[np.bool_],
    excluded: NDArray[np.intp],
    item_ids: list[str],
    keep: Callable[[str], bool] | None,
    all_scores: Callable[[], NDArray[np.float32]],
) -> Chosen:
    """The list: active items not ``excluded`` (positions), passing ``keep`` (the request's
    filters) when given, best first, at most ``MAX_LIST``. ``all_scores`` gives the whole
    score vector for the rare list the head cannot fill."""
    head = candidates.positions
    alive = active[head]
    if len(excluded):
        dropped = np.zeros(len(active), dtype=np.bool_)
        dropped[excluded] = True
        alive &= ~dropped[head]
    if keep is None:
        positions = head[alive][:MAX_LIST]
        if len(positions) == MAX_LIST or candidates.complete:
            scores = candidates.scores[alive][:MAX_LIST]
            return Chosen(positions, scores)
    else:
        picked: list[int] = []
        for index, (position, is_alive) in enumerate(
            zip(head.tolist(), alive.tolist(), strict=True)
        ):
            if is_alive and keep(item_ids[position]):
                picked.append(index)
                if len(picked) == MAX_LIST:
                    break
        if len(picked) == MAX_LIST or candidates.complete:
            return Chosen(head[picked], candidates.scores[picked])
    scores = np.where(active, all_scores(), -np.inf).astype(np.float32)
    scores[excluded] = -np.inf
    return _choose_from_all(scores, item_ids=item_ids, keep=keep)


def _choose_from_all(
    scores: NDArray[np.float32], *, item_ids: list[str], keep: Callable[[str], bool] | None
) -> Chosen:
    if keep is None:
        chosen: list[int] = topk.top_k(scores, MAX_LIST).tolist()
    else:
        chosen = []
        for position in topk.ranked(scores, first=MAX_LIST):
            if keep(item_ids[position]):
                chosen.append(position)
                if len(chosen) == MAX_LIST:
                    break
    return Chosen(np.array(chosen, dtype=np.intp), scores[chosen])


def filtered(filters: Predicate | None, items: dict[str, Any]) -> Callable[[str], bool] | None:
    """Whether an item passes the request's filters, by its live catalog entry; None without
    filters."""
    if filters is None:
        return None
    return lambda item_id: filters(item_id, items[item_id].item_type, items[item_id].attributes)
