"""PostgreSQL for production: a connection pool, the same SQL as SQLite."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import psycopg
from psycopg_pool import ConnectionPool

from onevoice.domain.events import Event
from onevoice.store.migrate import migrate
from onevoice.store.sql import Cursor, SqlStore, event_row

_MIGRATION_LOCK = 741_776_001  # pg_advisory_xact_lock id: one migrator at a time


class PostgresStore(SqlStore):
    backend = "postgres"
    placeholder = "%s"
    _body_bytes = "body"  # text: psycopg decodes it in C either way

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

    def append_event_groups(self, groups: Sequence[Sequence[Event]]) -> list[int]:
        """COPY the rows into a session-private staging table, then one INSERT … ON
        CONFLICT into the log: COPY costs a third of the client CPU of ``executemany``.
        Each group is credited with the rows it was first to bring (a message id in two
        groups of one commit counts for the earlier one, a retried one for neither)."""
        rows = [[event_row(e) for e in events] for events in groups]
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS incoming_events (n INTEGER, k INTEGER, "
                "message_id TEXT, type TEXT, channel TEXT, ts TEXT, received_at TEXT, "
                "body TEXT) ON COMMIT DELETE ROWS"
            )
            with cur.copy("COPY incoming_events FROM STDIN") as copy:
                for n, group in enumerate(rows):
                    for k, row in enumerate(group):
                        copy.write_row((n, k, *row))
            cur.execute(
                "INSERT INTO events (message_id, type, channel, ts, received_at, body) "
                "SELECT message_id, type, channel, ts, received_at, body FROM incoming_events "
                "ORDER BY n, k ON CONFLICT (message_id) DO NOTHING RETURNING message_id"
            )
            new = {str(r[0]) for r in cur.fetchall()}
        counts = []
        for group in rows:
            count = 0
            for row in group:
                if row[0] in new:
                    new.discard(row[0])
                    count += 1
            counts.append(count)
        return counts

    def _claim_events(self, cur: Cursor, assignments: Sequence[tuple[int, str]]) -> int:
        """As SQL's, from a COPY: one UPDATE … FROM for the batch, not one per event."""
        return _copy_then_update(
            cur,
            "incoming_assignments (seq BIGINT, profile_id TEXT)",
            assignments,
            "UPDATE events SET profile_id = a.profile_id FROM incoming_assignments a "
            "WHERE events.seq = a.seq AND events.profile_id IS NULL",
        )

    def _update_states(self, cur: Cursor, rows: Sequence[tuple[str, str, str]]) -> int:
        """As SQL's, from a COPY: one UPDATE … FROM for the batch."""
        return _copy_then_update(
            cur,
            "incoming_states (state TEXT, updated_at TEXT, profile_id TEXT)",
            rows,
            "UPDATE profiles SET state = s.state, updated_at = s.updated_at "
            "FROM incoming_states s WHERE profiles.profile_id = s.profile_id",
        )

    @contextmanager
    def _write(self) -> Iterator[Cursor]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    @contextmanager
    def _write_derived(self) -> Iterator[Cursor]:
        """``synchronous_commit=off`` for this transaction: the server's WAL writer flushes
        it within 3 × ``wal_writer_delay``, and any later synchronous commit flushes it
        first."""
        with self._write() as cur:
            cur.execute("SET LOCAL synchronous_commit TO OFF")
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
        self._drain_decisions()
        self._pool.close()


def _copy_then_update(cur: Cursor, table: str, rows: Sequence[tuple[Any, ...]], update: str) -> int:
    """COPY ``rows`` into a session temp table (``name (columns)``, emptied at commit), run
    ``update`` (which reads it); how many rows the update changed. One statement per batch
    where ``executemany`` would send one per row."""
    copying = cast("psycopg.Cursor[Any]", cur)
    name = table.partition(" ")[0]
    copying.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ON COMMIT DELETE ROWS".encode())
    with copying.copy(f"COPY {name} FROM STDIN".encode()) as copy:
        for row in rows:
            copy.write_row(row)
    copying.execute(update.encode())
    return max(copying.rowcount, 0)
