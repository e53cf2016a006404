"""What the Models page shows of one version, read from the manifest training recorded.

The manifest is the API's own record (``GET /api/v1/models`` answers the same fields); this
module only arranges it for a table and a small server-side SVG chart: the chosen settings,
and the validation metrics beside the baselines scored on the same users.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lehnz.store.training import ModelRow

METRICS = (("ndcg@10", "NDCG@10"), ("recall@20", "Recall@20"), ("hit@10", "Hit@10"))
BASELINES = (("popularity", "Popularity"), ("trending", "Trending"), ("buy_again", "Buy again"))
SETTING_LABELS = {
    "cf_model": "Collaborative model",
    "half_life_days": "Recency half-life (days)",
    "repeat_weight": "Room for repeat purchases",
    "popularity_weight": "Popularity weight",
    "all_time_popularity": "All-time popularity share",
    "include_purchased_default": "Include bought items",
    "item_repeat": "Weigh items by re-buy rate",
    "ease_l2": "EASE regularisation",
    "als_regularization": "ALS regularisation",
    "als_alpha": "ALS confidence",
    "basket_alpha": "Basket normalisation",
    "basket_shrink": "Basket shrinkage",
    "basket_popularity_weight": "Basket popularity weight",
    "session_support_k": "Session support",
}

# The chart's geometry (SVG user units; it scales to the page's width).
_LABEL_WIDTH = 110
_BAR_AREA = 300
_ROW = 26


def number(value: object, digits: int = 4) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "\u2013"}[value]
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return str(value)


@dataclass(frozen=True)
class Ranker:
    label: str
    metrics: dict[str, float]
    chosen: bool


@dataclass(frozen=True)
class Bar:
    label: str
    value: str
    y: int
    width: float
    chosen: bool


@dataclass(frozen=True)
class Chart:
    height: int
    label_width: int
    bar_area: int
    bars: list[Bar]


@dataclass(frozen=True)
class VersionDetail:
    row: ModelRow
    settings: list[tuple[str, str, str]]  # (label, key, value)
    skipped: str | None
    rankers: list[Ranker]
    chart: Chart | None
    validation_users: object
    candidates: object
    basket: dict[str, Any]
    basket_settings: list[tuple[str, str]]

    @property
    def metrics(self) -> tuple[tuple[str, str], ...]:
        return METRICS


def detail(row: ModelRow) -> VersionDetail:
    validation: dict[str, Any] = dict(row.manifest.get("validation") or {})
    chosen = validation.get("chosen")
    settings = []
    if isinstance(chosen, dict):
        for key, value in chosen.items():
            settings.append((SETTING_LABELS.get(key, str(key)), str(key), number(value)))
    rankers = []
    metrics = validation.get("metrics")
    if isinstance(metrics, dict):
        rankers.append(Ranker("This version", metrics, True))
        baselines = validation.get("baselines")
        if isinstance(baselines, dict):
            for key, label in BASELINES:
                if isinstance(baselines.get(key), dict):
                    rankers.append(Ranker(label, baselines[key], False))
    basket = validation.get("basket")
    basket = basket if isinstance(basket, dict) else {}
    basket_chosen = basket.get("chosen")
    basket_settings = (
        [(str(k), number(v)) for k, v in basket_chosen.items()]
        if isinstance(basket_chosen, dict)
        else []
    )
    skipped = validation.get("skipped")
    return VersionDetail(
        row=row,
        settings=settings,
        skipped=str(skipped) if skipped else None,
        rankers=rankers,
        chart=_chart(rankers),
        validation_users=validation.get("validation_users"),
        candidates=validation.get("candidates"),
        basket=basket,
        basket_settings=basket_settings,
    )


def _chart(rankers: list[Ranker]) -> Chart | None:
    """NDCG@10 of this version and of each baseline as horizontal bars."""
    values = [r.metrics.get("ndcg@10") for r in rankers]
    if len(rankers) < 2 or not all(isinstance(v, int | float) for v in values):
        return None
    top = max(float(v) for v in values if v is not None) or 1.0
    bars = [
        Bar(
            label=r.label,
            value=f"{float(v or 0.0):.3f}",
            y=8 + i * _ROW,
            width=round(_BAR_AREA * float(v or 0.0) / top, 1),
            chosen=r.chosen,
        )
        for i, (r, v) in enumerate(zip(rankers, values, strict=True))
    ]
    return Chart(
        height=16 + len(bars) * _ROW, label_width=_LABEL_WIDTH, bar_area=_BAR_AREA, bars=bars
    )
