"""Doing nothing: the baseline every other policy's incremental effect is measured against."""

from __future__ import annotations

from onevoice.sim.policies.base import Decisions, Moments, Responses
from onevoice.sim.view import CustomerView


class Nothing:
    """Never acts. ``Nothing().decide`` answers ``NO_ACTION`` at every moment."""

    name = "nothing"

    def decide(self, moments: Moments, view: CustomerView) -> Decisions:
        return Decisions.nothing(moments)

    def learn(self, responses: Responses) -> None:
        """Nothing to learn."""
