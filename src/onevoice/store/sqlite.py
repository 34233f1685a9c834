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

Checkpoints (copying the WAL's pages into the database file, with two fsyncs) run on a
background thread too, for every write: SQLite's own would run inside the commit that
crosses 1,000 pages — in the processor, that is every batch commit (~4,000 pages), whose
thread then waited through the copy and the fsyncs (the 1M-event identity replay spent
~15% of its time there). The writer checkpoints inline only as a backstop, should the WAL
grow past :data:`_BACKSTOP_PAGES` (the thread starved or a reader holding old pages).
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

from onevoice.store import log_ring
from onevoice.store.migrate import migrate
from onevoice.store.sql import Cursor, SqlStore
from onevoice.store.sql_decisions import INSERT_DECISIONS

_log = logging.getLogger("onevoice.store")
#: The keeper checkpoints a WAL grown past this, as SQLite would at 1000 4-KiB pages.
_CHECKPOINT_BYTES = 4_096_000
#: Seconds between the keeper's checkpoints at most. A WAL file keeps the size it grew to
#: after SQLite restarts it, so once past :data:`_CHECKPOINT_BYTES` every commit wakes the
#: keeper: without this, a writer committing every few milliseconds (the decision log)
#: would have a checkpoint, and its fsync, after each commit.
_CHECKPOINT_SPACING = 0.25
#: The writer's own automatic checkpoint, a backstop behind the keeper's (~64 MB of WAL):
#: a writer that never pauses can keep a WAL from restarting after the keeper's checkpoints.
_BACKSTOP_PAGES = 16_000


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
        self._wal = f"{self.path}-wal" if _on_disk(self.path) else None
        relax = deferred_flush > 0 and self._synchronous in ("FULL", "EXTRA")
        self._flush_window = deferred_flush if relax else 0.0
        self._keeper: _WalKeeper | None = None
        self._log_process: log_ring.LogRing | None = None
        self._writer = self._connect()
        self._writer.execute(f"PRAGMA wal_autocheckpoint={_BACKSTOP_PAGES}")
        try:
            with self._write() as cur:
                migrate("sqlite", cur, self._run_script)
        except BaseException:
            self._writer.close()
            raise

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
                try:  # committed: nothing from here on may make the write look failed
                    if self._wal is not None and _size(self._wal) > _CHECKPOINT_BYTES:
                        self._wal_keeper().checkpoint()
                except Exception:  # the writer's own backstop checkpoint still bounds the WAL
                    _log.exception("could not wake the WAL keeper")
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
        if not self._flush_window:
            with self._write() as cur:
                yield cur
            return
        with self._lock:
            # WAL: commit without fsync; the keeper's thread flushes it within the window
            self._writer.execute("PRAGMA synchronous=NORMAL")
            try:
                with self._write() as cur:
                    yield cur
            finally:
                self._writer.execute(f"PRAGMA synchronous={self._synchronous}")
                self._wal_keeper().flush()

    def _wal_keeper(self) -> _WalKeeper:
        """The keeper's thread, started by the first write that needs it."""
        with self._lock:
            if self._keeper is None:
                self._keeper = _WalKeeper(self._connect, self.path, self._flush_window)
            return self._keeper

    def _read(self) -> _Reading:
        reading: _Reading | None = getattr(self._local, "reading", None)
        if reading is None:
            conn = self._connect()
            with self._lock:
                self._readers.append(conn)
            reading = self._local.reading = _Reading(conn)
        return reading

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

    def write_decisions_behind(self, window: float) -> None:
        """As every store does, but committed by a child process that each decide leaves
        its row for in shared memory (see :mod:`onevoice.store.log_process`) when the
        database is a file and its commits are flushed as they are made; else (a deferred
        flush, an in-memory database, no ``flock`` to take turns with, no ``memfd``) by
        the writer's thread."""
        if (
            self._flush_window
            or self._wal is None
            or self._turns is None
            or not log_ring.available()
        ):
            super().write_decisions_behind(window)
            return
        self._log_process = log_ring.LogRing(
            self.path,
            self._synchronous,
            INSERT_DECISIONS,
            self._decision_values(),
            window,
            fallback=self._insert_decision_rows,
            again=self._insert_decision_rows_again,
            size=log_ring.RING_BYTES,
        )
        self._decisions_behind = self._log_process

    def close(self) -> None:
        self._drain_decisions()
        if self._keeper is not None:
            self._keeper.close()
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
    if fcntl is None or not _on_disk(path):
        return None
    return os.open(f"{path}-lock", os.O_RDWR | os.O_CREAT, 0o600)


class _WalKeeper:
    """Keeps the WAL on a thread of its own, beside the writer: flushes it to disk soon
    after a deferred commit (at once when idle, then at most once per ``window`` seconds,
    so deferred commits are on disk within about ``window`` plus one fsync), and
    checkpoints it once it has grown past :data:`_CHECKPOINT_BYTES`, on its own
    connection, so no commit waits for a checkpoint. ``close`` flushes what is left and
    stops the thread."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], path: str, window: float) -> None:
        self._connect = connect
        self._wal = f"{path}-wal"
        self._window = window
        self._cond = threading.Condition()
        self._unflushed = False
        self._grown = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="onevoice-wal", daemon=True)
        self._thread.start()

    def flush(self) -> None:
        """A deferred commit waits in the WAL for its fsync."""
        with self._cond:
            if not self._unflushed:
                self._unflushed = True
                self._cond.notify()

    def checkpoint(self) -> None:
        """The WAL has grown past the checkpoint size."""
        with self._cond:
            if not self._grown:
                self._grown = True
                self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        # monotonic times before which a flush, a checkpoint waits (the rate limits)
        next_flush = next_checkpoint = 0.0
        try:
            while True:
                with self._cond:
                    while True:
                        now, waits = time.monotonic(), [3600.0]
                        flush = checkpoint = False
                        if self._unflushed:
                            flush = self._closed or now >= next_flush
                            waits.append(next_flush - now)
                        if self._grown and not self._closed:
                            checkpoint = now >= next_checkpoint
                            waits.append(next_checkpoint - now)
                        if flush or checkpoint or (self._closed and not self._unflushed):
                            break
                        self._cond.wait(min(waits))
                    if self._closed and not self._unflushed:
                        return
                    self._unflushed = self._unflushed and not flush
                    self._grown = self._grown and not checkpoint
                try:
                    if flush:
                        self._flush()
                        next_flush = time.monotonic() + self._window
                    if checkpoint:
                        next_checkpoint = time.monotonic() + _CHECKPOINT_SPACING
                        conn = conn or self._connect()
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except (OSError, sqlite3.Error):  # the next commit tries again
                    _log.exception("flushing or checkpointing the SQLite WAL failed")
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


def _on_disk(path: str) -> bool:
    """Whether the database is a file with a WAL beside it (not ``:memory:`` or a URI)."""
    return path not in ("", ":memory:") and not path.startswith("file:")


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def _only_comments(sql: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in sql.splitlines())


class _Reading:
    """This thread's read connection as the context manager of a query: ``with`` gives a
    cursor. One per thread, reused — a generator-based context manager costs a generator
    and its wrapper per query, and a decide makes half a dozen."""

    __slots__ = ("conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> Cursor:
        return self.conn.cursor()

    def __exit__(self, *exc: object) -> None:
        return None
