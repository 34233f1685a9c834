"""The parent's side of the SQLite decision log's process (:mod:`.log_process`): each
decide copies its row into a ring of shared memory, and the child keeps the window.

No thread of the server's wakes for the log, and a ``put`` makes no system call (why:
see :mod:`.log_process`). What a writer thread did is done by whoever calls: ``put``
copies the rows into the ring — a full ring makes it wait for the child, the bound a
queue had — and ``written`` asks the child to commit at once and waits for its answer
until the rows it wants are in (without holding up the puts of others meanwhile). The
child publishes in the ring how many rows it has handled, so a waiter's test and the
forgetting of committed rows cost no system call either. One thread sleeps in
``waitpid`` on the child, to notice at once if it dies.

Rows are kept until the child has handled them: if it dies, or makes no progress for
:data:`STALLED_SECONDS` while someone waits (then it is killed), they and every later row
go to a :class:`~onevoice.store.write_behind.DecisionWriter` that commits them in this
process through ``again`` (which skips a row already in the log: nothing is lost, nothing
is stored twice). A row too large for the ring goes to such a writer of its own; so does
a row put after ``close`` (then committed before ``put`` returns).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import mmap
import os
import pickle
import select
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Collection, Sequence
from typing import Any

from onevoice.store import log_process
from onevoice.store.log_process import (
    ANSWER,
    COUNTER,
    DATA,
    DONE,
    DROPPED,
    DROPPED_ROWS,
    HEAD,
    RECORD,
    TAIL,
    TOLD,
    record_check,
)
from onevoice.store.sql_part import PreparedDecision
from onevoice.store.write_behind import DecisionWriter, Positions

_log = logging.getLogger("onevoice.store")
#: The ring's size: ~1,400 decisions of ~11 KB, a second of them at full speed.
RING_BYTES = 16 << 20
#: Seconds a waiter gives the child to handle one more row before it is replaced (a
#: batch that fails goes row by row, with pauses: seconds, not minutes).
STALLED_SECONDS = 60.0
#: Seconds a waiter waits for an answer before it looks at the child's progress again.
ANSWER_SECONDS = 1.0
_SHARED = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
Rows = Callable[[Sequence[tuple[Any, ...]]], None]


_FORKS = [0]


def _forks() -> int:
    """How many forks made this process (counted without a system call per ``put``)."""
    return _FORKS[0]


def _forked() -> None:
    _FORKS[0] += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def available() -> bool:
    """Whether this platform has what the ring needs (Linux's ``memfd_create``)."""
    return hasattr(os, "memfd_create")


class LogRing:
    """Decision rows left in a ring for the log's child process, committed within
    ``window`` seconds; ``fallback`` commits rows in this process, ``again`` too but
    skipping those already in the log (after the child is lost)."""

    def __init__(
        self,
        path: str,
        synchronous: str,
        insert: str,
        values: str,
        window: float,
        fallback: Rows,
        again: Rows,
        size: int = RING_BYTES,
    ) -> None:
        self._window = window
        self._fallback = fallback
        self._again = again
        self._lock = threading.Lock()  # the ring and its bookkeeping: held briefly
        self._waiting = threading.Lock()  # one waiter reads the child's answers at a time
        memory = os.memfd_create("onevoice-decision-log")
        try:
            os.ftruncate(memory, DATA + size)
            # every page at once: a page first touched by a decide costs it a fault
            self._ring = mmap.mmap(memory, DATA + size, flags=_SHARED)
            self._child: subprocess.Popen[bytes] | None = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    os.path.abspath(log_process.__file__),
                    *(path, synchronous, insert, values, repr(window), str(memory)),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                bufsize=0,
                pass_fds=(memory,),
            )
        finally:
            os.close(memory)
        assert self._child.stdin is not None and self._child.stdout is not None
        self._hurry = self._child.stdin
        self._answers = self._child.stdout
        os.set_blocking(self._hurry.fileno(), False)  # one byte waiting is enough
        self._poll = select.poll()
        self._poll.register(self._answers.fileno(), select.POLLIN)
        self._capacity = size
        self._head = 0  # bytes written
        self._put = 0  # rows ever left; the row numbered n is in once done > n
        self._done = 0
        self._unacked: deque[tuple[int, PreparedDecision]] = deque()
        self._positions = Positions()
        self._inbox = bytearray()
        self._reported = 0  # rows the child dropped, counted when it ends
        self._heard = 0  # answers about dropped rows read
        self._writer: DecisionWriter[PreparedDecision] | None = None  # once the child is gone
        self._aside: DecisionWriter[PreparedDecision] | None = None  # rows too large
        self._closed = False
        self._forks = _forks()  # a process forked from this one may not use the ring
        _watch(self, self._child)
        atexit.register(self.close)

    @property
    def pid(self) -> int | None:
        """The child's process id (None once it is gone)."""
        child = self._child
        return None if child is None else child.pid

    @property
    def dropped(self) -> int:
        """Rows given up after :data:`~.log_process.TRIES` failed commits."""
        with self._lock:
            mine = self._reported if self._child is None else self._counter(DROPPED_ROWS)
            others = (w.dropped for w in (self._writer, self._aside) if w is not None)
            return mine + sum(others)

    def put(self, records: Sequence[PreparedDecision]) -> None:
        with self._lock:
            if self._closed or self._forks != _forks():  # a fork: not ours to use
                self._fallback([r.row for r in records])
                return
            writer = self._writer
            if writer is None:
                self._keep_up()
                for n, record in enumerate(records):
                    if not self._leave(record):  # the child was lost meanwhile
                        writer = self._writer
                        records = records[n:]
                        break
                else:
                    return
        assert writer is not None
        writer.put(records)

    def written(
        self, *, subjects: Collection[str] | None = None, ids: Collection[str] | None = None
    ) -> None:
        if self._aside is not None:
            self._aside.written(subjects=subjects, ids=ids)
        with self._lock:
            if self._closed or self._forks != _forks():
                return
            if self._writer is None:
                self._forget(self._counter(DONE))
                target = self._positions.wanted(subjects, ids, self._put)
                if self._done >= target:
                    return
        if self._writer is None and self._wait_for(lambda: self._done >= target, hurry=True):
            return
        writer = self._writer
        if writer is not None:  # else closed meanwhile: nothing is left to wait for
            writer.written(subjects=subjects, ids=ids)

    def close(self) -> None:
        """Let the child commit what is in the ring and exit; then, if it could not, this
        process. Rows put later are committed by ``put`` itself."""
        atexit.unregister(self.close)
        if self._forks != _forks():
            return
        with self._lock:
            if self._closed:
                return
            child = self._child
            if child is not None:
                with contextlib.suppress(OSError):
                    self._hurry.close()  # the child commits what is left, and ends
        if child is not None and self._wait_for(None, hurry=False):
            with self._lock:
                self._forget(self._counter(DONE))
                if self._unacked:
                    self._lost("it ended without committing every row")
                else:
                    self._end_child()
        with self._lock:
            self._closed = True
            writers = [w for w in (self._writer, self._aside) if w is not None]
            if self._child is None:
                self._ring.close()
        for writer in writers:
            writer.close()

    def child_ended(self, child: subprocess.Popen[bytes]) -> None:
        """The watcher's call: ``child`` has ended (nothing to do if it was let go)."""
        with self._lock:
            if self._child is child and not self._closed and self._hurry.closed is False:
                self._forget(self._counter(DONE))
                self._lost("it ended")

    # -- with self._lock held -----------------------------------------------------------------

    def _leave(self, record: PreparedDecision) -> bool:
        """Copy ``record`` into the ring (waiting for room), or hand it to the writer of
        rows too large; ``False`` when the child was lost instead."""
        body = pickle.dumps(record.row, protocol=5)
        size = RECORD.size + len(body)
        if size > self._capacity:
            if self._aside is None:
                self._aside = DecisionWriter(self._commit_here, self._window)
            self._aside.put([record])
            return True
        while self._room() < size:
            self._lock.release()
            try:
                room = self._wait_for(lambda: self._room() >= size, hurry=True)
            finally:
                self._lock.acquire()
            if not room or self._writer is not None:
                return False
        number = self._put
        header = RECORD.pack(number, len(body), record_check(number, body))
        self._write(header + body)
        self._unacked.append((number, record))
        self._positions.queued(number, record)
        self._put += 1
        return True

    def _room(self) -> int:
        """Bytes free in the ring."""
        return self._capacity - (self._head - self._counter(TAIL))

    def _write(self, data: bytes) -> None:
        """``data`` at the head, across the end, then the head moved past it (the child
        takes a record only once the whole of it is there: see ``Ring.take``)."""
        start = self._head % self._capacity
        first = min(len(data), self._capacity - start)
        ring = self._ring
        ring[DATA + start : DATA + start + first] = data[:first]
        if first < len(data):
            ring[DATA : DATA + len(data) - first] = data[first:]
        self._head += len(data)
        COUNTER.pack_into(ring, HEAD, self._head)

    def _keep_up(self) -> None:
        """Forget the rows the child has handled; read its reports of dropped rows."""
        self._forget(self._counter(DONE))
        if self._counter(TOLD) > self._heard and self._waiting.acquire(False):
            try:
                self._read_answers(0.0)
            finally:
                self._waiting.release()

    def _counter(self, at: int) -> int:
        value: int = COUNTER.unpack_from(self._ring, at)[0]
        return value

    def _forget(self, done: int) -> None:
        """Rows below ``done`` are in: no reader waits for them any more."""
        unacked = self._unacked
        while unacked and unacked[0][0] < done:
            self._positions.settled(*unacked.popleft())
        self._done = max(self._done, done)

    def _lost(self, why: str) -> None:
        """The child is gone or stuck: it is stopped, and the rows it has not handled, and
        every row from now on, are committed in this process."""
        if self._child is not None:
            _log.error("the decision log's process stopped (%s); writing in-process", why)
            self._forget(self._counter(DONE))  # what it handled before it went
            self._end_child(kill=True)
        writer = self._writer = DecisionWriter(self._commit_again, self._window)
        rows = [record for _n, record in self._unacked]
        self._forget(self._put)
        if rows:
            writer.put(rows)

    def _end_child(self, *, kill: bool = False) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        self._reported = self._counter(DROPPED_ROWS)
        if kill:
            with contextlib.suppress(OSError):
                child.kill()
        for stream in (child.stdin, child.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        child.wait()

    # -- without self._lock ---------------------------------------------------------------------

    def _wait_for(self, ready: Callable[[], bool] | None, *, hurry: bool) -> bool:
        """Wait for the child until ``ready()`` (``None``: until it ends), hurrying it
        (``hurry``); ``False`` when it cannot be — the child is lost, or made no
        progress for :data:`STALLED_SECONDS` (then it is replaced: see :meth:`_lost`)."""
        with self._waiting:
            progress, since = -1, time.monotonic()
            while True:
                with self._lock:
                    if self._child is None:  # lost (or let go) meanwhile
                        return ready is None and self._writer is None
                    if ready is not None and ready():
                        return True
                    if hurry:
                        with contextlib.suppress(OSError, ValueError):  # full, or it ended
                            os.write(self._hurry.fileno(), b"!")
                ended = not self._read_answers(ANSWER_SECONDS)
                with self._lock:
                    if self._child is None:
                        return ready is None and self._writer is None
                    done = self._counter(DONE)
                    self._forget(done)
                    if ended:
                        if ready is None:
                            return True
                        self._lost("it ended")
                        return False
                    if done != progress:
                        progress, since = done, time.monotonic()
                    elif time.monotonic() - since > STALLED_SECONDS:
                        self._lost(f"no progress in {STALLED_SECONDS:g} s")
                        return False

    def _read_answers(self, wait: float) -> bool:
        """Take in the child's answers that arrive within ``wait`` seconds (with
        ``self._waiting`` held); ``False`` when it has closed its end."""
        if not self._poll.poll(wait * 1000):
            return True
        try:
            chunk = os.read(self._answers.fileno(), 65536)
        except (OSError, ValueError):
            return False
        if not chunk:
            return False
        self._inbox += chunk
        while len(self._inbox) >= ANSWER.size:
            kind, _handled, size = ANSWER.unpack_from(self._inbox)
            if len(self._inbox) < ANSWER.size + size:
                break
            message = bytes(self._inbox[ANSWER.size : ANSWER.size + size]).decode()
            del self._inbox[: ANSWER.size + size]
            if kind == DROPPED:
                self._heard += 1
                _log.error("dropped from the decision log: %s", message)
        return True

    def _commit_here(self, records: Sequence[PreparedDecision]) -> None:
        self._fallback([r.row for r in records])

    def _commit_again(self, records: Sequence[PreparedDecision]) -> None:
        self._again([r.row for r in records])


def _watch(ring: LogRing, child: subprocess.Popen[bytes]) -> None:
    """A thread asleep in ``waitpid`` until ``child`` ends, which then tells ``ring`` (held
    weakly: a ring closed and dropped is not kept alive by its watcher)."""
    owner = weakref.ref(ring)

    def wait() -> None:
        with contextlib.suppress(Exception):
            child.wait()
        found = owner()
        if found is not None:
            found.child_ended(child)

    threading.Thread(target=wait, name="onevoice-decision-log-watch", daemon=True).start()
