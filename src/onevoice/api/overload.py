"""Shed decides when the server falls behind: 503 with ``Retry-After``, before any work.

A server offered more decides than it can answer queues them, and then every answer
comes later than the last: offered 10% more than it can do, a queue grows by a tenth of
a second every second, without limit, and every caller waits. Better to say at once
"not now" to a few, so that the rest keep their latency and the few can try again a
moment later (or elsewhere, behind a load balancer).

Two signs together say the server is behind, and neither alone does:

- its event loop runs late: a sampler (:class:`LoopLag`) sleeps a few milliseconds at a
  time and records how late it wakes, and requests waiting to be handled make it late —
  but so does a busy machine, or another thread holding the interpreter;
- decides fill its time: the share of the last second spent answering them
  (:class:`BusyShare`) is above :data:`BUSY` — a queue of decides, not a lone request
  that happens to arrive in a slow moment.

While both hold, new ``POST /v1/decide`` requests get 503 ``overloaded`` with
``Retry-After: 1``, at a cost of microseconds each. This applies where decides run on the
event loop (SQLite with the log written behind, see ``Decisions.waits_only_for_cpu``):
there the loop's lag *is* the queue. Other paths are never shed: collecting events stays
open (clients retry anyway, and the ingest path is cheap), and so do look-ups and the
Studio.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from onevoice.api.errors import send_refusal

#: The paths shed under overload: the work that makes the queue.
SHED_PATHS = frozenset({"/v1/decide"})
#: How often the sampler wakes, in seconds.
INTERVAL = 0.005
#: The share of recent time spent deciding above which a late loop means a queue.
BUSY = 0.7
#: The memory of :class:`BusyShare`, in seconds.
HORIZON = 0.5


class LoopLag:
    """How late the event loop runs a callback that is due now, in seconds.

    ``run`` is the sampler task. ``lag`` is the larger of the last sample's lateness and
    the time the sampler itself has been overdue: while the loop is stuck, the lag shows
    without waiting for the sampler to get its turn.
    """

    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self._late = 0.0
        self._due = math.inf  # no lag until the sampler runs

    @property
    def lag(self) -> float:
        return max(self._late, time.perf_counter() - self._due)

    async def run(self) -> None:
        while True:
            self._due = time.perf_counter() + self.interval
            await asyncio.sleep(self.interval)
            self._late = max(0.0, time.perf_counter() - self._due)


class BusyShare:
    """The share of the last :data:`HORIZON` seconds spent in requests, decayed
    exponentially (an account of busy time that forgets at rate 1/horizon)."""

    def __init__(self, horizon: float = HORIZON) -> None:
        self.horizon = horizon
        self._busy = 0.0
        self._at = time.perf_counter()

    def add(self, seconds: float) -> None:
        now = time.perf_counter()
        self._busy = self._busy * math.exp((self._at - now) / self.horizon) + seconds
        self._at = now

    @property
    def share(self) -> float:
        decayed = self._busy * math.exp((self._at - time.perf_counter()) / self.horizon)
        return decayed / self.horizon


class ShedWhenBehind:
    """ASGI middleware: 503 ``overloaded`` for :data:`SHED_PATHS` while the loop's lag is
    above ``limit`` seconds and decides take more than :data:`BUSY` of the time (``limit``
    0: never)."""

    def __init__(self, app: Any, lag: LoopLag, limit: float) -> None:
        self.app = app
        self.lag = lag
        self.limit = limit
        self.busy = BusyShare()
        self.shed = 0  # requests answered 503, for tests and metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.limit <= 0 or scope["type"] != "http" or scope["path"] not in SHED_PATHS:
            await self.app(scope, receive, send)
            return
        if self.lag.lag > self.limit and self.busy.share > BUSY:
            self.shed += 1
            message = f"the server is {self.lag.lag * 1000:.0f} ms behind; try again in a second"
            await send_refusal(send, 503, "overloaded", message, 1)
            return
        began = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.busy.add(time.perf_counter() - began)
