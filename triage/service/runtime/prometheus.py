"""Prometheus metrics of one app (GET /metrics, Prometheus text format).

Each app has its own registry (tests build many apps in one process). Request metrics are
labelled by route template (`/v1/items/{item_id}`), never by raw path, so their number of
series is bounded. Queue gauges are read from the database when scraped, at most every
Settings.metrics_refresh_s, with two cheap grouped counts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from triage.domain.labels import LABELS, TIERS
from triage.queue.stats import sla_breaches, waiting_depth
from triage.queue.store import UNSCORED
from triage.service.runtime.logs import log_failure

if TYPE_CHECKING:  # the context holds this module's ServiceMetrics
    from triage.service.context import ServiceContext

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SCORE_BUCKETS = tuple(round(0.05 * n, 2) for n in range(1, 21))  # 0.05 ... 1.0
WEBHOOK_RESULTS = ("delivered", "retried", "failed", "skipped")


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "triage_http_requests",
            "HTTP requests answered, by route template and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "triage_http_request_duration_seconds",
            "time to answer a request, by route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.scores = Histogram(
            "triage_score",
            "calibrated score of each scored item, per label",
            ["label"],
            buckets=SCORE_BUCKETS,
            registry=r,
        )
        self.scored = Counter(
            "triage_scored_items", "items scored, by the tier they got", ["tier"], registry=r
        )
        self.scorer_latency = Histogram(
            "triage_scorer_duration_seconds",
            "time of one scorer call (one request's items, or a merged batch)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.scorer_errors = Counter(
            "triage_scorer_errors",
            "scorer calls that raised, by exception type",
            ["error"],
            registry=r,
        )
        self.scorer_timeouts = Counter(
            "triage_scorer_timeouts",
            "scorer calls that ran past TRIAGE_SCORING_TIMEOUT_S (ingest queued their items "
            "unscored); counted when the call returns, see triage_scorer_in_flight",
            registry=r,
        )
        self.scorer_in_flight = Gauge(
            "triage_scorer_in_flight", "scorer calls running now", registry=r
        )
        self.rate_limited = Counter(
            "triage_rate_limited",
            "requests answered 429, by what was limited",
            ["limit"],
            registry=r,
        )
        self.purged = Counter(
            "triage_text_purged_items", "items whose text the retention policy purged", registry=r
        )
        self.webhook_deliveries = Counter(
            "triage_webhook_deliveries",
            "webhook alert attempts by result: delivered, retried (failed, will be retried), "
            "failed (after the last attempt), skipped (endpoint disabled)",
            ["status"],
            registry=r,
        )
        self.webhook_endpoints_disabled = Gauge(
            "triage_webhook_endpoints_disabled",
            "configured webhook endpoints disabled after repeated failures",
            registry=r,
        )

        for label in LABELS:  # every series exists from the start, at zero
            self.scores.labels(label)
        for tier in TIERS:
            self.scored.labels(tier)
        for status in WEBHOOK_RESULTS:
            self.webhook_deliveries.labels(status)

    def observe_results(self, results: Sequence) -> None:
        for result in results:
            self.scored.labels(result.tier.value).inc()
            for label, score in result.scores.items():
                if score is not None:
                    self.scores.labels(label).observe(score)


class MeasuredScorer:
    """Wraps a scorer: times each call, records scores, errors and overruns; otherwise the
    scorer itself (attributes such as `bundle` pass through)."""

    def __init__(self, scorer, metrics: ServiceMetrics, timeout_s: float) -> None:
        self.inner = scorer
        self.metrics = metrics
        self.timeout_s = timeout_s

    def score(self, items):
        metrics = self.metrics
        started = time.perf_counter()
        metrics.scorer_in_flight.inc()
        try:
            results = self.inner.score(items)
        except Exception as error:
            metrics.scorer_errors.labels(type(error).__name__).inc()
            raise
        finally:
            metrics.scorer_in_flight.dec()
            elapsed = time.perf_counter() - started
            metrics.scorer_latency.observe(elapsed)
            if elapsed > self.timeout_s:
                metrics.scorer_timeouts.inc()
        metrics.observe_results(results)
        return results

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


class QueueCollector(Collector):
    """Queue depth and SLA breaches per tier, and whether a model is loaded, on each scrape
    (the database is read at most every `refresh_s`)."""

    def __init__(self, read_queue: Callable[[], tuple[dict, dict]], model_loaded, refresh_s: float):
        self.read_queue = read_queue
        self.model_loaded = model_loaded
        self.refresh_s = refresh_s
        self._cached: tuple[float, tuple[dict, dict]] | None = None
        self._lock = threading.Lock()

    def _queue_numbers(self) -> tuple[dict, dict] | None:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] >= self.refresh_s:
                try:
                    self._cached = (now, self.read_queue())
                except Exception as error:  # a scrape must not fail because the database did
                    log_failure(log, "queue metrics not read", error)
                    return None
            return self._cached[1]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "triage_model_loaded", "1 while a model is loaded and scoring", self.model_loaded()
        )
        numbers = self._queue_numbers()
        yield GaugeMetricFamily(
            "triage_queue_up", "1 when the queue gauges below were read", numbers is not None
        )
        if numbers is None:
            return
        depth, breaches = numbers
        depth_family = GaugeMetricFamily(
            "triage_queue_depth",
            "items not yet resolved (open, claimed, escalated), per tier or unscored",
            labels=["tier"],
        )
        breach_family = GaugeMetricFamily(
            "triage_queue_sla_breaches",
            "items not yet resolved and already past their tier's SLA",
            labels=["tier"],
        )
        for tier in (*TIERS, UNSCORED):
            depth_family.add_metric([tier], depth.get(tier, 0))
            breach_family.add_metric([tier], breaches.get(tier, 0))
        yield depth_family
        yield breach_family


def install_queue_collector(context: ServiceContext) -> None:
    """Queue depth, SLA breaches and whether a model is loaded, read from the context's database
    when /metrics is scraped (at most once per Settings.metrics_refresh_s)."""

    def read_queue() -> tuple[dict, dict]:
        rules = context.settings.tier_rules
        with context.database.read() as session:
            return waiting_depth(session), sla_breaches(session, rules, datetime.now(UTC))

    def model_loaded() -> float:
        return float(context.model.scorer is not None)

    refresh_s = context.settings.metrics_refresh_s
    context.metrics.registry.register(QueueCollector(read_queue, model_loaded, refresh_s))
