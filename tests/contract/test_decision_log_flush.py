"""A deferred decision-log flush (``ONEVOICE_DECISION_LOG_FLUSH_MS`` > 0): each decision is
still committed before decide answers — read by the next decision at once, kept when the
process closes — only its disk flush follows within the window."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from onevoice.bootstrap import bootstrap
from onevoice.config import Settings
from onevoice.services.ports import DecisionRecord
from onevoice.store import open_store
from onevoice.store import sqlite as sqlite_store
from onevoice.store.sqlite import SqliteStore
from tests.contract.test_decision_log_write_behind import CATALOG

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def record(n: int, body_bytes: int = 100) -> DecisionRecord:
    return DecisionRecord(
        f"d{n}",
        f"p{n % 5}",
        "web",
        AT,
        (("offer", "marketing"),),
        f"d{n}",
        {"pad": "x" * body_bytes},
    )


def test_a_deferred_decision_is_read_at_once_and_kept(database_url: str) -> None:
    ov = bootstrap(
        Settings(
            database_url=database_url,
            secret_key="test-secret",
            decision_log_flush_ms=200,
            decision_log_write_ms=0,
        )
    )
    ov.actions.load(CATALOG)
    other = open_store(database_url)
    try:
        first = ov.decisions.decide("userId:u1", "web").decision
        assert first.action_ids == ("offer",)
        # another connection reads it before any flush window has passed
        logged = other.get_decision(first.decision_id)
        assert logged is not None and logged.chosen == (("offer", "service"),)
        # and the next decision sees it: the conversation it opened is honoured
        again = ov.decisions.decide("userId:u1", "app").decision
        assert again.honoured == first.decision_id
    finally:
        other.close()
        ov.close()
    reopened = open_store(database_url)
    try:
        assert reopened.get_decision(first.decision_id) is not None
    finally:
        reopened.close()


def test_sqlite_flushes_a_deferred_commit_soon_and_restores_full_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flushed: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        flushed.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(sqlite_store.os, "fsync", fsync)
    store = SqliteStore(tmp_path / "log.db", deferred_flush=0.05)
    try:
        store.add_decision_groups([[record(1)]])
        deadline = time.monotonic() + 5
        while not flushed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert flushed and flushed[0].endswith("log.db-wal")
        sync, autocheckpoint = _pragmas(store)
        assert (sync, autocheckpoint) == (2, sqlite_store._BACKSTOP_PAGES)  # FULL again
    finally:
        store.close()
    assert not store._keeper._thread.is_alive()  # type: ignore[union-attr]


def test_without_a_window_the_decision_log_is_flushed_by_its_own_commit(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "log.db")
    try:
        assert store._flush_window == 0
        store.add_decision_groups([[record(1)]])
        assert store.get_decision("d1") is not None
    finally:
        store.close()


def test_the_flusher_checkpoints_what_deferred_commits_leave_in_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    store = SqliteStore(path, deferred_flush=0.01)
    try:
        before = path.stat().st_size
        for n in range(300):  # ~6 MB of log, past the 4 MB at which the flusher checkpoints
            store.add_decision_groups([[record(n, body_bytes=20_000)]])
        deadline = time.monotonic() + 10
        while path.stat().st_size < before + 4_000_000 and time.monotonic() < deadline:
            store.add_decision_groups([[record(10_000 + int(time.monotonic() * 1000))]])
            time.sleep(0.02)
        # the decisions' pages reached the database file though no commit checkpointed
        assert path.stat().st_size >= before + 4_000_000
        assert store.get_decision("d299") is not None
    finally:
        store.close()


def _pragmas(store: SqliteStore) -> tuple[Any, Any]:
    with store._lock:
        sync = store._writer.execute("PRAGMA synchronous").fetchone()[0]
        autocheckpoint = store._writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    return sync, autocheckpoint


def test_sqlite_stores_a_logged_body_as_json_text(tmp_path: Path) -> None:
    # the body goes in as UTF-8 bytes cast to TEXT: it must come back as the same text,
    # typed TEXT, so that SQL's JSON functions (the reports) read it
    store = SqliteStore(tmp_path / "log.db")
    body = {"reasons": ["expected value 4.20 = 5.0% × value 84 − contact cost 0.10"]}
    try:
        store.add_decision(replace(record(1), body=body))
        with store._read() as cur:
            cur.execute("SELECT typeof(body), json_extract(body, '$.reasons[0]') FROM decisions")
            assert cur.fetchone() == ("text", body["reasons"][0])
        logged = store.get_decision("d1")
        assert logged is not None and logged.body == body
    finally:
        store.close()
