"""Contact policy: consent, quiet hours, cooldowns, limits, caps and the fatigue budget."""

from __future__ import annotations

import doctest
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import onevoice.domain.policy
from onevoice.domain.actions import Action, Treatment
from onevoice.domain.policy import (
    Consent,
    Contact,
    ContactHistory,
    Policy,
    Response,
    check,
    check_action_limits,
    check_caps,
    check_consent,
    check_cooldowns,
    check_fatigue,
    check_live,
    check_quiet_hours,
    fatigue,
    refusals,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
EVERYTHING = Consent(granted=frozenset({("marketing", "*"), ("service", "*")}))


def _action(**changes: object) -> Action:
    action = Action(
        id="offer",
        purpose="marketing",
        treatments={"email": Treatment("email", {"subject": "s", "body": "b"})},
        value=100.0,
    )
    return replace(action, **changes)  # type: ignore[arg-type]


def _contacts(
    *ages_and_channels: tuple[timedelta, str], purpose: str = "marketing"
) -> ContactHistory:
    return ContactHistory(
        contacts=tuple(Contact("other", ch, purpose, NOW - age) for age, ch in ages_and_channels)
    )


def _respond(
    outcome: str, age: timedelta, channel: str = "email", action_id: str = "offer"
) -> ContactHistory:
    return ContactHistory(responses=(Response(action_id, channel, outcome, NOW - age),))


# consent


def test_marketing_without_consent_is_never_sent() -> None:
    verdict = check_consent("marketing", "sms", Consent(), ContactHistory())
    assert not verdict.allowed and verdict.reason == "no marketing consent for sms"


def test_marketing_with_consent_for_the_channel_or_all_channels_passes() -> None:
    for granted in (("marketing", "sms"), ("marketing", "*")):
        consent = Consent(granted=frozenset({granted}))
        assert check_consent("marketing", "sms", consent, ContactHistory()).allowed


def test_a_withdrawal_for_one_channel_beats_consent_for_all() -> None:
    consent = Consent(
        granted=frozenset({("marketing", "*")}), withdrawn=frozenset({("marketing", "sms")})
    )
    assert not check_consent("marketing", "sms", consent, ContactHistory()).allowed
    assert check_consent("marketing", "email", consent, ContactHistory()).allowed


def test_service_needs_no_opt_in_but_never_passes_a_withdrawal() -> None:
    assert check_consent("service", "sms", Consent(), ContactHistory()).allowed
    withdrawn = Consent(withdrawn=frozenset({("service", "*")}))
    verdict = check_consent("service", "sms", withdrawn, ContactHistory())
    assert not verdict.allowed and "withdrawn" in verdict.reason


def test_an_unsubscribe_stops_marketing_on_that_channel() -> None:
    history = _respond("unsubscribe", timedelta(days=300))
    assert not check_consent("marketing", "email", EVERYTHING, history).allowed
    assert check_consent("marketing", "sms", EVERYTHING, history).allowed
    assert check_consent("service", "email", EVERYTHING, history).allowed


def test_consent_is_read_from_the_consent_trait() -> None:
    consent = Consent.from_traits({"consent": {"marketing": {"*": True, "sms": False}}})
    assert consent.state("marketing", "email") == "granted"
    assert consent.state("marketing", "sms") == "withdrawn"
    assert consent.state("service", "sms") == "unknown"


# quiet hours


@pytest.mark.parametrize(
    ("zone", "quiet"),
    [("Europe/London", True), ("America/New_York", False), ("Asia/Tokyo", True)],
)
def test_quiet_hours_follow_the_customers_own_clock(zone: str, quiet: bool) -> None:
    at = datetime(2026, 3, 2, 21, 30, tzinfo=UTC)  # London 21:30, New York 16:30, Tokyo 06:30
    assert check_quiet_hours("marketing", "sms", at, zone, inbound=False).allowed is not quiet


@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        # 07:30 UTC: 07:30 GMT (quiet) before the change, 08:30 BST (awake) after it
        (
            "Europe/London",
            datetime(2026, 3, 28, 7, 30, tzinfo=UTC),
            datetime(2026, 3, 30, 7, 30, tzinfo=UTC),
        ),
        # 12:30 UTC: 07:30 EST before, 08:30 EDT after
        (
            "America/New_York",
            datetime(2026, 3, 7, 12, 30, tzinfo=UTC),
            datetime(2026, 3, 9, 12, 30, tzinfo=UTC),
        ),
    ],
)
def test_quiet_hours_move_with_daylight_saving_time(
    zone: str, before: datetime, after: datetime
) -> None:
    assert not check_quiet_hours("marketing", "push", before, zone, inbound=False).allowed
    assert check_quiet_hours("marketing", "push", after, zone, inbound=False).allowed


