"""SQLite's WAL is checkpointed beside the writers, not inside their commits: a commit that
leaves the WAL past the checkpoint size wakes the store's keeper thread, which copies the
pages into the database file on its own connection."""

from __future__ import annotations

import time
from pathlib import Path

from onevoice.store import sqlite as sqlite_store
from onevoice.store.sqlite import SqliteStore
from tests.contract.test_store import event


def _wait_for(condition: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_a_grown_wal_reaches_the_database_file_without_a_commit_checkpointing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.db"
    store = SqliteStore(path)
    try:
        with store._lock:
            backstop = store._writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        assert backstop == sqlite_store._BACKSTOP_PAGES  # the writer's own is only a backstop
        assert store._keeper is None  # no thread until a write needs one
        before = path.stat().st_size
        # ~6 MB of events, past the 4 MB at which the keeper checkpoints
        for n in range(30):
            store.append_events([event(f"m{n}-{i}", f"u{i}") for i in range(400)])
        assert store.count_events() == 12_000
        assert _wait_for(lambda: path.stat().st_size >= before + 4_000_000)
        assert store._keeper is not None and store._keeper._thread.is_alive()
    finally:
        store.close()
    assert not store._keeper._thread.is_alive()
    reopened = SqliteStore(path)
    try:
        assert reopened.count_events() == 12_000
    finally:
        reopened.close()


def test_the_wal_stays_bounded_while_a_writer_never_pauses(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    wal = Path(f"{path}-wal")
    store = SqliteStore(path)
    largest = 0
    try:
        for n in range(400):  # ~80 MB written back to back
            store.append_events([event(f"m{n}-{i}", f"u{i}") for i in range(400)])
            largest = max(largest, wal.stat().st_size if wal.exists() else 0)
    finally:
        store.close()
    # usually restarted after one of the keeper's checkpoints (a few MB); never past the
    # writer's own backstop (plus the one commit that crosses it). A WAL frame is a page and
    # a 24-byte header, after the file's 32-byte header: 16,000 frames are 384 KB more than
    # their pages, which the bound once left out (it failed by 14 KB).
    frames = (4096 + 24) * sqlite_store._BACKSTOP_PAGES + 32
    assert largest < frames + 1_000_000
