"""One rate limit shared by every sheet an agent serves, under Google's per-user quota.

Google allows 60 write (and 60 read) requests per minute per user; several teams' passes
in one agent use the same service account, so they draw from one bucket. The clock and
the sleep are inputs, so tests run it without waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimit:
    """A token bucket: at most `per_minute` requests in any minute, bursts up to `burst`."""

    def __init__(
        self,
        per_minute: float = 50,
        burst: int = 10,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.tokens = float(burst)
        self.clock = clock
        self.sleep = sleep
        self.stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one request's token, sleeping until there is one; returns the wait."""
        with self._lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            self.tokens -= 1
            wait = 0.0 if self.tokens >= 0 else -self.tokens / self.rate
        if wait:
            self.sleep(wait)
        return wait
