"""Analytics: what recommendation lists were shown and what they earned, per endpoint and
placement, over a chosen period, as charts and a table (and the table as CSV).

The table is ``StatsService.attribution_summary``: the very lines ``GET
/api/v1/stats/attribution`` answers with for the same ``start`` and ``end``. The charts add
per-day totals counted by the same rules. The period is read by ``lehnz.web.period`` with the
API's own ``start``/``end`` type, so a bound the API refuses is refused here too.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from markupsafe import Markup
from starlette.responses import Response

from lehnz.errors import LehnzError
from lehnz.stats import AttributionLine, AttributionSummary
from lehnz.web.charts import Series, bar_chart, line_chart
from lehnz.web.deps import SignedIn, runtime_of
from lehnz.web.period import QUICK_PERIODS, Period, buckets, last_days, parse_period, shown
from lehnz.web.templating import SECURITY_HEADERS, render

router = APIRouter()

PAGE = "Analytics"
CSV_COLUMNS = (
    "endpoint",
    "placement",
    "impressions",
    "clicks",
    "ctr",
    "add_to_carts",
    "conversions",
    "conversion_rate",
    "revenue",
)


@dataclass(frozen=True, slots=True)
class Charts:
    figures: list[tuple[str, Markup]]  # (caption, svg)
    unit: str
    clipped: bool


def _label(line: AttributionLine, room: int) -> str:
    """A bar's label, short enough for its share of the x axis: ``basket · cart``."""
    endpoint = line.endpoint.removeprefix("/recommend/").removeprefix("/")
    text = f"{endpoint} · {line.placement}" if line.placement else endpoint
    return text if len(text) <= room else text[: max(room - 1, 1)] + "…"


def _charts(
    request: Request, organization_id: str, period: Period, summary: AttributionSummary
) -> Charts:
    activity = runtime_of(request).stats.daily(
        organization_id=organization_id, start=period.start, end=period.end
    )
    per = buckets(period, activity)
    room = max(72 // max(len(summary.rows), 1), 6)
    labels = [_label(line, room) for line in summary.rows]
    drawn = [
        (
            f"Impressions and clicks per {per.unit}",
            line_chart,
            per.labels,
            [Series("Impressions", per.impressions), Series("Clicks", per.clicks)],
        ),
        (f"Revenue per {per.unit}", line_chart, per.labels, [Series("Revenue", per.revenue)]),
        (
            "Click-through and conversion rate by endpoint and placement (%)",
            bar_chart,
            labels,
            [
                Series("CTR %", [round(line.ctr * 100, 2) for line in summary.rows]),
                Series(
                    "Conversion rate %",
                    [round(line.conversion_rate * 100, 2) for line in summary.rows],
                ),
            ],
        ),
        (
            "Revenue by endpoint and placement",
            bar_chart,
            labels,
            [Series("Revenue", [line.revenue for line in summary.rows])],
        ),
    ]
    figures = [(title, draw(title, x, series)) for title, draw, x, series in drawn]
    return Charts(figures=figures, unit=per.unit, clipped=per.clipped)


def _report(
    request: Request, organization_id: str, start: str | None, end: str | None, now: datetime
) -> tuple[Period, AttributionSummary]:
    """The period asked for and the API's lines for it; ``LehnzError`` for a bad period."""
    period = parse_period(start, end, now=now)
    summary = runtime_of(request).stats.attribution_summary(
        organization_id=organization_id, start=period.start, end=period.end
    )
    return period, summary


@router.get("/analytics")
def analytics(
    request: Request, session: SignedIn, start: str | None = None, end: str | None = None
) -> Response:
    now = datetime.now(UTC)
    context: dict[str, Any] = {
        "quick": [
            {"name": name, "query": last_days(days, today=now.date()).page_query()}
            for name, days in QUICK_PERIODS
        ],
        "form": {"start": shown(start), "end": shown(end)},
        "period": None,
    }
    try:
        period, summary = _report(request, session.organization_id, start, end, now)
        charts = _charts(request, session.organization_id, period, summary)
    except LehnzError as exc:
        # The form stays on the page, with what was typed, beside the reason.
        return render(
            request,
            "analytics.html",
            context,
            session=session,
            active=PAGE,
            error=exc.message,
            status_code=exc.status_code,
        )
    context.update(
        period=period,
        summary=summary,
        charts=charts,
        form={"start": period.first_day.isoformat(), "end": period.last_day.isoformat()},
    )
    return render(request, "analytics.html", context, session=session, active=PAGE)


def _cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@router.get("/analytics.csv")
def analytics_csv(
    request: Request, session: SignedIn, start: str | None = None, end: str | None = None
) -> Response:
    """The table as CSV: the API's field names and raw values, the total last. A bad period
    is the same 400 as on the page (an error page, or the JSON envelope for a script)."""
    period, summary = _report(request, session.organization_id, start, end, datetime.now(UTC))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in [*summary.rows, summary.total]:
        writer.writerow([_cell(getattr(line, column)) for column in CSV_COLUMNS])
    name = f"lehnz-analytics-{period.first_day.isoformat()}-{period.last_day.isoformat()}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )
