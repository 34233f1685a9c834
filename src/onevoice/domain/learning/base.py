"""What every adaptive model speaks, and how responses become rewards.

A learner estimates P(positive response | action, features) and is uncertain about it.
``predict_one`` gives the posterior mean; ``sample`` gives posterior draws for Thompson
sampling (and for estimating the probability with which a decision was picked);
``learn_one`` folds in one reward in [0, 1]. Randomness comes only from the ``seed``
given to ``sample``. ``to_state`` is plain JSON, so a model survives a restart:
``onevoice.domain.learning.load(learner.to_state())`` rebuilds it. A learner may also
speak :class:`BatchLearner` — the same answers for many actions at once, as arrays —
which arbitration uses when it can (:mod:`onevoice.domain.learning.thompson`).

Rewards (one per decision, joined by ``decision_id``; see :func:`decision_reward`):

===============  ======  ==============================================================
outcome          reward  why
===============  ======  ==============================================================
convert, accept  1.0     the action did what it was for
click            0.5     interest shown, not yet acceptance
dismiss          0.0     a clear "no"
complaint        0.0     a "no" that also triggers the policy's complaint cooldown
unsubscribe      0.0     a "no" that also withdraws consent for the channel
no_response      0.0     the conversation window closed with nothing but an impression
impression       —       exposure alone is not an outcome: wait for the response
===============  ======  ==============================================================

>>> decision_reward(["impression", "click", "convert"])
1.0
>>> decision_reward(["impression", "click", "complaint"])
0.0
>>> decision_reward(["impression"]) is None
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

#: Features of a decision: name → number (one-hot for categories, e.g. ``channel=web``).
Features = Mapping[str, float]

REWARDS: Mapping[str, float] = {
    "convert": 1.0,
    "accept": 1.0,
    "click": 0.5,
    "dismiss": 0.0,
    "complaint": 0.0,
    "unsubscribe": 0.0,
    "no_response": 0.0,
}
NEGATIVE = frozenset({"dismiss", "complaint", "unsubscribe"})


def decision_reward(outcomes: Iterable[str]) -> float | None:
    """The reward of one decision from all its outcomes; ``None`` while only exposed.

    A "no" (dismiss, complaint, unsubscribe) outweighs anything else seen; otherwise the
    best outcome counts. Unknown outcome names are ignored.
    """
    seen = [o for o in outcomes if o in REWARDS]
    if not seen:
        return None
    if NEGATIVE.intersection(seen):
        return 0.0
    return max(REWARDS[o] for o in seen)


class Learner(Protocol):
    """An online Bayesian model of response probability, one posterior per action."""

    @property
    def version(self) -> str:
        """Kind and number of updates, e.g. ``bayes-logistic@1204``: logged with decisions."""
        ...

    def predict_one(self, action_id: str, x: Features) -> float:
        """Posterior mean probability of a positive response."""
        ...

    def sample(
        self, action_ids: Sequence[str], x: Features, draws: int, seed: int
    ) -> list[list[float]]:
        """``draws`` rows of posterior probability draws, one column per action."""
        ...

    def learn_one(self, action_id: str, x: Features, reward: float) -> None:
        """Fold in one reward in [0, 1] for ``action_id`` shown with features ``x``."""
        ...

    def to_state(self) -> dict[str, Any]:
        """Plain-JSON state, with a ``kind`` key naming the learner."""
        ...


@runtime_checkable
class BatchLearner(Learner, Protocol):
    """A learner that answers for many actions in one call (numpy arrays, no Python loop).

    ``predict_many`` gives what ``predict_one`` gives for each action, and
    ``sample_matrix(...).tolist()`` is exactly ``sample(...)`` for the same seed.
    """

    def predict_many(self, action_ids: Sequence[str], x: Features) -> Any:
        """Posterior mean probabilities, a float array of ``len(action_ids)``."""
        ...

    def sample_matrix(self, action_ids: Sequence[str], x: Features, draws: int, seed: int) -> Any:
        """Posterior probability draws, a float array of shape ``(draws, len(action_ids))``."""
        ...


@runtime_checkable
class Unlearner(Learner, Protocol):
    """A learner whose state is counts, so one person's rewards can be taken back exactly
    (erasure). Learners that are not (a Laplace-approximated posterior) are retrained from
    the decision log without that person instead."""

    def unlearn_one(self, action_id: str, x: Features, reward: float) -> bool:
        """Undo one ``learn_one``; ``False`` if the state does not hold it."""
        ...
