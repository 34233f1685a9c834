"""Collect: validate calls, append them durably, wake the processor.

A batch is all-or-nothing per event, never per batch: the good events are stored and
each bad one is reported by its index with the field at fault.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from onevoice.domain.errors import InvalidEvent
from onevoice.domain.events import Event, parse_event
from onevoice.services.clock import Clock
from onevoice.services.group_commit import GroupCommit
from onevoice.services.ports import Store


@dataclass(frozen=True, slots=True)
class Rejection:
    """One event of a batch that was not accepted, and why."""

    index: int
    error: InvalidEvent


@dataclass(frozen=True, slots=True)
class CollectResult:
    """What became of a call or a batch."""

    accepted: int
    duplicates: int
    rejected: tuple[Rejection, ...] = field(default_factory=tuple)


class Collector:
    """The listening post's front door, shared by the HTTP API, import and the simulator."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        max_future: timedelta = timedelta(hours=24),
        on_append: Callable[[], None] = lambda: None,
        admit: Callable[[Sequence[Event]], list[Event]] = list,
        publish: Callable[[Sequence[Event]], int] | None = None,
        on_stored: Callable[[int, int], None] = lambda new, duplicates: None,
    ) -> None:
        self._store = store
        self._admit = admit
        self._clock = clock
        self._max_future = max_future
        self._on_append = on_append
        self._group: GroupCommit[Event] = GroupCommit(store.append_event_groups)
        self._publish = publish  # stream mode: acknowledged by the stream, not the store
        self._on_stored = on_stored

    def parse(
        self, raws: Sequence[object], *, source: str = "", default_type: str | None = None
    ) -> tuple[list[Event], list[Rejection]]:
        """Validate raw calls; return the good events and the rejections by index."""
        now = self._clock()
        events: list[Event] = []
        rejected: list[Rejection] = []
        for index, raw in enumerate(raws):
            try:
                events.append(
                    parse_event(
                        raw,
                        received_at=now,
                        source=source,
                        max_future=self._max_future,
                        default_type=default_type,
                    )
                )
            except InvalidEvent as error:
                rejected.append(Rejection(index, error))
        return events, rejected

    def store(self, events: Sequence[Event]) -> tuple[int, int]:
        """Append parsed events; return (new, duplicates). Durable when this returns.

        Events of an erased person (see :mod:`onevoice.services.tombstones`) are not stored
        and count among the duplicates: known, and deliberately not kept again.
        """
        if not events:
            return 0, 0
        unique = list({e.message_id: e for e in self._admit(events)}.values())
        if self._publish is not None:
            inserted = self._publish(unique)
        else:
            inserted = self._group.append(unique)
        if inserted:
            self._on_append()
        self._on_stored(inserted, len(events) - inserted)
        return inserted, len(events) - inserted

    def collect(
        self, raws: Sequence[object], *, source: str = "", default_type: str | None = None
    ) -> CollectResult:
        events, rejected = self.parse(raws, source=source, default_type=default_type)
        accepted, duplicates = self.store(events)
        return CollectResult(accepted, duplicates, tuple(rejected))
