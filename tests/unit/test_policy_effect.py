"""What a cap would have blocked: replaying contacts through the caps."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta

import onevoice.domain.policy_effect
from onevoice.domain.policy import Contact, Policy
from onevoice.domain.policy_effect import cap_effect

START = datetime(2026, 3, 2, tzinfo=UTC)


def mail(
    customer: str, day: float, channel: str = "email", purpose: str = "marketing"
) -> tuple[str, Contact]:
    return customer, Contact("news", channel, purpose, START + timedelta(days=day))


def test_a_blocked_contact_does_not_count_toward_later_caps() -> None:
    # three a week against a cap of 2: the third is blocked; a week later two pass again
    contacts = [mail("c1", d) for d in (0, 1, 2, 7.5, 8)]
    effect = cap_effect(contacts, Policy(caps={"email": {"week": 2}}), since=START)
    assert (effect.contacts, effect.blocked_contacts, effect.blocked_customers) == (5, 1, 1)
    assert effect.blocked_by_channel == {"email": 1}
    assert effect.reasons == {"email cap per week": 1}


def test_contacts_before_the_period_fill_the_windows_but_are_not_counted() -> None:
    contacts = [mail("c1", -2), mail("c1", -1), mail("c1", 1)]
    effect = cap_effect(contacts, Policy(caps={"email": {"week": 2}}), since=START)
    assert (effect.contacts, effect.blocked_contacts) == (1, 1)


def test_service_contacts_and_other_channels_are_not_capped_by_an_email_cap() -> None:
    contacts = [mail("c1", 0), mail("c1", 0.1, purpose="service"), mail("c1", 0.2, "sms")]
    effect = cap_effect(contacts, Policy(caps={"email": {"day": 1}}), since=START)
    assert (effect.contacts, effect.blocked_contacts) == (2, 0)


def test_the_overall_cap_counts_every_channel() -> None:
    contacts = [mail("c1", 0, "email"), mail("c1", 0.1, "sms"), mail("c2", 0.2, "push")]
    effect = cap_effect(contacts, Policy(caps={"*": {"day": 1}}), since=START)
    assert (effect.blocked_contacts, effect.blocked_customers, effect.customers) == (1, 1, 2)


def test_the_docstring_example_runs() -> None:
    assert doctest.testmod(onevoice.domain.policy_effect).failed == 0
