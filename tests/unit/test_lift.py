"""Lift of a treated arm over its control: known answers, coverage, the not-enough rule."""

from __future__ import annotations

import doctest
import math
import statistics

import numpy as np
import pytest

import onevoice.domain.measure.lift as lift_module
from onevoice.domain.errors import InvalidInput
from onevoice.domain.measure.lift import lift, lift_table, needed_per_arm


def test_the_docstring_examples_run() -> None:
    assert doctest.testmod(lift_module).failed == 0


def test_lift_matches_a_hand_computed_welch_interval_and_p_value() -> None:
    treated = np.array([3.0, 5.0, 4.0, 6.0, 7.0, 5.0])
    control = np.array([2.0, 3.0, 4.0, 3.0, 2.0])
    result = lift(treated, control)
    diff = statistics.mean(treated) - statistics.mean(control)
    se = math.sqrt(statistics.variance(treated) / 6 + statistics.variance(control) / 5)
    assert result.lift == pytest.approx(diff)
    assert result.lower == pytest.approx(diff - 1.959964 * se, rel=1e-6)
    assert result.upper == pytest.approx(diff + 1.959964 * se, rel=1e-6)
    assert result.p_value == pytest.approx(2 * (1 - statistics.NormalDist().cdf(diff / se)))
    assert result.relative == pytest.approx(statistics.mean(treated) / 2.8 - 1)


def test_the_absolute_and_relative_intervals_cover_the_true_lift_about_95_percent() -> None:
    rng = np.random.default_rng(7)
    p_t, p_c, reps = 0.15, 0.10, 600
    absolute = relative = 0
    for _ in range(reps):
        result = lift(rng.binomial(1, p_t, 2_000).astype(float), rng.binomial(1, p_c, 2_000))
        absolute += result.lower <= p_t - p_c <= result.upper
        relative += result.relative_lower <= p_t / p_c - 1 <= result.relative_upper
    assert 0.92 <= absolute / reps <= 0.98
    assert 0.92 <= relative / reps <= 0.98


def test_an_interval_containing_zero_says_not_enough_data_yet_with_a_size() -> None:
    result = lift(np.array([1.0, 0.0, 1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0, 0.0, 0.0]))
    assert result.verdict == "not enough data yet" and not result.enough
    assert result.needed_per_arm is not None and result.needed_per_arm > 5


def test_the_needed_size_detects_a_true_lift_of_that_size_about_80_percent_of_the_time() -> None:
    p_t, p_c = 0.12, 0.10
    n = needed_per_arm(p_t * (1 - p_t), p_c * (1 - p_c), p_t - p_c)
    assert n is not None
    rng = np.random.default_rng(3)
    told = sum(
        lift(rng.binomial(1, p_t, n).astype(float), rng.binomial(1, p_c, n).astype(float)).lower > 0
        for _ in range(300)
    )
    assert 0.72 <= told / 300 <= 0.88


def test_a_single_customer_arm_gives_no_interval_and_no_size() -> None:
    result = lift(np.array([1.0]), np.array([0.0, 1.0, 0.0]))
    assert result.verdict == "not enough data yet" and result.needed_per_arm is None
    assert math.isinf(result.upper)


def test_a_control_mean_of_zero_leaves_the_relative_lift_undefined() -> None:
    result = lift(np.array([1.0, 0.0, 1.0]), np.zeros(3))
    assert math.isnan(result.relative) and result.lift == pytest.approx(2 / 3)


def test_the_table_compares_every_arm_with_the_control_in_every_group() -> None:
    arms = ["a", "b", "c", "a", "b", "c", "a", "b", "c", "a", "b", "c"]
    groups = ["x"] * 6 + ["y"] * 6
    outcome = np.arange(12, dtype=float)
    rows = lift_table(arms, "c", {"o": outcome, "p": outcome * 2}, groups)
    assert [(r.group, r.arm, r.outcome) for r in rows] == [
        (g, a, o) for g in "xy" for a in "ab" for o in "op"
    ]
    first = rows[0].result
    assert (first.n, first.mean, first.control_mean) == (2, 1.5, 3.5)


def test_an_unknown_control_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput, match="'none'") as error:
        lift_table(["a", "b"], "none", {"o": np.array([1.0, 0.0])})
    assert error.value.field == "control"
