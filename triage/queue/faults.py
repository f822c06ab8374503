"""Recent scoring faults of this process, for /readyz: how many, of which kind, and when.

Every ingest and every background retry that could not score its items records one fault.
Only a kind is kept (the exception's type name, `TimeoutError`, or `ModelNotLoaded`), never an
exception's message: a message may quote the post that was being scored.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

FAULT_WINDOW = timedelta(minutes=5)
TIMEOUT = "TimeoutError"
MODEL_NOT_LOADED = "ModelNotLoaded"
_KEPT = 10_000  # a bound on memory while a scorer fails on every request


@dataclass(frozen=True)
class ModelFault:
    """Why no model is loaded, said without paths or messages (/readyz is unauthenticated): a
    kind (triage.scoring.bundle.FAULT_HINTS) and how to fix it. The full error goes to the server
    log."""

    kind: str
    hint: str

    @property
    def message(self) -> str:
        return f"the model is not loaded ({self.kind}): {self.hint}"


MODEL_LOADING = ModelFault("model_loading", "the service is starting; try again in a few seconds")


def not_loaded_reason(fault: ModelFault | None) -> str:
    """Why an item waits unscored, as stored on it for moderators."""
    return f"the model is not loaded ({fault.kind if fault else 'unknown'})"


@dataclass(frozen=True)
class FaultSummary:
    failures: int  # scoring attempts that failed within the window
    items: int  # items those attempts left unscored (queued for a person)
    window_minutes: float
    last_kind: str
    last_at: datetime
    last_success_at: datetime | None

    @property
    def message(self) -> str:
        plural = "" if self.failures == 1 else "s"
        return (
            f"{self.failures} scoring failure{plural} in the last {self.window_minutes:g} minutes "
            f"({self.items} items queued unscored for a person); last: {self.last_kind}"
        )


@dataclass(frozen=True)
class _Fault:
    at: datetime
    kind: str
    items: int


class ScoringFaults:
    """Thread-safe: scoring runs in worker threads while /readyz reads."""

    def __init__(self, window: timedelta = FAULT_WINDOW) -> None:
        self.window = window
        self._faults: deque[_Fault] = deque(maxlen=_KEPT)
        self._last_success: datetime | None = None
        self._lock = threading.Lock()

    def failed(self, kind: str, items: int, now: datetime | None = None) -> None:
        with self._lock:
            self._faults.append(_Fault(now or datetime.now(UTC), kind, items))

    def succeeded(self, now: datetime | None = None) -> None:
        with self._lock:
            self._last_success = now or datetime.now(UTC)

    def summary(self, now: datetime | None = None) -> FaultSummary | None:
        """The faults within the window, or None when there were none."""
        since = (now or datetime.now(UTC)) - self.window
        with self._lock:
            while self._faults and self._faults[0].at < since:
                self._faults.popleft()
            if not self._faults:
                return None
            recent, last_success = list(self._faults), self._last_success
        return FaultSummary(
            failures=len(recent),
            items=sum(fault.items for fault in recent),
            window_minutes=self.window.total_seconds() / 60,
            last_kind=recent[-1].kind,
            last_at=recent[-1].at,
            last_success_at=last_success,
        )
