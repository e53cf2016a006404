"""Every ``LEHNZ_*`` setting, read in one place.

Only this module reads the environment. Everything else receives a ``Settings`` object, so
one test run can hold a SQLite app and a PostgreSQL app side by side.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lehnz.private_files import create_private_file, make_private_dir

Service = Literal["all", "ingestion", "recommendations"]
Registration = Literal["open", "closed"]
RateLimitFailure = Literal["open", "closed"]

SECRET_KEY_FILE = "secret_key"


def usable_cores() -> int:
    """The CPUs this process may run on: its affinity (which a container's cpuset narrows),
    or fewer if its cgroup's CPU quota allows less (``docker run --cpus 2`` on a larger
    host)."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return cores


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEHNZ_", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: a SQLite file in the data directory (WAL).",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis for rate limits and notices shared by every process; default: "
        "both kept in this process.",
    )
    redis_prefix: str = Field(
        default="lehnz", min_length=1, description="Prefix of every Redis key and channel."
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="JWT signing key; if unset, generated once and kept in the data directory.",
    )
    rate_limit_requests: int = Field(default=1000, ge=1)
    rate_limit_window_seconds: int = Field(default=900, ge=1)
    auth_rate_limit_requests: int = Field(default=10, ge=1)
    auth_rate_limit_window_seconds: int = Field(default=900, ge=1)
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or networks (CIDR) of reverse proxies whose "
        "X-Forwarded-For names the client; empty: the peer address is the client.",
    )
    jwt_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    key_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a verified API key is trusted without a database look-up.",
    )
    model_check_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often a serving process looks for a newer model of an organisation "
        "it serves, in case a notice was missed.",
    )
    request_threads: int = Field(
        default=2,
        ge=1,
        le=256,
        description="Threads that run request handlers in each process. The handlers hold "
        "Python's one lock most of the time, so more threads only take turns at it, and the "
        "switching costs more than it gains (bench/RESULTS.md: 305 requests/s with 1, 266 "
        "with 2, 207 with 4, 141 with 40). Two, so that one request waiting on the database "
        "does not stop the others. Training and imports run on threads of their own.",
    )
    access_log: bool = Field(
        default=True,
        description="Whether `lehnz serve` writes a line per request (uvicorn's access log). "
        "Off where a proxy in front already logs requests: formatting and writing the line "
        "is about 7% of a recommendation's CPU (bench/RESULTS.md).",
    )
    answer_cache_entries: int = Field(
        default=4096,
        ge=0,
        le=1_000_000,
        description="Lists kept ranked per process: personal lists of shoppers whose state "
        "has not changed since their last list, and similar-item lists (any applied event, "
        "merge or new model makes a new entry; the page, filters and the live catalog are "
        "applied per request); baskets' lists in a cache of their own, a quarter this size. "
        "About 10 kB each. 0: rank every request from scratch.",
    )
    answer_cache_seconds: float = Field(
        default=600.0,
        gt=0,
        description="The longest an entry of the answer cache is kept.",
    )
    recommend_on_event_loop: Literal["auto", "yes", "no"] = Field(
        default="auto",
        description="Where the five recommendation endpoints compute their answer: on the "
        "event loop (`yes`) or handed to a request thread (`no`). `auto`: on the loop with "
        "SQLite, whose reads are local and take well under a millisecond, so the hand-over "
        "to a thread and back costs more than the answer (bench/RESULTS.md: +55% requests/s "
        "in one process); on threads with PostgreSQL, whose round trips are better waited "
        "for off the loop.",
    )
    workers: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="Processes `lehnz serve` starts, each with its own copy of the models; "
        "default: the cores this process may run on. With more than one, rate limits and "
        "notices are shared through files in the data directory (or Redis, when set), and "
        "one of them runs the embedded pipeline and scheduled training.",
    )
    service: Service = "all"
    embedded_worker: bool = Field(
        default=True,
        description="Run the pipeline inside `lehnz serve --service all`; turn off when "
        "separate `lehnz worker` processes do it.",
    )
    model_artifacts_kept: int = Field(
        default=3,
        ge=2,
        le=1000,
        description="How many of an organisation's newest model versions keep their artifact "
        "in the database; older versions stay listed (when and how they trained, their "
        "metrics) without it, so the database does not grow with every retraining.",
    )
    train_check_seconds: float = Field(
        default=30.0, gt=0, description="How often the trainer looks for stale models."
    )
    train_max_age_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="Retrain after this long if anything changed (sooner after many events).",
    )
    max_upload_bytes: int = Field(
        default=1024**3, ge=1, description="Largest file accepted by /api/v1/upload/*."
    )
    max_decompressed_bytes: int | None = Field(
        default=None,
        ge=1,
        description="Most bytes an upload or import may unpack to (gzip); default: four "
        "times LEHNZ_MAX_UPLOAD_BYTES. Larger files are refused with 413.",
    )
    max_record_chars: int = Field(
        default=4 * 1024**2,
        ge=1,
        description="Longest record (a line, a CSV record, a JSON array element) a file may "
        "hold; longer is refused with 400 before it is held in memory.",
    )
    max_field_chars: int = Field(
        default=1024**2,
        ge=1,
        description="Longest field (a CSV cell, a JSON string) a file may hold; longer is "
        "refused with 400.",
    )
    max_upload_records: int = Field(
        default=50_000_000,
        ge=1,
        description="Most records a file may hold, every line counting (blank ones too); "
        "more is refused with 413.",
    )
    upload_timeout_seconds: float = Field(
        default=600.0,
        gt=0,
        description="How long reading and checking an uploaded file may take; longer is "
        "refused with 413 and nothing is written.",
    )
    body_read_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long the server waits for each part of a request body before "
        "answering 408.",
    )
    registration: Registration = Field(
        default="open",
        description="`closed`: POST /api/v1/auth/register is refused (403) and only an "
        "operator creates organisations, with `lehnz org create`.",
    )
    rate_limit_failure: RateLimitFailure = Field(
        default="open",
        description="While Redis is unreachable, requests that would be counted go through "
        "unlimited (`open`) or are refused with 503 (`closed`).",
    )

    @field_validator("database_url")
    @classmethod
    def _use_psycopg_driver(cls, value: str | None) -> str | None:
        """Accept the ``postgresql://`` URLs every tool prints, and use psycopg 3 for them."""
        if value and value.startswith(("postgresql://", "postgres://")):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _parse_networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError as exc:
                raise ValueError(f"not an address or network: {part!r}") from exc
        return value

    def trusted_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        parts = filter(None, (p.strip() for p in self.trusted_proxies.split(",")))
        return [ipaddress.ip_network(part, strict=False) for part in parts]

    def resolved_max_decompressed_bytes(self) -> int:
        """Four times the upload limit unless set: CSV and JSON gzip about that well, while a
        bomb unpacks a thousandfold."""
        return self.max_decompressed_bytes or 4 * self.max_upload_bytes

    def resolved_workers(self) -> int:
        """``workers``, or the cores this process may run on (its CPU affinity, which a
        container's cpuset narrows; ``os.cpu_count()`` would count the host's)."""
        if self.workers is not None:
            return self.workers
        return usable_cores()

    @property
    def redis_enabled(self) -> bool:
        return bool(self.redis_url)

    def recommend_on_loop(self) -> bool:
        if self.recommend_on_event_loop == "auto":
            return self.resolved_database_url().startswith("sqlite")
        return self.recommend_on_event_loop == "yes"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'lehnz.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The JWT signing key: from the environment, else kept in the data directory.

        Keeping a generated key on disk means tokens survive a restart without anyone having
        to invent a secret; setting ``LEHNZ_SECRET_KEY`` is still required when several
        processes must accept each other's tokens.
        """
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if len(value) < 32:
                raise ValueError("LEHNZ_SECRET_KEY must be at least 32 characters long")
            return value
        path = self.data_dir / SECRET_KEY_FILE
        if path.exists():
            return path.read_text().strip()
        make_private_dir(self.data_dir)
        value = secrets.token_urlsafe(48)
        create_private_file(path)
        path.write_text(value)
        return value
