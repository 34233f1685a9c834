"""Reports over a columnar decision log: lift with clustered intervals, ROI ranked,
respect, components and the budget curve — checked against logs whose truth is known."""

from __future__ import annotations

import doctest
import math
from dataclasses import replace

import numpy as np
import pytest

import onevoice.domain.measure.budget
import onevoice.domain.measure.reports
from onevoice.domain.errors import InvalidInput
from onevoice.domain.measure import budget, reports
from onevoice.domain.measure.decision_log import CONTROL, HOLDOUT, NONE, TREATED, empty_log
from onevoice.sim.decision_logs import ACTIONS, synthetic_log


def test_the_docstring_examples_hold() -> None:
    for module in (onevoice.domain.measure.reports, onevoice.domain.measure.budget):
        assert doctest.testmod(module).failed == 0


def test_a_clustered_lift_equals_welch_when_every_customer_decides_once() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(4000) < np.r_[np.full(2000, 0.3), np.full(2000, 0.2)]).astype(float)
    t = np.r_[np.ones(2000, bool), np.zeros(2000, bool)]
    result = reports.clustered_lift(y, np.arange(4000), t, ~t)
    assert result is not None
    se = math.sqrt(y[t].var(ddof=1) / 2000 + y[~t].var(ddof=1) / 2000)
    assert result.lift == pytest.approx(y[t].mean() - y[~t].mean())
    assert result.upper - result.lift == pytest.approx(1.96 * se, rel=0.01)


def test_repeated_decisions_of_one_customer_widen_the_interval() -> None:
    """Ten identical decisions per customer carry the information of one: the clustered
    interval is √10 times as wide as one that counts them as independent."""
    rng = np.random.default_rng(2)
    per_customer = (rng.random(2000) < 0.3).astype(float)
    y = np.repeat(per_customer, 10)
    who = np.repeat(np.arange(2000), 10)
    t = who < 1000
    clustered = reports.clustered_lift(y, who, t, ~t)
    naive = reports.clustered_lift(y, np.arange(y.size), t, ~t)
    assert clustered is not None and naive is not None
    ratio = (clustered.upper - clustered.lower) / (naive.upper - naive.lower)
    assert ratio == pytest.approx(math.sqrt(10), rel=0.05)


