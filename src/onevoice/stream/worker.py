"""``onevoice worker``: consume the partitions this worker holds, store, then acknowledge.

For each held partition a durable pull consumer (``<prefix>_p<N>``) is read in stream
order; a fetched batch is appended to the event log in one transaction (a ``messageId``
already stored is ignored) and only then acknowledged — so a worker killed at any moment
loses nothing (unacknowledged messages are redelivered to whoever holds the partition
next) and counts nothing twice. The processor (identity and profiles) then files the
appended events in log order, in whichever worker holds the processor's lease (a crash
redoes a batch, each batch is claimed on commit, so nothing counts twice). Stopping
(SIGTERM) finishes the in-flight batches, acknowledges them, hands the partitions back
and stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from onevoice.bootstrap import Onevoice
from onevoice.domain.events import Event
from onevoice.ops.metrics import WorkerMetrics
from onevoice.stream.leases import Leases
from onevoice.stream.nats import connect, decode, ensure_stream
from onevoice.stream.partitions import durable, subject

log = logging.getLogger("onevoice.worker")
T = TypeVar("T")


@dataclass
class _Partition:
    number: int
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class Worker:
    """One worker process: leases, one consumer task per held partition, the processor."""

    def __init__(
        self,
        ov: Onevoice,
        leases: Leases,
        metrics: WorkerMetrics,
        *,
        url: str,
        prefix: str,
        dedupe_seconds: float = 120.0,
        batch: int = 500,
        tick: float = 1.0,
        ack_wait: float = 10.0,
        lease_ttl: float = 10.0,
    ) -> None:
        self._ov = ov
        self._leases = leases
        self._metrics = metrics
        self._url = url
        self._prefix = prefix
        self._dedupe = dedupe_seconds
        self._batch = batch
        self._tick = tick
        self._ack_wait = ack_wait
        self._lease_ttl = lease_ttl
        self._renewed = time.monotonic()
        self._held: dict[int, _Partition] = {}
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._stream = ""
        self._appended = asyncio.Event()
        # separate threads, so that slow stores never delay a lease renewal (an expired
        # lease hands the partition to another worker while this one still reads it)
        self._lease_pool = ThreadPoolExecutor(1, "onevoice-leases")
        self._process_pool = ThreadPoolExecutor(1, "onevoice-processor")
        self._store_pool = ThreadPoolExecutor(8, "onevoice-store")

    async def _in(self, pool: ThreadPoolExecutor, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(pool, call, *args)

    @property
    def held(self) -> list[int]:
        return sorted(self._held)

    async def run(self, stop: asyncio.Event) -> None:
        self._nc = await connect(self._url, name="onevoice-worker")
        self._js = self._nc.jetstream(timeout=10)
        self._stream = await ensure_stream(self._js, self._prefix, self._dedupe)
        lag_task = asyncio.create_task(self._watch_lag(stop))
        processing = asyncio.create_task(self._process(stop))
        try:
            while not stop.is_set():
                await self._rebalance()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._tick)
        finally:
            log.info("stopping: finishing in-flight batches of %s", self.held)
            await asyncio.gather(*(self._stop(p) for p in list(self._held)))
            await processing  # finishes the step under way
            with contextlib.suppress(Exception):  # unregistered, this worker's heartbeat ages out
                await self._in(self._lease_pool, self._leases.leave)
            lag_task.cancel()
            for pool in (self._lease_pool, self._process_pool, self._store_pool):
                pool.shutdown(wait=True)
            await self._nc.drain()
            log.info("stopped")

    async def _rebalance(self) -> None:
        try:
            start, stop = await self._in(self._lease_pool, self._leases.tick, set(self._held))
            self._renewed = time.monotonic()
        except Exception as error:  # isolation point: a lease store hiccup keeps what is held…
            self._metrics.errors.labels("leases").inc()
            log.warning("could not renew partition leases: %r", error)
            if self._held and time.monotonic() - self._renewed > 0.5 * self._lease_ttl:
                # …until the leases may have expired: another worker may take them now, and
                # two readers of one partition would store a customer's events out of order
                log.warning("leases not renewed in time: letting go of %s", self.held)
                await asyncio.gather(*(self._stop(n) for n in list(self._held)))
                log.warning("let go of every partition")
            return
        await asyncio.gather(*(self._stop(n) for n in sorted(stop)))
        for number in sorted(start):
            part = _Partition(number)
            part.task = asyncio.create_task(self._consume(part))
            self._held[number] = part
            log.info("partition %d claimed", number)
        self._metrics.partitions.set(len(self._held))

    async def _stop(self, number: int) -> None:
        part = self._held.pop(number, None)
        if part is None:
            return
        part.stop.set()
        if part.task is not None:
            await part.task
        try:
            await self._in(self._lease_pool, self._leases.release, number)
        except Exception:  # isolation point: unreleased, the lease simply expires
            self._metrics.errors.labels("leases").inc()
        with contextlib.suppress(KeyError):
            self._metrics.lag.remove(str(number))
        log.info("partition %d handed back", number)

    async def _consume(self, part: _Partition) -> None:
        js = self._js
        assert js is not None
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self._ack_wait,
            max_ack_pending=self._batch * 4,
        )
        sub = None
        while sub is None and not part.stop.is_set():
            try:
                sub = await js.pull_subscribe(
                    subject(self._prefix, part.number),
                    durable=durable(self._prefix, part.number),
                    stream=self._stream,
                    config=config,
                )
            except Exception:  # isolation point: NATS restarting; try again shortly
                self._metrics.errors.labels("subscribe").inc()
                log.warning("cannot subscribe to partition %d yet; retrying", part.number)
                await asyncio.sleep(1.0)
        if sub is None:
            return
        while not part.stop.is_set():
            await self._next_batch(part, sub)
        # messages delivered to this subscription but not yet fetched would wait out the
        # ack timeout before the next holder saw them: take them now, in order
        for _round in range(10):
            if not sub.pending_msgs:
                break
            await self._next_batch(part, sub, sub.pending_msgs + 1)
        with contextlib.suppress(Exception):  # a connection already gone needs no goodbye
            await sub.unsubscribe()

    async def _next_batch(
        self, part: _Partition, sub: JetStreamContext.PullSubscription, size: int = 0
    ) -> int:
        """Fetch, store, then acknowledge one batch; how many messages it had."""
        try:
            messages = await sub.fetch(size or self._batch, timeout=0.5)
        except (nats.errors.TimeoutError, TimeoutError):  # nothing came: ask again
            return 0
        except Exception as error:  # isolation point: NATS restarting; the client reconnects
            self._metrics.errors.labels("fetch").inc()
            log.warning("fetch from partition %d failed (%r); retrying", part.number, error)
            await asyncio.sleep(0.5)
            return 0
        started = time.perf_counter()
        events: list[Event] = []
        good = []
        for message in messages:
            try:
                events.append(decode(message.data))
                good.append(message)
            except Exception:  # a message that is not an event can never succeed
                self._metrics.errors.labels("bad_message").inc()
                log.error("partition %d: dropping an undecodable message", part.number)
                await message.term()
        try:
            new = await self._in(self._store_pool, self._append, events)
        except Exception:  # isolation point: not stored, so not acknowledged: redelivered
            self._metrics.errors.labels("store").inc()
            log.exception(
                "partition %d: storing a batch failed; it will be redelivered", part.number
            )
            await asyncio.sleep(1.0)
            return len(messages)
        for message in good:
            await message.ack()
        self._metrics.consumed.inc(len(events))
        self._metrics.stored.inc(new)
        self._metrics.duplicates.inc(len(events) - new)
        self._metrics.batch_seconds.observe(time.perf_counter() - started)
        return len(messages)

    def _append(self, events: list[Event]) -> int:
        if not events:
            return 0
        # an erasure may come between publish and consume: the backlog is checked again
        admitted = self._ov.tombstones.admit(events)
        unique = list({e.message_id: e for e in admitted}.values())
        new = self._ov.store.append_events(unique)
        if new:
            self._appended.set()
        return new

    async def _process(self, stop: asyncio.Event) -> None:
        """While this worker holds the processor's lease, file stored events in log order."""
        while not stop.is_set():
            try:
                mine = await self._in(self._lease_pool, self._leases.processing)
            except Exception:  # isolation point: lease store hiccup, try again
                self._metrics.errors.labels("leases").inc()
                mine = False
            done = 0
            if mine:
                try:
                    done = (await self._in(self._process_pool, self._ov.processor.step)).events
                except Exception:  # isolation point: the batch is redone next round
                    self._metrics.errors.labels("processing").inc()
                    log.exception("processing step failed; it will be retried")
                self._metrics.processed.inc(done)
            if not done:
                self._appended.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._appended.wait(), self._tick)

    async def _watch_lag(self, stop: asyncio.Event) -> None:
        """Messages waiting per held partition, and events waiting to be processed."""
        js = self._js
        assert js is not None
        while not stop.is_set():
            for number in list(self._held):
                try:
                    info = await js.consumer_info(self._stream, durable(self._prefix, number))
                    waiting = (info.num_pending or 0) + (info.num_ack_pending or 0)
                    self._metrics.lag.labels(str(number)).set(waiting)
                except Exception:  # lag is best effort; the next round tries again
                    continue
            try:
                backlog = await self._in(self._process_pool, self._backlog)
                self._metrics.backlog.set(backlog)
            except Exception:  # same
                pass
            await asyncio.sleep(2.0)

    def _backlog(self) -> int:
        """The span of the log from the oldest unprocessed event to the newest."""
        oldest = self._ov.store.read_events(0, 1)
        return 0 if not oldest else self._ov.store.last_seq() - oldest[0][0] + 1
