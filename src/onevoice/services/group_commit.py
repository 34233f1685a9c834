"""Group commit: concurrent appends share one transaction, so one fsync serves many requests.

Every accepted event (and every logged decision) must be durable before its 2xx is sent,
and a durable commit costs a disk flush (milliseconds). When several requests append at
once, the first to arrive becomes the *leader*: it takes every append waiting at that
moment and commits them in one transaction, each group still counted on its own (its
new events and duplicates); the others wait for that commit and return with their own
count. Appends that arrive while a commit is under way queue for the next one, whose
leader is the first of them to wake. A lone caller (the simulator, an import) simply
leads every time.

If the shared transaction fails, each group is retried alone, so one bad request cannot
fail the others that happened to share its commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Slot(Generic[T]):
    events: Sequence[T]
    done: bool = False
    inserted: int = 0
    error: Exception | None = None


class GroupCommit(Generic[T]):
    """Appends items through ``append_groups`` (one transaction for many groups; it
    returns how many items of each group were new)."""

    def __init__(self, append_groups: Callable[[Sequence[Sequence[T]]], list[int]]) -> None:
        self._append_groups = append_groups
        self._cond = threading.Condition()
        self._pending: list[_Slot[T]] = []
        self._busy = False
        self.commits = 0  # transactions committed, for tests and metrics

    def append(self, events: Sequence[T]) -> int:
        """Append ``events`` durably; return how many were new (the rest were duplicates)."""
        slot: _Slot[T] = _Slot(events)
        with self._cond:
            self._pending.append(slot)
            while not slot.done and self._busy:
                self._cond.wait()
            if slot.done:
                return _result(slot)
            self._busy = True
            batch, self._pending = self._pending, []
        try:
            self._commit(batch)
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
        return _result(slot)

    def _commit(self, batch: list[_Slot[T]]) -> None:
        try:
            counts = self._append_groups([s.events for s in batch])
            self.commits += 1
        except Exception:
            if len(batch) == 1:
                raise
            for slot in batch:  # alone, each group stands or falls on its own
                try:
                    slot.inserted = self._append_groups([slot.events])[0]
                    self.commits += 1
                except Exception as error:  # re-raised in the caller that owns it
                    slot.error = error
                slot.done = True
            return
        for slot, count in zip(batch, counts, strict=True):
            slot.inserted = count
            slot.done = True


def _result(slot: _Slot[T]) -> int:
    if slot.error is not None:
        raise slot.error
    return slot.inserted
