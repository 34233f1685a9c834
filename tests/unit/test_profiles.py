"""Profile state: folding events, merging people, lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from onevoice.domain import profiles
from onevoice.domain.events import Event, parse_event

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CHANNELS = ["web", "app", "email", "call_centre", "branch"]


def event(
    n: int,
    *,
    minutes: int,
    channel: str,
    name: str = "Viewed",
    revenue: float = 0,
    trait: str | None = None,
) -> Event:
    raw: dict[str, object] = {
        "type": "track",
        "event": name,
        "userId": "u",
        "messageId": f"m{n}",
        "timestamp": (NOW - timedelta(minutes=minutes)).isoformat(),
        "context": {"channel": channel},
        "properties": {"revenue": revenue},
    }
    if trait is not None:
        raw["context"] = {"channel": channel, "traits": {"plan": trait}}
    return parse_event(raw, received_at=NOW)


events_strategy = st.lists(
    st.builds(
        lambda n, minutes, channel, order, revenue, trait: (
            n,
            minutes,
            channel,
            order,
            revenue,
            trait,
        ),
        st.integers(0, 10_000),
        st.integers(0, 5_000),
        st.sampled_from(CHANNELS),
        st.booleans(),
        st.decimals(0, 1000, places=2),
        st.one_of(st.none(), st.sampled_from(["a", "b", "c"])),
    ),
    max_size=25,
    unique_by=lambda t: t[0],
)


def build(spec: list[tuple[int, int, str, bool, object, str | None]]) -> list[Event]:
    return [
        event(
            n,
            minutes=m,
            channel=c,
            name="Order Completed" if o else "Viewed",
            revenue=float(str(r)),
            trait=t,
        )
        for n, m, c, o, r, t in spec
    ]


@settings(max_examples=150, deadline=None)
@given(events_strategy, st.data())
def test_merging_people_loses_nothing_and_counts_nothing_twice(spec, data) -> None:  # type: ignore[no-untyped-def]
    all_events = build(spec)
    whole = profiles.fold(all_events)
    # split the events among three people in any way and any order, then merge them
    owners = data.draw(
        st.lists(st.integers(0, 2), min_size=len(all_events), max_size=len(all_events))
    )
    order = data.draw(st.permutations(range(len(all_events))))
    parts = [profiles.EMPTY] * 3
    for i in order:
        parts[owners[i]] = profiles.apply(parts[owners[i]], all_events[i])
    merge_order = data.draw(st.permutations([0, 1, 2]))
    merged = profiles.EMPTY
    for i in merge_order:
        merged = profiles.merge(merged, parts[i])
    assert merged == whole


def test_the_latest_statement_of_a_trait_wins_whatever_the_arrival_order() -> None:
    older = event(1, minutes=60, channel="web", trait="silver")
    newer = event(2, minutes=5, channel="call_centre", trait="gold")
    state = profiles.fold([newer, older])
    assert state.traits["plan"].value == "gold"
    assert state.traits["plan"].channel == "call_centre"


def test_channels_first_and_last_seen_and_counts_are_kept_per_channel() -> None:
    state = profiles.fold(
        [
            event(1, minutes=30, channel="web"),
            event(2, minutes=20, channel="app"),
            event(3, minutes=10, channel="web"),
        ]
    )
    assert state.channels["web"].count == 2
    assert state.first_seen == NOW - timedelta(minutes=30)
    assert state.last_seen == NOW - timedelta(minutes=10)


def test_lifetime_value_sums_order_revenue_exactly() -> None:
    state = profiles.fold(
        [event(n, minutes=n, channel="web", name="Order Completed", revenue=0.1) for n in range(10)]
    )
    assert state.revenue_cents == 100
    assert state.lifetime_value == 1.0


def test_lifecycle_goes_from_anonymous_to_lapsed() -> None:
    empty = profiles.EMPTY
    assert profiles.lifecycle_stage(empty, ["anonymousId"], NOW) == "anonymous"
    assert profiles.lifecycle_stage(empty, ["anonymousId", "email"], NOW) == "known"
    one = profiles.fold([event(1, minutes=1, channel="web", name="Order Completed", revenue=5)])
    assert profiles.lifecycle_stage(one, ["userId"], NOW) == "customer"
    two = profiles.apply(one, event(2, minutes=2, channel="web", name="Order Completed"))
    assert profiles.lifecycle_stage(two, ["userId"], NOW) == "repeat"
    assert profiles.lifecycle_stage(two, ["userId"], NOW + timedelta(days=91)) == "lapsed"


def test_the_state_survives_the_round_trip_through_its_record() -> None:
    state = profiles.fold(
        [event(1, minutes=3, channel="web", trait="a", name="Order Completed", revenue=12.5)]
    )
    assert profiles.ProfileState.from_record(state.to_record()) == state


@settings(max_examples=150, deadline=None)
@given(events_strategy, events_strategy)
def test_folding_a_batch_at_once_equals_applying_its_events_one_by_one(  # type: ignore[no-untyped-def]
    before, batch
) -> None:
    start = profiles.fold(build(before))
    one_by_one = start
    for e in build(batch):
        one_by_one = profiles.apply(one_by_one, e)
    assert profiles.apply_all(start, build(batch)) == one_by_one
