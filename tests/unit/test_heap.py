"""The collector pause a processing batch runs in: only in a process tuned for long
running, and it leaves the collector as it found it."""

from __future__ import annotations

import gc

import pytest

from onevoice.ops import heap


def test_a_tuned_process_pauses_the_collector_for_a_batch_and_resumes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(heap, "_tuned", True)
    assert gc.isenabled()
    with heap.collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), heap.collector_paused():
        raise RuntimeError("a failed batch")
    assert gc.isenabled()


def test_elsewhere_the_pause_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_tuned", False)
    with heap.collector_paused():
        assert gc.isenabled()  # a library user's or a test's collector is left alone
    monkeypatch.setattr(heap, "_tuned", True)
    gc.disable()
    try:
        with heap.collector_paused():
            pass
        assert not gc.isenabled()  # a caller that turned it off keeps it off
    finally:
        gc.enable()
