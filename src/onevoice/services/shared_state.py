"""State several API replicas must share to speak with one voice: the port and its merge.

Frequency caps, the fatigue budget and the open conversation are read from the decision
log, which every replica shares, but two replicas deciding for one customer at the same
moment would both see the log before either wrote: both would pass a cap of one. With a
:class:`SharedState` (Redis), each decision reads a *versioned* view of the customer's
contacts and conversation, and is admitted only if that version is still current when it
commits; otherwise it is decided again on the fresh view, where the domain's policy sees
the other replica's contact. When the shared state cannot be read, marketing is blocked
(a cap that cannot be checked never lets a message through); service still passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from onevoice.domain.actions import Catalog
from onevoice.domain.policy import Contact
from onevoice.services.ports import ContactLog, DecisionRecord, ResponseRecord

BLOCKED_REASON = (
    "marketing blocked: frequency caps and fatigue could not be checked (shared state unreachable)"
)
RACED_REASON = "marketing blocked: too many simultaneous decisions for this customer"
ADMIT_TRIES = 4


@dataclass(frozen=True, slots=True)
class SharedView:
    """One customer's shared state at ``version``: contacts and the open conversation
    (as the decision that opened it, with the responses to it)."""

    version: str
    contacts: tuple[Contact, ...]
    conversation: DecisionRecord | None
    said: tuple[tuple[str, str, datetime], ...] = ()


class SharedState(Protocol):
    """Raises :class:`onevoice.domain.errors.Unavailable` when it cannot answer."""

    def read(self, subject: str, since: datetime) -> SharedView: ...

    def admit(
        self, subject: str, seen: SharedView, record: DecisionRecord, window: timedelta
    ) -> bool:
        """Record the decision's contacts (and the conversation it opens) if ``seen`` is
        still the current version; ``False`` when another decision came first."""
        ...

    def responded(self, record: ResponseRecord, window: timedelta) -> None: ...

    def model_turn(self, name: str) -> AbstractContextManager[str | None]:
        """Hold the model's lock; yields the newest saved version (``None``: unknown)."""
        ...

    def model_saved(self, name: str, version: str) -> None: ...
    def model_version(self, name: str) -> str | None: ...
    def ping(self) -> bool: ...


def merged(log: ContactLog, view: SharedView) -> ContactLog:
    """The store's contact log with the shared contacts and conversation folded in (the
    union: contacts in flight on another replica, and everything Redis may have lost)."""
    contacts = dict.fromkeys((*log.contacts, *view.contacts))
    conversation, said = log.conversation, log.conversation_responses
    if view.conversation is not None and (
        conversation is None or view.conversation.at > conversation.at
    ):
        conversation, said = view.conversation, view.said
    elif (
        view.conversation is not None
        and conversation is not None
        and view.conversation.decision_id == conversation.decision_id
    ):
        said = tuple(sorted(set(said) | set(view.said), key=lambda r: r[2]))
    return ContactLog(tuple(contacts), log.responses, conversation, said)


def without_marketing(catalog: Catalog) -> Catalog:
    """The catalog's service actions only (what may still be said when caps are unknown)."""
    keep = {a.id: a for a in catalog if not a.is_marketing}
    return Catalog(keep, {i: r for i, r in catalog.rules.items() if i in keep})


def opened(record: DecisionRecord) -> bool:
    return bool(record.chosen) and record.conversation_id == record.decision_id


def contacts_of(record: DecisionRecord) -> Iterator[Contact]:
    for action_id, purpose in record.chosen:
        yield Contact(action_id, record.channel, purpose, record.at)
