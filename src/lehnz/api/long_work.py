"""Work that may hold a thread for minutes (training, importing a file) runs on threads of its
own, so that it never takes the few request threads (``LEHNZ_REQUEST_THREADS``) that every
recommendation needs: four uploads at once would otherwise stall the whole API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from anyio import CapacityLimiter, to_thread
from starlette.requests import Request

T = TypeVar("T")

#: Long jobs at once per process; more wait their turn (each answers when done, as before).
LONG_WORK_THREADS = 8


def install_long_work(state: Any) -> None:
    """Called in the app's lifespan: the limiter belongs to the running event loop."""
    state.long_work = CapacityLimiter(LONG_WORK_THREADS)


async def run_long(request: Request, work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` on a long-work thread."""
    limiter: CapacityLimiter = request.app.state.long_work
    return await to_thread.run_sync(work, *args, limiter=limiter)
