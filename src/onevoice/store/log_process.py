"""The SQLite decision log's own process: it collects the rows that decides leave in a ring
of shared memory, and commits them (the parent's side is
:class:`onevoice.store.log_ring.LogRing`).

Written behind the answer, the log's commits first ran on a thread of the deciding
process, then on a child process fed by such a thread; either way a thread of the
server's woke for every window, and every Python thread of a process shares one
interpreter lock: at each wake a decide waited for that thread to run and let go again.
On the 100,000-profile benchmark a decide's p99 was 0.67–1.05 ms with the rows dropped
unwritten and no thread, 0.79–1.00 ms with the thread waking but writing nothing, and
0.82–1.30 ms with the log written. Writing each row to this process's pipe instead cost
the decide 6–20 µs per write (p99 over 100 µs). So a decide copies its row into a ring
of shared memory (a ``memfd`` both processes map: no system call), and this process —
not a thread of the server's — wakes every window, takes what arrived, commits it in one
transaction, taking its turn with the server's other writes on the same ``flock``
(:func:`onevoice.store.sqlite._writer_turns`), and publishes how many rows are in.

The ring: a header of native 8-byte counters, then the data. ``head`` (bytes ever
written, by the parent) and ``tail`` (bytes taken and committed, by this process) make
it a queue; ``done`` counts rows handled (committed or dropped, in order), ``dropped``
those given up and ``told`` the answers about them sent. A record is its sequence
number, length and check (:func:`record_check`), then the pickled row, and may wrap
around the end. A record is taken only when its number and check are the ones expected,
so one seen half-written (the counters can be seen before the data on a processor that
reorders stores) is taken at the next look. The counters are published before any answer
is written, so a parent that reads no answers still sees progress.

A byte on the "hurry" pipe asks for a commit now (a reader waits for rows): this process
commits what has arrived and answers on its standard output. A batch that fails is
committed row by row; a row that fails :data:`TRIES` times (:data:`RETRY_SECONDS` apart)
is dropped and reported on standard output by its decision id (a row's first column; at
most :data:`TOLD_PER_BATCH` a batch, then their number), so one bad row cannot stop the
log. When the hurry pipe closes — the parent closing the
store, or dying — whatever is in the ring is committed before this process ends.

This file runs as the child's program (``python -I this-file``): it imports nothing of
onevoice, so the child starts in a few tens of milliseconds.
"""

from __future__ import annotations

import mmap
import os
import pickle
import select
import signal
import sqlite3
import struct
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any

#: The ring's counters (native, aligned: each read and written whole).
COUNTER = struct.Struct("@Q")
HEAD, TAIL, DONE, DROPPED_ROWS, TOLD = 0, 8, 16, 24, 32
#: Where the data begins (a cache line after the counters).
DATA = 64
#: A record's header: sequence number, length of the pickled row, its check (see
#: :func:`record_check`).
RECORD = struct.Struct("@QQI4x")
#: Dropped rows told by their decision id in one batch at most (the rest by their count):
#: the parent reads answers as it puts, and a full pipe would stop this process.
TOLD_PER_BATCH = 20
#: An answer on standard output: its kind, the rows handled so far, a message's length.
#: ``TOLD`` counts the answers about dropped rows sent, so the parent knows when to read.
ANSWER = struct.Struct(">BQI")
#: Kinds: rows are in (after a hurry); one row was dropped (the message: id and error).
COMMITTED, DROPPED = 0, 1
#: Rows one INSERT takes at most: 7 parameters each stay under SQLite's historical limit of
#: 999 per statement, as the event log's INSERTs do (``sql._ROWS_PER_INSERT``; this file
#: cannot import it: the child runs it with the standard library alone).
ROWS_PER_INSERT = 100
#: Commits a row may fail before it is dropped, and the pause between.
TRIES = 3
RETRY_SECONDS = 0.5


def record_check(number: int, body: bytes) -> int:
    """CRC-32 of a record's number, length and row: a record half-written over an older
    one of the same length, its header seen before its row, does not match."""
    return zlib.crc32(body, zlib.crc32(struct.pack("@QQ", number, len(body))))


class Ring:
    """The shared ring as this process reads it."""

    def __init__(self, memory: mmap.mmap) -> None:
        self.memory = memory
        self.capacity = len(memory) - DATA
        self.expected = 0  # the sequence number of the next record

    def counter(self, at: int) -> int:
        value: int = COUNTER.unpack_from(self.memory, at)[0]
        return value

    def set_counter(self, at: int, value: int) -> None:
        COUNTER.pack_into(self.memory, at, value)

    def take(self, start: int) -> tuple[list[tuple[Any, ...]], int]:
        """The rows of the whole records from ``start`` (bytes) up to ``head``, and where
        the first record not taken begins."""
        head = self.counter(HEAD)
        rows: list[tuple[Any, ...]] = []
        while head - start >= RECORD.size:
            number, size, crc = RECORD.unpack(self.read(start, RECORD.size))
            if number != self.expected or head - start < RECORD.size + size:
                break
            body = self.read(start + RECORD.size, size)
            if record_check(number, body) != crc:
                break
            rows.append(pickle.loads(body))
            self.expected += 1
            start += RECORD.size + size
        return rows, start

    def read(self, at: int, size: int) -> bytes:
        """``size`` bytes from position ``at`` (bytes ever written), across the end."""
        first = at % self.capacity
        if first + size <= self.capacity:
            return self.memory[DATA + first : DATA + first + size]
        cut = self.capacity - first
        return (
            self.memory[DATA + first : DATA + self.capacity] + self.memory[DATA : DATA + size - cut]
        )


