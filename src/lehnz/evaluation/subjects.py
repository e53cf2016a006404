"""lehnz as the benchmark sees it: fed the training events, then asked like a store would.

``InProcess`` drives the production code directly (store, importer, pipeline, trainer,
recommender) on a temporary SQLite database; ``OverHttp`` does the same through the public
API of a running server.
"""

from __future__ import annotations

import csv
import io
import secrets
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from lehnz.evaluation.dataset import Event


class Subject(Protocol):
    model_report: dict[str, Any]

    def recommend(self, user_id: str, k: int) -> list[str]: ...
    def basket(self, item_ids: list[str], k: int) -> list[str]: ...
    def session(self, item_id: str, k: int) -> list[str]: ...
    def close(self) -> None: ...


def events_csv(events: Sequence[Event]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["user_id", "item_id", "event_name", "timestamp", "session_id"])
    for e in events:
        writer.writerow([e.user_id, e.item_id, e.event_name, repr(e.time), e.session_id or ""])
    return buffer.getvalue().encode()


class InProcess:
    def __init__(self, dataset: Path, train: Sequence[Event]) -> None:
        from lehnz.config import Settings
        from lehnz.runtime import build_runtime

        self._dir = tempfile.TemporaryDirectory(prefix="lehnz-quality-")
        settings = Settings(
            data_dir=Path(self._dir.name),
            secret_key=secrets.token_urlsafe(40),
        )
        self.runtime = build_runtime(settings)
        self.runtime.recommendation_log.start()
        self.org = self.runtime.accounts.register(
            email="bench@lehnz.local", password=secrets.token_urlsafe(12), organization_name="bench"
        ).organization_id
        with (dataset / "items.csv").open("rb") as items:
            self.runtime.importer.run(
                kind="items", organization_id=self.org, raw=items, filename="items.csv"
            )
        self.runtime.importer.run(
            kind="events",
            organization_id=self.org,
            raw=io.BytesIO(events_csv(train)),
            filename="events.csv",
        )
        while self.runtime.pipeline.process_pending():
            pass
        row = self.runtime.trainer.train(self.org)
        self.model_report = row.manifest

    def _ask(self, **kwargs: Any) -> list[str]:
        from lehnz.serving.recommender import ListOptions

        k = kwargs.pop("k")
        options = ListOptions(limit=k, page=1)
        kind = kwargs.pop("kind")
        recommender = self.runtime.recommender
        if kind == "user":
            page = recommender.for_user(
                organization_id=self.org,
                options=options,
                placement=None,
                include_purchased=None,
                mode="auto",
                endpoint="/recommend",
                **kwargs,
            )
        elif kind == "basket":
            page = recommender.basket(
                organization_id=self.org,
                options=options,
                endpoint="/recommend/basket",
                user_id=None,
                **kwargs,
            )
        else:
            page = recommender.similar_item(
                organization_id=self.org,
                options=options,
                mode="auto",
                endpoint="/recommend/session",
                **kwargs,
            )
        return [item.item_id for item in page.items]

    def recommend(self, user_id: str, k: int) -> list[str]:
        return self._ask(kind="user", user_id=user_id, k=k)

    def basket(self, item_ids: list[str], k: int) -> list[str]:
        return self._ask(kind="basket", item_ids=item_ids, k=k)

    def session(self, item_id: str, k: int) -> list[str]:
        from lehnz.errors import NotFound

        try:
            return self._ask(kind="session", item_id=item_id, k=k)
        except NotFound:
            return []

    def close(self) -> None:
        self.runtime.close()
        self._dir.cleanup()


class OverHttp:
    """Through ``lehnz.client``, as a store's back end would; only signing up, lifting the
    request limit and issuing keys (developer-token paths the client leaves out) go raw."""

    def __init__(self, url: str, dataset: Path, train: Sequence[Event]) -> None:
        import httpx

        from lehnz.client import Lehnz, NotFoundError

        base = url.rstrip("/")
        domain = {"X-Domain": "commerce"}
        with httpx.Client(base_url=base, timeout=3600) as raw:

            def post(path: str, headers: dict[str, str], body: Any) -> Any:
                response = raw.post(path, headers=headers, json=body)
                response.raise_for_status()
                return response.json()["data"]

            email = f"bench-{secrets.token_hex(4)}@lehnz.local"
            token = post(
                "/api/v1/auth/register",
                domain,
                {
                    "email": email,
                    "password": secrets.token_urlsafe(12),
                    "organization_name": "bench",
                },
            )["token"]
            developer = {**domain, "Authorization": f"Bearer {token}"}
            # Scoring sends thousands of requests; lift this organisation's own request limit.
            raw.put(
                "/api/v1/settings/rate_limit",
                headers=developer,
                json={"requests": 1_000_000_000, "window_seconds": 900},
            ).raise_for_status()
            secret = post("/api/v1/keys", developer, {"type": "secret"})["key"]
            public = post("/api/v1/keys", developer, {"type": "publishable"})["key"]
        self._client = Lehnz(publishable_key=public, secret_key=secret, base_url=base, timeout=3600)
        self._client.uploads.items(dataset / "items.csv")
        self._client.uploads.events(events_csv(train), filename="events.csv")
        last = train[-1].user_id
        expected = sum(1 for e in train if e.user_id == last)
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            try:
                activity = self._client.users.get(last).activity
            except NotFoundError:
                activity = None
            if activity is not None and activity.events >= expected:
                break
            time.sleep(1.0)
        self.model_report = self._client.models.train().model_dump(mode="json")

    def recommend(self, user_id: str, k: int) -> list[str]:
        return self._client.recommend(user_id, limit=k).all_item_ids

    def basket(self, item_ids: list[str], k: int) -> list[str]:
        return self._client.basket(item_ids, limit=k).all_item_ids

    def session(self, item_id: str, k: int) -> list[str]:
        from lehnz.client import APIStatusError

        try:
            return self._client.session_recommendations(item_id, limit=k).all_item_ids
        except APIStatusError:
            return []

    def close(self) -> None:
        self._client.close()
