"""``OrgModel``: everything one organisation's lists are computed from, and the scoring.

Every method takes the user's history as arrays and returns scores over the model's items;
choosing, filtering and paging happen in the serving layer. Nothing here reads the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from lehnz.engine.als import fold_in
from lehnz.engine.ann import SemanticIndex, inner_products
from lehnz.engine.types import CatalogArrays, ItemIndices, Scores


@dataclass
class Params:
    """What training chose for this organisation (recorded in the manifest)."""

    half_life_days: float = 60.0
    cf_model: str = "knn"  # knn | ease | als
    repeat_weight: float = 0.3
    popularity_weight: float = 0.05
    all_time_popularity: float = 0.0  # 0: what is trending now; 1: all-time popularity
    include_purchased_default: bool = True
    als_regularization: float = 0.1
    als_alpha: float = 10.0
    basket_alpha: float = 0.5
    basket_shrink: float = 2.0
    basket_popularity_weight: float = 0.001
    ease_l2: float = 200.0
    session_support_k: float = 10.0
    # Scale each of a user's own items by how often its buyers buy it again (milk yes, a
    # grill no); whether it helps is chosen per organisation.
    item_repeat: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class OrgModel:
    catalog: CatalogArrays
    params: Params
    trending: Scores  # decayed recent popularity
    popular: Scores  # all-time popularity
    support: NDArray[np.float32]  # users who interacted with each item
    neighbours: sp.csr_matrix  # collaborative item-item (cosine kNN)
    cf: sp.csr_matrix | None  # the chosen item-item model (knn or ease), None for als
    item_factors: NDArray[np.float32] | None  # als
    bought_together: sp.csr_matrix
    embeddings: NDArray[np.float32]
    embedding_method: str
    repeat_share: float
    # Per item: the smoothed share of its buyers who bought it more than once.
    repeat_rate: NDArray[np.float32] | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    # Semantic neighbours of a large catalog (``ann.MIN_ITEMS`` items or more); None: exact.
    semantic_index: SemanticIndex | None = None
    _gram: NDArray[np.float32] | None = None
    _popularity: tuple[float, NDArray[np.float32]] | None = None

    @property
    def n_items(self) -> int:
        return len(self.catalog)

    # -- the personalised list -------------------------------------------------------------

    def personal_scores(
        self, indices: ItemIndices, strengths: NDArray[np.float32], purchases: NDArray[np.float32]
    ) -> tuple[Scores, Scores, Scores]:
        """(blended, repeat part, explore part) for one user with this history."""
        if self.params.cf_model == "als" and self.item_factors is not None:
            repeat, explore = self._one_user_parts(indices, strengths, purchases)
            blended = self.blend(repeat, explore)
            return blended[0], repeat[0], explore[0]
        shape = (1, self.n_items)
        columns = (np.zeros(len(indices), dtype=np.int32), indices)
        x = sp.csr_matrix((strengths, columns), shape=shape, dtype=np.float32)
        bought = sp.csr_matrix((purchases, columns), shape=shape, dtype=np.float32)
        repeat, explore = self.parts(x, bought)
        blended = self.blend(repeat, explore)
        return blended[0], repeat[0], explore[0]

    def parts(
        self, x: sp.csr_matrix, bought: sp.csr_matrix
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """For users' strength rows ``x`` and purchase counts ``bought`` (users x items):
        the repeat part (their own items, more for items bought often) and the explore part
        (the collaborative model's scores), as dense users x items arrays."""
        weighted = x.copy()
        # Each stored entry's purchases, by the matrix's own structure: an item whose
        # strength decayed or summed to exactly 0 stays stored, and ``x.nonzero()`` would
        # leave it out and misalign the two (a 500 for such a shopper).
        rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
        purchases = np.asarray(bought[rows, x.indices]).ravel()
        weighted.data = weighted.data * (1.0 + np.log1p(purchases))
        if self.params.item_repeat and self.repeat_rate is not None:
            weighted.data = weighted.data * self.repeat_rate[weighted.indices]
        repeat = weighted.toarray().astype(np.float32)
        if self.params.cf_model == "als" and self.item_factors is not None:
            explore = np.zeros_like(repeat)
            for row in range(x.shape[0]):
                start, end = x.indptr[row], x.indptr[row + 1]
                explore[row] = self.collaborative(
                    x.indices[start:end].astype(np.int32), x.data[start:end]
                )
        else:
            matrix = self.cf if self.cf is not None else self.neighbours
            explore = np.asarray((x @ matrix).toarray(), dtype=np.float32)
        return repeat, explore

    def _one_user_parts(
        self, indices: ItemIndices, strengths: NDArray[np.float32], purchases: NDArray[np.float32]
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """``parts`` for one user (the ALS model), on dense arrays: the same arithmetic in the
        same order (items sorted, as in the sparse row), without building two sparse
        matrices, which took half of a request's scoring."""
        order = np.argsort(indices, kind="stable")
        indices, strengths, purchases = indices[order], strengths[order], purchases[order]
        weighted = strengths * (1.0 + np.log1p(purchases))
        if self.params.item_repeat and self.repeat_rate is not None:
            weighted = weighted * self.repeat_rate[indices]
        repeat = np.zeros((1, self.n_items), dtype=np.float32)
        repeat[0, indices] = weighted
        explore = self.collaborative(indices.astype(np.int32), strengths)[None, :]
        return repeat, explore.astype(np.float32)

    def blend(
        self, repeat: NDArray[np.float32], explore: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        return self.blend_units(unit_rows(repeat), unit_rows(explore))

    def blend_units(
        self, repeat: NDArray[np.float32], explore: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        """The personal score from row-normalised parts: repeat and explore by the store's
        repeat weight, plus a share of popularity (recent or all-time, as training chose)."""
        p = self.params
        return (
            p.repeat_weight * repeat
            + (1.0 - p.repeat_weight) * explore
            + p.popularity_weight * self.popularity_vector()[None, :]
        ).astype(np.float32)

    def popularity_vector(self) -> NDArray[np.float32]:
        """Kept for the mix it was made with: every request's blend needs it, and training's
        settings search changes ``params`` between uses."""
        mix = self.params.all_time_popularity
        if self._popularity is None or self._popularity[0] != mix:
            vector = (1.0 - mix) * unit(self.trending) + mix * unit(self.popular)
            self._popularity = (mix, vector.astype(np.float32))
        return self._popularity[1]

    def collaborative(self, indices: ItemIndices, strengths: NDArray[np.float32]) -> Scores:
        if len(indices) == 0:
            return np.zeros(self.n_items, dtype=np.float32)
        if self.params.cf_model == "als" and self.item_factors is not None:
            if self._gram is None:
                self._gram = self.item_factors.T @ self.item_factors
            user = fold_in(
                self.item_factors,
                self._gram,
                indices,
                strengths,
                regularization=self.params.als_regularization,
                alpha=self.params.als_alpha,
            )
            return (self.item_factors @ user).astype(np.float32)
        matrix = self.cf if self.cf is not None else self.neighbours
        return _spread(matrix, indices, strengths)

    def cold_start(self) -> Scores:
        """Trending first, then all-time popular: a sensible list for someone unknown."""
        return (unit(self.trending) + 0.01 * unit(self.popular)).astype(np.float32)

    def contributions(self, indices: ItemIndices, strengths: NDArray[np.float32]) -> Contributions:
        """How much each history item adds to each item's collaborative score, for
        ``Contributions.top`` to read for the few items of a page."""
        parts = [_weighted_rows(self.neighbours, indices, strengths)]
        if self.cf is not None and self.cf is not self.neighbours:
            parts.append(_weighted_rows(self.cf, indices, strengths))
        return Contributions(indices, parts)

    # -- item to item -----------------------------------------------------------------------

    def similar_semantic(self, item: int) -> Scores:
        """Items by the cosine of their text embeddings with ``item``'s: every item's, or,
        with a ``semantic_index``, its ``ann.CANDIDATES`` nearest items' (-inf elsewhere)."""
        vector = self.embeddings[item]
        if not np.any(vector):
            return np.zeros(self.n_items, dtype=np.float32)
        scores = inner_products(self.embeddings, vector, self.semantic_index)
        scores[item] = -np.inf
        return scores

    def semantic_profile(self, indices: ItemIndices, strengths: NDArray[np.float32]) -> Scores:
        """Items by the inner product of their embeddings with a history's strength-weighted
        sum of embeddings (the personal list's ``semantic`` mode), through the index when the
        model has one, as ``similar_semantic``."""
        profile = (self.embeddings[indices] * strengths[:, None]).sum(axis=0)
        return inner_products(self.embeddings, profile, self.semantic_index)

    def similar_collaborative(self, item: int) -> Scores:
        scores = self.neighbours[item].toarray().ravel().astype(np.float32)
        scores[item] = 0.0
        return scores

    def similar_auto(self, item: int) -> tuple[Scores, float]:
        """Collaborative and semantic neighbours blended by how much behaviour the item has:
        ``support / (support + k)`` goes to the collaborative side. Returns that share too."""
        share = float(self.support[item] / (self.support[item] + self.params.session_support_k))
        collaborative = self.similar_collaborative(item)
        semantic = np.maximum(self.similar_semantic(item), 0.0)
        blended = share * unit(collaborative) + (1.0 - share) * unit(semantic)
        blended[item] = -np.inf
        return blended.astype(np.float32), share

    def basket(self, indices: ItemIndices) -> Scores:
        """Bought-together strength summed over the basket."""
        if len(indices) == 0:
            return np.zeros(self.n_items, dtype=np.float32)
        return _spread(self.bought_together, indices, np.ones(len(indices), dtype=np.float32))

    def basket_scores(self, indices: ItemIndices) -> Scores:
        """What to suggest for a basket: bought-together strength, plus as much all-time
        popularity as training found useful for this store (a lot where baskets are small
        fragments, almost none where they are full)."""
        together = unit(self.basket(indices))
        scores = together + self.params.basket_popularity_weight * unit(self.popular)
        scores[indices] = -np.inf
        return scores.astype(np.float32)

    def basket_contributors(self, targets: Sequence[int], indices: ItemIndices) -> list[int | None]:
        """For each target, the basket item bought with it most (the first in basket order
        among equals), or None if none was. The basket's rows are read once for a page:
        indexing the sparse matrix per target was most of a basket answer's time."""
        if len(indices) == 0 or len(targets) == 0:
            return [None] * len(targets)
        ones = np.ones(len(indices), dtype=np.float32)
        positions, columns, values = _weighted_rows(self.bought_together, indices, ones)
        wanted, slot_of_target = np.unique(np.asarray(targets), return_inverse=True)
        slots = np.searchsorted(wanted, columns)
        hits = wanted[np.minimum(slots, len(wanted) - 1)] == columns
        # One row per distinct target, one column per basket item, summed in entry order.
        table = np.zeros((len(wanted), len(indices)), dtype=np.float32)
        np.add.at(table, (slots[hits], positions[hits]), values[hits])
        best = table.argmax(axis=1)
        found = table[np.arange(len(wanted)), best] > 0
        return [
            int(indices[best[slot]]) if found[slot] else None
            for slot in slot_of_target.ravel().tolist()
        ]


class Contributions:
    """A history's neighbour rows, each entry weighted by its history item's strength,
    flattened: which history item did most to recommend an item is then one comparison over
    a few thousand entries, rather than the (history x catalog) matrix built per request that
    it was (a fifth of a request's scoring)."""

    __slots__ = ("_indices", "_parts")

    def __init__(
        self,
        indices: ItemIndices,
        parts: list[tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float32]]],
    ) -> None:
        self._indices = indices
        self._parts = parts

    def top(self, target: int) -> int | None:
        """The history item that did most for ``target`` (the first in history order among
        equals), or None if none added anything positive."""
        total: NDArray[np.float32] | None = None
        for positions, columns, values in self._parts:
            hits = columns == target
            added = np.zeros(len(self._indices), dtype=np.float32)
            added[positions[hits]] = values[hits]
            total = added if total is None else total + added
        if total is None or len(total) == 0:
            return None
        best = int(np.argmax(total))
        if total[best] <= 0:
            return None
        return int(self._indices[best])


def _weighted_rows(
    matrix: sp.csr_matrix, indices: ItemIndices, strengths: NDArray[np.float32]
) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float32]]:
    """The rows ``indices`` of ``matrix`` as (history position, column, strength x value)."""
    starts = matrix.indptr[indices]
    lengths = matrix.indptr[np.asarray(indices) + 1] - starts
    positions = np.repeat(np.arange(len(indices)), lengths)
    first = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    entries = first + np.arange(len(positions))
    values = matrix.data[entries] * strengths.astype(np.float32)[positions]
    return positions, matrix.indices[entries], values.astype(np.float32)


