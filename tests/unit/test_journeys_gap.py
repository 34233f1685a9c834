"""The engagement gap's signs and the journey rules on small fixed examples, by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from onevoice.domain.errors import InvalidInput
from onevoice.domain.journeys import DesignedJourney, GapRules, JourneyRules
from onevoice.journeys import gap, sessions
from onevoice.journeys.frame import SCHEMA
from onevoice.journeys.map import build

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _frame(*events: dict[str, Any]) -> pl.LazyFrame:
    rows = [{**{k: None for k in SCHEMA}, "type": "track", **e} for e in events]
    return pl.DataFrame(rows, schema=SCHEMA).lazy()


def _e(customer: str, minutes: float, event: str, channel: str, **more: Any) -> dict[str, Any]:
    return {
        "customer": customer,
        "ts": T0 + timedelta(minutes=minutes),
        "event": event,
        "channel": channel,
        **more,
    }


def _signs(*events: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rules = JourneyRules()
    assigned = sessions.assign(_frame(*events), rules)
    return {s["sign"]: s for s in gap.signs(assigned, rules, GapRules())}


def test_different_offers_on_two_channels_in_one_journey_are_inconsistent() -> None:
    signs = _signs(
        # a: email and app in one journey, two offers → inconsistent
        _e("a", 0, "Email Delivered", "email", offer="card_help"),
        _e("a", 30, "Promotion Viewed", "app", offer="retention_offer"),
        # b: email and app, one offer → consistent
        _e("b", 0, "Email Delivered", "email", offer="card_help"),
        _e("b", 30, "Promotion Viewed", "app", offer="card_help"),
        # c: one channel only → not counted
        _e("c", 0, "Email Delivered", "email", offer="x"),
        _e("c", 5, "Email Delivered", "email", offer="y"),
    )
    sign = signs["inconsistent_responses"]
    assert sign["value"] == 0.5
    assert (sign["detail"]["journeys"], sign["detail"]["inconsistent"]) == (2, 1)


def test_raising_the_same_reason_on_a_new_channel_is_starting_over() -> None:
    signs = _signs(
        _e("a", 0, "Chat Started", "chat", reason="card problem"),
        _e("a", 60, "Call Received", "call_centre", reason="card problem"),
        _e("b", 0, "Help", "app"),
        _e("b", 60, "Call Received", "call_centre", reason="card problem"),
        _e("c", 0, "Home", "web"),
        _e("c", 9, "Statements", "web"),
    )
    sign = signs["channel_specific_handling"]
    assert (sign["value"], sign["detail"]) == (0.5, {"switching": 2, "started_over": 1})


def test_nps_and_ces_come_from_survey_events() -> None:
    signs = _signs(
        _e("a", 0, "nps", "web", survey="nps", score=10.0),
        _e("b", 0, "nps", "web", survey="nps", score=9.0),
        _e("c", 0, "nps", "web", survey="nps", score=7.0),
        _e("d", 0, "nps", "web", survey="nps", score=2.0),
        _e("a", 1, "ces", "web", survey="ces", score=2.0),
        _e("b", 1, "ces", "web", survey="ces", score=5.0),
    )
    sign = signs["disconnected_conversations"]
    assert sign["value"] == 25.0  # (2 promoters − 1 detractor) / 4
    assert (sign["detail"]["ces"], sign["detail"]["nps_answers"]) == (3.5, 4)


def test_messages_in_quiet_hours_after_expiry_or_after_the_goal_are_mistimed() -> None:
    night = 22 * 60 - 12 * 60  # 22:00 UTC, minutes after T0
    signs = _signs(
        _e("a", night, "Email Delivered", "email", offer="x", timezone="Europe/London"),
        # 22:00 UTC is 17:00 in New York: fine
        _e("b", night, "Email Delivered", "email", offer="x", timezone="America/New_York"),
        _e("c", 0, "Email Delivered", "email", offer="x", expires=T0 - timedelta(days=1)),
        _e("d", 0, "Order Completed", "web", revenue=10.0),
        _e("d", 60, "Email Delivered", "email", offer="x"),
        _e("d", 120, "Unsubscribed", "email"),
    )
    sign = signs["mistimed_messages"]
    assert sign["value"] == 0.75
    assert sign["detail"] == {
        "messages": 4,
        "quiet_hours": 1,
        "expired": 1,
        "after_goal": 1,
        "opt_outs": 1,
        "opt_out_rate": 0.25,
    }


def test_database_erosion_is_the_contactable_base_lost_per_year() -> None:
    day = 24 * 60
    signs = _signs(
        _e("a", 0, "Email Delivered", "email"),
        _e("b", 0, "SMS Delivered", "sms"),
        _e("c", 0, "Email Delivered", "email"),
        _e("d", 0, "Email Delivered", "email"),
        _e("a", 10 * day, "Unsubscribed", "email"),
        _e("b", 20 * day, "Account Closed", "branch"),
        _e("e", 73 * day, "Home", "web"),  # not contactable: not in the base
    )
    sign = signs["database_erosion"]
    # 2 of 4 lost in 73 days: 0.5 × 365 / 73 = 2.5, capped at the whole base
    assert sign["detail"] == {"contactable": 4, "lost": 2, "days": 73.0}
    assert sign["value"] == 1.0


def test_journeys_end_at_a_goal_and_after_the_gap() -> None:
    rules = JourneyRules(gap=timedelta(hours=1))
    assigned = sessions.assign(
        _frame(
            _e("a", 0, "Home", "web"),
            _e("a", 30, "Order Completed", "web"),
            _e("a", 31, "Home", "web"),
            _e("a", 200, "Home", "web"),
            _e("b", 0, "identify", "other", type="identify"),
        ),
        rules,
    ).collect()
    assert assigned.get_column("journey").to_list() == [1, 1, 2, 3]
    found = build(sessions.steps(assigned.lazy(), rules))
    assert found.edges.to_dicts() == [
        {
            "source": "web:Home",
            "target": "web:Order Completed",
            "count": 1,
            "share": 1.0,
            "median_seconds": 1800.0,
        }
    ]


def test_start_events_drop_what_comes_before_them() -> None:
    rules = JourneyRules(start_events=("Call Received",))
    assigned = sessions.assign(
        _frame(
            _e("a", 0, "Home", "web"),
            _e("a", 5, "Call Received", "call_centre"),
            _e("a", 9, "Help", "app"),
        ),
        rules,
    ).collect()
    assert assigned.get_column("event").to_list() == ["Call Received", "Help"]


@pytest.mark.parametrize(
    ("design", "field"),
    [
        ({"name": "x", "steps": ["one"]}, "steps"),
        ({"name": "", "steps": ["a", "b"]}, "name"),
        ({"name": "x", "steps": ["a", {"channel": "web"}]}, "steps[1].event"),
        ({"name": "x", "steps": ["a", 3]}, "steps[1]"),
    ],
)
def test_a_bad_designed_journey_names_the_field(design: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        DesignedJourney.parse(design)
    assert error.value.field == field


def test_bad_rules_are_refused_by_name() -> None:
    with pytest.raises(InvalidInput) as error:
        JourneyRules(granularity="page")
    assert error.value.field == "granularity"


def test_survey_events_are_read_in_both_shapes() -> None:
    from onevoice.journeys.frame import row_of

    base = {"type": "track", "timestamp": "2026-03-02T12:00:00.000Z", "channel": "email"}
    named = row_of("a", {**base, "event": "nps", "properties": {"score": 9}})
    answered = row_of(
        "b", {**base, "event": "Survey Answered", "properties": {"survey": "CES", "value": 4}}
    )
    other = row_of("c", {**base, "event": "Survey Answered", "properties": {"score": 4}})
    columns = list(SCHEMA)
    survey, score = columns.index("survey"), columns.index("score")
    assert (named[survey], named[score]) == ("nps", 9.0)
    assert (answered[survey], answered[score]) == ("ces", 4.0)
    assert (other[survey], other[score]) == (None, None)  # which survey is unknown
