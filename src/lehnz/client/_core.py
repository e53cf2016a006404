"""What the sync and async clients share: where each call goes, with which key and body,
how its answer is read, and when a failed attempt is tried again."""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from lehnz.client.errors import (
    APIStatusError,
    MissingKeyError,
    RateLimitError,
    error_class,
)
from lehnz.client.types import (
    BasketRecommendations,
    BasketRequest,
    ErasureOut,
    EventImportReport,
    EventIn,
    EventPageOut,
    ImportReport,
    ItemDeleted,
    ItemIn,
    ItemOut,
    Mode,
    ModelList,
    ModelOut,
    PriceOptimizedRecommendations,
    PriceOptimizedRequest,
    RecommendRequest,
    SessionRequest,
    SimilarItems,
    TrackResult,
    UpsertOut,
    UserIn,
    UserOut,
    UserRecommendations,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

Side = Literal["ingestion", "recommendations"]
KeyKind = Literal["publishable", "secret"]
#: A file to upload: its path, its bytes, or a binary file object.
FileInput = str | os.PathLike[str] | bytes | IO[bytes]
EventLike = EventIn | Mapping[str, Any]
ItemLike = ItemIn | Mapping[str, Any]
UserLike = UserIn | Mapping[str, Any]

DEFAULT_BASE_URL = "http://localhost:8000"
USER_AGENT = "lehnz-python/0.1.0"
#: Statuses worth another attempt: rate limited, request timeout, and server errors.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
#: A Retry-After longer than this is not waited for: the error is raised at once.
MAX_RETRY_WAIT = 60.0


# ---------------------------------------------------------------------------------- calls


class Upload:
    """A multipart ``file`` field, opened afresh for each attempt."""

    def __init__(self, file: FileInput, filename: str | None) -> None:
        self._file = file
        self._opened: IO[bytes] | None = None
        self._start: int | None = None
        if isinstance(file, str | os.PathLike):
            path = Path(file)
            if not path.is_file():
                raise FileNotFoundError(f"No file at {path}")
            self.filename = filename or path.name
        elif isinstance(file, bytes):
            self.filename = filename or "upload"
        else:
            name = getattr(file, "name", None)
            self.filename = filename or (Path(name).name if isinstance(name, str) else "upload")
            if file.seekable():
                self._start = file.tell()

    def open(self) -> tuple[str, bytes | IO[bytes]]:
        file = self._file
        if isinstance(file, str | os.PathLike):
            self._opened = Path(file).open("rb")  # noqa: SIM115  (closed by close())
            return self.filename, self._opened
        if isinstance(file, bytes):
            return self.filename, file
        if self._start is not None:
            file.seek(self._start)
        return self.filename, file

    def close(self) -> None:
        if self._opened is not None:
            self._opened.close()
            self._opened = None


@dataclass
class Call(Generic[T]):
    """One API call: sent as is on every attempt, so a retry repeats it exactly."""

    method: str
    side: Side
    path: str
    key: KeyKind
    parse: Callable[[Any], T]
    body: bytes | None = None
    params: dict[str, str | int] = field(default_factory=dict)
    upload: Upload | None = None
    #: False for a call that may have done its work even when no answer came back (an event
    #: upload's rows may lack ``event_id``; a training run): repeated only when the server
    #: says it refused it (429, or 503 with ``Retry-After``), as the TypeScript SDK does.
    idempotent: bool = True


def path_id(value: str) -> str:
    """An id as one path segment: every character but letters, digits and ``-._~``
    percent-encoded, ``/`` included; an id of dots only as ``%2E`` (clients drop ``.`` and
    ``..`` segments)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"An id must be a non-empty string, not {value!r}")
    if set(value) == {"."}:
        return "%2E" * len(value)
    return quote(value, safe="")


def _encode(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _plain(value: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """A request object as JSON: a model's fields as set (left-out fields keep their stored
    value on the server), or a mapping as given."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    return dict(value)


def _many(value: Any) -> list[Any]:
    if isinstance(value, BaseModel | Mapping):
        return [value]
    return list(value)


def _given(**options: Any) -> dict[str, Any]:
    return {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in options.items()
        if value is not None
    }


def _data(model: type[M]) -> Callable[[Any], M]:
    return lambda body: model.model_validate(body["data"])


def _answer(model: type[M]) -> Callable[[Any], M]:
    return lambda body: model.model_validate(body)


def _track(body: Any) -> Callable[[Any], TrackResult]:
    ids = [event.get("event_id") if isinstance(event, dict) else None for event in body]
    return lambda answer: TrackResult(accepted=answer["data"]["accepted"], event_ids=ids)


