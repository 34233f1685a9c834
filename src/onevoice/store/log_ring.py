"""The parent's side of the SQLite decision log's process (:mod:`.log_process`): each
decide copies its row into a ring of shared memory, and the child keeps the window.

No thread of the server's takes part, and a ``put`` makes no system call (why: see
:mod:`.log_process`). What a writer thread did is done by whoever calls: ``put`` copies
the rows into the ring — a full ring makes it wait for the child, the bound a queue had —
and ``written`` asks the child to commit at once and waits for its answer until the rows
it wants are in. The child publishes in the ring how many rows it has handled, so a
waiter's test and the forgetting of committed rows cost no system call either.

Rows are kept until the child has handled them: if it dies (or stops taking rows), they
and every later row go to a :class:`~onevoice.store.write_behind.DecisionWriter` that
commits them in this process (nothing is lost; a row the child did commit is refused as
a duplicate and dropped, never stored twice). A row too large for the ring is committed
at once, in this process.
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
import zlib
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
)
from onevoice.store.sql_part import PreparedDecision
from onevoice.store.write_behind import DecisionWriter, Positions

_log = logging.getLogger("onevoice.store")
#: The ring's size: ~1,400 decisions of ~11 KB, a second of them at full speed.
RING_BYTES = 16 << 20
#: Puts between two looks at whether the child is still there (a ``waitpid``).
CHECK_EVERY = 256
#: Seconds a waiter gives the child to make progress before writing in this process.
STALLED_SECONDS = 30.0
#: Seconds a waiter waits for an answer before it looks at the child's progress again.
ANSWER_SECONDS = 1.0
_STOP_SECONDS = 10.0
_SHARED = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)


def available() -> bool:
    """Whether this platform has what the ring needs (Linux's ``memfd_create``)."""
    return hasattr(os, "memfd_create")


class LogRing:
    """Decision rows left in a ring for the log's child process, committed within
    ``window`` seconds; ``fallback`` commits rows in this process once the child is gone."""

    def __init__(
        self,
        path: str,
        synchronous: str,
        insert: str,
        values: str,
        window: float,
        fallback: Callable[[Sequence[tuple[Any, ...]]], None],
        size: int = RING_BYTES,
    ) -> None:
        self._window = window
        self._fallback = fallback
        self._lock = threading.Lock()  # puts and waits, in turn
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
        self._hurry = self._child.stdin.fileno()
        self._answers = self._child.stdout.fileno()
        os.set_blocking(self._hurry, False)  # one byte waiting is enough: never wait to add
        self._capacity = size
        self._head = 0  # bytes written
        self._put = 0  # rows ever left; the row numbered n is in once done > n
        self._done = 0
        self._unacked: deque[tuple[int, PreparedDecision]] = deque()
        self._positions = Positions()
        self._inbox = bytearray()
        self._reported = 0  # dropped rows whose message was read
        self._puts = 0
        self._writer: DecisionWriter[PreparedDecision] | None = None  # once the child is gone
        atexit.register(self.close)

    @property
    def pid(self) -> int | None:
        """The child's process id (None once it is gone)."""
        return None if self._child is None else self._child.pid

    @property
    def dropped(self) -> int:
        """Rows given up after :data:`~.log_process.TRIES` failed commits."""
        mine = self._counter(DROPPED_ROWS) if self._child is not None else self._reported
        return mine + (0 if self._writer is None else self._writer.dropped)

    def put(self, records: Sequence[PreparedDecision]) -> None:
        with self._lock:
            writer = self._writer
            if writer is None:
                self._puts += 1
                if self._puts % CHECK_EVERY == 0 and self._gone():
                    writer = self._writer
                else:
                    self._keep_up()
                    for record in records:
                        self._leave(record)
                    return
        assert writer is not None
        writer.put(records)

    def written(
        self, *, subjects: Collection[str] | None = None, ids: Collection[str] | None = None
    ) -> None:
        with self._lock:
            if self._writer is None:
                self._forget(self._counter(DONE))
                if self._done == self._put:
                    return
                target = self._positions.wanted(subjects, ids, self._put)
                if self._done >= target or self._wait_until(lambda: self._done >= target):
                    return
            writer = self._writer
        assert writer is not None
        writer.written(subjects=subjects, ids=ids)

    def close(self) -> None:
        """Let the child commit what is in the ring and exit; then, if it could not, this
        process."""
        atexit.unregister(self.close)
        with self._lock:
            child = self._child
            if child is not None:
                assert child.stdin is not None
                with contextlib.suppress(OSError):
                    child.stdin.close()  # the child commits what is left, and ends
                if self._wait_until(None):
                    self._forget(self._counter(DONE))
                    if self._unacked:
                        self._lost("it ended without committing every row")
                    else:
                        self._child = None
                        self._reported = self._counter(DROPPED_ROWS)
                        _stop(child)
            writer = self._writer
        if writer is not None:
            writer.close()

    # -- with the lock held -------------------------------------------------------------------

    def _leave(self, record: PreparedDecision) -> None:
        """Copy ``record`` into the ring (waiting for room), or commit it here when it is
        larger than the ring."""
        if self._writer is not None:  # the child was lost while this put waited
            self._writer.put([record])
            return
        body = pickle.dumps(record.row, protocol=5)
        size = RECORD.size + len(body)
        if size > self._capacity:
            self._fallback([record.row])
            return
        if self._room() < size and not self._wait_until(lambda: self._room() >= size):
            assert self._writer is not None  # the child is gone: this row is written here
            self._writer.put([record])
            return
        number = self._put
        self._write(RECORD.pack(number, len(body), zlib.crc32(body)))
        self._write(body)
        self._unacked.append((number, record))
        self._positions.queued(number, record)
        self._put += 1

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
        if self._counter(DROPPED_ROWS) > self._reported:
            self._read_answers()

    def _wait_until(self, ready: Callable[[], bool] | None) -> bool:
        """Hurry the child until ``ready()`` (``None``: wait for it to end, unhurried);
        ``False`` when it cannot be: the child ended first, or made no progress for
        :data:`STALLED_SECONDS` — then the fallback is in place."""
        progress, since = self._counter(DONE), time.monotonic()
        while True:
            if ready is not None:
                try:
                    os.write(self._hurry, b"!")
                except BlockingIOError:  # the pipe is full of such bytes: seen in time
                    pass
                except OSError as error:
                    self._lost(str(error))
                    return False
            ended = not self._read_answers(wait=ANSWER_SECONDS)
            done = self._counter(DONE)
            self._forget(done)
            if ready is None and ended:
                return True
            if ended:
                self._lost("it ended")
                return False
            if ready is not None and ready():
                return True
            if done != progress:
                progress, since = done, time.monotonic()
            elif time.monotonic() - since > STALLED_SECONDS:
                self._lost(f"no progress in {STALLED_SECONDS:g} s")
                return False

    def _read_answers(self, *, wait: float = 0.0) -> bool:
        """Take in the child's answers that arrive within ``wait`` seconds; ``False`` when
        it has closed its end."""
        if not select.select([self._answers], [], [], wait)[0]:
            return True
        try:
            chunk = os.read(self._answers, 65536)
        except OSError:
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
                self._reported += 1
                _log.error("decision %s dropped from the log", message)
        return True

    def _counter(self, at: int) -> int:
        value: int = COUNTER.unpack_from(self._ring, at)[0]
        return value

    def _forget(self, done: int) -> None:
        """Rows below ``done`` are in: no reader waits for them any more."""
        unacked = self._unacked
        while unacked and unacked[0][0] < done:
            self._positions.settled(*unacked.popleft())
        self._done = max(self._done, done)

    def _gone(self) -> bool:
        """Whether the child has ended (then the fallback is in place)."""
        if self._child is not None and self._child.poll() is None:
            return False
        self._lost("it ended")
        return True

    def _lost(self, why: str) -> None:
        """The child is gone: the rows it has not handled, and every row from now on, are
        committed in this process."""
        child, self._child = self._child, None
        if child is not None:
            _log.error("the decision log's process stopped (%s); writing in-process", why)
            self._reported = self._counter(DROPPED_ROWS)
            _stop(child)
        writer = self._writer = DecisionWriter(self._commit_here, self._window)
        self._forget(self._counter(DONE))  # what it handled before it went
        rows = [record for _n, record in self._unacked]
        self._forget(self._put)
        if rows:
            writer.put(rows)

    def _commit_here(self, records: Sequence[PreparedDecision]) -> None:
        self._fallback([r.row for r in records])


def _stop(child: subprocess.Popen[bytes]) -> None:
    """Close the pipes and wait for the child to end (killed if it does not)."""
    for stream in (child.stdin, child.stdout):
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass
    try:
        child.wait(_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
