"""Fuzzing: schemathesis over a real ``lehnz serve``, longer than the test suite's run.

``tests/test_schemathesis.py`` starts a server on SQLite and one on PostgreSQL, registers an
organisation, and sends every operation of ``/openapi.json`` generated requests, valid and
invalid, with the credential each documents, checking every answer against the document.
The test suite sends 5 requests per operation; this sends more:

    .venv/bin/python bench/fuzz.py                      # 200 per operation, both databases
    .venv/bin/python bench/fuzz.py --examples 1000 --database sqlite
    .venv/bin/python bench/fuzz.py -- -k "recommend"    # anything after -- goes to pytest

PostgreSQL is found at ``LEHNZ_TEST_POSTGRES_URL`` (default: the local server's ``test``
database), as in the tests. Each failure is printed with a ``curl`` line that reproduces it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="requests per operation")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args()
    selection = [] if args.database == "both" else ["-k", args.database]
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/test_schemathesis.py",
        "-p",
        "no:cacheprovider",
        *selection,
        *args.pytest_args,
    ]
    env = {**os.environ, "LEHNZ_FUZZ_EXAMPLES": str(args.examples), "LEHNZ_FUZZ_RANDOM": "1"}
    env.setdefault("LEHNZ_TEST_REQUIRE_POSTGRES", "1" if args.database != "sqlite" else "0")
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
