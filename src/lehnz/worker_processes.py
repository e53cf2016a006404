"""``lehnz serve --workers N`` with N > 1: what the parent prepares, and the app each worker
process builds.

uvicorn starts the workers (fresh interpreters, ``spawn``) and hands each the listening
socket; the kernel spreads connections among them. The parent migrates the database, seeds
the demo and creates the shared files first, once, then passes every setting to the workers
through the environment (``LEHNZ_*``), so each builds the same ``Settings`` and its own
``Runtime`` from them. Per worker: its own models in memory, caches and database pool. Shared,
in the data directory, unless Redis is configured:

- ``ratelimits``: the request windows (``SharedLimiter``), exact across the workers;
- ``notices``: a revoked key, a changed setting or a new model, seen by every worker within
  0.1 s (``FileNotices``); a new model is also found by each worker's own version check
  (``LEHNZ_MODEL_CHECK_SECONDS``);
- ``pipeline.lock``: held by the one worker that runs the pipeline and scheduled training
  (``Leadership``); another takes over within a second if it dies.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors.multiprocess import Multiprocess

from lehnz.config import Settings
from lehnz.notices import FileNotices
from lehnz.private_files import make_private_dir
from lehnz.ratelimit import SharedLimiter

#: The environment variable by which the parent tells its workers they are ``N`` > 1.
WORKERS_ENV = "LEHNZ_WORKERS"
#: ``uvicorn.run``'s import string for ``worker_app``.
FACTORY = "lehnz.worker_processes:worker_app"


@dataclass(frozen=True)
class SharedFiles:
    data_dir: Path

    @property
    def rate_limits(self) -> Path:
        return self.data_dir / "ratelimits"

    @property
    def notices(self) -> Path:
        return self.data_dir / "notices"

    @property
    def pipeline_lock(self) -> Path:
        return self.data_dir / "pipeline.lock"


def prepare(settings: Settings, workers: int) -> None:
    """In the parent, after migrations and before any worker starts: fresh shared files
    (windows and notices never outlive the server), and the settings the CLI chose put in
    the environment the workers inherit."""
    data_dir = settings.data_dir.resolve()
    make_private_dir(data_dir)
    files = SharedFiles(data_dir)
    if not settings.redis_url:
        SharedLimiter.create(files.rate_limits)
        FileNotices.create(files.notices)
    os.environ["LEHNZ_DATA_DIR"] = str(data_dir)
    os.environ["LEHNZ_SERVICE"] = settings.service
    os.environ[WORKERS_ENV] = str(workers)


def serve(workers: int, options: dict[str, Any]) -> None:
    """Start ``workers`` processes serving ``worker_app`` on one socket, as
    ``uvicorn.run(FACTORY, factory=True, workers=N)`` does, with one difference: uvicorn's
    "Uvicorn running on ..." line comes once every worker serves, as it does for one
    process, not when the socket is bound (each worker imports lehnz and opens its runtime
    first, seconds on a busy machine). Scripts and tests that wait for that line then find
    the server answering. The socket listens from the start, so a connection made earlier
    waits for a worker instead of being refused."""
    config = uvicorn.Config(FACTORY, factory=True, workers=workers, **options)
    log = logging.getLogger("uvicorn.error")
    held = _HoldRunningLine()
    log.addFilter(held)
    try:
        sock = config.bind_socket()
    finally:
        log.removeFilter(held)
    sock.listen(config.backlog)
    try:
        _Supervisor(config, [sock], announce=held.release).run()
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


class _HoldRunningLine(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._held: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("Uvicorn running on"):
            self._held.append(record)
            return False
        return True

    def release(self) -> None:
        for record in self._held:
            logging.getLogger(record.name).handle(record)
        self._held.clear()


class _Supervisor(Multiprocess):
    """uvicorn's supervisor, announcing the server once every worker has started."""

    def __init__(
        self, config: uvicorn.Config, sockets: list[socket.socket], *, announce: Any
    ) -> None:
        super().__init__(config, sockets)
        self._announce = announce

    def init_processes(self) -> None:
        super().init_processes()
        timeout = self.config.timeout_worker_healthcheck * 12
        if all([process.wait_until_ready(timeout) for process in self.processes]):
            self._announce()  # otherwise run() finds the failed worker and stops


def worker_app() -> FastAPI:
    """The app of one worker (uvicorn calls this in each worker process)."""
    from lehnz.app import create_app
    from lehnz.cli import share_the_gil_often
    from lehnz.gc_tuning import tune_for_serving
    from lehnz.runtime import build_runtime

    _die_with_parent()
    share_the_gil_often()  # as the parent did for itself; OPENBLAS_NUM_THREADS is inherited
    tune_for_serving()
    settings = Settings()
    workers = settings.resolved_workers()
    # The parent migrated already: workers starting at once must not all try.
    runtime = build_runtime(settings, migrate=False, workers=workers)
    return create_app(runtime=runtime)


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Ask Linux to end this worker when the parent dies, however it dies: uvicorn stops its
    workers on SIGINT or SIGTERM, but a parent killed outright would leave them serving the
    port and holding the pipeline's lock."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: uvicorn's own supervision only
        return
    if os.getppid() == 1:  # the parent died before the request: nobody to signal us
        os.kill(os.getpid(), signal.SIGTERM)
