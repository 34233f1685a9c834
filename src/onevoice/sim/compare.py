"""Comparing policies on one world: what each earns, costs and erodes, against doing nothing.

Every policy runs on the same config and seed, so the customers, their intents and the
random draws are the same, and the difference to the ``nothing`` run is the policy's
incremental effect (paired, by common random numbers). The truth's own expected
incremental conversions are reported beside it as a check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
    #: the ground truth's expected revenue of those sales: far less noisy than the measured
    #: difference, which a few mortgages more or less in either run swing by ±£30k
    expected_incremental_revenue: float
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
    expected_revenue = float(contacts["incremental_value"][sales].sum())
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
        expected_incremental_revenue=expected_revenue,
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
        policy = policies[name]()
        try:
            world = simulate(config, policy)
        finally:
            close = getattr(policy, "close", None)
            if callable(close):
                close()
        if name == "nothing":
            baseline = world
        reports.append(report(world, baseline))
    return reports


@dataclass(frozen=True, slots=True)
class Target:
    """One of issue 4's targets for the onevoice policy, and whether it holds."""

    name: str
    holds: bool
    detail: str


def targets(reports: Sequence[PolicyReport], policy: str = "onevoice") -> list[Target]:
    """Issue 4's targets: at least batch-and-blast's incremental conversions with at most a
    third of its messages and half its unsubscribes; clearly more incremental revenue than
    static rules ("clearly": at least 10% more, and more by a positive amount)."""
    by_name = {r.policy: r for r in reports}
    ours, blast, rules = (
        by_name.get(policy),
        by_name.get("batch-and-blast"),
        by_name.get("static-rules"),
    )
    found: list[Target] = []
    if ours is None:
        return found
    if blast is not None:
        mine, theirs = ours.incremental_conversions or 0, blast.incremental_conversions or 0
        found += [
            Target("incremental conversions ≥ batch-and-blast's", mine >= theirs,
                   f"{mine:+,} vs {theirs:+,}"),
            Target("messages ≤ ⅓ of batch-and-blast's", 3 * ours.sent <= blast.sent,
                   f"{ours.sent:,} vs ⅓ × {blast.sent:,} = {blast.sent / 3:,.0f}"),
            Target("unsubscribes ≤ ½ of batch-and-blast's",
                   2 * ours.unsubscribes <= blast.unsubscribes,
                   f"{ours.unsubscribes:,} vs ½ × {blast.unsubscribes:,}"),
        ]  # fmt: skip
    if rules is not None:
        mine_r, theirs_r = ours.incremental_revenue or 0.0, rules.incremental_revenue or 0.0
        clearly = mine_r > theirs_r + 0.1 * abs(theirs_r) and mine_r > 0
        detail = f"£{mine_r:+,.0f} vs £{theirs_r:+,.0f}"
        found.append(Target("incremental revenue clearly > static rules'", clearly, detail))
    return found
