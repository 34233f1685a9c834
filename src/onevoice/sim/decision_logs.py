"""Synthetic decision logs with a known truth, generated as columns (for the reports bench
and the estimators' tests): millions of decisions in seconds, each action with its own
true conversion lift, revenue per conversion, cost and saturation.

Each action's true effect per contact shrinks as its program contacts more in a day:
``lift · exp(−contacts_that_day / saturation)`` — a diminishing-returns world the
budget curve should find.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onevoice.domain.measure.decision_log import (
    CONTROL,
    HOLDOUT,
    NONE,
    TREATED,
    DecisionLog,
)

DAY = 86400.0
CHANNELS = ("web", "app", "email", "push", "sms")
SEGMENTS = ("known", "customer", "repeat", "lapsed")
COMPONENTS = ("random_action", "propensity_only", "no_fatigue", "no_intent")


@dataclass(frozen=True, slots=True)
class TrueAction:
    """An action of the synthetic world and its true effect."""

    name: str
    program: str
    base: float  # conversion rate without contact
    lift: float  # added conversion rate of a contact (before saturation)
    value: float  # revenue per conversion
    cost: float  # per contact
    saturation: float  # contacts per day at which the effect falls to 1/e


ACTIONS = (
    TrueAction("mortgage_rates", "mortgages", 0.004, 0.004, 900.0, 0.10, 40_000.0),
    TrueAction("card_offer", "cards", 0.010, 0.006, 120.0, 0.10, 60_000.0),
    TrueAction("savings_bonus", "savings", 0.020, 0.003, 40.0, 0.05, 80_000.0),
    TrueAction("retention_offer", "retention", 0.015, 0.0, 200.0, 0.40, 30_000.0),
)


def synthetic_log(
    decisions: int,
    *,
    customers: int | None = None,
    days: int = 28,
    seed: int = 0,
    holdout: float = 0.05,
    control: float = 0.10,
    component_share: float = 0.02,
    actions: tuple[TrueAction, ...] = ACTIONS,
    load: float = 1.0,
) -> DecisionLog:
    """``decisions`` decisions over ``days`` days; ``load`` scales how many contacts each
    day makes (so that days differ and the curve can be fitted)."""
    rng = np.random.default_rng(seed)
    n = decisions
    customers = customers or max(1, n // 10)
    subject = rng.integers(0, customers, n)
    day_weight = load * rng.uniform(0.4, 1.6, days)
    day = rng.choice(days, n, p=day_weight / day_weight.sum())
    at = day * DAY + rng.uniform(0, DAY, n)
    in_holdout = (subject * 2654435761 % 1000) < holdout * 1000
    action = rng.integers(0, len(actions), n).astype(np.int32)
    component = np.zeros(n, dtype=np.int8)
    arm = rng.random(n)
    for k in range(len(COMPONENTS)):
        inside = (arm >= k * component_share) & (arm < (k + 1) * component_share)
        component[inside & ~in_holdout] = k + 1
    worth = rng.random(n) < 0.6
    group = np.full(n, NONE, dtype=np.int8)
    group[worth] = TREATED
    group[worth & (rng.random(n) < control)] = CONTROL
    group[in_holdout] = HOLDOUT
    # the random-action arm shows actions more often than the full engine (less selective)
    group[(component == 1) & (group == NONE)] = TREATED
    action[(group == NONE) | (group == HOLDOUT)] = -1
    shown = group == TREATED
    base = np.array([a.base for a in actions] + [0.012])[action]
    lift = np.array([a.lift for a in actions] + [0.0])[action]
    sat = np.array([a.saturation for a in actions] + [1.0])[action]
    value = np.array([a.value for a in actions] + [100.0])[action]
    per_day = np.bincount(day[shown] * len(actions) + action[shown], minlength=days * len(actions))
    crowd = per_day[day * len(actions) + np.maximum(action, 0)]
    p = base + np.where(shown, lift * np.exp(-crowd / sat), 0.0)
    p = np.where(component == 1, p * 0.8, p)  # a random action is a worse match
    converted = (rng.random(n) < p).astype(np.float64)
    revenue = converted * value * rng.gamma(4.0, 0.25, n)
    cost = np.where(shown, np.array([a.cost for a in actions] + [0.0])[action], 0.0)
    channel = rng.integers(0, len(CHANNELS), n).astype(np.int16)
    messages = np.isin(channel, [2, 3, 4])
    unsub = shown & messages & (rng.random(n) < 0.002)
    complained = shown & messages & (rng.random(n) < 0.0004)
    programs = tuple(dict.fromkeys(a.program for a in actions))
    # each customer's orders from a decision to the end: a Poisson count whose rate
    # rises with the contacts the customer was shown (none in the holdout)
    contacted = np.bincount(subject[shown], minlength=customers)[subject]
    rest = (days * DAY - at) / (days * DAY)
    later_orders = rng.poisson(rest * (0.05 + 0.004 * contacted)).astype(np.float64)
    later_revenue = later_orders * rng.gamma(4.0, 50.0, n)
    return DecisionLog(
        subject=subject.astype(np.int64),
        at=at,
        action=action,
        channel=channel,
        segment=rng.integers(0, len(SEGMENTS), n).astype(np.int16),
        group=group,
        component=component,
        converted=converted,
        revenue=revenue,
        cost=cost,
        unsubscribed=unsub,
        complained=complained,
        later_orders=later_orders,
        later_revenue=later_revenue,
        actions=tuple(a.name for a in actions),
        programs=programs,
        program_of=np.array([programs.index(a.program) for a in actions], dtype=np.int16),
        channels=CHANNELS,
        segments=SEGMENTS,
        components=COMPONENTS,
        start=0.0,
        end=days * DAY,
    )