def test_lift_per_action_covers_the_true_lift_of_a_synthetic_world() -> None:
    log = synthetic_log(400_000, seed=3)
    rows = {(r.key, r.outcome): r for r in reports.lift_report(log, by="action")}
    covered = 0
    for action in ACTIONS:
        row = rows[(action.name, "conversion")]
        # the true effect at the world's own daily load (saturation as generated)
        shown = (log.group == TREATED) & (log.action == log.actions.index(action.name))
        per_day = np.bincount((log.at[shown] // 86400).astype(int)).astype(float)
        truth = action.lift * float(np.mean(np.exp(-per_day / action.saturation)))
        covered += row.lower <= truth <= row.upper
    assert covered >= 3  # four 95% intervals: all four cover most of the time
    retention = rows[("retention_offer", "conversion")]
    assert retention.lower <= 0 <= retention.upper  # it earns nothing, and the log says so
    assert retention.verdict == "not enough data yet"


def test_an_arm_with_a_handful_of_decisions_is_not_enough_data() -> None:
    log = synthetic_log(3_000, seed=4, control=0.01)
    for row in reports.lift_report(log, by="action"):
        assert row.control_n < reports.MIN_ARM
        assert row.verdict == "not enough data yet" and row.needed_per_arm is not None


def test_lift_against_the_holdout_is_by_channel_or_segment_not_by_action() -> None:
    log = synthetic_log(50_000, seed=5)
    rows = reports.lift_report(log, by="channel", against="holdout")
    assert {r.key for r in rows} == set(log.channels)
    first = log.first_decisions  # customers, each counted once, from its first decision
    assert sum(r.treated_n + r.control_n for r in rows if r.outcome == "revenue") == first.size
    for r in rows:
        held = (log.group[first] == HOLDOUT) & (log.channel[first] == log.channels.index(r.key))
        assert r.control_n == int(np.count_nonzero(held))
    (customers,) = (r for r in reports.lift_report(log, by="all", against="holdout")
                    if r.outcome == "conversion")  # fmt: skip
    assert customers.treated_mean > customers.control_mean  # contacts raise later orders
    with pytest.raises(InvalidInput) as error:
        reports.lift_report(log, by="action", against="holdout")
    assert error.value.field == "by"
    with pytest.raises(InvalidInput) as error:
        reports.lift_report(log, by="colour")
    assert error.value.field == "by"


def test_roi_ranks_programs_by_net_incremental_revenue() -> None:
    log = synthetic_log(400_000, seed=6)
    rows = reports.roi_report(log)
    assert [r.rank for r in rows] == list(range(1, len(rows) + 1))
    assert [r.net for r in rows] == sorted((r.net for r in rows), reverse=True)
    assert rows[0].key == "mortgages" and rows[-1].key == "retention"  # the one that earns nothing
    top = rows[0]
    assert top.net == pytest.approx(top.incremental_revenue - top.cost)
    assert top.roi == pytest.approx(top.net / top.cost)
    assert top.cost_per_incremental_conversion == pytest.approx(
        top.cost / top.incremental_conversions
    )
    assert top.net_lower < top.net < top.net_upper


def test_roi_against_the_holdout_charges_every_contact_of_the_treated_customers() -> None:
    log = synthetic_log(50_000, seed=12)
    (row,) = reports.roi_report(log, by="all", against="holdout")
    held = np.isin(log.subject, log.subject[log.group == HOLDOUT])
    assert row.cost == pytest.approx(float(log.cost[~held].sum()))
    assert row.contacts == int(np.count_nonzero((log.group == TREATED) & ~held))
    assert row.net == pytest.approx(row.incremental_revenue - row.cost)


def test_respect_counts_messages_unsubscribes_and_erosion() -> None:
    log = replace(
        empty_log(0.0, 14 * 86400.0),
        subject=np.array([0, 0, 1, 2, 3]),
        at=np.zeros(5),
        action=np.array([0, 0, 0, -1, 0], np.int32),
        channel=np.array([0, 0, 1, 0, 0], np.int16),
        segment=np.zeros(5, np.int16),
        group=np.array([TREATED, TREATED, TREATED, NONE, CONTROL], np.int8),
        component=np.zeros(5, np.int8),
        converted=np.zeros(5),
        revenue=np.zeros(5),
        cost=np.zeros(5),
        unsubscribed=np.array([False, True, False, False, False]),
        complained=np.zeros(5, bool),
        later_orders=np.zeros(5),
        later_revenue=np.zeros(5),
        actions=("offer",),
        programs=("p",),
        program_of=np.zeros(1, np.int16),
        channels=("email", "web"),
        segments=("known",),
    )
    (row,) = reports.respect_report(log, by="action")
    assert (row.contacts, row.messages, row.customers, row.unsubscribes) == (3, 2, 2, 1)
    assert row.messages_per_customer_week == pytest.approx(2 / 4 / 2)
    assert row.unsubscribe_rate == pytest.approx(1 / 3)
    assert row.unsubscribe_lower < 1 / 3 < row.unsubscribe_upper
    assert row.erosion_per_year == pytest.approx(1 / 4 / (2 / 52.18))


def test_components_show_what_choosing_the_best_action_earns() -> None:
    log = synthetic_log(600_000, seed=7, component_share=0.05)
    rows = {(r.component, r.outcome): r for r in reports.components_report(log)}
    assert set(c for c, _o in rows) == set(log.components)
    random_action = rows[("random_action", "contacts")]
    assert random_action.upper < 0  # the random arm contacts more than the engine does
    assert rows[("random_action", "conversion")].lower > 0  # and converts worse
    same = [rows[(name, "conversion")] for name in ("propensity_only", "no_fatigue", "no_intent")]
    assert sum(not r.lower <= 0 <= r.upper for r in same) <= 1  # no true difference: 95% each


def test_the_budget_curve_finds_diminishing_returns() -> None:
    x = np.linspace(100, 2000, 40)
    rng = np.random.default_rng(8)
    y = budget.saturating(x, 5000.0, 800.0) + rng.normal(0, 50, x.size)
    params = budget.fit(x, y)
    assert params is not None
    assert params[0] == pytest.approx(5000, rel=0.1) and params[1] == pytest.approx(800, rel=0.15)


def test_a_budget_report_answers_each_change_with_a_band_and_ranks_programs() -> None:
    log = synthetic_log(400_000, seed=9, days=42, load=1.0)
    rows, curves = budget.budget_report(log, (-0.1, 0.1), draws=50)
    by = {(r.program, r.change): r for r in rows}
    up = by[("mortgages", 0.1)]
    assert up.delta_lower <= up.delta <= up.delta_upper
    assert up.delta > 0 and by[("mortgages", -0.1)].delta < 0
    assert up.rank == 1  # the mortgage contact earns most at the margin
    assert {c.program for c in curves} == {r.program for r in rows if r.rank}
    with pytest.raises(InvalidInput) as error:
        budget.budget_report(log, (-2.0,))
    assert error.value.field == "change"


def test_a_short_history_says_not_enough_data_for_a_curve() -> None:
    log = synthetic_log(20_000, seed=10, days=2)
    rows, curves = budget.budget_report(log, (0.1,), draws=10)
    assert curves == [] and all(r.note.startswith("not enough data yet") for r in rows)


def test_an_empty_log_gives_empty_reports() -> None:
    log = empty_log(0.0, 86400.0)
    assert reports.lift_report(log) == [] and reports.roi_report(log) == []
    assert reports.respect_report(log) == [] and reports.components_report(log) == []
    assert budget.budget_report(log) == ([], [])


def test_as_dicts_turns_missing_and_infinite_figures_into_none() -> None:
    log = synthetic_log(20_000, seed=11)
    plain = reports.as_dicts(reports.roi_report(log))
    assert all(v is None or not isinstance(v, float) or math.isfinite(v)
               for row in plain for v in row.values())  # fmt: skip
