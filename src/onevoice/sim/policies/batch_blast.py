"""Batch and blast: one offer, once a week, to everyone who can be reached.

What most brands still do: a weekly campaign, the same message to the whole contactable
base at the same clock time, on email where there is consent, else SMS, else push. It
knows nothing about what each customer is doing, so most sends are irrelevant — which is
exactly the fatigue and database erosion the engine is meant to avoid.
"""

from __future__ import annotations

import numpy as np

from onevoice.sim import catalog as cat
from onevoice.sim.policies.base import Decisions, Moments, Responses
from onevoice.sim.view import CustomerView


class BatchAndBlast:
    """A weekly campaign of ``offer`` on ``weekday`` (day number modulo 7) at ``hour`` UTC."""

    name = "batch-and-blast"

    def __init__(self, offer: str = "card_offer", weekday: int = 1, hour: int = 9) -> None:
        self.offer = offer
        self.weekday = weekday
        self.hour = hour

    def decide(self, moments: Moments, view: CustomerView) -> Decisions:
        decisions = Decisions.nothing(moments)
        if moments.day % 7 != self.weekday:
            return decisions
        slot = np.flatnonzero(~moments.in_session)
        reach = view.contactable[moments.customer[slot]]
        channel = np.full(slot.size, -1, dtype=np.int8)
        for name in ("push", "sms", "email"):  # the last that fits wins: email first
            code = cat.CH[name]
            channel[reach[:, code]] = code
        send = slot[channel >= 0]
        decisions.action[send] = cat.ACTION_INDEX[self.offer]
        decisions.channel[send] = channel[channel >= 0]
        decisions.hour[send] = self.hour
        return decisions

    def learn(self, responses: Responses) -> None:
        """A campaign calendar does not learn."""
