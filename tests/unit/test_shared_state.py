"""Folding the replicas' shared state into the decision log (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from onevoice.domain.actions import Action, Catalog, Treatment
from onevoice.domain.policy import Contact
from onevoice.services.ports import ContactLog, DecisionRecord
from onevoice.services.shared_state import SharedView, merged, without_marketing

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
WEB = {"web": Treatment("web", {"title": "t", "body": "b"})}


def _opened(decision_id: str, at: datetime) -> DecisionRecord:
    chosen = (("offer", "marketing"),)
    return DecisionRecord(decision_id, "p1", "web", at, chosen, decision_id, {})


def test_contacts_in_flight_elsewhere_join_the_logged_ones_once() -> None:
    logged = Contact("offer", "email", "marketing", NOW - timedelta(days=1))
    elsewhere = Contact("offer", "sms", "marketing", NOW)
    log = ContactLog((logged,), (), None, ())
    view = SharedView("3", (logged, elsewhere), None)
    assert merged(log, view).contacts == (logged, elsewhere)


def test_the_newer_conversation_wins() -> None:
    older, newer = _opened("d1", NOW - timedelta(hours=2)), _opened("d2", NOW)
    said = (("click", "web", NOW),)
    assert (
        merged(ContactLog((), (), older, ()), SharedView("1", (), newer, said)).conversation
        == newer
    )
    kept = merged(ContactLog((), (), newer, ()), SharedView("1", (), older, said))
    assert kept.conversation == newer and kept.conversation_responses == ()


def test_responses_to_the_same_conversation_are_united() -> None:
    talk = _opened("d1", NOW - timedelta(hours=2))
    logged = (("impression", "web", NOW - timedelta(hours=1)),)
    shared = (("dismiss", "app", NOW),)
    result = merged(ContactLog((), (), talk, logged), SharedView("1", (), talk, shared))
    assert result.conversation_responses == (*logged, *shared)


def test_without_marketing_keeps_only_service_actions() -> None:
    offer = Action("offer", "marketing", WEB, value=10)
    notice = Action("notice", "service", WEB, value=1)
    kept = without_marketing(Catalog({a.id: a for a in (offer, notice)}))
    assert list(kept.actions) == ["notice"]
