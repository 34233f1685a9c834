"""Processing events into identities and live profiles, on both storage backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from onevoice.bootstrap import Onevoice
from onevoice.domain.errors import NotFound


def ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def collect(ov: Onevoice, *calls: dict[str, Any]) -> None:
    result = ov.collector.collect(list(calls), source="test")
    assert not result.rejected, result.rejected


def test_a_profile_is_live_as_soon_as_the_write_returns(ov: Onevoice) -> None:
    collect(ov, {"type": "track", "userId": "u1", "event": "Viewed"})
    # no background thread runs here: the read catches up with the log itself
    assert ov.profiles.view("userId:u1")["event_count"] == 1


def test_processing_twice_counts_each_event_once(ov: Onevoice) -> None:
    collect(ov, {"type": "track", "userId": "u1", "event": "A", "messageId": "1"})
    ov.processor.run_until_idle()
    collect(ov, {"type": "track", "userId": "u1", "event": "A", "messageId": "1"})
    assert ov.processor.run_until_idle() == 0
    assert ov.profiles.view("userId:u1")["event_count"] == 1


def test_an_alias_links_an_old_anonymous_id_to_the_user(ov: Onevoice) -> None:
    collect(
        ov,
        {"type": "page", "anonymousId": "cookie-1", "name": "Cards"},
        {"type": "track", "userId": "u1", "event": "Applied"},
        {"type": "alias", "previousId": "cookie-1", "userId": "u1"},
    )
    assert ov.profiles.view("anonymousId:cookie-1") == ov.profiles.view("userId:u1")
    [merge] = ov.profiles.merges("userId:u1")
    assert merge.merge.rule == "alias"


def test_an_alias_of_two_user_ids_is_refused(ov: Onevoice) -> None:
    collect(
        ov,
        {"type": "track", "userId": "old-id", "event": "x"},
        {"type": "track", "userId": "new-id", "event": "x"},
        {"type": "alias", "previousId": "old-id", "userId": "new-id"},
    )
    assert ov.profiles.resolve("userId:old-id") != ov.profiles.resolve("userId:new-id")


def test_a_device_shared_by_many_people_stops_gluing_them_together(ov: Onevoice) -> None:
    kiosk = {"device": {"id": "branch-kiosk-7"}, "channel": "branch"}
    for n in range(8):
        collect(ov, {"type": "track", "userId": f"u{n}", "event": "Checked In", "context": kiosk})
    collect(ov, {"type": "track", "anonymousId": "walk-in", "event": "Browsed", "context": kiosk})
    people = {ov.profiles.resolve(f"userId:u{n}") for n in range(8)}
    assert len(people) == 8
    assert ov.profiles.resolve("anonymousId:walk-in") not in people - {
        ov.profiles.resolve("anonymousId:walk-in")
    }


def test_a_merge_joins_traits_counts_and_value_without_loss(ov: Onevoice) -> None:
    collect(
        ov,
        {
            "type": "track",
            "anonymousId": "a9",
            "event": "Order Completed",
            "properties": {"revenue": 10},
            "timestamp": ago(3),
            "context": {"channel": "web", "traits": {"city": "Leeds"}},
        },
        {
            "type": "track",
            "userId": "u9",
            "event": "Order Completed",
            "properties": {"revenue": 5.5},
            "timestamp": ago(2),
            "context": {"channel": "branch", "traits": {"city": "York"}},
        },
    )
    ov.processor.run_until_idle()
    collect(
        ov,
        {
            "type": "identify",
            "anonymousId": "a9",
            "userId": "u9",
            "timestamp": ago(1),
            "traits": {"name": "Dee"},
        },
    )
    profile = ov.profiles.view("userId:u9")
    assert profile["event_count"] == 3
    assert profile["lifetime_value"] == 15.5
    assert profile["lifecycle_stage"] == "repeat"
    assert profile["traits"] == {"city": "York", "name": "Dee"}
    assert profile["channels"] == ["branch", "other", "web"]


def test_undo_gives_each_person_back_their_own_events(ov: Onevoice) -> None:
    collect(
        ov,
        {"type": "page", "anonymousId": "tablet", "name": "A", "messageId": "e1"},
        {"type": "page", "anonymousId": "tablet", "name": "B", "messageId": "e2"},
        {
            "type": "track",
            "userId": "dan",
            "event": "Called",
            "messageId": "e3",
            "context": {"channel": "call_centre"},
        },
        {"type": "identify", "userId": "dan", "anonymousId": "tablet", "messageId": "e4"},
    )
    [record] = ov.profiles.merges("userId:dan")
    ov.profiles.undo_merge(record.merge_id)
    tablet = ov.profiles.view("anonymousId:tablet")
    dan = ov.profiles.view("userId:dan")
    assert tablet["event_count"] == 2 and tablet["channels"] == ["web"]
    assert dan["event_count"] == 2  # the call and the identify that linked them
    assert {i["value"] for i in dan["identifiers"]} == {"dan"}


def test_an_unknown_reference_is_not_found(ov: Onevoice) -> None:
    with pytest.raises(NotFound):
        ov.profiles.view("email:nobody@example.com")


class CrashingStore:
    """The real store, except that writing a processed batch fails (a crash mid-step)."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def commit_batch(self, *args: Any) -> None:
        raise OSError("disk unplugged")


def test_a_step_that_fails_to_commit_leaves_its_events_waiting_and_counts_nothing(
    ov: Onevoice,
) -> None:
    from onevoice.services.processing import Processor

    collect(ov, *[{"type": "track", "userId": "u1", "event": "x"} for _ in range(5)])
    crashing = Processor(CrashingStore(ov.store), ov.profiles._key_of, lambda: datetime.now(UTC))
    with pytest.raises(OSError):
        crashing.run_until_idle()
    assert ov.store.count_profiles() == 0
    assert ov.processor.run_until_idle() == 5
    assert ov.profiles.view("userId:u1")["event_count"] == 5


def test_two_processors_racing_for_the_same_events_count_them_once(ov: Onevoice) -> None:
    from onevoice.services.ports import StaleBatch
    from onevoice.services.processing import Processor

    collect(ov, *[{"type": "track", "userId": "u1", "event": "x"} for _ in range(4)])
    other = Processor(ov.store, ov.profiles._key_of, lambda: datetime.now(UTC))
    rows = ov.store.read_events(0, 100)  # the other processor has read them too…
    assert ov.processor.run_until_idle() == 4  # …but this one files them first
    with pytest.raises(StaleBatch):
        other._process(rows)
    assert ov.profiles.view("userId:u1")["event_count"] == 4


def test_a_backlog_is_worked_off_in_growing_steps_each_event_once(ov: Onevoice) -> None:
    from onevoice.services.processing import CATCH_UP_STEPS, Processor

    collect(ov, *[{"type": "track", "userId": f"u{n % 7}", "event": "x"} for n in range(20)])
    processor = Processor(ov.store, ov.profiles._key_of, lambda: datetime.now(UTC), batch_size=3)
    # full steps double, up to CATCH_UP_STEPS batch sizes; the last one takes what is left
    assert list(processor.catch_up()) == [3, 3 * CATCH_UP_STEPS, 3 * CATCH_UP_STEPS, 5]
    assert ov.store.count_events() == 20
    assert sum(ov.profiles.view(f"userId:u{n}")["event_count"] for n in range(7)) == 20
    # a new backlog starts again at the batch size
    collect(ov, *[{"type": "track", "userId": "u1", "event": "y"} for _ in range(4)])
    assert list(processor.catch_up()) == [3, 1]