def test_an_unknown_time_zone_falls_back_to_the_default() -> None:
    at = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    verdict = check_quiet_hours("marketing", "sms", at, "Mars/Olympus", inbound=False)
    assert not verdict.allowed and "in UTC" in verdict.reason


def test_a_customer_who_is_there_is_not_interrupted() -> None:
    at = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    assert check_quiet_hours("marketing", "web", at, "Europe/London", inbound=True).allowed


def test_quiet_hours_that_do_not_cross_midnight() -> None:
    policy = Policy(quiet_start=time(12, 0), quiet_end=time(14, 0))
    assert not check_quiet_hours(
        "marketing", "sms", NOW, None, inbound=False, policy=policy
    ).allowed
    late = NOW + timedelta(hours=3)
    assert check_quiet_hours("marketing", "sms", late, None, inbound=False, policy=policy).allowed


def test_service_can_be_allowed_through_quiet_hours() -> None:
    at = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    policy = Policy(quiet_hours_for_service=False)
    assert check_quiet_hours("service", "sms", at, None, inbound=False, policy=policy).allowed
    assert not check_quiet_hours("service", "sms", at, None, inbound=False).allowed


# cooldowns, limits and the validity window


def test_a_complaint_stops_all_marketing_for_the_cooldown() -> None:
    history = _respond("complaint", timedelta(days=10), channel="sms")
    verdict = check_cooldowns(_action(), "email", history, NOW)
    assert (
        not verdict.allowed
        and verdict.reason == "complained 10 days ago (no marketing for 30 days)"
    )
    assert check_cooldowns(
        _action(), "email", _respond("complaint", timedelta(days=31)), NOW
    ).allowed
    assert check_cooldowns(_action(purpose="service"), "email", history, NOW).allowed


def test_a_dismissal_cools_down_the_action_and_briefly_the_channel() -> None:
    history = _respond("dismiss", timedelta(days=3), action_id="offer")
    assert not check_cooldowns(_action(), "web", history, NOW).allowed
    assert check_cooldowns(_action(id="another"), "email", history, NOW).allowed
    recent = _respond("dismiss", timedelta(hours=2), action_id="another")
    verdict = check_cooldowns(_action(), "email", recent, NOW)
    assert not verdict.allowed and "on email" in verdict.reason


def test_an_actions_own_cooldown_counts_from_its_last_showing() -> None:
    action = _action(cooldown=timedelta(days=7))
    shown = ContactHistory(
        contacts=(Contact("offer", "web", "marketing", NOW - timedelta(days=2)),)
    )
    verdict = check_action_limits(action, shown, NOW)
    assert not verdict.allowed and verdict.reason == "offer shown 2 days ago (cooldown 7 days)"
    assert check_action_limits(action, shown, NOW + timedelta(days=6)).allowed


def test_an_open_conversation_carried_to_another_channel_is_not_a_repeat() -> None:
    action = _action(cooldown=timedelta(days=1), max_per_customer=2)
    shown = ContactHistory(
        contacts=(Contact("offer", "web", "marketing", NOW - timedelta(hours=2)),)
    )
    assert not check_action_limits(action, shown, NOW).allowed  # a new pitch: too soon
    assert check_action_limits(action, shown, NOW, channel="email").allowed  # one voice
    again = check_action_limits(action, shown, NOW, channel="web")  # the same banner again
    assert not again.allowed and again.reason == "offer shown 2 hours ago (cooldown 1 day)"
    twice = ContactHistory(contacts=(*shown.contacts, shown.contacts[0]))
    verdict = check_action_limits(action, twice, NOW, channel="email")  # the maximum holds
    assert not verdict.allowed and verdict.rule == "action_maximum"


