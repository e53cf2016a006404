"""Everything a running lehnz holds, built once from ``Settings``.

The app's lifespan and the command line both build a ``Runtime``, so an import from the CLI
goes through exactly the services that requests use.
"""

from __future__ import annotations

from dataclasses import dataclass

from lehnz.auth.key_verifier import KeyVerifier
from lehnz.auth.service import AccountService, KeyService
from lehnz.catalog.service import CatalogService
from lehnz.config import Settings
from lehnz.events.history import EventHistory
from lehnz.events.log import EventLog
from lehnz.imports.importer import Importer
from lehnz.pipeline.reader import UserStateReader
from lehnz.pipeline.worker import Pipeline
from lehnz.settings_service import SettingsService
from lehnz.signals import Signal
from lehnz.stats import StatsService
from lehnz.store import Store, open_store


@dataclass
class Runtime:
    settings: Settings
    store: Store
    verifier: KeyVerifier
    accounts: AccountService
    keys: KeyService
    catalog: CatalogService
    events: EventLog
    history: EventHistory
    importer: Importer
    pipeline: Pipeline
    user_states: UserStateReader
    settings_service: SettingsService
    stats: StatsService
    events_appended: Signal
    jwt_secret: str

    def close(self) -> None:
        self.store.close()


def build_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    store = open_store(settings.resolved_database_url(), migrate=migrate)
    secret = settings.resolved_secret_key()
    verifier = KeyVerifier(store, ttl_seconds=settings.key_cache_seconds)
    events_appended = Signal()
    return Runtime(
        settings=settings,
        store=store,
        verifier=verifier,
        accounts=AccountService(store, secret=secret, token_ttl_seconds=settings.jwt_ttl_seconds),
        keys=KeyService(store, verifier),
        catalog=CatalogService(store),
        events=EventLog(store, events_appended),
        history=EventHistory(store),
        importer=Importer(store, events_appended),
        pipeline=Pipeline(store),
        user_states=UserStateReader(store),
        settings_service=SettingsService(store),
        stats=StatsService(store),
        events_appended=events_appended,
        jwt_secret=secret,
    )
