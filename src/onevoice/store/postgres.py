"""PostgreSQL for production: a connection pool, the same SQL as SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from psycopg_pool import ConnectionPool

from onevoice.store.migrate import migrate
from onevoice.store.sql import Cursor, SqlStore

_MIGRATION_LOCK = 741_776_001  # pg_advisory_xact_lock id: one migrator at a time


class PostgresStore(SqlStore):
    backend = "postgres"
    placeholder = "%s"

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 30.0,
        deferred_flush: bool = False,
    ) -> None:
        self.url = url
        self._deferred_flush = deferred_flush
        self._pool = ConnectionPool(
            url, min_size=min_size, max_size=max_size, timeout=timeout, open=True
        )
        try:
            self._migrate()
        except BaseException:
            self._pool.close()
            raise

    def _migrate(self) -> None:
        """Apply pending migrations; the advisory lock makes concurrent starters take turns."""
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))

            def run_script(sql: str) -> None:
                # no parameters: psycopg sends it as one simple query, several statements allowed
                cur.execute(sql.encode())

            migrate("postgres", cur, run_script)

    @contextmanager
    def _write(self) -> Iterator[Cursor]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    @contextmanager
    def _write_deferred(self) -> Iterator[Cursor]:
        """With ``deferred_flush``, the transaction commits with ``synchronous_commit=off``:
        visible at once, flushed by the server's WAL writer within 3 × ``wal_writer_delay``
        (600 ms by default), which a server crash can lose; the database stays consistent."""
        with self._write() as cur:
            if self._deferred_flush:
                cur.execute("SET LOCAL synchronous_commit TO OFF")
            yield cur

    @contextmanager
    def _read(self) -> Iterator[Cursor]:
        with self._pool.connection() as conn, conn.cursor() as cur:
            yield cur

    def scrub(self, thorough: bool = True) -> list[str]:
        """VACUUM the tables erasure touched, so deleted row versions do not linger until
        autovacuum comes by. A plain VACUUM makes them unreachable but leaves their bytes in
        the pages' free space until overwritten; ``thorough`` (VACUUM FULL) rewrites each
        table and its indexes into new files, holding an exclusive lock on it meanwhile."""
        from onevoice.store.sql_respect import person_tables

        done = []
        with self._pool.connection() as conn:
            conn.autocommit = True
            try:
                for table in person_tables():
                    how = "FULL, ANALYZE" if thorough else "ANALYZE"
                    conn.execute(f"VACUUM ({how}) {table}".encode())
                    done.append(f"VACUUM {'FULL ' if thorough else ''}{table}")
            finally:
                conn.autocommit = False
        return done

    def close(self) -> None:
        self._pool.close()
