"""The embedded default: one SQLite file in WAL mode, no server.

One writer connection behind a lock (SQLite has one writer anyway) and one reader
connection per thread, which WAL lets run beside the writer. ``synchronous=FULL`` makes
a commit durable before the API answers 2xx.

Processes on the same file (the API and its processor child, a CLI command beside a
running server) also take turns through an ``flock`` on ``<file>-lock`` before they begin
a write: the kernel wakes the next writer the moment the lock is free, where SQLite's own
busy handler would sleep and poll for up to 100 ms at a time.

``deferred_flush`` (seconds, 0 = off) relaxes that for :meth:`_write_deferred` alone (the
decision log): such a transaction commits into the WAL without waiting for the disk — it
is visible to every reader at once and survives the process dying — and a flusher thread
fsyncs the WAL as soon as it can, at most once per ``deferred_flush``. So an OS crash or
power loss can lose the deferred commits of the last window (plus one fsync); ``close``
flushes before it returns.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

from onevoice.store.migrate import migrate
from onevoice.store.sql import Cursor, SqlStore

_log = logging.getLogger("onevoice.store")
#: The flusher checkpoints a WAL grown past this, as SQLite would at 1000 4-KiB pages.
_CHECKPOINT_BYTES = 4_096_000


class SqliteStore(SqlStore):
    backend = "sqlite"

    def __init__(
        self, path: str | Path, *, synchronous: str = "FULL", deferred_flush: float = 0.0
    ) -> None:
        self.path = str(path)
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):  # goes into a PRAGMA
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
        self._synchronous = synchronous.upper()
        self._lock = threading.RLock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._turns = _writer_turns(self.path)
        self._writer = self._connect()
        try:
            with self._write() as cur:
                migrate("sqlite", cur, self._run_script)
        except BaseException:
            self._writer.close()
            raise
        relax = deferred_flush > 0 and self._synchronous in ("FULL", "EXTRA")
        self._flusher = _WalFlusher(self._connect, self.path, deferred_flush) if relax else None

    def _run_script(self, sql: str) -> None:
        """Run a script statement by statement inside the open transaction.

        ``executescript`` would commit first; splitting on every ``;`` would break on one in
        a comment or a string, so statements end where SQLite says a statement is complete.
        """
        statement = ""
        for piece in re.split("(?<=;)", sql):  # every piece but the last ends with ";"
            statement += piece
            if sqlite3.complete_statement(statement):
                self._writer.execute(statement)
                statement = ""
        if statement.strip() and not _only_comments(statement):
            raise sqlite3.ProgrammingError(f"incomplete SQL statement: {statement.strip()!r}")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute("PRAGMA cache_size=-65536")
        return conn

    @contextmanager
    def _write(self) -> Iterator[Cursor]:
        with self._lock:
            if self._turns is not None:
                fcntl.flock(self._turns, fcntl.LOCK_EX)
            try:
                cur = self._writer.cursor()
                cur.execute("BEGIN IMMEDIATE")
                try:
                    yield cur
                    cur.execute("COMMIT")
                except BaseException:
                    # a failed COMMIT must not leave the writer inside a transaction; and
                    # some errors (disk full, I/O) already rolled back, where ROLLBACK would
                    # fail too
                    if self._writer.in_transaction:
                        self._writer.execute("ROLLBACK")
                    raise
            finally:
                if self._turns is not None:
                    fcntl.flock(self._turns, fcntl.LOCK_UN)

    @contextmanager
    def _write_derived(self) -> Iterator[Cursor]:
        """WAL with ``synchronous=NORMAL`` for this transaction: no fsync of its own (the
        next durable commit's fsync, or the checkpoint's, carries it to disk)."""
        relaxed = (
            "PRAGMA synchronous=OFF" if self._synchronous == "OFF" else "PRAGMA synchronous=NORMAL"
        )
        with self._lock:
            self._writer.execute(relaxed)
            try:
                with self._write() as cur:
                    yield cur
            finally:
                self._writer.execute(f"PRAGMA synchronous={self._synchronous}")

    @contextmanager
    def _write_deferred(self) -> Iterator[Cursor]:
        if self._flusher is None:
            with self._write() as cur:
                yield cur
            return
        with self._lock:
            # WAL: commit without fsync, and leave the checkpoint to the flusher's thread
            self._writer.execute("PRAGMA synchronous=NORMAL")
            self._writer.execute("PRAGMA wal_autocheckpoint=0")
            try:
                with self._write() as cur:
                    yield cur
            finally:
                self._writer.execute(f"PRAGMA synchronous={self._synchronous}")
                self._writer.execute("PRAGMA wal_autocheckpoint=1000")  # SQLite's default
                self._flusher.dirty()

    @contextmanager
    def _read(self) -> Iterator[Cursor]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._lock:
                self._readers.append(conn)
        yield conn.cursor()

    def scrub(self, thorough: bool = True) -> list[str]:
        """Deleted rows are already zeroed in their pages (``secure_delete``); copy the WAL
        into the file and truncate it, so no old page version keeps them either."""
        with self._lock:
            for _attempt in range(50):
                busy, _log, _done = self._writer.execute(
                    "PRAGMA wal_checkpoint(TRUNCATE)"
                ).fetchone()
                if not busy:
                    return ["secure_delete (deleted content zeroed)", "wal_checkpoint(TRUNCATE)"]
                time.sleep(0.05)
        return ["secure_delete (deleted content zeroed)", "wal_checkpoint busy: retried later"]

    def close(self) -> None:
        self._drain_decisions()
        if self._flusher is not None:
            self._flusher.close()
        with self._lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
            self._writer.close()
            if self._turns is not None:
                os.close(self._turns)
                self._turns = None


def _writer_turns(path: str) -> int | None:
    """The file descriptor whose ``flock`` writers of this database take turns on."""
    if fcntl is None or path in ("", ":memory:") or path.startswith("file:"):
        return None
    return os.open(f"{path}-lock", os.O_RDWR | os.O_CREAT, 0o600)


class _WalFlusher:
    """Flushes the WAL to disk soon after a deferred commit: at once when idle, then at
    most once per ``window`` seconds, so deferred commits are on disk within about
    ``window`` plus one fsync. It also runs the checkpoints those commits skip (on its own
    connection, beside the writer), so no decision waits for one. ``close`` flushes what
    is left and stops the thread."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], path: str, window: float) -> None:
        self._connect = connect
        self._wal = f"{path}-wal"
        self._window = window
        self._cond = threading.Condition()
        self._dirty = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="onevoice-wal-flush", daemon=True)
        self._thread.start()

    def dirty(self) -> None:
        with self._cond:
            if not self._dirty:
                self._dirty = True
                self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                with self._cond:
                    while not self._dirty and not self._closed:
                        self._cond.wait()
                    if not self._dirty:
                        return
                    self._dirty = False
                try:
                    self._flush()
                    if not self._closed and _size(self._wal) > _CHECKPOINT_BYTES:
                        conn = conn or self._connect()
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except (OSError, sqlite3.Error):  # the next deferred commit tries again
                    _log.exception("flushing the SQLite WAL failed")
                with self._cond:
                    if not self._closed:  # rate limit: later commits wait for the next window
                        self._cond.wait(self._window)
        finally:
            if conn is not None:
                conn.close()

    def _flush(self) -> None:
        try:
            fd = os.open(self._wal, os.O_RDONLY)
        except FileNotFoundError:  # checkpointed and removed: SQLite synced it first
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def _only_comments(sql: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in sql.splitlines())
