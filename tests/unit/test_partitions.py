"""Partitioning the event stream by customer."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from onevoice.domain.events import Event, parse_event
from onevoice.stream.partitions import customer_key, durable, partition_of, stream_name, subject

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _event(**fields: object) -> Event:
    return parse_event({"type": "track", "event": "Viewed", **fields}, received_at=NOW)


def test_the_customer_key_is_the_user_id_else_the_anonymous_id() -> None:
    assert customer_key(_event(userId="u1", anonymousId="a1")) == "userId:u1"
    assert customer_key(_event(anonymousId="a1")) == "anonymousId:a1"


def test_a_customer_always_lands_in_the_same_partition() -> None:
    assert partition_of("userId:u42", 16) == partition_of("userId:u42", 16) == 8


def test_partitions_spread_customers_evenly() -> None:
    counts = Counter(partition_of(f"userId:u{n}", 8) for n in range(8000))
    assert set(counts) == set(range(8))
    assert all(850 < n < 1150 for n in counts.values())  # 1,000 ± 5 standard deviations


def test_names_follow_the_prefix() -> None:
    assert subject("ov.a", 3) == "ov.a.events.3"
    assert durable("ov.a", 3) == "ov_a_p3"
    assert stream_name("ov.a") == "OV_A"
