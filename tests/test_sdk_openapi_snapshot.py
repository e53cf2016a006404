"""The TypeScript SDK's OpenAPI snapshot is the document the server serves.

``sdk/typescript/src/generated/schema.ts`` is generated from ``sdk/typescript/openapi.json``;
this test fails when the server changes without the snapshot being refreshed, so the SDK's
types cannot drift from the API. Refresh with ``.venv/bin/python scripts/export_openapi.py``
and then ``npm run generate`` in ``sdk/typescript``.
"""

from __future__ import annotations

import json
from pathlib import Path

from lehnz.app import create_app
from lehnz.config import Settings

SNAPSHOT = Path(__file__).resolve().parent.parent / "sdk" / "typescript" / "openapi.json"
REFRESH = (
    "the server's OpenAPI document differs from the TypeScript SDK's snapshot; run "
    "`.venv/bin/python scripts/export_openapi.py` and `cd sdk/typescript && npm run generate`"
)


def test_snapshot_is_the_served_document(tmp_path: Path) -> None:
    served = create_app(Settings(data_dir=tmp_path)).openapi()
    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert served == snapshot, REFRESH
