"""Off-policy evaluation: the value another policy would have had, from a logged policy.

Each logged row has the reward ``r`` of the action shown, the logging policy's propensity
``p`` of showing it and the evaluated policy's probability ``π`` of showing it in the
same place, so its importance weight is ``w = π / p``.

- **IPS** (inverse propensity): ``mean(w·r)``. Unbiased when ``p > 0`` wherever ``π > 0``.
- **SNIPS** (self-normalised): ``Σ w·r / Σ w``. Slightly biased, much less variable when
  weights are large.
- **DR** (doubly robust): ``mean(Σₐ π(a)·q̂(a) + w·(r − q̂(shown)))`` with a reward model
  ``q̂``: unbiased if either the propensities or the model are right, and less variable
  than IPS when the model is good. Here ``q̂`` is a click rate per (item, position) shrunk
  toward its position's rate and *cross-fitted*: each row is scored by a model fitted on
  the other folds, so a row never corrects its own prediction.

Each comes with a 95% normal interval from the spread of its per-row terms (SNIPS by the
delta method for a ratio), which is what the sample's size supports; no bootstrap.

>>> reward = np.array([1.0, 0.0, 0.0, 1.0])
>>> logged = np.full(4, 0.5)
>>> target = np.array([1.0, 0.0, 1.0, 1.0])
>>> ips(reward, logged, target).value, snips(reward, logged, target).value
(1.0, 0.6666666666666666)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from onevoice.domain.errors import InvalidInput

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

PRIOR_ROWS = 50.0
FOLDS = 5


@dataclass(frozen=True)
class Estimate:
    """One estimator's value of the evaluated policy, with its interval."""

    estimator: str
    value: float
    lower: float
    upper: float


def _normal(name: str, terms: Floats, level: float, centre: float | None = None) -> Estimate:
    n = len(terms)
    value = float(np.mean(terms)) if centre is None else centre
    se = float(np.std(terms, ddof=1)) / math.sqrt(n) if n > 1 else math.inf
    z = NormalDist().inv_cdf(0.5 + level / 2)
    return Estimate(name, value, value - z * se, value + z * se)


def _weights(reward: Floats, logged: Floats, target: Floats) -> Floats:
    if not len(reward) == len(logged) == len(target) or len(reward) == 0:
        raise InvalidInput("reward, logged and target propensities need one value per row")
    if np.any(logged <= 0):
        raise InvalidInput("every logged propensity must be above zero", field="propensity")
    return target / logged


def ips(reward: Floats, logged: Floats, target: Floats, *, level: float = 0.95) -> Estimate:
    """Inverse propensity scoring, see the module doc."""
    return _normal("IPS", _weights(reward, logged, target) * reward, level)


def snips(reward: Floats, logged: Floats, target: Floats, *, level: float = 0.95) -> Estimate:
    """Self-normalised IPS; interval by the delta method for a ratio of means."""
    w = _weights(reward, logged, target)
    total = float(np.sum(w))
    if total == 0:
        raise InvalidInput("the evaluated policy never takes a logged action")
    value = float(np.sum(w * reward)) / total
    return _normal("SNIPS", w * (reward - value) / float(np.mean(w)) + value, level, value)


def dr(
    reward: Floats,
    logged: Floats,
    target: Floats,
    predicted: Floats,
    expected: Floats,
    *,
    level: float = 0.95,
) -> Estimate:
    """Doubly robust: ``predicted`` is q̂ of the shown action, ``expected`` Σₐ π(a)·q̂(a).

    >>> reward = np.array([1.0, 0.0])
    >>> dr(reward, np.full(2, 0.5), np.full(2, 0.5), np.full(2, 0.5), np.full(2, 0.5)).value
    0.5
    """
    w = _weights(reward, logged, target)
    return _normal("DR", expected + w * (reward - predicted), level)


def cell_rates(items: Ints, slots: Ints, reward: Floats, *, n_items: int, n_slots: int) -> Floats:
    """Mean reward per (item, slot), shrunk toward the slot's mean with ``PRIOR_ROWS``.

    >>> cell_rates(np.array([0, 0]), np.array([0, 0]), np.array([1.0, 1.0]), n_items=2,
    ...            n_slots=1).tolist()
    [[1.0], [1.0]]
    """
    shown = np.zeros((n_items, n_slots))
    won = np.zeros((n_items, n_slots))
    np.add.at(shown, (items, slots), 1.0)
    np.add.at(won, (items, slots), reward)
    per_slot = won.sum(axis=0) / np.maximum(shown.sum(axis=0), 1.0)
    result: Floats = (won + PRIOR_ROWS * per_slot) / (shown + PRIOR_ROWS)
    return result


def cross_fitted_cells(
    items: Ints,
    slots: Ints,
    reward: Floats,
    action_dist: Floats,
    *,
    folds: int = FOLDS,
    seed: int = 0,
) -> tuple[Floats, Floats]:
    """Per row, q̂(shown item, slot) and Σₐ π(a, slot)·q̂(a, slot), fitted out of fold.

    ``action_dist[item, slot]`` is the evaluated policy's probability of each item in each
    slot. Rows are dealt into ``folds`` folds at random (seeded).
    """
    n_items, n_slots = action_dist.shape
    fold = np.random.default_rng(seed).permutation(len(reward)) % folds
    predicted = np.zeros(len(reward))
    expected = np.zeros(len(reward))
    for f in range(folds):
        out, inside = fold == f, fold != f
        q = cell_rates(
            items[inside], slots[inside], reward[inside], n_items=n_items, n_slots=n_slots
        )
        predicted[out] = q[items[out], slots[out]]
        expected[out] = (action_dist * q).sum(axis=0)[slots[out]]
    return predicted, expected


def evaluate_slate_policy(
    items: Ints,
    slots: Ints,
    reward: Floats,
    logged: Floats,
    action_dist: Floats,
    *,
    level: float = 0.95,
    seed: int = 0,
) -> list[Estimate]:
    """IPS, SNIPS and DR of a context-free slate policy on logged (item, slot, reward).

    The value is the mean reward per shown slot, as in the logs.

    >>> dist = np.array([[1.0], [0.0]])  # always item 0
    >>> items, slots = np.array([0, 1, 0, 1]), np.zeros(4, dtype=np.int64)
    >>> rows = evaluate_slate_policy(items, slots, np.array([1.0, 0, 1, 0]), np.full(4, 0.5), dist)
    >>> [(e.estimator, round(e.value, 3)) for e in rows]
    [('IPS', 1.0), ('SNIPS', 1.0), ('DR', 1.167)]
    """
    n_items, n_slots = action_dist.shape
    if np.any(items < 0) or np.any(items >= n_items):
        raise InvalidInput(f"item ids must be between 0 and {n_items - 1}", field="item_id")
    if np.any(slots < 0) or np.any(slots >= n_slots):
        raise InvalidInput(f"positions must be between 1 and {n_slots}", field="position")
    target = action_dist[items, slots]
    predicted, expected = cross_fitted_cells(items, slots, reward, action_dist, seed=seed)
    return [
        ips(reward, logged, target, level=level),
        snips(reward, logged, target, level=level),
        dr(reward, logged, target, predicted, expected, level=level),
    ]
