"""Do the reports' 95% intervals cover the simulator's true incremental effect ~95% of
the time? Repeated seeded worlds, each run twice on the same random draws:

- with the *static rules* policy and a random universal holdout of customers (half of
  them, so each world's estimate is sharp enough to matter), and
- with *nothing* done to anyone (the counterfactual of every customer).

The report estimates, from the first world alone, the lift of the treated customers over
the holdout on conversion (ordered at all) and revenue, and the net incremental revenue
and ROI (revenue − the contacts' cost from Harbour Bank's catalog), with the same code
the API runs (:func:`onevoice.domain.measure.reports.lift_report`, ``roi_report``). The
truth is the treated customers' own difference between the two worlds (common random
numbers: the same customer faces the same draws in both, so the difference is what the
contacts changed); beside it, the truth table's expected incremental value of every
contact made (``incremental_value`` in :mod:`onevoice.sim.truth`, which ignores that two
contacts for one intent cannot both win it) is reported as a second reference.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from onevoice.domain.measure import reports
from onevoice.domain.measure.decision_log import HOLDOUT, TREATED, DecisionLog
from onevoice.sim import catalog as cat
from onevoice.sim.policies import Nothing, StaticRules
from onevoice.sim.policies.base import Decisions, Moments, Responses
from onevoice.sim.policies.onevoice import harbour_bank_catalog
from onevoice.sim.runner import World, WorldConfig, simulate
from onevoice.sim.view import CustomerView

END = datetime(2026, 6, 1, tzinfo=UTC)
HOLDOUT_SHARE = 0.5


class WithHoldout:
    """Any policy, with a fixed set of customers it never contacts."""

    def __init__(self, inner: Any, members: NDArray[np.bool_]) -> None:
        self.inner = inner
        self.members = members
        self.name = f"{inner.name}+holdout"

    def decide(self, moments: Moments, view: CustomerView) -> Decisions:
        decisions: Decisions = self.inner.decide(moments, view)
        decisions.action[self.members[moments.customer]] = cat.NO_ACTION
        return decisions

    def learn(self, responses: Responses) -> None:
        self.inner.learn(responses)


def costs_from_catalog() -> NDArray[np.float64]:
    """Contact cost per (sim action, channel) from Harbour Bank's catalog file."""
    table = np.zeros((len(cat.ACTIONS), len(cat.CHANNELS)))
    for action in harbour_bank_catalog()["actions"]:
        cost = action.get("cost", 0.0)
        costs = cost if isinstance(cost, dict) else {"default": cost}
        index = cat.ACTION_INDEX[action["id"]]
        for c, channel in enumerate(cat.CHANNELS):
            table[index, c] = float(costs.get(channel, costs.get("default", 0.0)))
    return table


def _orders(world: World) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rows = world.rows
    order = rows.content == cat.ORDER
    n = world.config.customers
    count = np.bincount(rows.customer[order], minlength=n).astype(np.float64)
    revenue = np.bincount(rows.customer[order], weights=rows.amount[order], minlength=n)
    return count, revenue


@dataclass(frozen=True)
class Trial:
    seed: int
    covered: dict[str, bool]
    covered_expected: bool
    estimate: dict[str, float]
    truth: dict[str, float]
    holdout_unchanged: bool


