"""Everything a running lehnz holds, built once from ``Settings``.

The app's lifespan and the command line both build a ``Runtime``, so an import from the CLI
goes through exactly the services that requests use. Each worker of ``lehnz serve --workers
N`` builds its own (``lehnz.worker_processes``).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from lehnz.auth.key_verifier import KeyVerifier
from lehnz.auth.service import AccountService, KeyService
from lehnz.auth.sessions import SessionService
from lehnz.catalog.service import CatalogService
from lehnz.config import Settings
from lehnz.events.history import EventHistory
from lehnz.events.log import EventLog
from lehnz.imports.importer import Importer, read_limits
from lehnz.leadership import Leadership
from lehnz.notices import FileNotices, Notices, RedisNotices
from lehnz.pipeline.reader import UserStateReader
from lehnz.pipeline.worker import Pipeline
from lehnz.ratelimit import Limiter, MemoryLimiter, RedisLimiter, SharedLimiter
from lehnz.ratelimit.policy import RateLimits
from lehnz.serving.answer_cache import BASKET_SHARE, AnswerCache
from lehnz.serving.catalog_cache import CatalogCache
from lehnz.serving.logs import RecommendationLog
from lehnz.serving.recommender import Recommender
from lehnz.serving.registry import ModelRegistry
from lehnz.settings_service import SettingsService
from lehnz.signals import Signal
from lehnz.stats import StatsService
from lehnz.store import Store, open_store
from lehnz.training.scheduler import TrainingScheduler
from lehnz.training.service import TrainingService
from lehnz.worker_processes import SharedFiles


@dataclass
class Runtime:
    settings: Settings
    store: Store
    verifier: KeyVerifier
    accounts: AccountService
    sessions: SessionService
    keys: KeyService
    catalog: CatalogService
    events: EventLog
    history: EventHistory
    importer: Importer
    pipeline: Pipeline
    user_states: UserStateReader
    settings_service: SettingsService
    stats: StatsService
    catalog_cache: CatalogCache
    registry: ModelRegistry
    recommendation_log: RecommendationLog
    recommender: Recommender
    trainer: TrainingService
    catalog_changed: Signal
    events_appended: Signal
    notices: Notices
    rate_limits: RateLimits
    jwt_secret: str
    redis: redis.Redis | None = None
    #: One of several workers: the embedded pipeline runs only while this is held.
    leadership: Leadership | None = None

    def training_scheduler(self) -> TrainingScheduler:
        """Scheduled retraining as the settings say (``serve`` runs it, or ``worker``)."""
        return TrainingScheduler(
            self.store,
            self.trainer,
            check_seconds=self.settings.train_check_seconds,
            max_age_seconds=self.settings.train_max_age_seconds,
        )

    def close(self) -> None:
        self.notices.stop()
        if isinstance(self.notices, FileNotices):
            self.notices.close()
        if isinstance(self.rate_limits.limiter, SharedLimiter):
            self.rate_limits.limiter.close()
        self.recommendation_log.stop()
        self.user_states.close()
        self.store.close()
        if self.redis is not None:
            self.redis.close()


def _shared_state(settings: Settings, workers: int) -> tuple[Limiter, Notices, redis.Redis | None]:
    """Rate-limit windows and notices: in Redis when configured, so every process shares
    them; otherwise in files the workers of one ``lehnz serve`` share, or in this process."""
    if not settings.redis_url and workers > 1:
        files = SharedFiles(settings.data_dir.resolve())
        return SharedLimiter(files.rate_limits), FileNotices(files.notices), None
    if not settings.redis_url:
        return MemoryLimiter(), Notices(), None
    client = redis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=2,
        socket_timeout=2,
        health_check_interval=30,
        client_name=settings.redis_prefix,  # names lehnz's connections in CLIENT LIST
    )
    prefix = settings.redis_prefix
    limiter = RedisLimiter(
        client, prefix=prefix, fail_closed=settings.rate_limit_failure == "closed"
    )
    return limiter, RedisNotices(client, prefix=prefix), client


def build_runtime(settings: Settings, *, migrate: bool = True, workers: int = 1) -> Runtime:
    """``workers``: how many processes serve alongside (``lehnz serve --workers``); above
    one, they share the rate-limit windows and notices, and elect one pipeline."""
    store = open_store(settings.resolved_database_url(), migrate=migrate)
    secret = settings.resolved_secret_key()
    verifier = KeyVerifier(store, ttl_seconds=settings.key_cache_seconds)
    limiter, notices, redis_client = _shared_state(settings, workers)
    rate_limits = RateLimits(
        store,
        limiter,
        requests=settings.rate_limit_requests,
        window_seconds=settings.rate_limit_window_seconds,
        auth_requests=settings.auth_rate_limit_requests,
        auth_window_seconds=settings.auth_rate_limit_window_seconds,
        fail_closed=settings.rate_limit_failure == "closed",
    )
    events_appended = Signal()
    catalog_changed = Signal()
    catalog_cache = CatalogCache(store)
    catalog_changed.connect(catalog_cache.invalidate)
    registry = ModelRegistry(store, check_seconds=settings.model_check_seconds)
    recommendation_log = RecommendationLog(store)
    user_states = UserStateReader(store)
    events = EventLog(store, events_appended)
    notices.subscribe("keys", lambda _organization, _data: verifier.invalidate())
    notices.subscribe("settings", lambda organization, _data: rate_limits.forget(organization))
    notices.subscribe("model", registry.announced)
    return Runtime(
        settings=settings,
        store=store,
        verifier=verifier,
        accounts=AccountService(store, secret=secret, token_ttl_seconds=settings.jwt_ttl_seconds),
        sessions=SessionService(store, ttl_seconds=settings.jwt_ttl_seconds),
        keys=KeyService(store, notices),
        catalog=CatalogService(store, catalog_changed),
        events=events,
        history=EventHistory(store),
        importer=Importer(store, events_appended, catalog_changed, read_limits(settings)),
        # In this process the pipeline gives way to ingest requests in flight (see Pipeline).
        pipeline=Pipeline(store, ingest_busy=events.busy),
        user_states=user_states,
        settings_service=SettingsService(store, notices),
        stats=StatsService(store),
        catalog_cache=catalog_cache,
        registry=registry,
        recommendation_log=recommendation_log,
        recommender=Recommender(
            registry,
            catalog_cache,
            user_states,
            recommendation_log,
            AnswerCache(
                max_entries=settings.answer_cache_entries, max_age=settings.answer_cache_seconds
            ),
            AnswerCache(
                max_entries=settings.answer_cache_entries // BASKET_SHARE,
                max_age=settings.answer_cache_seconds,
            ),
        ),
        trainer=TrainingService(
            store, registry, notices, artifacts_kept=settings.model_artifacts_kept
        ),
        catalog_changed=catalog_changed,
        events_appended=events_appended,
        notices=notices,
        rate_limits=rate_limits,
        jwt_secret=secret,
        redis=redis_client,
        leadership=_leadership(settings) if workers > 1 else None,
    )


def _leadership(settings: Settings) -> Leadership:
    return Leadership(SharedFiles(settings.data_dir.resolve()).pipeline_lock)
