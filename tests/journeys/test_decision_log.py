"""Inconsistent responses read the decision log too: a conversation that showed the
customer different actions on different channels is one voice broken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from onevoice.journeys.analytics import Filters, JourneyAnalytics
from onevoice.journeys.sources import from_store, shown_from_store
from onevoice.services.ports import DecisionRecord, Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _decision(
    store: Store, n: int, subject: str, channel: str, conversation: str, *actions: str
) -> None:
    store.add_decision(
        DecisionRecord(
            decision_id=f"d{n}",
            subject=subject,
            channel=channel,
            at=T0 + timedelta(minutes=n),
            chosen=tuple((a, "marketing") for a in actions),
            conversation_id=conversation,
            body={},
        )
    )


def test_conversations_showing_different_actions_on_two_channels_are_inconsistent(
    store: Store,
) -> None:
    _decision(store, 1, "p1", "web", "d1", "mortgage-review")
    _decision(store, 2, "p1", "email", "d1", "mortgage-review")  # one voice
    _decision(store, 3, "p2", "web", "d3", "card-offer")
    _decision(store, 4, "p2", "app", "d3", "savings-bonus")  # two voices
    _decision(store, 5, "p3", "web", "d5", "card-offer")
    _decision(store, 6, "p3", "web", "d5", "savings-bonus")  # one channel: not counted
    _decision(store, 7, "p4", "call_centre", "d7")  # nothing shown
    _decision(store, 8, "p4", "web", "d7", "card-offer")
    reports = JourneyAnalytics(
        lambda s, e: from_store(store, s, e), shown=lambda s, e: shown_from_store(store, s, e)
    )
    sign = reports.gap(Filters(), by_week=False)["signs"][0]
    assert sign["value"] == 0.5
    assert (sign["detail"]["conversations"], sign["detail"]["inconsistent_conversations"]) == (2, 1)
    later = reports.gap(Filters(start=T0 + timedelta(minutes=3)), by_week=False)["signs"][0]
    assert later["detail"]["conversations"] == 1  # d1's actions were before the window
