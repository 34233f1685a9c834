"""Publishing accepted events to NATS JetStream, acknowledged before the caller's 2xx.

The collect path is synchronous (a thread of the API's pool), nats-py is asyncio: the
connection lives on its own event-loop thread and callers wait on its futures. Each event
is published with ``Nats-Msg-Id: <messageId>``, so a retried event inside the stream's
duplicate window is dropped by NATS itself (and after it, by the database's unique
``message_id``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import nats
import orjson
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig

from onevoice.domain.errors import Unavailable
from onevoice.domain.events import Event
from onevoice.stream.partitions import customer_key, partition_of, stream_name, subject

T = TypeVar("T")


async def connect(url: str, *, name: str) -> Client:
    """A connection that keeps reconnecting (a NATS restart is a pause, not an outage)."""
    return await nats.connect(
        servers=[u.strip() for u in url.split(",") if u.strip()],
        name=name,
        connect_timeout=2,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
    )


async def ensure_stream(js: JetStreamContext, prefix: str, dedupe_seconds: float) -> str:
    """Create the partitioned work-queue stream unless it exists; return its name."""
    name = stream_name(prefix)
    try:
        await js.stream_info(name)
    except nats.js.errors.NotFoundError:
        await js.add_stream(
            StreamConfig(
                name=name,
                subjects=[f"{prefix}.events.*"],
                retention=RetentionPolicy.WORK_QUEUE,
                storage=StorageType.FILE,
                duplicate_window=dedupe_seconds,
            )
        )
    return name


def encode(event: Event) -> bytes:
    return orjson.dumps(event.to_record())


def decode(data: bytes) -> Event:
    return Event.from_record(orjson.loads(data))


class NatsPublisher:
    """The collectors' side of the stream: ``publish(events)`` returns how many were new."""

    def __init__(
        self,
        url: str,
        prefix: str,
        partitions: int,
        *,
        dedupe_seconds: float = 120.0,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.partitions = partitions
        self._dedupe = dedupe_seconds
        self._timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="onevoice-nats", daemon=True
        )
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self.stream = stream_name(prefix)

    def start(self) -> None:
        """Connect and make sure the stream exists; raises :class:`Unavailable` if not."""
        self._thread.start()
        try:
            self._run(self._start(), self._timeout + 5)
        except Exception as error:
            self.close()
            raise Unavailable(
                f"NATS JetStream at {self.url} is not reachable: {error}",
                field="ONEVOICE_STREAM_URL",
            ) from None

    async def _start(self) -> None:
        self._nc = await connect(self.url, name="onevoice-collector")
        self._js = self._nc.jetstream(timeout=self._timeout)
        await ensure_stream(self._js, self.prefix, self._dedupe)

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def publish(self, events: Sequence[Event]) -> int:
        """Publish and wait for every ack; the count of events NATS had not seen."""
        if not events:
            return 0
        try:
            return self._run(self._publish(events), self._timeout + 1)
        except Exception as error:  # timeouts, no stream, connection lost: not accepted
            raise Unavailable(f"the event stream did not acknowledge: {error!r}") from None

    async def _publish(self, events: Sequence[Event]) -> int:
        js = self._js
        assert js is not None, "start() first"
        futures = []
        for event in events:
            partition = partition_of(customer_key(event), self.partitions)
            futures.append(
                await js.publish_async(
                    subject(self.prefix, partition),
                    encode(event),
                    headers={"Nats-Msg-Id": event.message_id},
                    wait_stall=self._timeout,
                )
            )
        acks = await asyncio.wait_for(asyncio.gather(*futures), self._timeout)
        return sum(1 for ack in acks if not ack.duplicate)

    def ping(self) -> bool:
        """Whether the connection is up and the stream answers."""
        if self._js is None:
            return False
        try:
            self._run(self._js.stream_info(self.stream), 2.0)
            return True
        except Exception:  # readiness: any failure means not ready
            return False

    def close(self) -> None:
        if self._nc is not None and self._loop.is_running():
            # closing: a dead connection is already closed
            with contextlib.suppress(Exception):
                self._run(self._nc.drain(), 5.0)
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
