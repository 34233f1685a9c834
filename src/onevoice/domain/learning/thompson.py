"""Thompson sampling over a decision's eligible actions, as arrays.

One call gives arbitration everything it needs from the learner: each action's posterior
mean, one Thompson draw per action (the exploring ranking), and how often each action
would rank first — or "no action" would — over ``draws`` posterior draws, the Monte Carlo
estimate of the Thompson propensity. All draws are made at once as a ``draws × actions``
array from the learner's :class:`~onevoice.domain.learning.base.BatchLearner` methods (a
plain :class:`~onevoice.domain.learning.base.Learner` works too, through ``sample``);
the first row is the ranking draw, exactly as before vectorising. The cost is one random
array and a few array operations, ``O(draws × actions)`` in numpy rather than Python.

>>> from onevoice.domain.learning.beta import BetaBernoulli
>>> drawn = thompson(BetaBernoulli(), ["a", "b"], {}, [100.0, 100.0], [1.0, 1.0], 200, 7)
>>> [round(m, 3) for m in drawn.means], len(drawn.first), len(drawn.first_choice)
([0.05, 0.05], 2, 3)
>>> round(sum(drawn.first_choice), 6)
1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np
from numpy.typing import NDArray

from onevoice.domain.learning.base import BatchLearner, Features, Learner


@dataclass(frozen=True, slots=True)
class Drawn:
    """Per action: posterior mean and the first (ranking) draw; ``first_choice[n]`` is the
    share of draws in which action ``n`` scored best and above 0, the last entry the share
    in which nothing did ("no action")."""

    means: list[float]
    first: list[float]
    first_choice: list[float]


def thompson(
    learner: Learner,
    action_ids: Sequence[str],
    x: Features,
    gains: Sequence[float],
    costs: Sequence[float],
    draws: int,
    seed: int,
) -> Drawn:
    """Posterior means, the ranking draw and first-choice shares for ``action_ids``.

    A draw's score of action ``n`` is ``p × gains[n] − costs[n]``; the first action with
    the highest score wins the draw if that score is above 0 (ties go to the earlier
    action, as a loop over the catalog would have it).
    """
    draws = max(1, draws)
    halves = getattr(learner, "predict_and_sample_tanh", None)
    if halves is not None:  # BayesianLogistic: the draws as 2p − 1, scored without σ
        means, t = halves(action_ids, x, draws, seed)
        t = t.reshape(draws, len(action_ids))
        ranking: list[float] = (0.5 * t[0] + 0.5).tolist()
        return Drawn(means.tolist(), ranking, _first_choice_tanh(t, gains, costs).tolist())
    both = getattr(learner, "predict_and_sample", None)
    if both is not None:  # one computation of the scores for both
        means, sampled = both(action_ids, x, draws, seed)
    elif batched(learner):
        means = np.asarray(learner.predict_many(action_ids, x), dtype=float)
        sampled = np.asarray(learner.sample_matrix(action_ids, x, draws, seed), dtype=float)
    else:
        means = np.array([learner.predict_one(a, x) for a in action_ids], dtype=float)
        sampled = np.asarray(learner.sample(action_ids, x, draws, seed), dtype=float)
    sampled = sampled.reshape(draws, len(action_ids))
    first: list[float] = sampled[0].tolist()
    return Drawn(means.tolist(), first, _first_choice(sampled, gains, costs).tolist())


def batched(learner: Learner) -> TypeGuard[BatchLearner]:
    """``isinstance(learner, BatchLearner)`` at a tenth of the cost (it runs per decision)."""
    return hasattr(learner, "sample_matrix") and hasattr(learner, "predict_many")


def _first_choice_tanh(
    t: NDArray[np.float32], gains: Sequence[float], costs: Sequence[float]
) -> NDArray[np.float64]:
    """:func:`_first_choice` of draws given as ``t = 2p − 1``, overwriting ``t``: the score
    ``p·g − c`` is ``t·(g/2) + (g/2 − c)``."""
    half = _single(gains)
    half *= 0.5
    offset = half - _single(costs)
    t *= half
    t += offset
    return _winners(t)


def _first_choice(
    sampled: NDArray[np.floating[Any]], gains: Sequence[float], costs: Sequence[float]
) -> NDArray[np.float64]:
    """Shares of the draws each action wins, in the draws' own precision (float32 from
    :class:`~onevoice.domain.learning.logistic.BayesianLogistic`: half the memory traffic)."""
    scores = sampled * np.array(gains).astype(sampled.dtype)
    scores -= np.array(costs).astype(sampled.dtype)
    return _winners(scores)


def _single(values: Sequence[float]) -> NDArray[np.float32]:
    """``values`` in single precision, by way of double: NumPy converts a list of Python
    floats straight to float32 five times slower than to float64 and then to float32."""
    return np.array(values, dtype=np.float64).astype(np.float32)


def _winners(scores: NDArray[np.floating[Any]]) -> NDArray[np.float64]:
    """Shares of the rows (draws) each column (action) wins with a score above 0; the
    last entry the share no action wins."""
    count = scores.shape[1]
    best = scores.argmax(axis=1)
    top = scores[np.arange(len(scores)), best]
    winners = np.where(top > 0.0, best, count)
    shares: NDArray[np.float64] = np.bincount(winners, minlength=count + 1) / len(scores)
    return shares
