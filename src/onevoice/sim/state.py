"""The world's moving parts: what changes from one simulated day to the next.

Hidden (intents, fatigue, grudges, who has left) and observable (unsubscribes, who has
logged in) state live side by side here; :mod:`.view` decides what a policy may read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from onevoice.sim.catalog import N_CHANNELS, N_INTENTS
from onevoice.sim.population import PROSPECT, Population

NEVER = -10_000


@dataclass(slots=True)
class WorldState:
    """Per-customer state as columns, changed in place by one day's step."""

    alive: NDArray[np.bool_]
    known: NDArray[np.bool_]  # has an account and a userId
    active: NDArray[np.bool_]  # (n, intents)
    days_left: NDArray[np.int32]  # (n, intents)
    boost: NDArray[np.float64]  # (n, intents) multiplier on the outcome hazard
    episode: NDArray[np.int64]  # (n, intents) current episode id, -1 if none
    last_end: NDArray[np.int32]  # (n, intents) the day the last episode ended
    owned: NDArray[np.bool_]  # (n, intents) bought this product during the run
    attempts: NDArray[np.int32]  # unsolved contacts about the current card problem
    grudge: NDArray[np.float64]  # unsolved problems and complaints, decaying
    fatigue: NDArray[np.float64]  # recent contacts, decaying
    unsubscribed: NDArray[np.bool_]  # (n, channels)
    next_episode: int = 0
    day: int = 0  # the day being simulated

    @classmethod
    def start(cls, people: Population) -> WorldState:
        n = people.size
        return cls(
            alive=np.ones(n, dtype=bool),
            known=people.stage != PROSPECT,
            active=np.zeros((n, N_INTENTS), dtype=bool),
            days_left=np.zeros((n, N_INTENTS), dtype=np.int32),
            boost=np.ones((n, N_INTENTS)),
            episode=np.full((n, N_INTENTS), -1, dtype=np.int64),
            last_end=np.full((n, N_INTENTS), NEVER, dtype=np.int32),
            owned=np.zeros((n, N_INTENTS), dtype=bool),
            attempts=np.zeros(n, dtype=np.int32),
            grudge=np.zeros(n),
            fatigue=np.zeros(n),
            unsubscribed=np.zeros((n, N_CHANNELS), dtype=bool),
        )

    def contactable(self, people: Population) -> NDArray[np.bool_]:
        """(n, channels): consented, not unsubscribed, still a customer."""
        result: NDArray[np.bool_] = people.consent & ~self.unsubscribed & self.alive[:, None]
        return result
