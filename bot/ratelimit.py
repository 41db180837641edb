"""Per-sender flood protection for the channels (in memory, per process)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """At most `limit` messages per `window` seconds per key; a sliding window."""

    def __init__(self, limit: int = 20, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[str, deque[float]] = {}

    def is_full(self, key: str) -> bool:
        """Whether `allow(key)` would refuse now, without counting a hit."""
        now = self.clock()
        hits = self._hits.get(key)
        while hits and now - hits[0] > self.window:
            hits.popleft()
        return hits is not None and len(hits) >= self.limit

    def allow(self, key: str) -> bool:
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] > self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        if len(self._hits) > 10_000:  # forget idle senders so memory stays bounded
            self._hits = {k: v for k, v in self._hits.items() if v and now - v[-1] <= self.window}
        return True
