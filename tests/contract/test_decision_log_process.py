"""SQLite's decision log committed by a child process (``store/log_process.py``): rows
reach the database through it, nothing is lost when it dies, closing drains and stops it,
and a bad row is refused alone."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime
from pathlib import Path

from onevoice.services.ports import DecisionRecord
from onevoice.store import open_store
from onevoice.store.sqlite import SqliteStore

AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def record(n: int) -> DecisionRecord:
    return DecisionRecord(
        f"d{n}", f"p{n % 3}", "web", AT, (("offer", "marketing"),), f"d{n}", {"n": n}
    )


def behind(path: Path) -> SqliteStore:
    store = open_store(str(path), decision_log_write=0.01)
    assert isinstance(store, SqliteStore)
    return store


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_decisions_are_committed_by_the_child_and_read_at_once(tmp_path: Path) -> None:
    store = behind(tmp_path / "log.db")
    try:
        assert store._log_process is not None and store._log_process.pid is not None
        store.add_decision_groups([[record(n)] for n in range(5)])
        logged = store.get_decision("d4")  # waits for the child's commit
        assert logged is not None and logged.body == {"n": 4}
        other = open_store(str(tmp_path / "log.db"))  # another connection sees it too
        try:
            assert {d.decision_id for d in other.decisions_of({"p0"}, 10)} == {"d0", "d3"}
        finally:
            other.close()
    finally:
        store.close()


def test_a_dead_child_loses_nothing(tmp_path: Path) -> None:
    store = behind(tmp_path / "log.db")
    try:
        store.add_decision_groups([[record(1)]])
        assert store.get_decision("d1") is not None
        assert store._log_process is not None
        pid = store._log_process.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        store.add_decision_groups([[record(n)] for n in range(2, 6)])
        for n in range(2, 6):  # written by the writer's thread itself from then on
            assert store.get_decision(f"d{n}") is not None
        assert store._log_process.pid is None
    finally:
        store.close()


def test_closing_commits_the_queue_and_stops_the_child(tmp_path: Path) -> None:
    store = behind(tmp_path / "log.db")
    assert store._log_process is not None
    pid = store._log_process.pid
    assert pid is not None
    # more rows than one INSERT takes (log_process.ROWS_PER_INSERT)
    store.add_decision_groups([[record(n)] for n in range(250)])
    store.close()
    assert not _alive(pid)
    reopened = open_store(str(tmp_path / "log.db"))
    try:
        assert all(reopened.get_decision(f"d{n}") is not None for n in range(250))
    finally:
        reopened.close()


def test_a_row_the_database_refuses_is_dropped_alone(tmp_path: Path) -> None:
    store = behind(tmp_path / "log.db")
    try:
        store.add_decision_groups([[record(1)]])
        assert store.get_decision("d1") is not None
        # the same decision again (a duplicate id) shares a batch with a new one
        store.add_decision_groups([[record(1)], [record(2)]])
        assert store.get_decision("d2") is not None
        assert store._decisions_behind is not None and store._decisions_behind.dropped == 1
        assert store.get_decision("d1") is not None
    finally:
        store.close()
