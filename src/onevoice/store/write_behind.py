"""The decision log written behind the answer: a background writer with group commit.

With ``ONEVOICE_DECISION_LOG_WRITE_MS`` above 0, ``decide`` hands its decision row to this
queue and answers; a writer thread commits what has queued in one transaction when the
window that began with the oldest queued row ends, so one commit (and one fsync) serves
every decision of the window, and no request waits for the disk.

What the process itself reads never misses a queued row: every store method that reads
or rewrites the decision log first waits for the rows it could see (:meth:`written`):
those of one decision (``POST /v1/responses``), of one customer (the next ``decide``'s
contact log, erasure) or all of them (reports, the Studio). The wait asks the writer to
commit now rather than at the end of its window. ``close`` commits everything queued (and
so does the interpreter's exit, for a program that never closes its store).

So a crash of the process (a kill, an out-of-memory) or of the machine can lose the
decisions answered in the last window plus one commit; other processes (a CLI command,
another replica) see a decision once it is committed, within that time. A full queue
(:data:`LIMIT` rows) makes ``put`` wait for the writer: the answer then waits for the
disk, as with the log written first, instead of memory growing without bound.

A row that fails to commit is retried alone; one that fails :data:`TRIES` times is logged
by its decision id and dropped (counted in ``dropped``), so one bad row cannot stop the log.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Collection, Sequence
from typing import Generic, Protocol, TypeVar

_log = logging.getLogger("onevoice.store")
#: Rows queued at most (a logged decision is ~30 KB of JSON with every candidate).
LIMIT = 2_000
#: Commits a row may fail before it is dropped.
TRIES = 3
_RETRY_SECONDS = 0.5


class Logged(Protocol):
    """What the writer needs to know of a queued row: whose decision it is."""

    @property
    def decision_id(self) -> str: ...

    @property
    def subject(self) -> str: ...


Row = TypeVar("Row", bound=Logged)
Queued = TypeVar("Queued", bound=Logged, contravariant=True)


class DecisionQueue(Protocol[Queued]):
    """What the store asks of a log written behind: :class:`DecisionWriter` here, or the
    SQLite log's ring (:class:`onevoice.store.log_ring.LogRing`)."""

    def put(self, records: Sequence[Queued]) -> None:
        """Queue ``records`` (ready to insert) to be committed within the window."""

    def written(
        self, *, subjects: Collection[str] | None = None, ids: Collection[str] | None = None
    ) -> None:
        """Return once the queued rows of ``subjects`` or ``ids`` (none given: every queued
        row) are committed (or dropped)."""

    def close(self) -> None:
        """Commit every queued row and stop."""


class Positions:
    """The number of the last queued row of each decision and of each customer, so that
    a reader waits only for the rows it could see (rows are numbered as queued, from 0)."""

    def __init__(self) -> None:
        self._by_id: dict[str, int] = {}
        self._by_subject: dict[str, int] = {}

    def queued(self, number: int, record: Logged) -> None:
        self._by_id[record.decision_id] = number
        self._by_subject[record.subject] = number

    def settled(self, number: int, record: Logged) -> None:
        """Row ``number`` is in (or dropped): forgotten unless a later row replaced it."""
        if self._by_id.get(record.decision_id) == number:
            del self._by_id[record.decision_id]
        if self._by_subject.get(record.subject) == number:
            del self._by_subject[record.subject]

    def wanted(
        self, subjects: Collection[str] | None, ids: Collection[str] | None, queued: int
    ) -> int:
        """How many rows must be in before the rows of ``subjects`` or ``ids`` are (neither
        given: all ``queued``)."""
        if subjects is None and ids is None:
            return queued
        numbers = [self._by_subject.get(s, -1) for s in subjects or ()]
        numbers += [self._by_id.get(i, -1) for i in ids or ()]
        return max(numbers, default=-1) + 1


