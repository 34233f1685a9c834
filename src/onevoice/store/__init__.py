"""Persistence: one interface, two real backends (SQLite embedded, PostgreSQL)."""

from __future__ import annotations

from onevoice.domain.errors import InvalidInput
from onevoice.services.ports import Store
from onevoice.store.sql import SqlStore


def open_store(
    url: str,
    *,
    sqlite_synchronous: str = "FULL",
    decision_log_flush: float = 0.0,
    decision_log_write: float = 0.0,
) -> Store:
    """Open the store a database URL names: ``postgresql://…`` or a SQLite path/URL.

    ``decision_log_flush`` (seconds, 0 = off) lets the decision log's commits reach the
    disk up to that long after they are made (see ``ONEVOICE_DECISION_LOG_FLUSH_MS``);
    ``decision_log_write`` (seconds, 0 = off) writes the log behind the answer, committed
    within that window (``ONEVOICE_DECISION_LOG_WRITE_MS``).
    """
    store = _open(url, sqlite_synchronous, decision_log_flush)
    if decision_log_write > 0:
        store.write_decisions_behind(decision_log_write)
    return store


def _open(url: str, sqlite_synchronous: str, decision_log_flush: float) -> SqlStore:
    if url.startswith(("postgresql://", "postgres://")):
        from onevoice.store.postgres import PostgresStore

        return PostgresStore(url, deferred_flush=decision_log_flush > 0)
    if url.startswith("sqlite:///"):
        url = url.removeprefix("sqlite:///")
    elif url.startswith("sqlite://"):
        url = url.removeprefix("sqlite://")
    elif "://" in url:
        raise InvalidInput(
            f"database URL {url!r}: use a file path, sqlite:///path or postgresql://…",
            field="database",
        )
    from onevoice.store.sqlite import SqliteStore

    return SqliteStore(
        url or "onevoice.db", synchronous=sqlite_synchronous, deferred_flush=decision_log_flush
    )