def track(events: EventLike | Sequence[EventLike]) -> Call[TrackResult]:
    body = []
    for event in _many(events):
        plain = _plain(event)
        if plain.get("event_id") is None:
            plain["event_id"] = str(uuid.uuid4())
        body.append(plain)
    return Call("POST", "ingestion", "/events/ingest", "publishable", _track(body), _encode(body))


def identify(user_id: str, previous_user_id: str) -> Call[TrackResult]:
    return track(
        {"user_id": user_id, "event_name": "identify", "previous_user_id": previous_user_id}
    )


def _list_body(
    first: tuple[str, Any], request_type: type[BaseModel], options: dict[str, Any]
) -> bytes:
    name, value = first
    if isinstance(value, request_type):
        return _encode({**_plain(value), **_given(**options)})
    if name == "item_ids":
        value = list(value)
    return _encode({name: value, **_given(**options)})


def recommend(user_id: str | RecommendRequest, **options: Any) -> Call[UserRecommendations]:
    body = _list_body(("user_id", user_id), RecommendRequest, options)
    return Call(
        "POST", "recommendations", "/recommend", "publishable", _answer(UserRecommendations), body
    )


def price_optimized(
    user_id: str | PriceOptimizedRequest, **options: Any
) -> Call[PriceOptimizedRecommendations]:
    body = _list_body(("user_id", user_id), PriceOptimizedRequest, options)
    return Call(
        "POST",
        "recommendations",
        "/recommend/price_optimized",
        "publishable",
        _answer(PriceOptimizedRecommendations),
        body,
    )


def session(clicked_item_id: str | SessionRequest, **options: Any) -> Call[SimilarItems]:
    body = _list_body(("clicked_item_id", clicked_item_id), SessionRequest, options)
    return Call(
        "POST", "recommendations", "/recommend/session", "publishable", _answer(SimilarItems), body
    )


def basket(item_ids: Sequence[str] | BasketRequest, **options: Any) -> Call[BasketRecommendations]:
    body = _list_body(("item_ids", item_ids), BasketRequest, options)
    return Call(
        "POST",
        "recommendations",
        "/recommend/basket",
        "publishable",
        _answer(BasketRecommendations),
        body,
    )


def similar_items(
    item_id: str,
    *,
    limit: int | None,
    page: int | None,
    mode: Mode | None,
    include_attributes: bool | None,
) -> Call[SimilarItems]:
    params: dict[str, str | int] = _given(limit=limit, page=page, mode=mode)
    if include_attributes is not None:
        params["include_attributes"] = "true" if include_attributes else "false"
    return Call(
        "GET",
        "recommendations",
        f"/item/{path_id(item_id)}",
        "publishable",
        _answer(SimilarItems),
        params=params,
    )


def upsert(kind: Literal["items", "users"], objects: Any) -> Call[UpsertOut]:
    body = [_plain(one) for one in _many(objects)]
    return Call("POST", "ingestion", f"/{kind}", "secret", _data(UpsertOut), _encode(body))


def get_item(item_id: str) -> Call[ItemOut]:
    return Call("GET", "ingestion", f"/items/{path_id(item_id)}", "secret", _data(ItemOut))


def delete_item(item_id: str) -> Call[ItemDeleted]:
    return Call("DELETE", "ingestion", f"/items/{path_id(item_id)}", "secret", _data(ItemDeleted))


def get_user(user_id: str) -> Call[UserOut]:
    return Call("GET", "ingestion", f"/users/{path_id(user_id)}", "secret", _data(UserOut))


def delete_user(user_id: str) -> Call[ErasureOut]:
    return Call("DELETE", "ingestion", f"/users/{path_id(user_id)}", "secret", _data(ErasureOut))


def user_events(user_id: str, *, limit: int | None, before: str | None) -> Call[EventPageOut]:
    return Call(
        "GET",
        "ingestion",
        f"/users/{path_id(user_id)}/events",
        "secret",
        _data(EventPageOut),
        params=_given(limit=limit, before=before),
    )


def upload_catalog(
    kind: Literal["items", "users"], file: FileInput, filename: str | None, strict: bool
) -> Call[ImportReport]:
    return Call(
        "POST",
        "ingestion",
        f"/upload/{kind}",
        "secret",
        _data(ImportReport),
        params={"strict": "true"} if strict else {},
        upload=Upload(file, filename),
    )


