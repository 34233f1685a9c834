"""Beta-Bernoulli Thompson sampling per (action, segment): the baseline learner.

Each arm keeps a Beta(α, β) posterior of its response rate, all starting from the same
prior (a fair start for new actions). A segment is the set of ``segment_by`` features
that are on (≥ 0.5) in a decision; with no ``segment_by`` every action has one arm.
Fractional rewards add ``r`` to α and ``1 − r`` to β.

>>> learner = BetaBernoulli(prior_rate=0.1, prior_strength=10)
>>> for _ in range(90):
...     learner.learn_one("a", {}, 1.0)
>>> round(learner.predict_one("a", {}), 2), round(learner.predict_one("new", {}), 2)
(0.91, 0.1)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from onevoice.domain.errors import InvalidInput
from onevoice.domain.learning.base import Features

KIND = "beta-bernoulli"


class BetaBernoulli:
    """Thompson sampling with a Beta posterior per (action, segment)."""

    def __init__(
        self,
        *,
        prior_rate: float = 0.05,
        prior_strength: float = 2.0,
        segment_by: Sequence[str] = (),
    ) -> None:
        if not 0 < prior_rate < 1 or prior_strength <= 0:
            raise InvalidInput("prior_rate must be in (0, 1) and prior_strength above 0")
        self.prior_rate = prior_rate
        self.prior_strength = prior_strength
        self.segment_by = tuple(segment_by)
        self._arms: dict[str, tuple[float, float]] = {}
        self._updates = 0

    @property
    def version(self) -> str:
        return f"{KIND}@{self._updates}"

    def segment(self, x: Features) -> str:
        on = [name for name in self.segment_by if x.get(name, 0.0) >= 0.5]
        return "+".join(on) or "all"

    def _arm(self, action_id: str, x: Features) -> tuple[float, float]:
        prior = (self.prior_rate * self.prior_strength, (1 - self.prior_rate) * self.prior_strength)
        return self._arms.get(f"{action_id}|{self.segment(x)}", prior)

    def predict_one(self, action_id: str, x: Features) -> float:
        alpha, beta = self._arm(action_id, x)
        return alpha / (alpha + beta)

    def _arms_of(self, action_ids: Sequence[str], x: Features) -> NDArray[np.float64]:
        """(α, β) of every action in the decision's segment, as an ``n × 2`` array."""
        segment = self.segment(x)
        prior = (self.prior_rate * self.prior_strength, (1 - self.prior_rate) * self.prior_strength)
        arms = self._arms
        found = [arms.get(f"{a}|{segment}", prior) for a in action_ids]
        return np.array(found, dtype=float).reshape(-1, 2)

    def predict_many(self, action_ids: Sequence[str], x: Features) -> NDArray[np.float64]:
        arms = self._arms_of(action_ids, x)
        means: NDArray[np.float64] = arms[:, 0] / (arms[:, 0] + arms[:, 1])
        return means

    def sample(
        self, action_ids: Sequence[str], x: Features, draws: int, seed: int
    ) -> list[list[float]]:
        rows: list[list[float]] = self.sample_matrix(action_ids, x, draws, seed).tolist()
        return rows

    def sample_matrix(
        self, action_ids: Sequence[str], x: Features, draws: int, seed: int
    ) -> NDArray[np.float64]:
        arms = self._arms_of(action_ids, x)
        rng = np.random.default_rng(seed)
        values: NDArray[np.float64] = rng.beta(
            arms[:, 0], arms[:, 1], size=(draws, len(action_ids))
        )
        return values

    def learn_one(self, action_id: str, x: Features, reward: float) -> None:
        reward = min(1.0, max(0.0, float(reward)))
        alpha, beta = self._arm(action_id, x)
        self._arms[f"{action_id}|{self.segment(x)}"] = (alpha + reward, beta + 1.0 - reward)
        self._updates += 1

    def unlearn_one(self, action_id: str, x: Features, reward: float) -> bool:
        """Take back one :meth:`learn_one` exactly (the posterior is a sum of counts); used
        when a person is erased. ``False`` when the arm does not hold that much.

        >>> learner = BetaBernoulli(prior_rate=0.1, prior_strength=10)
        >>> learner.learn_one("a", {}, 1.0)
        >>> learner.unlearn_one("a", {}, 1.0), learner.to_state()["arms"]
        (True, {'a|all': [1.0, 9.0]})
        """
        reward = min(1.0, max(0.0, float(reward)))
        key = f"{action_id}|{self.segment(x)}"
        if key not in self._arms:
            return False
        alpha, beta = self._arms[key]
        prior = (self.prior_rate * self.prior_strength, (1 - self.prior_rate) * self.prior_strength)
        alpha, beta = alpha - reward, beta - (1.0 - reward)
        if alpha < prior[0] - 1e-9 or beta < prior[1] - 1e-9:
            return False
        self._arms[key] = (alpha, beta)
        self._updates = max(0, self._updates - 1)
        return True

    def to_state(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "settings": {
                "prior_rate": self.prior_rate,
                "prior_strength": self.prior_strength,
                "segment_by": list(self.segment_by),
            },
            "updates": self._updates,
            "arms": {key: list(ab) for key, ab in sorted(self._arms.items())},
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> BetaBernoulli:
        learner = cls(**state["settings"])
        learner._updates = int(state["updates"])
        learner._arms = {key: (float(a), float(b)) for key, (a, b) in state["arms"].items()}
        return learner
