"""``LEHNZ_ACCESS_LOG`` decides whether a real ``lehnz serve`` writes a line per request."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import DOMAIN
from tests.processes import lehnz_serve


@pytest.mark.parametrize("setting", ["true", "false"])
def test_the_access_log_is_written_as_set(tmp_path, setting):
    env = {"LEHNZ_TRAIN_CHECK_SECONDS": "3600", "LEHNZ_ACCESS_LOG": setting}
    with lehnz_serve(tmp_path, env) as (base, server), httpx.Client(base_url=base) as client:
        assert client.get("/healthz").status_code == 200
        assert client.post("/recommend", headers=DOMAIN, json={}).status_code == 401
    log = server.log_path.read_text(errors="replace")
    lines = [line for line in log.splitlines() if '"POST /recommend HTTP/1.1" 401' in line]
    assert len(lines) == (1 if setting == "true" else 0), log
