"""Comparing policies on one world: what each earns, costs and erodes, against doing nothing.

Every policy runs on the same config and seed, so the customers, their intents and the
random draws are the same, and the difference to the ``nothing`` run is the policy's
incremental effect (paired, by common random numbers). The truth's own expected
incremental conversions are reported beside it as a check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from onevoice.sim import catalog as cat
from onevoice.sim.policies.base import Policy
from onevoice.sim.response import KIND, TARGET
from onevoice.sim.runner import World, WorldConfig, simulate

SERIES = ("conversions", "sent", "unsubscribes", "complaints", "contactable")


@dataclass(frozen=True, slots=True)
class PolicyReport:
    """One policy's totals over the run (``incremental_*`` vs the ``nothing`` run)."""

    policy: str
    customers: int
    days: int
    conversions: int
    revenue: float
    incremental_conversions: int | None
    incremental_revenue: float | None
    expected_incremental_conversions: float  # from the ground truth of each contact
    sent: int
    shown: int
    responses: int
    unsubscribes: int
    complaints: int
    churned: int
    contactable_start: int
    contactable_end: int
    weekly: Mapping[str, list[float]]

    @property
    def messages_per_customer_week(self) -> float:
        return self.sent / self.customers / (self.days / 7)

    @property
    def erosion_per_year(self) -> float:
        """Share of the contactable base lost, scaled to a year."""
        lost = (self.contactable_start - self.contactable_end) / max(self.contactable_start, 1)
        return lost * 365 / self.days


def report(world: World, baseline: World | None = None) -> PolicyReport:
    """Totals of one world, and its increments over ``baseline`` (same config)."""
    daily = world.truth.daily
    total = {key: sum(day[key] for day in daily) for key in (
        "conversions", "revenue", "sent", "shown", "responses", "unsubscribes", "complaints",
        "churned")}  # fmt: skip
    contacts = world.truth.contacts
    sales = KIND[TARGET[contacts["action"].astype(np.int64)]] == cat.SALE
    expected = float(contacts["incremental_outcome"][sales].sum())
    reach = world.people.consent[:, list(cat.OUTBOUND)].any(axis=1)
    weekly: dict[str, list[float]] = {}
    for key in SERIES:
        values = np.array([day[key] for day in daily], dtype=np.float64)
        weeks = [values[i : i + 7] for i in range(0, values.size, 7)]
        weekly[key] = [float(w[-1] if key == "contactable" else w.sum()) for w in weeks]
    base = report(baseline) if baseline is not None else None
    return PolicyReport(
        policy=world.policy,
        customers=world.config.customers,
        days=world.config.days,
        conversions=int(total["conversions"]),
        revenue=float(total["revenue"]),
        incremental_conversions=(
            None if base is None else int(total["conversions"]) - base.conversions
        ),
        incremental_revenue=None if base is None else float(total["revenue"]) - base.revenue,
        expected_incremental_conversions=expected,
        sent=int(total["sent"]),
        shown=int(total["shown"]),
        responses=int(total["responses"]),
        unsubscribes=int(total["unsubscribes"]),
        complaints=int(total["complaints"]),
        churned=int(total["churned"]),
        contactable_start=int(reach.sum()),
        contactable_end=int(daily[-1]["contactable"]) if daily else int(reach.sum()),
        weekly=weekly,
    )  # fmt: skip


def compare(
    config: WorldConfig,
    policies: Mapping[str, Callable[[], Policy]],
    *,
    on_policy: Callable[[str], None] | None = None,
) -> list[PolicyReport]:
    """Run each policy on ``config``; ``nothing`` first, as the baseline if present."""
    order = sorted(policies, key=lambda name: name != "nothing")
    baseline: World | None = None
    reports = []
    for name in order:
        if on_policy is not None:
            on_policy(name)
        world = simulate(config, policies[name]())
        if name == "nothing":
            baseline = world
        reports.append(report(world, baseline))
    return reports
