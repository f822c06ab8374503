"""Token buckets: per API key for the API, per client address for console sign-in attempts.

State lives in this process. With several replicas behind a load balancer each replica keeps
its own buckets, so a key can make up to (replicas x its limit) requests; the limit protects a
replica from one runaway client, it is not a quota.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

MAX_BUCKETS = 10_000  # past this many callers, full (idle) buckets are dropped


@dataclass
class TokenBucket:
    capacity: float  # the burst: requests allowed at once after a quiet spell
    per_second: float  # refill rate
    tokens: float
    updated: float  # clock reading at the last refill

    def refill(self, now: float) -> None:
        elapsed = max(now - self.updated, 0.0)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.per_second)
        self.updated = now

    def take(self, now: float) -> float:
        """0.0 when a token was taken; otherwise the seconds until one is there."""
        self.refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.per_second


class RateLimiter:
    """Thread-safe buckets by caller (sync routes run in worker threads)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._buckets: dict[Hashable, TokenBucket] = {}
        self._lock = threading.Lock()

    def check(self, caller: Hashable, per_minute: float, burst: int) -> int:
        """Take one request from `caller`'s bucket: 0 if allowed, else whole seconds to wait
        (the Retry-After value, at least 1)."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(caller)
            if bucket is None or bucket.capacity != burst or bucket.per_second != per_minute / 60:
                if len(self._buckets) >= MAX_BUCKETS:
                    self._drop_idle(now)
                bucket = TokenBucket(float(burst), per_minute / 60, float(burst), now)
                self._buckets[caller] = bucket
            wait = bucket.take(now)
        return 0 if wait == 0.0 else max(1, math.ceil(wait))

    def _drop_idle(self, now: float) -> None:
        """Forget callers whose bucket has refilled: they would start full again anyway."""
        for caller, bucket in list(self._buckets.items()):
            bucket.refill(now)
            if bucket.tokens >= bucket.capacity:
                del self._buckets[caller]

    def __len__(self) -> int:
        return len(self._buckets)