def _spread(matrix: sp.csr_matrix, indices: ItemIndices, weights: NDArray[np.float32]) -> Scores:
    """``matrix[indices].T @ weights``. For float32 matrices (what training makes) the rows'
    entries are added in place in the order scipy adds them, so the result is bit for bit
    the same, without building the row slice and its transpose (4-5x faster for the few rows
    of a basket or a short history)."""
    if matrix.dtype != np.float32 or weights.dtype != np.float32:
        rows = matrix[indices]
        return np.asarray(rows.T @ weights, dtype=np.float32).ravel()
    _, columns, values = _weighted_rows(matrix, indices, weights)
    out = np.zeros(matrix.shape[1], dtype=np.float32)
    np.add.at(out, columns, values)
    return out


def unit_rows(matrix: NDArray[np.float32]) -> NDArray[np.float32]:
    """Each row scaled so its largest positive entry is 1."""
    top = matrix.max(axis=1, keepdims=True) if matrix.size else np.zeros((matrix.shape[0], 1))
    return np.where(top > 0, matrix / np.where(top > 0, top, 1.0), 0.0).astype(np.float32)


def unit(scores: NDArray[np.float32]) -> NDArray[np.float32]:
    """Scaled so the largest finite positive score is 1 (all zeros stay zeros)."""
    finite = scores[np.isfinite(scores)]
    top = float(finite.max()) if finite.size else 0.0
    if top <= 0:
        return np.zeros_like(scores, dtype=np.float32)
    return (scores / top).astype(np.float32)
