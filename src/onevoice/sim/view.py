"""What a policy may know: only what a brand could learn from its own events and sends.

The :class:`Observer` builds a :class:`CustomerView` from the event rows the customers
produced and the contacts the brand made — never from the hidden state — so a policy that
does well here would do well on real data. Interest in a topic is the decayed count of
events whose content belongs to it (pages read, screens opened, calls about it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from onevoice.sim import catalog as cat
from onevoice.sim.intents import TZ_OFFSET
from onevoice.sim.population import Population
from onevoice.sim.rows import EventRows
from onevoice.sim.state import NEVER

INTEREST_DECAY = 0.85  # per day: a week-old page view counts about a third


@dataclass(slots=True)
class CustomerView:
    """The brand's knowledge of each customer, as columns (updated once a day)."""

    day: int
    known: NDArray[np.bool_]  # has an account (a userId)
    closed: NDArray[np.bool_]  # closed their account
    contactable: NDArray[np.bool_]  # (n, channels): consent and not unsubscribed
    interest: NDArray[np.float64]  # (n, topics)
    bought_day: NDArray[np.int32]  # (n, intents): day of the last observed order of each
    seen_day: NDArray[np.int32]  # (n, topics): the last day an event on the topic was seen
    resolved_day: NDArray[np.int32]  # the day of the last "Case Resolved" seen
    last_contact_day: NDArray[np.int32]  # the last day the brand sent them anything
    contacts_week: NDArray[np.int32]  # messages sent in the last seven days
    has_app: NDArray[np.bool_]  # seen in the app
    utc_offset: NDArray[np.int64]  # hours, from the home time zone the customer gave


class Observer:
    """Keeps a :class:`CustomerView` current from events and sends."""

    def __init__(self, people: Population) -> None:
        n = people.size
        self._people = people
        self._sends: list[NDArray[np.int64]] = []
        self.view = CustomerView(
            day=0,
            known=people.stage != 0,
            closed=np.zeros(n, dtype=bool),
            contactable=people.consent.copy(),
            interest=np.zeros((n, cat.N_TOPICS)),
            bought_day=np.full((n, cat.N_INTENTS), NEVER, dtype=np.int32),
            seen_day=np.full((n, cat.N_TOPICS), NEVER, dtype=np.int32),
            resolved_day=np.full(n, NEVER, dtype=np.int32),
            last_contact_day=np.full(n, NEVER, dtype=np.int32),
            contacts_week=np.zeros(n, dtype=np.int32),
            has_app=np.zeros(n, dtype=bool),
            utc_offset=TZ_OFFSET[people.timezone],
        )

    def see(self, day: int, rows: EventRows, sent_to: NDArray[np.int64]) -> None:
        """Fold in one day's events and the customers sent a message that day."""
        view, n = self.view, self._people.size
        view.day = day + 1
        behavioural = rows.content < cat.N_BEHAVIOUR
        who = rows.customer[behavioural].astype(np.int64)
        topic = cat.CONTENT_TOPIC[rows.content[behavioural]].astype(np.int64)
        counts = np.bincount(who * cat.N_TOPICS + topic, minlength=n * cat.N_TOPICS)
        view.interest *= INTEREST_DECAY
        view.interest += counts.reshape(n, cat.N_TOPICS)
        view.seen_day[who, topic] = day
        view.resolved_day[rows.customer[rows.content == cat.RESOLVED]] = day
        view.has_app[rows.customer[rows.channel == cat.CH["app"]]] = True
        orders = rows.content == cat.ORDER
        view.bought_day[rows.customer[orders], rows.action[orders]] = day
        view.known[rows.customer[orders]] = True
        view.closed[rows.customer[rows.content == cat.CLOSED]] = True
        gone = rows.content == cat.UNSUBSCRIBED
        view.contactable[rows.customer[gone], rows.channel[gone]] = False
        spam = (rows.content == cat.COMPLAINED) & (rows.channel == cat.CH["email"])
        view.contactable[rows.customer[spam], cat.CH["email"]] = False
        view.contactable[view.closed] = False
        view.last_contact_day[sent_to] = day
        self._sends.append(sent_to)
        self._sends = self._sends[-7:]
        view.contacts_week = np.bincount(np.concatenate(self._sends), minlength=n).astype(np.int32)
