"""Write the server's OpenAPI document to the TypeScript SDK's snapshot.

The SDK's types (``sdk/typescript/src/generated/schema.ts``) are generated from the snapshot,
and ``tests/test_sdk_openapi_snapshot.py`` fails when the server's document and the snapshot
differ. After changing the API, refresh both::

    .venv/bin/python scripts/export_openapi.py
    cd sdk/typescript && npm run generate
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from lehnz.app import create_app
from lehnz.config import Settings

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "sdk" / "typescript" / "openapi.json"


def document() -> dict[str, Any]:
    """The document ``GET /openapi.json`` serves (it does not depend on the settings)."""
    with tempfile.TemporaryDirectory() as data_dir:
        return create_app(Settings(data_dir=Path(data_dir))).openapi()


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=SNAPSHOT, help="default: %(default)s")
    args = parser.parse_args()
    args.output.write_text(render(document()), encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
