"""``import lehnz.client`` does not load the server: its models come from ``lehnz.wire``,
which needs only pydantic and a few light modules, so an app using the client does not pay
for numpy, scipy, implicit, scikit-learn, SQLAlchemy or FastAPI."""

from __future__ import annotations

import ast
import subprocess
import sys
from typing import get_args

from lehnz.imports.readers import Format as ReaderFormat
from lehnz.wire.uploads import Format as WireFormat

HEAVY = ("numpy", "scipy", "sqlalchemy", "implicit", "sklearn", "fastapi")

# What lehnz.wire and lehnz.client may load of lehnz itself.
LIGHT = {
    "lehnz",
    "lehnz.catalog",
    "lehnz.catalog.models",
    "lehnz.events",
    "lehnz.events.models",
    "lehnz.timestamps",
    "lehnz.errors",
}


def _run(code: str) -> object:
    # A fresh interpreter: this one has long imported the server.
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return ast.literal_eval(done.stdout.strip())


def test_importing_the_client_loads_nothing_heavy() -> None:
    code = f"import lehnz.client, sys; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    assert _run(code) == []


def test_the_client_and_the_wire_models_load_only_light_lehnz_modules() -> None:
    code = (
        "import lehnz.client, lehnz.wire.catalog, lehnz.wire.events, lehnz.wire.models, "
        "lehnz.wire.recommend, lehnz.wire.uploads, sys; "
        "print(sorted(m for m in sys.modules if m == 'lehnz' or m.startswith('lehnz.')))"
    )
    loaded = _run(code)
    assert isinstance(loaded, list)
    allowed = {m for m in loaded if m.startswith(("lehnz.client", "lehnz.wire"))} | LIGHT
    assert sorted(set(loaded) - allowed) == []


def test_the_upload_format_is_the_readers() -> None:
    assert get_args(WireFormat) == get_args(ReaderFormat)