def upload_events(file: FileInput, filename: str | None, strict: bool) -> Call[EventImportReport]:
    return Call(
        "POST",
        "ingestion",
        "/upload/events",
        "secret",
        _data(EventImportReport),
        params={"strict": "true"} if strict else {},
        upload=Upload(file, filename),
        idempotent=False,
    )


def train() -> Call[ModelOut]:
    return Call("POST", "ingestion", "/models/train", "secret", _data(ModelOut), idempotent=False)


def list_models() -> Call[ModelList]:
    return Call("GET", "ingestion", "/models", "secret", _data(ModelList))


# ------------------------------------------------------------------------- configuration


class Config:
    """Keys, where each side of the API is, and the retry and timeout settings."""

    def __init__(
        self,
        *,
        publishable_key: str | None,
        secret_key: str | None,
        base_url: str | None,
        ingestion_url: str | None,
        recommendations_url: str | None,
        domain: str,
        max_retries: int,
        timeout: float | httpx.Timeout,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.keys: dict[KeyKind, str | None] = {
            "publishable": publishable_key,
            "secret": secret_key,
        }
        root = (base_url or DEFAULT_BASE_URL).rstrip("/")
        ingestion = (ingestion_url or root).rstrip("/")
        # The reference's ingestion base URL ends in /api/v1; a server's root works too.
        if not ingestion.endswith("/api/v1"):
            ingestion += "/api/v1"
        self.bases: dict[Side, str] = {
            "ingestion": ingestion,
            "recommendations": (recommendations_url or root).rstrip("/"),
        }
        self.domain = domain
        self.max_retries = max_retries
        self.timeout = timeout

    def url(self, call: Call[Any]) -> str:
        return self.bases[call.side] + call.path

    def headers(self, call: Call[Any]) -> dict[str, str]:
        key = self.keys[call.key]
        if not key:
            name = f"{call.key}_key"
            raise MissingKeyError(
                f"{call.method} {call.path} needs the {call.key} key: pass {name}= to the client",
                code="missing_api_key",
            )
        headers = {
            "X-API-KEY": key,
            "X-Domain": self.domain,
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        return headers


# ------------------------------------------------------------------------ answers, retries


def error_from(response: httpx.Response) -> APIStatusError:
    """The exception for an error answer, from its envelope (or its text, when the answer
    is not one)."""
    code = detail = None
    message = response.reason_phrase or f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        body = None
        if response.text:
            message = response.text[:500]
    if isinstance(body, dict):
        message = str(body.get("message") or message)
        detail = body.get("error")
        detail = None if detail is None else str(detail)
        code = body.get("code")
        code = None if code is None else str(code)
    kind = error_class(response.status_code)
    common: dict[str, Any] = {
        "status": response.status_code,
        "code": code,
        "detail": detail,
        "headers": dict(response.headers),
    }
    if kind is RateLimitError:
        return RateLimitError(message, retry_after=retry_after(response.headers), **common)
    return kind(message, **common)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from ``Retry-After`` or else ``RateLimit-Reset``."""
    for name in ("retry-after", "ratelimit-reset"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        if seconds >= 0:
            return seconds
    return None


def retry_delay(
    error: Exception, attempt: int, max_retries: int, *, idempotent: bool = True
) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or ``None`` to give up and raise.

    Connection errors, timeouts and the statuses of ``RETRY_STATUSES`` are retried, up to
    ``max_retries`` times: after what ``Retry-After`` (or ``RateLimit-Reset``) says when the
    answer has it, else after an exponential backoff (0.5 s, 1 s, 2 s, ... up to 8 s), with
    jitter so that many clients do not come back at the same instant. A call that is not
    idempotent is repeated only after a refusal: a 429, or a 503 with ``Retry-After``.
    """
    if attempt >= max_retries:
        return None
    if not idempotent and not _refused_before_work(error):
        return None
    if isinstance(error, APIStatusError):
        if error.status not in RETRY_STATUSES:
            return None
        wait = retry_after(error.headers)
        if wait is not None:
            if wait > MAX_RETRY_WAIT:
                return None
            return wait + random.uniform(0, min(1.0, 0.1 * wait + 0.05))
    backoff = min(INITIAL_BACKOFF * 2.0**attempt, MAX_BACKOFF)
    return backoff * random.uniform(0.75, 1.0)


def _refused_before_work(error: Exception) -> bool:
    return isinstance(error, APIStatusError) and (
        error.status == 429 or (error.status == 503 and "retry-after" in error.headers)
    )


def upload_files(call: Call[Any]) -> dict[str, tuple[str, bytes | IO[bytes]]] | None:
    return {"file": call.upload.open()} if call.upload is not None else None
