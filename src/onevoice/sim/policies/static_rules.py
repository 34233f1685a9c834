"""Static rules: a marketer's hand-written segments, evaluated every day.

"Read about mortgages three times lately and has not bought one → send the rates email."
Rules react to behaviour, so they are far more relevant than a blast, but they are fixed:
the thresholds never learn, interest lingers after the customer has moved on (so some
messages arrive after the moment has passed), and a simple cap is the only fatigue rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from onevoice.sim import catalog as cat
from onevoice.sim.policies.base import Decisions, Moments, Responses
from onevoice.sim.view import CustomerView


@dataclass(frozen=True, slots=True)
class Rule:
    """Send ``action`` when interest in ``topic`` reaches ``threshold``; channels in order."""

    topic: str
    threshold: float
    action: str
    channels: tuple[str, ...]
    unless_bought: bool = True


DEFAULT_RULES = (
    Rule("leaving", 1.0, "retention_offer", ("email", "sms"), unless_bought=False),
    Rule("card_problem", 2.0, "card_help", ("push", "sms", "email"), unless_bought=False),
    Rule("mortgage", 3.0, "mortgage_rates", ("email",)),
    Rule("credit_card", 2.0, "card_offer", ("email", "push")),
    Rule("savings", 2.0, "savings_bonus", ("email", "push")),
)


class StaticRules:
    """First matching rule wins; at most ``weekly_cap`` sends a week, ``gap_days`` apart.

    In a web or app session it shows the offer of the customer's strongest product
    interest (the classic "next best offer" banner rule).
    """

    name = "static-rules"

    def __init__(
        self,
        rules: tuple[Rule, ...] = DEFAULT_RULES,
        weekly_cap: int = 2,
        gap_days: int = 3,
        hour: int = 10,
        banner_threshold: float = 1.0,
    ) -> None:
        self.rules = rules
        self.weekly_cap = weekly_cap
        self.gap_days = gap_days
        self.hour = hour
        self.banner_threshold = banner_threshold

    def decide(self, moments: Moments, view: CustomerView) -> Decisions:
        decisions = Decisions.nothing(moments)
        slot = np.flatnonzero(~moments.in_session)
        who = moments.customer[slot]
        free = (view.contacts_week[who] < self.weekly_cap) & (
            view.day - view.last_contact_day[who] >= self.gap_days
        )
        undecided = free & ~view.closed[who]
        for rule in self.rules:
            topic = cat.TOPIC_NAMES.index(rule.topic)
            matches = undecided & (view.interest[who, topic] >= rule.threshold)
            if rule.unless_bought:
                matches &= view.bought_day[who, topic - 1] < 0
            channel = self._first_channel(view.contactable[who], rule.channels)
            chosen = matches & (channel >= 0)
            decisions.action[slot[chosen]] = cat.ACTION_INDEX[rule.action]
            decisions.channel[slot[chosen]] = channel[chosen]
            decisions.hour[slot[chosen]] = self.hour
            undecided &= ~chosen
        self._banners(moments, view, decisions)
        return decisions

    def _banners(self, moments: Moments, view: CustomerView, decisions: Decisions) -> None:
        session = np.flatnonzero(moments.in_session)
        products = [1 + cat.MORTGAGE, 1 + cat.CARD, 1 + cat.SAVINGS]
        interest = view.interest[moments.customer[session]][:, products]
        best = np.argmax(interest, axis=1)
        show = interest[np.arange(session.size), best] >= self.banner_threshold
        offers = np.array([cat.ACTION_INDEX[a] for a in ("mortgage_rates", "card_offer",
                                                          "savings_bonus")])  # fmt: skip
        decisions.action[session[show]] = offers[best[show]]

    @staticmethod
    def _first_channel(
        contactable: NDArray[np.bool_], channels: tuple[str, ...]
    ) -> NDArray[np.int8]:
        chosen = np.full(contactable.shape[0], -1, dtype=np.int8)
        for name in reversed(channels):
            code = cat.CH[name]
            chosen[contactable[:, code]] = code
        return chosen

    def learn(self, responses: Responses) -> None:
        """Hand-written rules do not learn."""
