"""What a contact policy would have done: replay past contacts through its caps.

A marketer changing a frequency cap wants to know its effect before saving it: how many
customers would a cap of 2 e-mails a week have held back last week? ``cap_effect``
replays each customer's marketing contacts in time order through
:func:`onevoice.domain.policy.check_caps`. A contact the caps refuse is counted as
blocked and — since it would not have happened — does not count toward later caps.

>>> from datetime import datetime, timedelta, timezone
>>> from onevoice.domain.policy import Contact, Policy
>>> start = datetime(2026, 3, 2, tzinfo=timezone.utc)
>>> mails = [("c1", Contact("news", "email", "marketing", start + timedelta(days=d)))
...          for d in range(4)]
>>> effect = cap_effect(mails, Policy(caps={"email": {"week": 2}}), since=start)
>>> (effect.contacts, effect.blocked_contacts, effect.blocked_customers)
(4, 2, 1)
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from onevoice.domain.actions import MARKETING
from onevoice.domain.policy import Contact, ContactHistory, Policy, check_caps


@dataclass(frozen=True, slots=True)
class CapEffect:
    """Contacts after ``since`` and how many of them (and of whose) the caps would block."""

    contacts: int
    customers: int
    blocked_contacts: int
    blocked_customers: int
    blocked_by_channel: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)


def cap_effect(
    contacts: Iterable[tuple[str, Contact]], policy: Policy, *, since: datetime
) -> CapEffect:
    """Replay ``(customer, contact)`` pairs (any order) through ``policy``'s caps.

    Contacts before ``since`` only fill the windows (a month cap looks back 30 days);
    those after it are counted.
    """
    by_customer: dict[str, list[Contact]] = defaultdict(list)
    for customer, contact in contacts:
        if contact.purpose == MARKETING:
            by_customer[customer].append(contact)
    counted = blocked = 0
    customers: set[str] = set()
    blocked_customers: set[str] = set()
    by_channel: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for customer, mine in by_customer.items():
        kept: list[Contact] = []
        for contact in sorted(mine, key=lambda c: c.at):
            verdict = check_caps(
                MARKETING, contact.channel, ContactHistory(tuple(kept)), contact.at, policy
            )
            if contact.at >= since:
                counted += 1
                customers.add(customer)
                if not verdict.allowed:
                    blocked += 1
                    blocked_customers.add(customer)
                    by_channel[contact.channel] += 1
                    reasons[_scope(verdict.reason)] += 1
            if verdict.allowed:
                kept.append(contact)
    return CapEffect(
        counted,
        len(customers),
        blocked,
        len(blocked_customers),
        dict(by_channel.most_common()),
        dict(reasons.most_common()),
    )


def _scope(reason: str) -> str:
    """``email cap reached: 3 marketing contacts in the last week (limit 3)`` →
    ``email cap per week``."""
    where, _sep, rest = reason.partition(" cap reached")
    period = rest.split("in the last ")[-1].split(" ")[0] if "in the last " in rest else ""
    return f"{where} cap per {period}" if period else where
