"""A data directory lehnz creates is its user's alone: the folder 0700, the SQLite database
with its -wal and -shm files and the generated secret 0600, whatever the umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from lehnz.auth.service import create_account
from lehnz.config import Settings
from lehnz.store import open_store


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_data_directory_and_its_files_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "var" / "lehnz"
    settings = Settings(data_dir=data_dir)
    store = open_store(settings.resolved_database_url())
    try:
        create_account(
            store, email="modes@example.com", password="long enough", organization_name="M"
        )
        # The pool keeps a connection open, so SQLite's WAL files are there to look at.
        with store.read() as connection:
            connection.exec_driver_sql("SELECT count(*) FROM organizations").scalar_one()
            database = data_dir / "lehnz.db"
            files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
            assert {path.name: _mode(path) for path in files} == {
                "lehnz.db": 0o600,
                "lehnz.db-wal": 0o600,
                "lehnz.db-shm": 0o600,
            }
    finally:
        store.close()
    settings.resolved_secret_key()
    assert _mode(data_dir / "secret_key") == 0o600
    assert _mode(data_dir) == 0o700


def _run_with_umask_0(*args: str) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` with umask 0 and none of this shell's ``LEHNZ_*`` settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LEHNZ_")}
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=clean,
        umask=0,
        timeout=120,
        check=False,
    )


def test_the_modes_do_not_come_from_the_umask(tmp_path: Path) -> None:
    """With umask 0 every file would be world-writable unless lehnz gives the mode itself."""
    data_dir = tmp_path / "data"
    migrate = _run_with_umask_0("-m", "lehnz", "migrate", "--data-dir", str(data_dir))
    assert migrate.returncode == 0, migrate.stderr
    secret = _run_with_umask_0(
        "-c",
        "import sys; from lehnz.config import Settings; "
        "Settings(data_dir=sys.argv[1]).resolved_secret_key()",
        str(tmp_path / "other"),
    )
    assert secret.returncode == 0, secret.stderr
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "lehnz.db") == 0o600
    assert _mode(tmp_path / "other") == 0o700
    assert _mode(tmp_path / "other" / "secret_key") == 0o600


def test_an_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    """An operator who made the folder (e.g. group-readable for backups) decides its mode."""
    data_dir = tmp_path / "shared"
    data_dir.mkdir(mode=0o750)
    os.chmod(data_dir, 0o750)
    store = open_store(Settings(data_dir=data_dir).resolved_database_url())
    store.close()
    assert _mode(data_dir) == 0o750
    assert _mode(data_dir / "lehnz.db") == 0o600
