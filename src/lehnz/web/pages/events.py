"""Events: the organisation's newest events, live; counts by name over time; the ingest rate;
the pipeline's lag.

The page is complete without scripts (reload to refresh). ``static/events.js`` polls
``/events/feed?after=<seq>`` every 2 s and adds the new rows and the new numbers; the feed
answers with the same row and card texts the page renders, so both read alike.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from lehnz.errors import ValidationFailed
from lehnz.events.activity import (
    WINDOWS,
    EventActivity,
    Lag,
    Rate,
    check_window,
    decode_after,
    value_of,
)
from lehnz.store.events import StoredEvent
from lehnz.web.charts import Series, line_chart
from lehnz.web.deps import SignedIn, runtime_of
from lehnz.web.templating import SECURITY_HEADERS, render

router = APIRouter()

PAGE = "Events"
LATEST = 50  # rows the page starts with
FEED_LIMIT = 100  # rows one poll adds at most (the script keeps 100 on screen)


def _activity(request: Request) -> EventActivity:
    return EventActivity(runtime_of(request).store)


def event_view(event: StoredEvent) -> dict[str, Any]:
    """One row, as the table shows it and the feed sends it (the script sets each text with
    ``textContent``: the values are whatever the store's clients sent)."""
    value = value_of(event)
    return {
        "seq": event.seq,
        "received_at": event.received_at.isoformat(),
        "received": event.received_at.strftime("%Y-%m-%d %H:%M:%S"),
        "event_name": event.event_name,
        "user_id": event.user_id,
        "item_id": event.item_id,
        "recommendation_id": event.recommendation_id,
        "value": None if value is None else f"{value:g}",
    }


def _count(value: int, capped: bool) -> str:
    return f"{value:,}+" if capped else f"{value:,}"


def _average(value: float) -> str:
    """Two significant places for small rates: 3 events an hour is 0.05 / min, not 0.0."""
    return f"{value:,.2f}" if value < 10 else f"{value:,.1f}"


def _age(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def rate_view(rate: Rate) -> dict[str, Any]:
    return {
        "last_minute": rate.last_minute,
        "last_hour": rate.last_hour,
        "per_minute": round(rate.per_minute, 2),
        "capped": rate.capped,
        "minute_text": _count(rate.last_minute, rate.capped and rate.last_minute >= rate.last_hour),
        "hour_text": f"{_average(rate.per_minute)}{'+' if rate.capped else ''} / min",
        "hour_hint": f"{_count(rate.last_hour, rate.capped)} events in the last hour",
    }


def lag_view(lag: Lag) -> dict[str, Any]:
    if lag.up_to_date:
        text, hint = "up to date", "every event received has been applied"
    else:
        text = f"{_count(lag.unapplied, lag.capped)} behind"
        age = _age(lag.oldest_seconds or 0.0)
        hint = f"oldest unapplied event received {age} ago"
    return {
        "unapplied": lag.unapplied,
        "capped": lag.capped,
        "oldest_seconds": None if lag.oldest_seconds is None else round(lag.oldest_seconds, 1),
        "up_to_date": lag.up_to_date,
        "text": text,
        "hint": hint,
    }


def _page(request: Request, session: SignedIn, window: str) -> dict[str, Any]:
    activity = _activity(request)
    org = session.organization_id
    latest = activity.latest(organization_id=org, limit=LATEST)
    counts = activity.counts(organization_id=org, window=window)
    title = f"Events received, {WINDOWS[window][0].lower()} (UTC)"
    chart = line_chart(
        title, counts.labels, [Series(name, values) for name, values in counts.series]
    )
    return {
        "events": [event_view(event) for event in latest],
        "last_seq": latest[0].seq if latest else 0,
        "rate": rate_view(activity.rate(organization_id=org)),
        "lag": lag_view(activity.lag(organization_id=org)),
        "counts": counts,
        "totals": counts.totals(),
        "chart": chart,
        "chart_title": title,
        "window": window,
        "windows": [(key, label) for key, (label, _, _) in WINDOWS.items()],
    }


@router.get("/events")
async def events_page(request: Request, session: SignedIn, window: str = "24h") -> Response:
    try:
        check_window(window)
    except ValidationFailed as exc:
        context = await run_in_threadpool(_page, request, session, "24h")
        return render(
            request,
            "events.html",
            context,
            session=session,
            active=PAGE,
            error=exc.message,
            status_code=exc.status_code,
        )
    context = await run_in_threadpool(_page, request, session, window)
    return render(request, "events.html", context, session=session, active=PAGE)


def _feed(request: Request, organization_id: str, after: int) -> dict[str, Any]:
    feed = _activity(request).feed(organization_id=organization_id, after=after, limit=FEED_LIMIT)
    return {
        "events": [event_view(event) for event in feed.events],
        "more": feed.more,
        "last_seq": feed.last_seq,
        "rate": rate_view(feed.rate),
        "lag": lag_view(feed.lag),
    }


@router.get("/events/feed")
async def events_feed(request: Request, session: SignedIn, after: str | None = None) -> Response:
    """Events after ``after`` (newest first, at most 100: the newest), the cursor for the
    next poll, and the current rate and lag."""
    cursor = decode_after(after)  # ValidationFailed: a 400 envelope naming "after"
    body = await run_in_threadpool(_feed, request, session.organization_id, cursor)
    return JSONResponse(body, headers={"Cache-Control": SECURITY_HEADERS["Cache-Control"]})
