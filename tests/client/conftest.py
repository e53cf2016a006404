"""One real ``lehnz serve`` (SQLite) for the client's tests, and an organisation on it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.factories import Tenant, tenant
from tests.processes import lehnz_serve


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with lehnz_serve(tmp_path_factory.mktemp("client")) as (base, _process):
        yield base


@pytest.fixture(scope="module")
def raw(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def org(raw: httpx.Client) -> Tenant:
    return tenant(raw)
