"""Validation and normalisation of Segment calls."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from onevoice.domain.errors import InvalidEvent
from onevoice.domain.events import Event, format_time, parse_event

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def parse(**raw: object) -> Event:
    return parse_event(raw, received_at=NOW)


def error_field(**raw: object) -> str | None:
    with pytest.raises(InvalidEvent) as caught:
        parse(**raw)
    return caught.value.field


def test_a_browser_page_is_on_the_web_channel() -> None:
    assert parse(type="page", anonymousId="a").channel == "web"


def test_a_screen_or_a_mobile_device_is_on_the_app_channel() -> None:
    assert parse(type="screen", anonymousId="a").channel == "app"
    mobile = {"device": {"type": "ios", "id": "d1"}}
    assert parse(type="track", event="Opened", anonymousId="a", context=mobile).channel == "app"


def test_the_channel_the_client_gives_wins_and_common_spellings_are_understood() -> None:
    event = parse(type="page", anonymousId="a", context={"channel": "Call Center"})
    assert event.channel == "call_centre"


def test_an_unknown_channel_is_rejected_naming_the_field() -> None:
    assert error_field(type="track", event="x", userId="u", context={"channel": "fax"}) == (
        "context.channel"
    )


def test_a_call_without_any_identity_is_rejected() -> None:
    assert error_field(type="track", event="x") == "userId"


def test_an_unknown_type_is_rejected() -> None:
    assert error_field(type="purchase", userId="u") == "type"


def test_track_needs_an_event_name_and_alias_needs_both_ids() -> None:
    assert error_field(type="track", userId="u") == "event"
    assert error_field(type="alias", userId="u") == "previousId"
    assert error_field(type="alias", previousId="a") == "userId"
    assert error_field(type="group", userId="u") == "groupId"


def test_a_timestamp_far_in_the_future_is_rejected() -> None:
    later = (NOW + timedelta(days=3)).isoformat()
    assert error_field(type="track", event="x", userId="u", timestamp=later) == "timestamp"


def test_a_malformed_timestamp_is_rejected() -> None:
    assert error_field(type="track", event="x", userId="u", timestamp="yesterday") == "timestamp"


def test_the_client_clock_skew_is_corrected_with_sent_at() -> None:
    # the client's clock is one hour behind: it sent "10:59" at what was really 12:00
    event = parse(
        type="track",
        event="x",
        userId="u",
        timestamp="2026-03-02T10:58:00Z",
        sentAt="2026-03-02T11:00:00Z",
    )
    assert event.timestamp == datetime(2026, 3, 2, 11, 58, tzinfo=UTC)


def test_identifiers_come_from_ids_traits_context_and_the_device() -> None:
    event = parse(
        type="identify",
        userId="u1",
        anonymousId="a1",
        traits={"email": " Ann@Example.COM", "phone": "+44 20 7946 0958"},
        context={"identifiers": {"crm_id": "C-9"}, "device": {"id": "dev-1"}},
    )
    assert [str(i) for i in event.identifiers] == [
        "userId:u1",
        "crm_id:C-9",
        "email:ann@example.com",
        "phone:+442079460958",
        "device_id:dev-1",
        "anonymousId:a1",
    ]


def test_a_bad_email_trait_is_rejected_naming_the_trait() -> None:
    assert error_field(type="identify", userId="u", traits={"email": "not-an-email"}) == (
        "traits.email"
    )


def test_an_event_survives_the_round_trip_through_its_stored_record() -> None:
    event = parse(
        type="track",
        event="Order Completed",
        userId="u",
        messageId="m1",
        properties={"revenue": 10},
        context={"channel": "app", "traits": {"plan": "gold"}},
    )
    assert Event.from_record(event.to_record()) == event


def test_a_retried_body_without_message_id_gets_the_same_id() -> None:
    body = {"type": "track", "event": "x", "userId": "u", "timestamp": "2026-03-01T00:00:00Z"}
    first = parse_event(dict(body, sentAt="2026-03-01T00:00:01Z"), received_at=NOW)
    retry = parse_event(dict(body, sentAt="2026-03-01T00:05:00Z"), received_at=NOW)
    assert first.message_id == retry.message_id


def test_group_traits_describe_the_group_not_the_person() -> None:
    event = parse(type="group", userId="u", groupId="g", traits={"name": "ACME", "email": "x@y"})
    assert event.all_traits == {}
    assert [str(i) for i in event.identifiers] == ["userId:u"]


def test_times_are_formatted_as_isoformat_would_in_utc_with_milliseconds() -> None:
    rng = random.Random(3)
    plus_two = timezone(timedelta(hours=2))
    moments = [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, UTC)]
    moments += [
        datetime.min.replace(tzinfo=UTC) + timedelta(microseconds=rng.randrange(3 * 10**17))
        for _ in range(2000)
    ]
    moments += [datetime(2026, 3, 2, 1, 30, 0, 1500, tzinfo=plus_two)]
    for moment in moments:
        utc = moment.astimezone(UTC)
        assert format_time(moment) == utc.isoformat(timespec="milliseconds")[:-6] + "Z"
    assert format_time(moments[-1]) == "2026-03-01T23:30:00.001Z"


def test_a_parsed_event_is_an_ordinary_frozen_event() -> None:
    """Parsing builds events through a writable twin (``events._new_event``); what comes
    out is an Event like one built by its constructor: equal, and frozen."""
    event = parse(type="track", userId="u1", event="Clicked", properties={"n": 1})
    fields = {name: getattr(event, name) for name in Event.__dataclass_fields__}
    assert type(event) is Event and event == Event(**fields)
    assert Event.from_record(event.to_record()) == event
    with pytest.raises(AttributeError):  # dataclasses.FrozenInstanceError
        event.name = "changed"  # type: ignore[misc]
