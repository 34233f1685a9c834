"""The contact log decide reads: the customer's shown decisions, and the latest one that
opened a conversation still inside its window — the same answer whether the window lies
inside the contact history (read from the contacts themselves) or reaches beyond it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from onevoice.services.ports import DecisionRecord, Store

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OFFER = (("offer", "marketing"),)


def _logged(store: Store) -> None:
    for decision_id, channel, ago, chosen, conversation in (
        ("first", "web", timedelta(hours=5), OFFER, "first"),
        ("latest", "app", timedelta(hours=2), OFFER, "latest"),
        ("carried", "email", timedelta(hours=1), OFFER, "latest"),  # repeats "latest"
        ("nothing", "web", timedelta(minutes=10), (), None),
    ):
        store.add_decision(
            DecisionRecord(decision_id, "p1", channel, AT - ago, chosen, conversation, {"x": 1})
        )
    store.add_decision(DecisionRecord("other", "p2", "web", AT, OFFER, "other", {}))


@pytest.mark.parametrize(
    ("history", "window"),
    [(timedelta(days=31), timedelta(days=3)), (timedelta(days=1), timedelta(days=40))],
    ids=["window inside the history", "window beyond the history"],
)
def test_the_open_conversation_is_the_latest_decision_that_opened_one(
    store: Store, history: timedelta, window: timedelta
) -> None:
    _logged(store)
    log = store.contact_log("p1", AT - history, AT - window)
    assert sorted(c.channel for c in log.contacts) == ["app", "email", "web"]
    opened = log.conversation
    assert opened is not None
    assert (opened.decision_id, opened.channel, opened.at) == (
        "latest",
        "app",
        AT - timedelta(hours=2),
    )
    assert (opened.chosen, opened.conversation_id, opened.subject) == (OFFER, "latest", "p1")
    assert opened.body == {}  # one voice does not read the explanation


@pytest.mark.parametrize("history", [timedelta(days=31), timedelta(minutes=30)])
def test_a_conversation_opened_before_the_window_is_not_open(
    store: Store, history: timedelta
) -> None:
    _logged(store)
    assert store.contact_log("p1", AT - history, AT - timedelta(minutes=90)).conversation is None
