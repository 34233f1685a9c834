"""The SQLite decision log committed by a process of its own, not a thread of the server's.

Written behind the answer (:mod:`onevoice.store.write_behind`), the log's commits still
ran on a thread of the deciding process, and every Python thread of a process shares one
interpreter lock: at each hand-over of the lock — the writer's SQLite calls let go of it
and take it back, a dozen times per commit — a decide waited for the writer's thread to
wake, run and let go again. On the 100,000-profile benchmark a decide's p99 was 0.86 ms
with the log built but not written, and 1.2–1.6 ms with the writer's thread beside it.

So the writer's thread now hands each window's rows, already encoded, to a child process
(one pipe write; the thread then sleeps on the reply without the lock), and the child
commits them on its own connection, taking its turn with the server's other writes on
the same ``flock`` (:func:`onevoice.store.sqlite._writer_turns`). Everything else is as
before: the thread keeps the queue, the window, who waits for which rows and the retries.
If the child dies, the rows go on being written by the thread itself (nothing is lost, a
failed batch is retried alone, and a row already committed is refused as a duplicate,
never stored twice).

This file runs as the child's program (``python -I this-file``): it imports nothing of
onevoice, so the child starts in a few tens of milliseconds.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any

_log = logging.getLogger("onevoice.store")

#: A request: 8-byte length, then the pickled rows. A reply: a status byte (0: committed)
#: and a 4-byte length, then a UTF-8 message (the error, on failure).
_REQUEST = struct.Struct(">Q")
_REPLY = struct.Struct(">BI")
#: Rows one INSERT takes at most: 7 parameters each stay under SQLite's historical limit of
#: 999 per statement, as the event log's INSERTs do (``sql._ROWS_PER_INSERT``; this file
#: cannot import it: the child runs it with the standard library alone).
ROWS_PER_INSERT = 100


class LogWriteFailed(Exception):
    """The child could not commit a batch (its error, by message)."""


class LogProcess:
    """The parent's side: ``write(rows)`` commits ``rows`` through the child, or through
    ``fallback`` once the child is gone."""

    def __init__(
        self,
        path: str,
        synchronous: str,
        insert: str,
        values: str,
        fallback: Callable[[Sequence[tuple[Any, ...]]], None],
    ) -> None:
        self._fallback = fallback
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-I", os.path.abspath(__file__), path, synchronous, insert, values],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    @property
    def pid(self) -> int | None:
        """The child's process id (None once it is gone)."""
        return None if self._child is None else self._child.pid

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Commit ``rows``; raises :class:`LogWriteFailed` when the child's commit failed."""
        with self._lock:
            child = self._child
            if child is not None:
                try:
                    status, message = _exchange(child, pickle.dumps(list(rows), protocol=5))
                except (OSError, ValueError, EOFError) as error:
                    _log.error("the decision log's process stopped (%s); writing in-process", error)
                    self._stop(child)
                else:
                    if status:
                        raise LogWriteFailed(message)
                    return
        self._fallback(rows)

    def close(self) -> None:
        """Let the child finish and exit (it has committed every batch it replied to)."""
        with self._lock:
            if self._child is not None:
                self._stop(self._child)

    def _stop(self, child: subprocess.Popen[bytes]) -> None:
        self._child = None
        for stream in (child.stdin, child.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _exchange(child: subprocess.Popen[bytes], payload: bytes) -> tuple[int, str]:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(_REQUEST.pack(len(payload)))
    child.stdin.write(payload)
    child.stdin.flush()
    head = child.stdout.read(_REPLY.size)
    if len(head) < _REPLY.size:
        raise EOFError("no reply")
    status, size = _REPLY.unpack(head)
    return status, child.stdout.read(size).decode()


# -- the child ----------------------------------------------------------------------------


def _serve(path: str, synchronous: str, insert: str, values: str) -> None:
    """Commit each batch the parent sends (``insert`` and ``values``: the parent's constant
    SQL) and answer it, until the parent closes the pipe."""
    if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):  # goes into a PRAGMA
        raise SystemExit(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
    # Ctrl-C in a terminal signals the whole process group: the parent, stopping, still
    # sends what it has queued, and this process ends when the parent closes the pipe
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    turns = os.open(f"{path}-lock", os.O_RDWR | os.O_CREAT, 0o600)
    source, reply = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = source.read(_REQUEST.size)
        if len(head) < _REQUEST.size:
            return  # the parent closed the pipe (or died): every batch was answered
        (size,) = _REQUEST.unpack(head)
        rows = pickle.loads(source.read(size))
        try:
            _commit(conn, turns, rows, insert, values)
        except Exception as error:
            message = f"{type(error).__name__}: {error}".encode()
            _answer(reply, 1, message)
        else:
            _answer(reply, 0, b"")


def insert_rows(
    execute: Callable[[str, list[Any]], object],
    rows: Sequence[tuple[Any, ...]],
    insert: str,
    values: str,
) -> None:
    """``rows`` in INSERTs of many rows each (``insert`` + ``values`` once per row): one
    statement where one per row took a hand-over of the interpreter lock each."""
    for start in range(0, len(rows), ROWS_PER_INSERT):
        chunk = rows[start : start + ROWS_PER_INSERT]
        execute(insert + ", ".join([values] * len(chunk)), [v for row in chunk for v in row])


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


def _answer(reply: IO[bytes], status: int, message: bytes) -> None:
    reply.write(_REPLY.pack(status, len(message)) + message)
    reply.flush()


if __name__ == "__main__":
    _serve(*sys.argv[1:5])
