"""SQLite's decision log committed by a child process (``store/log_process.py``) from a
ring of shared memory (``store/log_ring.py``): rows reach the database through it, round
a ring too small for them and past it, nothing is lost when it dies, closing drains and
stops it, and a bad row is refused alone."""

from __future__ import annotations

import mmap
import os
import pickle
import signal
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from onevoice.services.ports import DecisionRecord
from onevoice.store import log_process, log_ring, open_store
from onevoice.store.sql_decisions import _decision_row
from onevoice.store.sql_part import PreparedDecision
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


def test_no_thread_of_the_deciding_process_writes_the_log(tmp_path: Path) -> None:
    store = behind(tmp_path / "log.db")
    try:
        store.add_decision_groups([[record(1)]])
        assert store.get_decision("d1") is not None
        assert not [t for t in threading.enumerate() if t.name == "onevoice-decision-log"]
    finally:
        store.close()


def test_rows_go_round_a_small_ring_and_wait_for_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_ring, "RING_BYTES", 4096)  # ~25 rows: the ring fills and wraps
    store = behind(tmp_path / "log.db")
    try:
        for n in range(300):
            store.add_decision_groups([[record(n)]])
        assert store.get_decision("d299") is not None
        assert store._log_process is not None and store._log_process.pid is not None  # no fallback
    finally:
        store.close()
    reopened = open_store(str(tmp_path / "log.db"))
    try:
        assert all(reopened.get_decision(f"d{n}") is not None for n in range(300))
    finally:
        reopened.close()


def test_a_row_larger_than_the_ring_is_committed_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_ring, "RING_BYTES", 4096)
    store = behind(tmp_path / "log.db")
    try:
        large = replace(record(1), body={"text": "x" * 10_000})
        store.add_decision_groups([[record(0)], [large], [record(2)]])
        logged = store.get_decision("d1")
        assert logged is not None and logged.body == {"text": "x" * 10_000}
        assert store.get_decision("d2") is not None
        assert store._log_process is not None and store._log_process.pid is not None
    finally:
        store.close()


def test_a_record_is_taken_only_once_all_of_it_is_there() -> None:
    """The child takes a record only when its sequence number and check are the ones
    expected: one seen half-written (its counters before its data, or its number before
    its length and check) waits for the next look."""
    memory = mmap.mmap(-1, log_process.DATA + 256)
    ring = log_process.Ring(memory)
    body = pickle.dumps(("d1", "p1"))
    header = log_process.RECORD.pack(0, len(body), log_process.record_check(0, body))
    end = len(header) + len(body)
    memory[log_process.DATA : log_process.DATA + len(header)] = header
    log_process.COUNTER.pack_into(memory, log_process.HEAD, end)
    assert ring.take(0) == ([], 0)  # the counter moved, the row is not there yet
    memory[log_process.DATA + len(header) : log_process.DATA + end] = body
    assert ring.take(0) == ([("d1", "p1")], end)
    assert ring.take(end) == ([], end)
    # the next record's number is there, its check still that of an older record
    stale = log_process.RECORD.pack(1, len(body), log_process.record_check(0, body))
    memory[log_process.DATA + end : log_process.DATA + end + len(stale)] = stale
    memory[log_process.DATA + end + len(stale) : log_process.DATA + 2 * end] = body
    log_process.COUNTER.pack_into(memory, log_process.HEAD, 2 * end)
    assert ring.take(end) == ([], end)


def test_a_stalled_child_is_replaced_by_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_ring, "STALLED_SECONDS", 0.3)
    monkeypatch.setattr(log_ring, "ANSWER_SECONDS", 0.05)
    store = behind(tmp_path / "log.db")
    try:
        assert store._log_process is not None
        pid = store._log_process.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # alive, and taking nothing
        store.add_decision_groups([[record(n)] for n in range(3)])
        assert store.get_decision("d2") is not None  # waited 0.3 s, then written here
        assert store._log_process.pid is None
        assert not _alive(pid)
    finally:
        store.close()


def test_a_row_put_after_closing_is_committed_at_once(tmp_path: Path) -> None:
    """A decide that raced the store's close (it took the log before close let go of it)."""
    store = behind(tmp_path / "log.db")
    try:
        ring = store._log_process
        assert ring is not None
        ring.close()
        ring.put([PreparedDecision("d7", "p1", _decision_row(record(7), utf8=True))])
        ring.written(ids=("d7",))
        other = open_store(str(tmp_path / "log.db"))
        try:
            assert other.get_decision("d7") is not None
        finally:
            other.close()
    finally:
        store.close()


def test_a_row_too_large_for_the_ring_that_fails_is_dropped_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_ring, "RING_BYTES", 4096)
    store = behind(tmp_path / "log.db")
    try:
        store.add_decision_groups([[record(0)]])
        assert store.get_decision("d0") is not None
        again = replace(record(0), body={"text": "x" * 10_000})  # too large, and a duplicate
        store.add_decision_groups([[again], [record(2)]])
        assert store.get_decision("d2") is not None
        store.get_decision("d0")  # waits for the large row's writer too
        assert store._decisions_behind is not None and store._decisions_behind.dropped == 1
    finally:
        store.close()


def test_many_rows_refused_at_once_do_not_stop_the_child(tmp_path: Path) -> None:
    store = behind(tmp_path / "log.db")
    try:
        store.add_decision_groups([[record(n)] for n in range(60)])
        assert store.get_decision("d59") is not None
        # all 60 again (refused: duplicates), beside one new row, in one window
        store.add_decision_groups([[record(n)] for n in range(60)] + [[record(60)]])
        assert store.get_decision("d60") is not None
        assert store._decisions_behind is not None and store._decisions_behind.dropped == 60
        store.add_decision_groups([[record(61)]])
        assert store.get_decision("d61") is not None
        assert store._log_process is not None and store._log_process.pid is not None
    finally:
        store.close()


def test_rows_written_again_after_the_child_is_lost_are_not_stored_twice(
    tmp_path: Path,
) -> None:
    store = behind(tmp_path / "log.db")
    try:
        store.add_decision_groups([[record(1)]])
        assert store.get_decision("d1") is not None
        rows = [_decision_row(record(n), utf8=True) for n in (1, 2)]
        store._insert_decision_rows_again(rows)  # d1 is there: skipped, not refused
        assert store.get_decision("d2") is not None
        assert [d.decision_id for d in store.decisions_of({"p1"}, 10)] == ["d1"]
    finally:
        store.close()


def test_a_forked_process_leaves_the_ring_to_its_parent(tmp_path: Path) -> None:
    store = behind(tmp_path / "log.db")
    try:
        ring = store._log_process
        assert ring is not None and ring.pid is not None
        pid = os.fork()
        if pid == 0:  # the fork closing what it inherited (as its exit would, at atexit)
            ring.close()
            os._exit(0)
        os.waitpid(pid, 0)
        store.add_decision_groups([[record(1)]])
        assert store.get_decision("d1") is not None
        assert ring.pid is not None and _alive(ring.pid)
    finally:
        store.close()
