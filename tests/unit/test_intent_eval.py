"""The statistics of ``onevoice eval intents``: AUC and the bootstrap interval of its gain."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from onevoice.intent_eval import _WeightedAuc, auc, auc_gain_interval


def _world(seed: int = 1, people: int = 300, per: int = 20) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    customer = np.repeat(np.arange(people), per)
    truth = rng.random(customer.size) < 0.3
    return customer, truth


def test_weighted_auc_with_unit_weights_is_the_mann_whitney_auc_ties_counted_half() -> None:
    _customer, truth = _world()
    scores = np.round(np.random.default_rng(2).random(truth.size) + truth * 0.3, 1)  # ties
    assert abs(_WeightedAuc(scores, truth)(np.ones(truth.size)) - auc(scores, truth)) < 1e-12
    assert abs(auc(scores, truth) - roc_auc_score(truth, scores)) < 1e-12


def test_a_weight_of_two_counts_a_snapshot_twice() -> None:
    customer, truth = _world(people=40, per=5)
    scores = np.random.default_rng(3).random(truth.size) + truth * 0.5
    weight = np.where(customer % 2 == 0, 2.0, 1.0)
    doubled = np.repeat(np.arange(truth.size), weight.astype(int))
    assert (
        abs(_WeightedAuc(scores, truth)(weight) - roc_auc_score(truth[doubled], scores[doubled]))
        < 1e-12
    )


def _interval(signal: float, baseline_signal: float) -> tuple[float, float, float]:
    """The gain interval of a model reading ``signal`` over one reading ``baseline_signal``
    (each plus its own noise), and the gain itself."""
    customer, truth = _world()
    noise = np.random.default_rng(4)
    baseline = truth * baseline_signal + noise.normal(size=truth.size)
    model = truth * signal + noise.normal(size=truth.size)
    low, high = auc_gain_interval(model, baseline, truth, customer)
    return low, auc(model, truth) - auc(baseline, truth), high


def test_a_clearly_better_model_has_an_interval_above_zero() -> None:
    low, gain, high = _interval(1.5, 0.5)
    assert 0 < low < gain < high


def test_two_equally_good_models_have_an_interval_around_zero() -> None:
    low, _gain, high = _interval(0.8, 0.8)
    assert low < 0 < high


def test_customers_with_many_snapshots_widen_the_interval() -> None:
    """Resampling whole customers: 20 snapshots of one customer are not 20 customers."""
    rng = np.random.default_rng(6)
    people, per = 100, 30
    customer = np.repeat(np.arange(people), per)
    truth = np.repeat(rng.random(people) < 0.4, per)  # a customer's truth is shared
    mood = np.repeat(rng.normal(size=people), per)  # as is how each model reads them
    one = truth * 1.0 + mood + 0.1 * rng.normal(size=truth.size)
    other = truth * 1.0 + 0.1 * rng.normal(size=truth.size)
    low, high = auc_gain_interval(one, other, truth, customer)
    alone = auc_gain_interval(one, other, truth, np.arange(truth.size))
    assert high - low > 2 * (alone[1] - alone[0])