class DecisionWriter(Generic[Row]):
    """Queues decision rows and commits them through ``write`` on its own thread.

    A row should arrive ready to insert (serialised by the deciding thread): the writer
    thread then holds the interpreter only briefly, and a decide in another thread is
    not kept waiting for it.
    """

    def __init__(
        self, write: Callable[[Sequence[Row]], None], window: float, limit: int = LIMIT
    ) -> None:
        self._write = write
        self._window = window
        self._limit = limit
        self._cond = threading.Condition()
        self._queue: list[tuple[int, Row]] = []
        self._put = 0  # rows ever queued; the row numbered n is done once _done > n
        self._done = 0
        self._taken = 0  # rows the writer has taken from the queue
        self._positions = Positions()
        self._failures: dict[int, int] = {}
        self._wanted = 0  # a reader waits for the rows numbered below this
        self._closed = False
        self._idle = False  # the writer waits for a first row
        self._since = 0.0  # when the oldest queued row was queued (monotonic)
        self.commits = 0  # transactions committed, for tests and metrics
        self.dropped = 0  # rows given up after TRIES failed commits
        self._thread = threading.Thread(target=self._run, name="onevoice-decision-log", daemon=True)
        self._thread.start()
        atexit.register(self.close)  # a program that never closes its store still drains

    def put(self, records: Sequence[Row]) -> None:
        """Queue ``records``; written at once (in the caller) once the writer is closed."""
        with self._cond:
            running = self._thread.is_alive()  # else (it died) the caller writes
            while len(self._queue) >= self._limit and running and not self._closed:
                self._wanted = max(self._wanted, self._put)
                self._cond.notify_all()
                self._cond.wait(1.0)
                running = self._thread.is_alive()
            if running and not self._closed:
                if not self._queue:
                    self._since = time.monotonic()
                for record in records:
                    number = self._put
                    self._put += 1
                    self._queue.append((number, record))
                    self._positions.queued(number, record)
                if self._idle or len(self._queue) >= self._limit:  # else it wakes by itself
                    self._cond.notify_all()
                return
        self._write(records)

    def written(
        self, *, subjects: Collection[str] | None = None, ids: Collection[str] | None = None
    ) -> None:
        """Return once the queued rows of ``subjects`` or ``ids`` (none given: every queued
        row) are committed (or dropped). Free when none of them is queued."""
        with self._cond:
            if self._done == self._put:
                return
            target = self._positions.wanted(subjects, ids, self._put)
            self._wanted = max(self._wanted, target)
            while self._done < target and self._thread.is_alive():
                self._cond.notify_all()
                self._cond.wait()

    def close(self) -> None:
        """Commit every queued row, then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()
        atexit.unregister(self.close)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._idle = True
                    self._cond.wait()
                self._idle = False
                if not self._queue:
                    return
                # the window runs from the oldest queued row; it ends sooner when a reader
                # waits for a queued row, the queue is full or the store closes
                deadline = self._since + self._window
                while not (
                    self._wanted > self._done or self._closed or len(self._queue) >= self._limit
                ):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                batch, self._queue = self._queue, []
                self._taken = max(self._taken, batch[-1][0] + 1)
            kept = self._commit(batch)
            with self._cond:
                self._finish(batch, kept)
                if kept:  # what failed goes first next time, after a pause
                    self._queue[:0] = kept
                    self._since = 0.0
                    self._cond.wait(_RETRY_SECONDS)

    def _commit(self, batch: list[tuple[int, Row]]) -> list[tuple[int, Row]]:
        """Commit ``batch``; return the rows to try again."""
        try:
            self._write([record for _n, record in batch])
            self.commits += 1
            return []
        except Exception:  # isolation point: each row alone, so one bad row fails alone
            _log.warning("committing %d decisions failed; trying each alone", len(batch))
        kept = []
        for number, record in batch:
            try:
                self._write([record])
                self.commits += 1
            except Exception:  # isolation point: logged, retried, then dropped
                tries = self._failures.get(number, 0) + 1
                if tries < TRIES:
                    self._failures[number] = tries
                    kept.append((number, record))
                    continue
                self._failures.pop(number, None)
                self.dropped += 1
                _log.exception("decision %s dropped from the log", record.decision_id)
        return kept

    def _finish(self, batch: list[tuple[int, Row]], kept: list[tuple[int, Row]]) -> None:
        """Mark ``batch`` done up to its first row to try again (rows count as done in
        order, so a waiter's test stays one comparison)."""
        again = {number for number, _record in kept}
        for number, record in batch:
            if number in again:
                continue
            self._failures.pop(number, None)
            self._positions.settled(number, record)
        self._done = kept[0][0] if kept else self._taken
        self._cond.notify_all()
