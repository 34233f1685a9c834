"""The consent ledger: which events carry consent, and which change is in force."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta

import pytest

import onevoice.domain.consent
from onevoice.domain.consent import ConsentChange, changes_of, grants_consent, in_force, latest
from onevoice.domain.errors import InvalidInput
from onevoice.domain.events import parse_event

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_module_examples_run() -> None:
    assert doctest.testmod(onevoice.domain.consent).failed == 0


def test_identify_traits_give_one_change_per_purpose_and_channel() -> None:
    event = parse_event(
        {
            "type": "identify",
            "userId": "u1",
            "traits": {"consent": {"marketing": {"email": True, "sms": False}, "junk": 3}},
        },
        received_at=AT,
        source="crm",
    )
    found = {(c.purpose, c.channel, c.granted, c.source) for c in changes_of(event)}
    assert found == {
        ("marketing", "email", True, "identify:crm"),
        ("marketing", "sms", False, "identify:crm"),
    }


def test_a_consent_updated_track_is_a_change_with_its_legal_basis() -> None:
    event = parse_event(
        {
            "type": "track",
            "userId": "u1",
            "event": "Consent Updated",
            "properties": {
                "purpose": "profiling",
                "channel": "web",
                "granted": False,
                "legal_basis": "legitimate_interests",
            },
        },
        received_at=AT,
    )
    [change] = changes_of(event)
    assert (change.purpose, change.granted, change.legal_basis) == (
        "profiling",
        False,
        "legitimate_interests",
    )
    assert not grants_consent(event)


@pytest.mark.parametrize(
    "properties",
    [
        {"purpose": "world-domination", "channel": "web", "granted": True},
        {"purpose": "marketing", "channel": "web", "granted": "yes"},
        {"purpose": "marketing", "channel": "web", "granted": True, "legal_basis": "vibes"},
    ],
)
def test_a_malformed_consent_event_changes_nothing(properties: dict[str, object]) -> None:
    event = parse_event(
        {"type": "track", "userId": "u1", "event": "Consent Updated", "properties": properties},
        received_at=AT,
    )
    assert changes_of(event) == []


def test_the_latest_change_wins_over_the_trait_and_older_changes() -> None:
    traits = {"consent": {"marketing": {"email": True, "sms": True}}}
    changes = [
        ConsentChange("marketing", "email", False, "me", "consent", AT),
        ConsentChange("marketing", "email", True, "track", "consent", AT - timedelta(days=1)),
    ]
    consent = in_force(traits, changes)
    assert consent.state("marketing", "email") == "withdrawn"
    assert consent.state("marketing", "sms") == "granted"
    assert latest(changes)[("marketing", "email")].source == "me"


def test_a_bad_change_names_its_field() -> None:
    with pytest.raises(InvalidInput) as error:
        onevoice.domain.consent.check_change("marketing", "", True)
    assert error.value.field == "channel"
