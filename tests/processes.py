"""Real ``lehnz`` processes for tests: servers and workers started as subprocesses.

Output goes to a log file, never to a pipe that could fill up and stall the process, and is
shown when a process fails to start.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest

#: What each of uvicorn's server processes prints once it serves.
STARTED = "Application startup complete."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LehnzProcess:
    """``python -m lehnz <args>`` with only the ``LEHNZ_*`` settings given in ``env``, and
    one server process unless ``env`` asks for more (``LEHNZ_WORKERS``): the tests written
    for one process (a kill, a restart on the same port, per-process limits) hold as they
    were, and only the tests of ``--workers`` pay for starting several."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("LEHNZ_")}
        clean["LEHNZ_WORKERS"] = "1"
        self.log_path = log
        self._log: IO[bytes] = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lehnz", *args],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**clean, **(env or {})},
        )

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, base: str, deadline: float) -> None:
        """Until ``base/healthz`` answers (a server)."""
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"lehnz did not start in time:\n{self.log_text()}")

    def wait_for_output(self, text: str, deadline: float, *, times: int = 1) -> None:
        """Until the process has printed ``text`` (a worker), ``times`` times."""
        while time.monotonic() < deadline:
            self._check_alive()
            if self.log_text().count(text) >= times:
                return
            time.sleep(0.1)
        pytest.fail(f"lehnz never printed {text!r}:\n{self.log_text()}")

    def _check_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"lehnz exited during start-up:\n{self.log_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush, no goodbye."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Idempotent; always leaves no process and no open file behind."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGINT)
                try:
                    self.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
        finally:
            self._log.close()


@contextmanager
def lehnz_serve(
    tmp: Path,
    env: dict[str, str] | None = None,
    *,
    start_seconds: float = 60,
    workers: int = 1,
) -> Iterator[tuple[str, LehnzProcess]]:
    """A real ``lehnz serve --workers <workers>`` on a free port of 127.0.0.1, its data in
    ``tmp / "data"`` and its output in ``tmp / "server.log"``: its base URL and the process,
    stopped afterwards. With several workers it is ready once every one of them is."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--port", str(port), "--data-dir", str(tmp / "data")]
    server = LehnzProcess([*args, "--workers", str(workers)], tmp / "server.log", env)
    try:
        deadline = time.monotonic() + start_seconds
        server.wait_ready(base, deadline)
        if workers > 1:
            server.wait_for_output(STARTED, deadline, times=workers)
        yield base, server
    finally:
        server.stop()