def trial(seed: int, customers: int, days: int, costs: NDArray[np.float64]) -> Trial:
    config = WorldConfig(customers=customers, days=days, seed=seed, end=END)
    members = np.random.default_rng([seed, 99]).random(customers) < HOLDOUT_SHARE
    treated_world = simulate(config, WithHoldout(StaticRules(), members))
    untreated_world = simulate(config, Nothing())
    orders, revenue = _orders(treated_world)
    orders0, revenue0 = _orders(untreated_world)
    contacts = treated_world.truth.contacts
    who = contacts["customer"].astype(np.int64)
    spent = costs[contacts["action"].astype(np.int64), contacts["channel"].astype(np.int64)]
    cost = np.bincount(who, weights=spent, minlength=customers)
    log = _customer_log(members, orders, revenue, cost, days)
    lift = {r.outcome: r for r in reports.lift_report(log, by="all", against="holdout")}
    (roi,) = reports.roi_report(log, by="all", against="holdout")
    treated = ~members
    total_cost = float(cost[treated].sum())
    true_conv = float(np.mean(orders[treated] > 0) - np.mean(orders0[treated] > 0))
    true_rev = float(np.mean(revenue[treated] - revenue0[treated]))
    true_net = true_rev * int(treated.sum()) - total_cost
    expected_net = float(contacts["incremental_value"].sum()) - total_cost
    truth = {"conversion": true_conv, "revenue": true_rev, "net": true_net,
             "roi": true_net / total_cost}  # fmt: skip
    estimate = {"conversion": lift["conversion"].estimate, "revenue": lift["revenue"].estimate,
                "net": roi.net, "roi": roi.roi}  # fmt: skip
    bounds = {
        "conversion": (lift["conversion"].lower, lift["conversion"].upper),
        "revenue": (lift["revenue"].lower, lift["revenue"].upper),
        "net": (roi.net_lower, roi.net_upper),
        "roi": (roi.roi_lower, roi.roi_upper),
    }
    covered = {k: bounds[k][0] <= truth[k] <= bounds[k][1] for k in truth}
    unchanged = bool(np.array_equal(orders[members], orders0[members]))
    return Trial(seed, covered, roi.net_lower <= expected_net <= roi.net_upper, estimate, truth,
                 unchanged)  # fmt: skip


def _customer_log(
    members: NDArray[np.bool_],
    orders: NDArray[np.float64],
    revenue: NDArray[np.float64],
    cost: NDArray[np.float64],
    days: int,
) -> DecisionLog:
    """One row per customer, entering at the start of the run."""
    n = members.size
    zeros = np.zeros(n)
    return DecisionLog(
        subject=np.arange(n, dtype=np.int64), at=zeros, action=np.full(n, -1, np.int32),
        channel=np.zeros(n, np.int16), segment=np.zeros(n, np.int16),
        group=np.where(members, HOLDOUT, TREATED).astype(np.int8),
        component=np.zeros(n, np.int8), converted=zeros, revenue=zeros, cost=cost,
        unsubscribed=np.zeros(n, bool), complained=np.zeros(n, bool),
        later_orders=orders, later_revenue=revenue, actions=(), programs=(),
        program_of=np.zeros(0, np.int16), channels=("all",), segments=("all",),
        components=(), start=0.0, end=days * 86400.0,
    )  # fmt: skip


def coverage(seeds: int, customers: int, days: int) -> list[Trial]:
    costs = costs_from_catalog()
    return [trial(seed, customers, days, costs) for seed in range(seeds)]


def coverage_rows(*, quick: bool = False) -> list[dict[str, Any]]:
    seeds, customers, days = (20, 2_000, 28) if quick else (200, 5_000, 28)
    started = time.perf_counter()
    trials = coverage(seeds, customers, days)
    took = time.perf_counter() - started
    rows = []
    for key in ("conversion", "revenue", "net", "roi"):
        share = np.mean([t.covered[key] for t in trials])
        truth = np.mean([t.truth[key] for t in trials])
        est = np.mean([t.estimate[key] for t in trials])
        rows.append({
            "benchmark": f"coverage of the 95% interval: {key} (static rules vs holdout)",
            "result": f"{share:.1%} of {seeds} seeds",
            "target": "~95%",
            "note": f"mean estimate {est:.4g}, mean truth {truth:.4g}; "
                    f"{customers:,} customers × {days} days",
        })  # fmt: skip
    expected = np.mean([t.covered_expected for t in trials])
    unchanged = np.mean([t.holdout_unchanged for t in trials])
    rows.append({
        "benchmark": "… net revenue interval covers the truth table's expected value",
        "result": f"{expected:.1%} of {seeds} seeds",
        "target": "(reference)",
        "note": f"holdout customers identical in both worlds in {unchanged:.0%} of seeds; "
                f"{took:.0f} s",
    })  # fmt: skip
    return rows


if __name__ == "__main__":
    for row in coverage_rows(quick=True):
        print(row)
