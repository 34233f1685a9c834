"""Rate limits per key: a token bucket per key, in process.

Each key may make ``rate`` requests a second on average and ``burst`` at once. The
buckets live in this process (each API replica limits on its own); a shared limit across
replicas needs a shared counter (Redis) — see the README.

>>> limiter = RateLimiter(rate=1.0, burst=2, now=lambda: 0.0)
>>> limiter.take("k"); limiter.take("k")
>>> try:
...     limiter.take("k")
... except RateLimited as error:
...     print(error.retry_after)
1.0
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from onevoice.domain.errors import RateLimited

_MAX_BUCKETS = 100_000


class RateLimiter:
    """Token buckets by name (a key id, a customer token's subject)."""

    def __init__(
        self, *, rate: float, burst: int, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._now = now
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, name: str, cost: float = 1.0) -> None:
        """Spend ``cost`` from ``name``'s bucket, or raise :class:`RateLimited`."""
        if self.rate <= 0:
            return
        now = self._now()
        with self._lock:
            tokens, last = self._buckets.get(name, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < cost:
                self._buckets[name] = (tokens, now)
                wait = (cost - tokens) / self.rate
                raise RateLimited(
                    f"too many requests with this key: at most {self.rate:g} a second "
                    f"(bursts of {self.burst}); retry in {wait:.2f} s",
                    retry_after=wait,
                    field="authorization",
                )
            if len(self._buckets) >= _MAX_BUCKETS and name not in self._buckets:
                self._buckets.clear()
            self._buckets[name] = (tokens - cost, now)
