"""Shared fixtures: a store on each real backend, a bootstrapped onevoice, a live server.

PostgreSQL tests use ``ONEVOICE_TEST_POSTGRES_URL`` (default: the local server,
``postgresql://postgres@127.0.0.1:5432/postgres``); each test session creates its own
database and drops it at the end. Where no PostgreSQL answers, those tests skip with a
message saying what to start — unless ``ONEVOICE_REQUIRE_SERVICES=1`` (set by CI), which
turns the skip into a failure.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import pytest

from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.config import Settings
from onevoice.services.ports import Store
from onevoice.store import open_store

PG_URL = os.environ.get(
    "ONEVOICE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_SERVICES = os.environ.get("ONEVOICE_REQUIRE_SERVICES") == "1"
TABLES = (
    *("events", "nodes", "profiles", "merges", "refusals", "api_keys", "cursors", "meta"),
    *("actions", "decisions", "responses", "learners"),
    *("intent_states", "intent_models"),
    *("consent_ledger", "contact_budgets", "tombstones", "audit_log"),
    *("staff_users", "staff_sessions", "policy_versions"),
)


def unavailable(message: str) -> NoReturn:
    """A service or tool a test needs is missing: skip, saying what to start — or fail
    where ``ONEVOICE_REQUIRE_SERVICES=1`` (CI), where a skipped test is a failing one."""
    if REQUIRE_SERVICES:
        pytest.fail(message + " — ONEVOICE_REQUIRE_SERVICES=1 forbids skipping")
    else:
        pytest.skip(message)


def _postgres_unavailable(reason: str) -> None:
    unavailable(
        f"PostgreSQL is not reachable at {PG_URL} ({reason}); start it "
        "(e.g. `pg_ctlcluster 15 main start`) or set ONEVOICE_TEST_POSTGRES_URL"
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    try:
        import psycopg

        admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except Exception as error:  # any failure to connect means: no server to test against
        _postgres_unavailable(str(error).strip().splitlines()[0])
        raise
    name = f"onevoice_test_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base, _sep, _db = PG_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _empty_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('events') IS NOT NULL").fetchone()
        if exists and exists[0]:
            conn.execute("TRUNCATE " + ", ".join(TABLES) + " RESTART IDENTITY")


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database on each backend in turn."""
    if request.param == "sqlite":
        return str(tmp_path / "onevoice.db")
    url: str = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = open_store(database_url)
    yield opened
    opened.close()


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ov(database_url: str) -> Iterator[Onevoice]:
    """onevoice over an empty database on each backend (real clock).

    Processing on a thread: a child process per test would cost a second of start-up
    each; the child-process mode has its own tests (tests/api/test_processing_child.py).
    """
    built = bootstrap(
        Settings(database_url=database_url, secret_key="test-secret", processing="thread")
    )
    yield built
    built.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The real API on a real port (uvicorn in a thread), with keys of every kind."""

    def __init__(self, ov: Onevoice) -> None:
        import uvicorn

        from onevoice.api.app import create_app

        self.ov = ov
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.write_key = ov.keys.create("write", "test web")[1]
        self.server_key = ov.keys.create("server", "test crm")[1]
        self.admin_key = ov.keys.create("admin", "test admin")[1]
        config = uvicorn.Config(
            create_app(ov),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)


@pytest.fixture
def live(ov: Onevoice) -> Iterator[LiveServer]:
    server = LiveServer(ov)
    server.start()
    yield server
    server.stop()
