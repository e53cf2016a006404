"""Folders and files that only lehnz's own user may read: the data directory, the SQLite
database and the generated JWT secret.

The database holds password and key hashes and every shopper's events, and the secret signs
developer tokens, so on a shared machine other users must not read them. The mode is given
when the file is created, never fixed afterwards, so there is no moment when it exists with
looser permissions. The umask can only take bits away, so it never makes them looser either.
Existing folders and files are left as their owner set them.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def make_private_dir(path: Path) -> None:
    """Create ``path`` with mode 0700 if it is missing (its missing parents get the usual
    mode: they may be shared folders such as ``/var/lib``)."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # another process made it first
        path.mkdir(mode=DIRECTORY_MODE)


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it is missing.

    SQLite takes an empty file for a new database, and creates its ``-wal`` and ``-shm``
    files with the database file's mode, so creating the file first decides all three.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(descriptor)