def test_an_action_is_shown_at_most_its_maximum() -> None:
    action = _action(max_per_customer=2, max_window=timedelta(days=30))
    contacts = tuple(
        Contact("offer", "web", "marketing", NOW - timedelta(days=d)) for d in (1, 10, 40)
    )
    verdict = check_action_limits(action, ContactHistory(contacts=contacts), NOW)
    assert not verdict.allowed and "2 times in 30 days (maximum 2)" in verdict.reason
    assert check_action_limits(action, ContactHistory(contacts=contacts[1:]), NOW).allowed


def test_an_expired_paused_or_future_action_is_never_shown() -> None:
    window = {"valid_from": NOW - timedelta(days=1), "valid_until": NOW + timedelta(days=1)}
    assert check_live(_action(**window), NOW).allowed
    assert not check_live(_action(**window), NOW + timedelta(days=1)).allowed
    assert not check_live(_action(**window), NOW - timedelta(days=2)).allowed
    assert not check_live(_action(paused=True), NOW).allowed


# caps and fatigue


def test_the_email_cap_per_day_stops_a_second_email() -> None:
    history = _contacts((timedelta(hours=3), "email"))
    verdict = check_caps("marketing", "email", history, NOW)
    assert not verdict.allowed
    assert verdict.reason == "email cap reached: 1 marketing contact in the last day (limit 1)"
    assert check_caps("marketing", "push", history, NOW).allowed
    assert check_caps("service", "email", history, NOW).allowed


def test_the_overall_cap_counts_every_channel() -> None:
    policy = Policy(caps={"*": {"week": 3}})
    history = _contacts(
        *((timedelta(days=d), ch) for d, ch in ((1, "web"), (2, "sms"), (3, "app")))
    )
    verdict = check_caps("marketing", "email", history, NOW, policy)
    assert not verdict.allowed and verdict.reason.startswith("overall cap reached")


def test_service_contacts_do_not_use_up_marketing_caps() -> None:
    history = _contacts((timedelta(hours=1), "email"), purpose="service")
    assert check_caps("marketing", "email", history, NOW).allowed


@settings(max_examples=60, deadline=None)
@given(
    ages=st.lists(st.integers(0, 40 * 24), max_size=30),
    limit=st.integers(1, 10),
    period=st.sampled_from(["day", "week", "month"]),
)
def test_a_cap_allows_exactly_while_the_window_count_is_under_it(
    ages: list[int], limit: int, period: str
) -> None:
    history = _contacts(*((timedelta(hours=h), "email") for h in ages))
    policy = Policy(caps={"email": {period: limit}})
    window = {"day": 24, "week": 7 * 24, "month": 30 * 24}[period]
    in_window = sum(1 for h in ages if h < window)
    assert check_caps("marketing", "email", history, NOW, policy).allowed is (in_window < limit)


@settings(max_examples=60, deadline=None)
@given(ages=st.lists(st.integers(0, 60 * 24), max_size=20), extra=st.integers(0, 60 * 24))
def test_fatigue_grows_with_each_contact_and_fades_with_time(ages: list[int], extra: int) -> None:
    history = _contacts(*((timedelta(hours=h), "sms") for h in ages))
    more = _contacts(*((timedelta(hours=h), "sms") for h in [*ages, extra]))
    assert fatigue(more, NOW) > fatigue(history, NOW)
    assert fatigue(history, NOW + timedelta(days=3)) <= fatigue(history, NOW)
    expected = sum(2.0 * 0.5 ** (h / (7 * 24)) for h in ages)
    assert fatigue(history, NOW) == pytest.approx(expected)


def test_the_fatigue_budget_stops_marketing_but_not_service() -> None:
    history = _contacts(*((timedelta(hours=1), "sms") for _ in range(4)))  # 8 points
    verdict = check_fatigue("marketing", "email", history, NOW)
    assert not verdict.allowed and "budget 8" in verdict.reason
    assert check_fatigue("service", "email", history, NOW).allowed


def test_check_reports_every_refusal_with_its_rule() -> None:
    history = _contacts((timedelta(hours=1), "email"))
    verdicts = check(
        _action(),
        "email",
        datetime(2026, 3, 2, 22, 0, tzinfo=UTC),
        consent=Consent(),
        history=history,
        inbound=False,
    )
    assert [v.rule for v in refusals(verdicts)] == ["consent", "quiet_hours", "frequency_cap"]


def test_the_docstring_examples_run() -> None:
    assert doctest.testmod(onevoice.domain.policy).failed == 0
