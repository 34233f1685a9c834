"""Persistence: one interface, two real backends (SQLite embedded, PostgreSQL)."""

from __future__ import annotations

from onevoice.domain.errors import InvalidInput
from onevoice.services.ports import Store


def open_store(url: str, *, sqlite_synchronous: str = "FULL") -> Store:
    """Open the store a database URL names: ``postgresql://…`` or a SQLite path/URL."""
    if url.startswith(("postgresql://", "postgres://")):
        from onevoice.store.postgres import PostgresStore

        return PostgresStore(url)
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

    return SqliteStore(url or "onevoice.db", synchronous=sqlite_synchronous)
