"""The decision log written behind the answer (``ONEVOICE_DECISION_LOG_WRITE_MS`` > 0), on
each backend: another process sees a decision only once the writer commits it, but this
process never misses one — a response, the next decision and erasure wait for its row —
and closing commits what is queued."""

from __future__ import annotations

import subprocess
import sys

from onevoice.bootstrap import Onevoice, bootstrap
from onevoice.config import Settings
from onevoice.store import open_store

CATALOG = {
    "actions": [
        {
            "id": "offer",
            "purpose": "service",
            "value": 10,
            "treatments": {
                "web": {"title": "Hello", "body": "…"},
                "app": {"title": "Hello", "body": "…"},
            },
        }
    ]
}
#: Long enough that nothing commits by the window alone while a test runs.
WINDOW_MS = 60_000


def written_behind(database_url: str) -> Onevoice:
    ov = bootstrap(
        Settings(
            database_url=database_url,
            secret_key="test-secret",
            decision_log_write_ms=WINDOW_MS,
            explore_share=0.0,  # the offer always wins: no Thompson draw ranks it below 0
        )
    )
    ov.actions.load(CATALOG)
    warm_up = ov.decisions.decide("userId:warm-up", "web").decision.decision_id
    ov.store.get_decision(warm_up)  # committed: the writer now waits out its window
    return ov


def test_a_queued_decision_is_answered_to_and_read_in_process(database_url: str) -> None:
    ov = written_behind(database_url)
    other = open_store(database_url)
    try:
        first = ov.decisions.decide("userId:u1", "web").decision
        assert first.action_ids == ("offer",)
        assert other.get_decision(first.decision_id) is None  # not committed yet
        # the next decision for the customer sees it: the conversation is honoured
        again = ov.decisions.decide("userId:u1", "app").decision
        assert again.honoured == first.decision_id
        assert other.get_decision(first.decision_id) is not None  # that read committed it
        third = ov.decisions.decide("userId:u2", "web").decision
        answered = ov.decisions.respond(third.decision_id, "offer", "click")
        assert answered.recorded
    finally:
        other.close()
        ov.close()


def test_closing_commits_every_queued_decision(database_url: str) -> None:
    ov = written_behind(database_url)
    made = [ov.decisions.decide(f"userId:u{n}", "web").decision.decision_id for n in range(5)]
    ov.close()
    reopened = open_store(database_url)
    try:
        assert all(reopened.get_decision(d) is not None for d in made)
    finally:
        reopened.close()


def test_erasure_leaves_no_queued_decision_behind(database_url: str) -> None:
    ov = written_behind(database_url)
    try:
        decided = ov.decisions.decide("userId:gone", "web")
        ov.store.erase([decided.subject], [], decided.decision.at)
        assert ov.store.get_decision(decided.decision.decision_id) is None
    finally:
        ov.close()
    reopened = open_store(database_url)
    try:
        assert reopened.get_decision(decided.decision.decision_id) is None
    finally:
        reopened.close()


EXITS_WITHOUT_CLOSING = """
import sys
from onevoice.bootstrap import bootstrap
from onevoice.config import Settings
ov = bootstrap(Settings(database_url=sys.argv[1], secret_key="test-secret",
                        decision_log_write_ms=60_000))
ov.actions.load({"actions": [{"id": "offer", "purpose": "service", "value": 10,
                              "treatments": {"web": {"title": "x", "body": "y"}}}]})
first = ov.decisions.decide("userId:a", "web").decision.decision_id
ov.store.get_decision(first)
print(ov.decisions.decide("userId:b", "web").decision.decision_id)
"""


def test_a_program_that_never_closes_its_store_still_commits_the_queue(database_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", EXITS_WITHOUT_CLOSING, database_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    queued = done.stdout.strip().splitlines()[-1]
    reopened = open_store(database_url)
    try:
        assert reopened.get_decision(queued) is not None
    finally:
        reopened.close()


def test_only_sqlite_with_the_log_behind_decides_without_waiting(database_url: str) -> None:
    """The API runs such decides on its event loop; any other decide may wait for the
    network or the disk, and runs in a worker thread so that it holds up no other."""
    for write_ms, expected in ((10, not database_url.startswith("postgresql")), (0, False)):
        ov = bootstrap(
            Settings(
                database_url=database_url, secret_key="test-secret", decision_log_write_ms=write_ms
            )
        )
        try:
            assert ov.decisions.waits_only_for_cpu is expected
        finally:
            ov.close()
