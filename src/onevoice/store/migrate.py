"""Schema migrations: numbered SQL files per backend, applied once each, in order.

A dozen lines do what is needed (ordered, recorded, transactional) without pulling in an
ORM for two hand-written schemas; see the README's dependency notes.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

from onevoice.store.sql import Cursor


def migration_files(backend: str) -> list[tuple[str, str]]:
    """(name, sql) for every migration of ``backend``, in order."""
    folder = resources.files("onevoice.store").joinpath("migrations", backend)
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [(f.name, f.read_text()) for f in files]


def migrate(backend: str, cursor: Cursor, run_script: Callable[[str], None]) -> list[str]:
    """Apply the migrations not yet applied; return their names."""
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
    )
    cursor.execute("SELECT name FROM schema_migrations")
    done = {row[0] for row in cursor.fetchall()}
    applied = []
    for name, sql in migration_files(backend):
        if name in done:
            continue
        run_script(sql)
        cursor.execute(
            "INSERT INTO schema_migrations (name, applied_at) "
            f"VALUES ('{name.replace(chr(39), '')}', CURRENT_TIMESTAMP)"
        )
        applied.append(name)
    return applied