def _serve(path: str, synchronous: str, insert: str, values: str, window: str, ring: str) -> None:
    """Commit what the parent leaves in the ring (file descriptor ``ring``; ``insert`` and
    ``values``: the parent's constant SQL) every ``window`` seconds, or at once when a
    byte arrives on standard input, until standard input closes."""
    if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):  # goes into a PRAGMA
        raise SystemExit(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
    # Ctrl-C in a terminal signals the whole process group: the parent, stopping, still
    # leaves what it has, and this process ends when the parent closes the hurry pipe
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    turns = os.open(f"{path}-lock", os.O_RDWR | os.O_CREAT, 0o600)
    shared = Ring(mmap.mmap(int(ring), 0))
    seconds = float(window)
    hurry, answer = sys.stdin.fileno(), sys.stdout.fileno()
    os.set_blocking(hurry, False)
    handled = shared.counter(DONE)
    ended = False
    while not ended:
        select.select([hurry], [], [], seconds)
        asked = _drain(hurry)
        ended = asked is None
        rows, start = shared.take(shared.counter(TAIL))
        if rows:
            dropped = _commit_all(conn, turns, rows, insert, values)
            handled += len(rows)
            # the counters first: a parent that reads no answers still sees progress
            shared.set_counter(DROPPED_ROWS, shared.counter(DROPPED_ROWS) + len(dropped))
            shared.set_counter(DONE, handled)
            shared.set_counter(TAIL, start)
            told = [f"{decision_id}: {error}" for decision_id, error in dropped[:TOLD_PER_BATCH]]
            if len(dropped) > TOLD_PER_BATCH:
                told.append(f"{len(dropped) - TOLD_PER_BATCH} more of this batch")
            shared.set_counter(TOLD, shared.counter(TOLD) + len(told))
            for text in told:
                message = text.encode()
                _send(answer, ANSWER.pack(DROPPED, handled, len(message)) + message)
        if asked:
            _send(answer, ANSWER.pack(COMMITTED, handled, 0))


def _drain(fd: int) -> bytes | None:
    """What is readable now from a non-blocking ``fd``; None at its end."""
    try:
        chunk = os.read(fd, 4096)
    except BlockingIOError:
        return b""
    return chunk or None


def _commit_all(
    conn: sqlite3.Connection, turns: int, rows: list[tuple[Any, ...]], insert: str, values: str
) -> list[tuple[object, str]]:
    """Commit ``rows`` in one transaction, else each alone (retried); the dropped ones,
    as (decision id, error)."""
    try:
        _commit(conn, turns, rows, insert, values)
        return []
    except Exception:  # isolation point: each row alone, so one bad row fails alone
        pass
    failing = list(enumerate(rows))
    errors: dict[int, str] = {}
    for attempt in range(TRIES):
        if attempt:
            time.sleep(RETRY_SECONDS)
        left = []
        for n, row in failing:
            try:
                _commit(conn, turns, [row], insert, values)
            except Exception as error:  # isolation point: retried, then dropped
                errors[n] = f"{type(error).__name__}: {error}"
                left.append((n, row))
        failing = left
    return [(row[0], errors[n]) for n, row in failing]


def insert_rows(
    execute: Callable[[str, list[Any]], object],
    rows: Sequence[tuple[Any, ...]],
    insert: str,
    values: str,
    then: str = "",
) -> None:
    """``rows`` in INSERTs of many rows each (``insert`` + ``values`` once per row +
    ``then``, e.g. an ``ON CONFLICT`` clause): one statement where one per row took a
    hand-over of the interpreter lock each."""
    for start in range(0, len(rows), ROWS_PER_INSERT):
        chunk = rows[start : start + ROWS_PER_INSERT]
        statement = insert + ", ".join([values] * len(chunk)) + then
        execute(statement, [v for row in chunk for v in row])


def _commit(
    conn: sqlite3.Connection, turns: int, rows: list[tuple[Any, ...]], insert: str, values: str
) -> None:
    import fcntl

    fcntl.flock(turns, fcntl.LOCK_EX)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            insert_rows(conn.execute, rows, insert, values)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        fcntl.flock(turns, fcntl.LOCK_UN)


def _send(fd: int, data: bytes) -> None:
    """Answer; a parent gone (it crashed) is not told, and what is in the ring is
    committed all the same."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except BrokenPipeError:
        pass


if __name__ == "__main__":
    _serve(*sys.argv[1:7])
