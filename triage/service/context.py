"""The one typed object a running service keeps its parts in (Ozone's AppContext).

create_app() builds it and stores it once, as `app.state.context`; routes take its parts through
the typed dependencies of deps.py, and everything else reaches it with context_of(). The parts
that need the database or threads (database, executor, webhooks, ingest) exist between start()
and stop(), which the app's lifespan calls.
"""

from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from triage.queue import alerts
from triage.queue.faults import ScoringFaults
from triage.queue.ingest import Ingest, ModelSlot
from triage.scoring.micro_batcher import MicroBatcher
from triage.service.runtime.key_cache import VerifiedKeys
from triage.service.runtime.prometheus import ServiceMetrics
from triage.service.runtime.ratelimit import RateLimiter
from triage.settings import Settings
from triage.storage.database import Database


@dataclass
class ServiceContext:
    """Settings, model, database, executor, ingest, limiters, metrics and alerts of one app:
    typed, so a misspelt part fails the type check instead of a request."""

    settings: Settings
    verified_keys: VerifiedKeys  # API keys verified in the last Settings.key_cache_s seconds
    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)
    model: ModelSlot = field(default_factory=ModelSlot)  # filled once the bundle is loaded
    faults: ScoringFaults = field(default_factory=ScoringFaults)  # recent ones, for /readyz
    rate_limiter: RateLimiter = field(default_factory=RateLimiter)  # per API key
    sign_in_limiter: RateLimiter = field(default_factory=RateLimiter)  # per client address
    console_secret: bytes | None = None  # loaded (or generated) on the console's first use
    webhooks: alerts.Webhooks | None = None  # the alert sender, once started, if configured
    # set by start(): a context that was never started has none of them
    database: Database = field(init=False)
    executor: Executor = field(init=False)
    ingest: Ingest = field(init=False)

    @classmethod
    def create(cls, settings: Settings) -> ServiceContext:
        return cls(settings, VerifiedKeys(settings.key_cache_s))

    def start(self) -> None:
        """Open the database (migrated when Settings.migrate_on_start), the scoring executor,
        the webhook sender, and the ingest built on them."""
        settings = self.settings
        self.database = Database(settings.database_url)
        if settings.migrate_on_start:
            self.database.upgrade()
        self.executor = scoring_executor(settings)
        self.webhooks = alerts.create(settings, self.database, self.metrics)
        self.ingest = Ingest(
            self.database,
            self.model,
            self.executor,
            settings.tier_rules,
            settings.scoring_timeout_s,
            faults=self.faults,
            alerts=self.webhooks,
        )

    def stop(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.database.dispose()


def context_of(owner: Starlette | HTTPConnection) -> ServiceContext:
    """The context of an app, or of the app a request (or websocket) came to."""
    app = owner.app if isinstance(owner, HTTPConnection) else owner
    return app.state.context


def scoring_executor(settings: Settings) -> Executor:
    """Where scorer calls run: a micro-batcher that merges concurrent calls, or a thread pool of
    Settings.scoring_workers threads. A small fixed pool, not one thread per request: with 16
    requests at once, 16 model runs sharing 2 cores all finish late; in arrival order on 2
    threads, the first ones finish early (same throughput, shorter tail)."""
    if settings.micro_batching:
        return MicroBatcher(settings.batch_window_ms / 1000, settings.batch_max_items)
    return ThreadPoolExecutor(max_workers=settings.scoring_workers, thread_name_prefix="scorer")
