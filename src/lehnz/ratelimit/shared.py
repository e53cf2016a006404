"""Windows shared by the processes of one ``lehnz serve --workers N``: exact across them
without Redis.

The windows live in a file of fixed-size slots mapped into every worker's memory (``mmap``);
a request's count is read and written under an exclusive ``flock`` of that file, so two
workers never count the same request slot twice. Why these two and not another:

- ``flock`` is released by the kernel when its holder dies, so a worker killed mid-check
  never leaves the others waiting; a lock living inside shared memory (a semaphore, a
  futex) would stay held for good.
- A check is a hash, two system calls and a struct read and write on mapped memory: 4.6 µs
  of CPU against 2.2 µs for ``MemoryLimiter`` (``bench/ratelimit_shared.py``, 2 cores,
  both with the ``Decision`` built), where a SQLite ``BEGIN IMMEDIATE`` table would take
  a write transaction per request. So it stays on the event loop as the in-memory check
  does (``RateLimits.counts_in_memory``).
- The lock is held for the few slot reads and writes only; nothing in it waits on I/O
  (the mapped file is a page-cache page, written back by the kernel at its leisure).

Each slot holds a window's key (a 16-byte BLAKE2 digest of ``key:window_seconds``), its
count and its end on ``CLOCK_MONOTONIC``, which is one clock for every process on the
machine. Slots are found by open addressing within ``_PROBES`` of the key's home slot; an
ended window's slot is reused. The parent process creates the file anew at each start
(``create``), so windows never outlive the server that counted them, and a monotonic end
from before a reboot is never read.

Should every slot near a key's home still hold a live window (more than about a quarter
million distinct clients in one window), the one ending soonest is given up: that client
starts a fresh window. This is logged; the table is sized so it does not happen in use.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import mmap
import os
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

from lehnz.ratelimit.window import Decision

logger = logging.getLogger("lehnz.ratelimit")

_MAGIC = b"lehnzrl1"
_HEADER = struct.Struct("<8sQ")  # magic, slot count
_HEADER_SIZE = 64
_SLOT = struct.Struct("<16sIxxxxd")  # key digest, count, ends_at (monotonic seconds)
_EMPTY = bytes(16)
_PROBES = 32
#: 2^18 slots of 32 bytes: an 8 MiB file, of which only the touched pages take memory.
DEFAULT_SLOTS = 1 << 18


class SharedLimiter:
    #: ``RateLimits.counts_in_memory``: a check needs no I/O that could block the loop.
    in_memory = True

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.monotonic) -> None:
        """Open the table ``create`` made (every worker does, at its start)."""
        self._clock = clock
        self._fd = os.open(path, os.O_RDWR)
        try:
            size = os.fstat(self._fd).st_size
            self._map = mmap.mmap(self._fd, size)
        except Exception:
            os.close(self._fd)
            raise
        magic, slots = _HEADER.unpack_from(self._map, 0)
        if magic != _MAGIC or slots & (slots - 1) or size != _HEADER_SIZE + slots * _SLOT.size:
            self.close()
            raise ValueError(f"{path} is not a lehnz rate-limit table")
        self._mask = slots - 1
        # flock excludes other open files, not other threads sharing this one.
        self._threads = threading.Lock()

    @staticmethod
    def create(path: Path, *, slots: int = DEFAULT_SLOTS) -> None:
        """A new, empty table at ``path``, replacing any old one in one step (the parent
        process, before its workers start). ``slots`` must be a power of two."""
        if slots < _PROBES or slots & (slots - 1):
            raise ValueError("slots must be a power of two of at least 32")
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, _HEADER_SIZE + slots * _SLOT.size)  # zeros: every slot empty
            os.pwrite(fd, _HEADER.pack(_MAGIC, slots), 0)
        finally:
            os.close(fd)
        os.replace(temporary, path)

    def hit(self, key: str, *, limit: int, window_seconds: int) -> Decision:
        digest = hashlib.blake2b(f"{key}:{window_seconds}".encode(), digest_size=16).digest()
        home = int.from_bytes(digest[:8], "little")
        now = self._clock()
        with self._threads:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                count, ends_at = self._count(digest, home, now, window_seconds)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        return Decision.of(count, limit, ends_at - now)

    def _count(
        self, digest: bytes, home: int, now: float, window_seconds: int
    ) -> tuple[int, float]:
        """Add one to ``digest``'s window (opening one if it has none, or it ended); the
        lock is held."""
        table = self._map
        reusable: int | None = None
        soonest: tuple[float, int] | None = None
        for probe in range(_PROBES):
            offset = _HEADER_SIZE + ((home + probe) & self._mask) * _SLOT.size
            found, count, ends_at = _SLOT.unpack_from(table, offset)
            if found == digest:
                if ends_at <= now:
                    count, ends_at = 0, now + window_seconds
                count += 1
                _SLOT.pack_into(table, offset, digest, count, ends_at)
                return count, ends_at
            if found == _EMPTY:
                reusable = offset if reusable is None else reusable
                break  # the key was never placed past an empty slot
            if ends_at <= now:
                reusable = offset if reusable is None else reusable
            elif soonest is None or ends_at < soonest[0]:
                soonest = (ends_at, offset)
        if reusable is None:
            assert soonest is not None
            reusable = soonest[1]
            logger.warning("rate-limit table crowded: a live window was given up early")
        ends_at = now + window_seconds
        _SLOT.pack_into(table, reusable, digest, 1, ends_at)
        return 1, ends_at

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)
