"""One typed Settings object (TRIAGE_ environment prefix), the service's and the CLI's."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from triage.domain.reports import ReportRules
from triage.domain.resource_guard import ResourceGuard
from triage.domain.tier_rules import TierRules
from triage.paths import (
    DEFAULT_BUNDLE,
    DEFAULT_CONFIG_DIR,
    DEFAULT_DATABASE_URL,
    DEFAULT_SECRET_KEY_FILE,
)


class RateLimit(BaseModel):
    """A token bucket: `burst` requests at once, refilled at `per_minute`."""

    model_config = ConfigDict(extra="forbid")

    per_minute: float = Field(gt=0, description="sustained requests per minute")
    burst: int = Field(ge=1, description="requests allowed at once after a quiet spell")


RoleName = Literal["platform", "moderator", "admin", "metrics"]
WebhookCondition = Literal["crisis", "red", "red_near_sla", "unscored"]
DEFAULT_WEBHOOK_CONDITIONS: tuple[WebhookCondition, ...] = ("crisis", "red_near_sla", "unscored")
EvidenceMode = Literal["sentences", "context"]  # how scoring.OnnxScorer finds evidence
Int8Weights = Literal["auto", "signed", "unsigned"]  # scoring/int8_weights.py
# Generous for a platform's ingest client, tighter for people and scrapers; per replica.
DEFAULT_RATE_LIMITS: dict[RoleName, RateLimit] = {
    "platform": RateLimit(per_minute=6000, burst=600),
    "moderator": RateLimit(per_minute=600, burst=120),
    "admin": RateLimit(per_minute=6000, burst=600),
    "metrics": RateLimit(per_minute=60, burst=10),
}


class Settings(BaseSettings):
    """Service and CLI settings; every field can be set as TRIAGE_<NAME> in the environment."""

    # hide_input_in_errors: a ValidationError's text quotes no value given (pydantic's
    # `input_value=...`), as a URL, a database URL or a key may hold a secret
    model_config = SettingsConfigDict(
        env_prefix="TRIAGE_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    bundle_dir: Path = Field(DEFAULT_BUNDLE, description="model bundle to serve")
    config_dir: Path = Field(DEFAULT_CONFIG_DIR, description="folder with tiers.yaml etc.")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    max_items_per_request: int = Field(64, ge=1, le=10_000)
    max_thread_posts: int = Field(
        200, ge=2, le=10_000, description="most posts POST /v1/threads/score takes in one thread"
    )
    max_text_chars: int = Field(20_000, ge=1)
    max_body_bytes: int = Field(2_000_000, ge=1_000)
    # One item's small matrix products gain little from a second thread; two items at once,
    # one thread each, keep 2 cores busier (docs/benchmarks.md): hence 1 x 2 by default.
    onnx_threads: int = Field(1, ge=1, description="intra-op threads of one model run")
    scoring_workers: int = Field(
        2,
        ge=1,
        le=64,
        description="scorer calls run at once (without micro-batching): one per core the "
        "service may use, divided by onnx_threads",
    )
    onnx_lanes: int = Field(
        1, ge=1, le=16, description="items of one scorer call run at once, each alone"
    )
    int8_weights: Int8Weights = Field(
        "auto",
        description="how the model's int8 weights are run: auto: signed on CPUs with VNNI (fast "
        "and exact there), unsigned elsewhere (exact on every CPU); signed or unsigned to force",
    )
    evidence: bool = Field(True, description="find evidence sentences for flagged labels")
    evidence_mode: EvidenceMode = Field(
        "sentences",
        description="sentences: score each sentence of a flagged post alone (better evidence, "
        "more CPU); context: from the token logits of the scoring pass (no extra model runs)",
    )
    micro_batching: bool = Field(
        False,
        description="merge concurrent scoring calls (score, ingest, retries) into one scorer "
        "call; each item is still run alone, so scores never depend on other requests",
    )
    batch_window_ms: float = Field(
        2.0, ge=0, le=1000, description="how long an idle micro-batcher waits for more calls"
    )
    batch_max_items: int = Field(
        64, ge=1, le=4096, description="items a micro-batch collects before it stops waiting"
    )
    log_level: str = "INFO"
    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///path.db (embedded) or postgresql+psycopg://...",
    )
    migrate_on_start: bool = Field(
        True,
        description="apply database migrations when the service or a database command (`triage "
        "keys`, `purge`, ...) starts (off: only `triage db upgrade` migrates)",
    )
    scoring_timeout_s: float = Field(
        10.0, gt=0, description="ingest waits this long for scores, then queues as unscored"
    )
    rerank_interval_s: float = Field(
        15.0, gt=0, description="how often waiting items are re-ranked as they age"
    )
    rescore_interval_s: float = Field(
        30.0, gt=0, description="how often unscored items are retried while a model is loaded"
    )
    queue_page_max: int = Field(200, ge=1, le=1000, description="largest page GET /v1/queue gives")
    stats_window_hours: float = Field(168, gt=0, description="window of /v1/stats rates")
    # moderator console (triage/service/console/routes/pages.py)
    secret_key: SecretStr | None = Field(
        None,
        description="signs console session cookies (>= 32 characters); unset: generated "
        "once into secret_key_file",
    )
    secret_key_file: Path = Field(
        DEFAULT_SECRET_KEY_FILE,
        description="where the generated console secret is kept when secret_key is unset",
    )
    session_hours: float = Field(8, gt=0, le=168, description="console sign-in lifetime")
    cookie_secure: bool | None = Field(
        None, description="Secure flag of the session cookie; unset: set when served over https"
    )
    locale: str = Field(
        "en",
        pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$",
        description="default locale of crisis resources (configs/resources/<locale>.yaml)",
    )
    community_locales: dict[str, str] = Field(
        default_factory=dict, description="community -> locale, where it differs from `locale`"
    )
    break_nudge_after: int = Field(
        5, ge=1, description="high-risk items handled in an hour before a break is suggested"
    )
    high_risk_limit_per_hour: int = Field(
        6,
        ge=0,
        le=1000,
        description="crisis and red items a moderator takes on (claims, resolves, escalates) "
        "in an hour before the console steers their next one to a colleague with capacity, "
        "when one has been active recently; never when nobody else is (0: off)",
    )
    moderator_active_minutes: float = Field(
        15, gt=0, le=24 * 60, description="a colleague acting within this long counts as active"
    )

    key_cache_s: float = Field(
        10.0,
        ge=0,
        le=3600,
        description="a verified API key is trusted this long without a database lookup, so a "
        "revocation takes up to this long to apply in a running service (0: look up every "
        "request)",
    )
    # limits per API key (triage/service/runtime/ratelimit.py); state is per replica
    rate_limit_enabled: bool = Field(True, description="answer 429 past a key's rate limit")
    rate_limits: dict[RoleName, RateLimit] = Field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS),
        description='per role, e.g. {"platform": {"per_minute": 1200, "burst": 100}}; '
        "roles left out keep their default",
    )
    sign_in_rate: RateLimit = Field(
        RateLimit(per_minute=10, burst=10),
        description="console sign-in attempts per client address",
    )
    forwarded_allow_ips: str | None = Field(
        None,
        description="comma-separated addresses or networks (or *) of reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto `triage serve` trusts; unset: none, the client "
        "address is the connection's",
    )
    # observability (triage/service/runtime/prometheus.py)
    metrics_refresh_s: float = Field(
        15.0, ge=0, description="queue gauges of /metrics are re-read at most this often"
    )
    # privacy (triage/queue/retention.py)
    retention_days: float | None = Field(
        None,
        gt=0,
        description="purge the text of items resolved more than this many days ago "
        "(scores, outcomes and history stay); unset: keep text",
    )
    purge_interval_s: float = Field(
        3600.0, gt=0, description="how often the service purges when retention_days is set"
    )
    # alerts off-screen: outgoing webhooks (triage/queue/alerts.py)
    webhook_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="http(s) URLs that receive signed alerts, comma-separated; unset: no alerts",
    )
    webhook_secret: SecretStr | None = Field(
        None,
        description="HMAC-SHA256 key of the X-Triage-Signature header (>= 32 characters); "
        "required when webhook_urls is set",
    )
    webhook_on: Annotated[list[WebhookCondition], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_WEBHOOK_CONDITIONS),
        description="comma-separated conditions that send an alert: crisis, red (scored so), "
        "red_near_sla (red, open and unclaimed past webhook_near_sla_share of its SLA), unscored",
    )
    webhook_near_sla_share: float = Field(
        0.75, gt=0, le=1, description="share of the red SLA waited before red_near_sla fires"
    )
    webhook_include_text: bool = Field(
        False, description="put the post's text in alerts (off: ids, scores and reasons only)"
    )
    webhook_console_url: str | None = Field(
        None,
        description="the console's public base URL (https://triage.example.org), for the "
        "console_url of alerts; unset: a path such as /items/12",
    )
    webhook_timeout_s: float = Field(5.0, gt=0, le=60, description="one delivery attempt's limit")
    webhook_max_attempts: int = Field(
        6, ge=1, le=50, description="attempts of one alert before it is marked failed"
    )
    webhook_backoff_s: float = Field(
        5.0, gt=0, description="wait before the first retry; each further one waits twice as long"
    )
    webhook_backoff_max_s: float = Field(300.0, gt=0, description="longest wait between attempts")
    webhook_disable_after: int = Field(
        10,
        ge=1,
        description="an endpoint is disabled after this many alerts in a row failed (all their "
        "attempts); `triage webhooks enable` turns it back on",
    )
    webhook_poll_interval_s: float = Field(
        2.0, gt=0, description="how often each replica looks for alerts to send"
    )

    @field_validator("webhook_urls", "webhook_on", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("webhook_urls")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        """Errors name the problem and the host at most: a webhook URL's user, path or query
        often holds a token, so no part of the URL itself is quoted."""
        for url in urls:
            try:  # urlsplit's own errors may quote the URL's user and password
                parts = urlsplit(url)
            except ValueError:
                raise ValueError("webhook_urls: one is not a URL that can be read") from None
            try:
                parts.port  # noqa: B018 - raises for a port that is not a number in 0..65535
            except ValueError:
                raise ValueError(
                    f"webhook_urls: a URL to {parts.hostname!r} has a port that is not a number "
                    "from 0 to 65535"
                ) from None
            if not parts.hostname:
                raise ValueError(
                    "webhook_urls: each must be an http:// or https:// URL with a host; one "
                    "has no host"
                )
            if parts.scheme not in ("http", "https"):
                raise ValueError(
                    f"webhook_urls: the URL to {parts.hostname!r} is not http:// or https://"
                )
        if len(set(urls)) != len(urls):
            raise ValueError("webhook_urls: a URL is listed twice")
        return urls

    @model_validator(mode="after")
    def _webhook_secret_when_urls(self) -> Settings:
        if not self.webhook_urls:
            return self
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
        if len(secret) < 32:
            found = "none" if not secret else f"{len(secret)} characters"
            raise ValueError(
                f"TRIAGE_WEBHOOK_URLS is set, so TRIAGE_WEBHOOK_SECRET must be too (>= 32 "
                f"characters; found {found}): receivers check each alert's signature with it. "
                "Make one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'` and "
                "give the same value to the receiver"
            )
        return self

    @field_validator("rate_limits")
    @classmethod
    def _every_role(cls, limits: dict[RoleName, RateLimit]) -> dict[RoleName, RateLimit]:
        return {**DEFAULT_RATE_LIMITS, **limits}

    @cached_property
    def tier_rules(self) -> TierRules:
        return TierRules.load(self.config_dir / "tiers.yaml")

    @cached_property
    def resource_guard(self) -> ResourceGuard:
        """Crisis resources of config_dir that are never flagged spam (loaded once)."""
        return ResourceGuard.load(self.config_dir)

    @cached_property
    def report_rules(self) -> ReportRules:
        """configs/reports.yaml: the reasons a member report may give (loaded once). A config
        folder older than member reports has no reports.yaml: the shipped one is used then."""
        path = self.config_dir / "reports.yaml"
        return ReportRules.load(path if path.exists() else DEFAULT_CONFIG_DIR / "reports.yaml")
