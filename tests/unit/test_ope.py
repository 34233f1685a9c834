"""Off-policy estimators and the Thompson slate distribution, on worlds with known answers."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import onevoice.domain.measure.bts as bts_module
import onevoice.domain.measure.ope as ope_module
from onevoice.domain.errors import InvalidInput
from onevoice.domain.measure.bts import thompson_slate_distribution
from onevoice.domain.measure.ope import cell_rates, evaluate_slate_policy, ips

# A one-slot world: five items, a skewed logging policy, a different target policy.
MU = np.array([0.05, 0.10, 0.20, 0.30, 0.02])
LOGGING = np.array([0.40, 0.25, 0.15, 0.10, 0.10])
TARGET = np.array([0.05, 0.10, 0.40, 0.40, 0.05])
TRUE_VALUE = float(TARGET @ MU)


def _logs(seed: int, n: int = 2_000) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    items = rng.choice(len(MU), size=n, p=LOGGING).astype(np.int64)
    clicks = rng.binomial(1, MU[items]).astype(np.float64)
    return items, np.zeros(n, dtype=np.int64), clicks, LOGGING[items]


def test_the_docstring_examples_run() -> None:
    assert doctest.testmod(ope_module).failed == 0
    assert doctest.testmod(bts_module).failed == 0


def test_ips_snips_and_dr_are_unbiased_and_cover_the_true_value_about_95_percent() -> None:
    reps = 300
    values = np.zeros((reps, 3))
    covered = np.zeros(3)
    for seed in range(reps):
        items, slots, clicks, logged = _logs(seed)
        estimates = evaluate_slate_policy(items, slots, clicks, logged, TARGET[:, None])
        values[seed] = [e.value for e in estimates]
        covered += [e.lower <= TRUE_VALUE <= e.upper for e in estimates]
    spread = values.std(axis=0) / np.sqrt(reps)
    assert np.all(np.abs(values.mean(axis=0) - TRUE_VALUE) < 3 * spread)
    assert np.all((covered / reps >= 0.91) & (covered / reps <= 0.985)), covered / reps


def test_dr_with_a_good_reward_model_has_a_narrower_interval_than_ips() -> None:
    items, slots, clicks, logged = _logs(1, n=20_000)
    by_name = {
        e.estimator: e for e in evaluate_slate_policy(items, slots, clicks, logged, TARGET[:, None])
    }
    assert by_name["DR"].upper - by_name["DR"].lower < by_name["IPS"].upper - by_name["IPS"].lower


def test_a_zero_logged_propensity_is_refused() -> None:
    with pytest.raises(InvalidInput, match="above zero"):
        ips(np.ones(2), np.array([0.5, 0.0]), np.ones(2))


def test_cell_rates_shrink_sparse_cells_toward_their_slot_rate() -> None:
    items = np.array([0] * 100 + [1], dtype=np.int64)
    rates = cell_rates(
        items,
        np.zeros(101, dtype=np.int64),
        np.array([0.0] * 90 + [1.0] * 11),
        n_items=2,
        n_slots=1,
    )
    slot_rate = 11 / 101
    assert rates[1, 0] == pytest.approx((1 + 50 * slot_rate) / 51)
    assert rates[0, 0] < rates[1, 0]


def test_thompson_distribution_matches_the_closed_form_for_two_items() -> None:
    # X ~ Beta(2, 1), Y ~ Beta(1, 1): P(X > Y) = E[X] = 2/3.
    dist = thompson_slate_distribution(
        np.array([2.0, 1.0]), np.array([1.0, 1.0]), slots=2, draws=100_000, seed=5
    )
    assert dist[0, 0] == pytest.approx(2 / 3, abs=0.005)
    assert dist[0, 1] == pytest.approx(1 / 3, abs=0.005)
    assert np.allclose(dist.sum(axis=0), 1) and np.allclose(dist.sum(axis=1), 1)


def test_thompson_distribution_is_reproducible_from_its_seed() -> None:
    alpha, beta = np.array([3.0, 4.0, 5.0, 6.0]), np.array([30.0, 30.0, 30.0, 30.0])
    first = thompson_slate_distribution(alpha, beta, slots=3, draws=20_000, seed=9)
    again = thompson_slate_distribution(alpha, beta, slots=3, draws=20_000, seed=9)
    other = thompson_slate_distribution(alpha, beta, slots=3, draws=20_000, seed=10)
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_more_slots_than_items_is_refused() -> None:
    with pytest.raises(InvalidInput, match="slots"):
        thompson_slate_distribution(np.ones(2), np.ones(2), slots=3)
