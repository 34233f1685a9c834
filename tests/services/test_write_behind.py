"""The decision log's background writer: answers do not wait, reads never miss a row."""

from __future__ import annotations

import ast
import itertools
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

import onevoice.store as store_package
from onevoice.services.ports import DecisionRecord
from onevoice.store.write_behind import DecisionWriter

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def record(n: int, subject: str | None = None) -> DecisionRecord:
    return DecisionRecord(f"d{n}", subject or f"p{n}", "web", AT, (), None, {})


class GatedWrite:
    """A commit that waits for its gate and records what it wrote."""

    def __init__(self, fail: set[str] | None = None) -> None:
        self.gate = threading.Event()
        self.batches: list[list[str]] = []
        self.fail = fail or set()

    def __call__(self, records: Sequence[DecisionRecord]) -> None:
        self.gate.wait(10)
        ids = [r.decision_id for r in records]
        if self.fail & set(ids):
            raise RuntimeError("disk says no")
        self.batches.append(ids)


def written_in_background(writer: DecisionWriter, **which: list[str]) -> threading.Event:
    done = threading.Event()

    def wait() -> None:
        writer.written(**which)
        done.set()

    threading.Thread(target=wait, daemon=True).start()
    return done


def test_put_returns_before_the_commit_and_a_read_waits_for_it() -> None:
    write = GatedWrite()
    writer = DecisionWriter(write, window=0.001)
    try:
        writer.put([record(1)])  # returns although the commit is held
        assert write.batches == []
        done = written_in_background(writer, ids=["d1"])
        assert not done.wait(0.1)
        write.gate.set()
        assert done.wait(5)
        assert write.batches == [["d1"]]
    finally:
        write.gate.set()
        writer.close()


def test_a_read_of_rows_not_queued_does_not_wait() -> None:
    write = GatedWrite()
    writer = DecisionWriter(write, window=0.001)
    try:
        writer.put([record(1, "ann")])
        began = time.monotonic()
        writer.written(subjects=["bob"], ids=["d9"])
        assert time.monotonic() - began < 0.5
        assert write.batches == []
    finally:
        write.gate.set()
        writer.close()


def test_rows_queued_during_a_commit_share_the_next_one() -> None:
    write = GatedWrite()
    writer = DecisionWriter(write, window=0.001)
    try:
        writer.put([record(0)])
        time.sleep(0.05)  # the writer has taken d0 and waits at the gate
        writer.put([record(n) for n in range(1, 6)])
        write.gate.set()
        writer.written()
        assert write.batches == [["d0"], ["d1", "d2", "d3", "d4", "d5"]]
        assert writer.commits == 2
    finally:
        writer.close()


def test_rows_wait_out_their_window_unless_a_read_needs_one() -> None:
    write = GatedWrite()
    write.gate.set()
    writer = DecisionWriter(write, window=5.0)
    try:
        writer.put([record(0)])
        writer.put([record(1)])
        time.sleep(0.2)
        assert write.batches == []  # the window, begun by d0, holds them
        began = time.monotonic()
        writer.written(subjects=["p1"])  # a read that needs d1 does not wait for the window
        assert time.monotonic() - began < 2.0
        assert write.batches == [["d0", "d1"]]
        writer.written(ids=["d0"])  # done: no wait, no commit
        assert writer.commits == 1
    finally:
        writer.close()


def test_close_commits_every_queued_row() -> None:
    write = GatedWrite()
    write.gate.set()
    writer = DecisionWriter(write, window=10.0)
    writer.put([record(0)])
    time.sleep(0.05)
    writer.put([record(n) for n in range(1, 4)])
    writer.close()
    assert [d for batch in write.batches for d in batch] == ["d0", "d1", "d2", "d3"]
    writer.put([record(4)])  # after close: written by the caller
    assert write.batches[-1] == ["d4"]


def test_a_row_that_keeps_failing_is_dropped_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("onevoice.store.write_behind._RETRY_SECONDS", 0.01)
    write = GatedWrite(fail={"d2"})
    write.gate.set()
    writer = DecisionWriter(write, window=0.001)
    try:
        writer.put([record(n) for n in range(1, 4)])
        writer.written()
        assert sorted(d for batch in write.batches for d in batch) == ["d1", "d3"]
        assert writer.dropped == 1
    finally:
        writer.close()


def test_a_full_queue_makes_put_wait_for_the_writer() -> None:
    write = GatedWrite()
    writer = DecisionWriter(write, window=0.001, limit=2)
    try:
        writer.put([record(0)])
        time.sleep(0.05)  # d0 is being committed (held at the gate)
        writer.put([record(1), record(2)])
        blocked = threading.Event()

        def third() -> None:
            writer.put([record(3)])
            blocked.set()

        threading.Thread(target=third, daemon=True).start()
        assert not blocked.wait(0.1)
        write.gate.set()
        assert blocked.wait(5)
    finally:
        write.gate.set()
        writer.close()


def _reads_decisions(function: ast.FunctionDef) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            words = node.value.split()
            for before, table in itertools.pairwise(words):
                if table == "decisions" and before.upper() in ("FROM", "JOIN", "UPDATE"):
                    return True
    return False


def _waits_for_the_writer(function: ast.FunctionDef) -> bool:
    return any(
        isinstance(node, ast.Attribute) and node.attr == "_decisions_written"
        for node in ast.walk(function)
    )


#: Methods whose SQL names the table out of sight (a module constant, PERSON_TABLES).
INDIRECT = {"sql_reports.py:decision_facts_between", "sql_respect.py:erase"}


def test_every_store_method_that_reads_the_decision_log_waits_for_the_writer() -> None:
    """A method that reads ``decisions`` without waiting would miss rows still queued."""
    folder = Path(store_package.__file__).parent
    checked, missing = set(), []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            name = f"{path.name}:{getattr(node, 'name', '')}"
            if isinstance(node, ast.FunctionDef) and (_reads_decisions(node) or name in INDIRECT):
                checked.add(name)
                if not _waits_for_the_writer(node):
                    missing.append(name)
    assert missing == []
    assert checked >= INDIRECT and len(checked) >= 10
