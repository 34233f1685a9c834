"""Group commit: concurrent appends share a transaction, each still counted on its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from onevoice.bootstrap import Onevoice
from onevoice.services.group_commit import GroupCommit


class GatedAppend:
    """An append that holds its first commit until told, so others must queue behind it."""

    def __init__(self, fail_with: str | None = None) -> None:
        self.gate = threading.Event()
        self.calls: list[list[Sequence[Any]]] = []
        self.fail_with = fail_with

    def __call__(self, groups: Sequence[Sequence[Any]]) -> list[int]:
        self.calls.append(list(groups))
        if len(self.calls) == 1:
            self.gate.wait(10)
        if any(self.fail_with in group for group in groups):
            raise RuntimeError("disk says no")
        return [len(group) for group in groups]


def run_queued(committer: GroupCommit, append: GatedAppend, groups: list[list[Any]]) -> list[Any]:
    """The first group leads and blocks; the rest queue; then the gate opens."""
    results: list[Any] = [None] * len(groups)

    def worker(n: int) -> None:
        try:
            results[n] = committer.append(groups[n])
        except RuntimeError as error:
            results[n] = error

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(len(groups))]
    threads[0].start()
    while not append.calls:
        time.sleep(0.001)
    for thread in threads[1:]:
        thread.start()
    deadline = time.monotonic() + 10
    while len(committer._pending) < len(groups) - 1 and time.monotonic() < deadline:
        time.sleep(0.001)
    append.gate.set()
    for thread in threads:
        thread.join(10)
    return results


def test_appends_that_arrive_during_a_commit_share_the_next_one() -> None:
    append = GatedAppend()
    committer = GroupCommit(append)
    results = run_queued(committer, append, [["a"], ["b", "c"], ["d"], ["e", "f", "g"]])
    assert results == [1, 2, 1, 3]
    assert [len(call) for call in append.calls] == [1, 3]  # one leader, then one shared commit
    assert committer.commits == 2


def test_a_failing_group_fails_alone() -> None:
    append = GatedAppend(fail_with="bad")
    committer = GroupCommit(append)
    results = run_queued(committer, append, [["a"], ["b"], ["bad"], ["c", "d"]])
    assert results[0] == 1 and results[1] == 1 and results[3] == 2
    assert isinstance(results[2], RuntimeError)
    # the shared commit failed, then each group was tried alone
    assert [len(call) for call in append.calls] == [1, 3, 1, 1, 1]


def test_concurrent_requests_count_duplicates_once_on_a_real_store(ov: Onevoice) -> None:
    calls = [
        {"type": "track", "event": "Viewed", "userId": f"u{n % 7}", "messageId": f"m{n}"}
        for n in range(60)
    ]
    results: list[Any] = []
    lock = threading.Lock()

    def send(begin: int) -> None:  # overlapping slices: every messageId is sent 2-3 times
        result = ov.collector.collect(calls[begin : begin + 20], source="test")
        with lock:
            results.append(result)

    threads = [threading.Thread(target=send, args=(begin,)) for begin in range(0, 50, 8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    accepted = sum(r.accepted for r in results)
    duplicates = sum(r.duplicates for r in results)
    assert accepted == 60 == ov.store.count_events()
    assert accepted + duplicates == sum(len(calls[b : b + 20]) for b in range(0, 50, 8))
