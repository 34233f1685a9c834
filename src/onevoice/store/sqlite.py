"""The embedded default: one SQLite file in WAL mode, no server.

One writer connection behind a lock (SQLite has one writer anyway) and one reader
connection per thread, which WAL lets run beside the writer. ``synchronous=FULL`` makes
a commit durable before the API answers 2xx.

Processes on the same file (the API and its processor child, a CLI command beside a
running server) also take turns through an ``flock`` on ``<file>-lock`` before they begin
a write: the kernel wakes the next writer the moment the lock is free, where SQLite's own
busy handler would sleep and poll for up to 100 ms at a time.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

from onevoice.store.migrate import migrate
from onevoice.store.sql import Cursor, SqlStore


class SqliteStore(SqlStore):
    backend = "sqlite"

    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
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


def _only_comments(sql: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in sql.splitlines())
