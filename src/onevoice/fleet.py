"""The fleet's connections, built from settings: the event stream, Redis, metrics.

Without ``ONEVOICE_STREAM_URL`` and ``ONEVOICE_REDIS_URL`` this is just the metrics: the
embedded default runs the same code in one process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from onevoice.config import Settings
from onevoice.domain.errors import InvalidInput
from onevoice.domain.events import Event
from onevoice.ops.metrics import ApiMetrics
from onevoice.services.model_sync import ModelSync
from onevoice.services.ports import Store
from onevoice.shared.redis_state import RedisSharedState
from onevoice.stream.nats import NatsPublisher


@dataclass
class Fleet:
    publisher: NatsPublisher | None = None
    shared: RedisSharedState | None = None
    metrics: ApiMetrics = field(default_factory=ApiMetrics)
    models: ModelSync | None = None

    def publish(self, events: Sequence[Event]) -> int:
        assert self.publisher is not None
        return self.publisher.publish(events)

    def checks(self, store: Store) -> dict[str, bool]:
        """Readiness: each server this process needs, reachable or not."""
        result = {"database": _database_ok(store)}
        if self.publisher is not None:
            result["stream"] = self.publisher.ping()
        if self.shared is not None:
            result["redis"] = self.shared.ping()
        return result

    def start(self) -> None:
        if self.models is not None:
            self.models.start()

    def close(self) -> None:
        if self.models is not None:
            self.models.stop()
        if self.publisher is not None:
            self.publisher.close()


def _database_ok(store: Store) -> bool:
    try:
        store.last_seq()
        return True
    except Exception:  # readiness: any failure means not ready
        return False


def open_fleet(settings: Settings) -> Fleet:
    """Connect to the stream (fails if it does not answer) and set up the Redis client."""
    if settings.stream_partitions < 1:
        raise InvalidInput(
            "ONEVOICE_STREAM_PARTITIONS must be at least 1", field="ONEVOICE_STREAM_PARTITIONS"
        )
    fleet = Fleet()
    if settings.redis_url:
        from onevoice.shared.redis_state import client

        fleet.shared = RedisSharedState(client(settings.redis_url), settings.redis_prefix)
    if settings.stream_url:
        publisher = NatsPublisher(
            settings.stream_url,
            settings.stream_prefix,
            settings.stream_partitions,
            dedupe_seconds=settings.stream_dedupe_seconds,
        )
        publisher.start()
        fleet.publisher = publisher
    return fleet
