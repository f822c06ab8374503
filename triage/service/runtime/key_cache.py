"""Verified API keys, remembered for a few seconds so that a request needs no database lookup.

Why: the lookup (a new SQLAlchemy session and query on a worker thread) was the largest
service-side cost of a scoring request (docs/benchmarks.md). The cost of the cache is a delay:
a key revoked with `triage keys revoke` in another process keeps working here for up to
`Settings.key_cache_s` seconds (0 turns the cache off). Only valid keys are kept, by SHA-256
digest (never the key itself), and at most `max_entries` of them.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from triage.storage.keys import Principal, digest


class VerifiedKeys:
    def __init__(
        self, ttl_s: float, max_entries: int = 4096, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def get(self, key: str) -> Principal | None:
        if self.ttl_s <= 0:
            return None
        name = digest(key)
        entry = self._entries.get(name)
        if entry is None:
            return None
        expires, principal = entry
        if self._clock() >= expires:
            del self._entries[name]
            return None
        return principal

    def put(self, key: str, principal: Principal) -> None:
        if self.ttl_s <= 0:
            return
        name = digest(key)
        self._entries.pop(name, None)
        self._entries[name] = (self._clock() + self.ttl_s, principal)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)  # the oldest verification goes first

    def clear(self) -> None:
        self._entries.clear()
