"""`onevoice serve`'s default: events are filed under people by a child process.

The API process only validates and appends; a spawned process on the same database
resolves identities and folds profiles. What a caller must still see: a profile read
right after its events were accepted (read-your-writes), every event filed once, and
no processing left to the API process's own interpreter.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.config import Settings
from onevoice.processing_child import ProcessingChild
from tests.conftest import LiveServer


@pytest.fixture
def served(database_url: str) -> Iterator[LiveServer]:
    ov = bootstrap(Settings(database_url=database_url, secret_key="test-secret"))
    server = LiveServer(ov)
    server.start()
    yield server
    server.stop()
    ov.close()


def _batch(live: LiveServer, calls: list[dict[str, object]]) -> None:
    response = httpx.post(
        f"{live.url}/v1/batch", json={"batch": calls}, auth=(live.write_key, ""), timeout=10
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(calls)


def _child(ov: Onevoice) -> ProcessingChild:
    assert isinstance(ov.background, ProcessingChild)
    return ov.background


def test_events_are_filed_by_a_child_process_not_the_api(served: LiveServer) -> None:
    ov = served.ov
    child = _child(ov)
    pid = child.pid
    assert pid is not None and pid != os.getpid()
    _batch(
        served,
        [
            {"type": "page", "anonymousId": f"a{n}", "name": "Home", "messageId": f"m{n}"}
            for n in range(50)
        ],
    )
    deadline = time.monotonic() + 20
    while not child.caught_up():  # nobody reads: only the child can catch up
        assert time.monotonic() < deadline, "the child never processed the batch"
        time.sleep(0.02)
    assert ov.store.count_profiles() == 50
    assert ov.store.read_events(0, 10) == []  # nothing left waiting


def test_an_undo_or_erasure_holding_the_lock_keeps_the_child_waiting(served: LiveServer) -> None:
    ov = served.ov
    child = _child(ov)
    with ov.processor.lock:  # what undo and erasure hold while they rewrite a person
        _batch(served, [{"type": "page", "anonymousId": "held", "messageId": "h1"}])
        time.sleep(1.0)
        assert not child.caught_up()
        assert ov.store.count_profiles() == 0
    deadline = time.monotonic() + 20
    while not child.caught_up():
        assert time.monotonic() < deadline, "the child did not resume"
        time.sleep(0.02)
    assert ov.store.count_profiles() == 1


def test_a_read_after_a_write_sees_it(served: LiveServer) -> None:
    _batch(
        served,
        [
            {"type": "page", "anonymousId": "anon-1", "name": "Home", "messageId": "p1"},
            {
                "type": "identify",
                "anonymousId": "anon-1",
                "userId": "u1",
                "traits": {"email": "Ann@Example.com"},
                "messageId": "i1",
            },
        ],
    )
    response = httpx.get(
        f"{served.url}/v1/profiles/email:ann@example.com",
        headers={"Authorization": f"Bearer {served.server_key}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    profile = response.json()
    assert {"type": "userId", "value": "u1"} in profile["identifiers"]
    assert {"type": "anonymousId", "value": "anon-1"} in profile["identifiers"]


def test_the_child_stops_with_the_server(database_url: str) -> None:
    ov = bootstrap(Settings(database_url=database_url, secret_key="test-secret"))
    server = LiveServer(ov)
    server.start()
    child = _child(ov)
    assert child.running()
    server.stop()
    deadline = time.monotonic() + 30  # a child still starting up finishes that first
    while child.running():
        assert time.monotonic() < deadline, "the child outlived the server"
        time.sleep(0.05)
    ov.close()


def test_a_stopping_child_finishes_its_batch_not_the_whole_backlog(database_url: str) -> None:
    ov = bootstrap(
        Settings(database_url=database_url, secret_key="test-secret", process_batch_size=20)
    )
    calls = [{"type": "page", "anonymousId": f"b{n}", "messageId": f"b{n}"} for n in range(20_000)]
    assert ov.collector.collect(calls).accepted == 20_000  # waiting before the child starts
    server = LiveServer(ov)
    server.start()
    child = _child(ov)
    deadline = time.monotonic() + 60
    while ov.store.count_profiles() == 0:  # the child is under way: 1,000 batches to go
        assert time.monotonic() < deadline, "the child never started processing"
        time.sleep(0.02)
    server.stop()
    deadline = time.monotonic() + 30
    while child.running():
        assert time.monotonic() < deadline, "the child worked through the backlog first"
        time.sleep(0.05)
    try:
        assert ov.store.read_events(0, 1)  # it stopped between batches, with events waiting
        assert not child.caught_up()  # and does not claim to have caught up
    finally:
        ov.close()


def test_the_child_exits_when_its_server_is_killed(tmp_path: Path) -> None:
    # a server killed outright (SIGKILL, the OOM killer) cannot stop its child: the child
    # notices it was orphaned and exits, rather than hold the database for ever
    script = (
        "import sys, time\n"
        "from onevoice.bootstrap import bootstrap\n"
        "from onevoice.config import Settings\n"
        f"ov = bootstrap(Settings(database_url={str(tmp_path / 'ov.db')!r}))\n"
        "ov.background.start()\n"
        "print(ov.background.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    child = int(server.stdout.readline())
    server.kill()
    server.wait(10)
    deadline = time.monotonic() + 30
    while _alive(child):
        assert time.monotonic() < deadline, "the orphaned child kept running"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting to be reaped is gone too
        return stat.read().split(") ")[1][0] != "Z"


def test_embedding_with_a_thread_is_one_setting_away(database_url: str) -> None:
    ov = bootstrap(
        Settings(database_url=database_url, secret_key="test-secret", processing="thread")
    )
    try:
        assert not isinstance(ov.background, ProcessingChild)
    finally:
        ov.close()


def test_a_child_that_dies_is_replaced_and_nothing_is_lost(served: LiveServer) -> None:
    ov = served.ov
    child = _child(ov)
    _batch(served, [{"type": "page", "anonymousId": "before", "messageId": "k1"}])
    first = child.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while child.running():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    _batch(served, [{"type": "page", "anonymousId": "after", "messageId": "k2"}])
    assert child.running() and child.pid != first
    with ov.processor.lock:  # the dead child cannot have kept the lock for ever
        pass
    deadline = time.monotonic() + 30
    while not child.caught_up():
        assert time.monotonic() < deadline, "the new child did not process"
        time.sleep(0.02)
    assert ov.store.count_profiles() == 2
    assert child.errors >= 1  # the restart is counted (and shown by /healthz)


def test_a_read_inside_the_turn_processes_itself_rather_than_wait(served: LiveServer) -> None:
    """What an undo does: it holds the turn, then reads; the child cannot process meanwhile,
    so waiting for it would only end at the 30 s timeout."""
    ov = served.ov
    child = _child(ov)
    with ov.processor.lock:
        _batch(served, [{"type": "page", "anonymousId": "inside", "messageId": "t-1"}])
        began = time.monotonic()
        child.sync()
        assert time.monotonic() - began < 10
        assert ov.store.count_profiles() == 1  # filed here, under the turn


def test_a_child_killed_in_its_sleep_cannot_hang_the_server(database_url: str) -> None:
    """A multiprocessing Event's set() waits for every process sleeping on it to wake; a
    child killed while it slept (the OOM killer, a signal) never does. The next append's
    wake-up and the server's stop must return all the same."""
    import threading

    ov = bootstrap(Settings(database_url=database_url, secret_key="test-secret"))
    try:
        child = _child(ov)
        child.start()
        deadline = time.monotonic() + 30
        while not child.caught_up():  # started and idle: asleep until woken
            assert time.monotonic() < deadline, "the child did not start"
            time.sleep(0.05)
        time.sleep(0.3)
        pid = child.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        while child.running():
            time.sleep(0.02)
        for call in (child.notify, child.stop):
            done = threading.Thread(target=call, daemon=True)
            done.start()
            done.join(20)
            assert not done.is_alive(), f"{call.__name__} hung on the dead child"
    finally:
        ov.close()
