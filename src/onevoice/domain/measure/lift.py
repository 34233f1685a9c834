"""Incremental lift of a treated arm over its randomized control, with honest intervals.

The absolute lift is the difference of the two means. Its 95% interval is the Welch
(unpooled) normal interval: ``lift ± z·√(s²_t/n_t + s²_c/n_c)`` with each arm's own
sample variance and the normal quantile ``z`` (1.96) — right for the large arms of
marketing experiments, optimistic below a few dozen customers per arm or a handful of
conversions. The p-value is the two-sided normal one for "no lift".

The relative lift ``mean_t / mean_c − 1`` gets a delta-method interval:
``se² = var(mean_t)/mean_c² + mean_t²·var(mean_c)/mean_c⁴``. It is undefined (NaN) when
the control's mean is zero.

**Not enough data yet.** When the interval contains zero the data cannot tell a lift
from a loss. The row then says so and gives the customers needed *per arm* for a true
lift as large as the one observed to be told apart from zero (its 95% interval
excluding zero) 80% of the time: ``n = (z₀.₉₇₅ + z₀.₈₀)²·(s²_t + s²_c) / lift²``. With no
lift observed at all, or fewer than two customers in an arm, no size can be given.

>>> treated = np.array([1.0] * 30 + [0.0] * 70)
>>> control = np.array([1.0] * 10 + [0.0] * 90)
>>> result = lift(treated, control)
>>> round(result.lift, 2), round(result.lower, 3), round(result.upper, 3), result.verdict
(0.2, 0.092, 0.308, 'lift')
>>> small = lift(np.array([1.0, 0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0, 0.0]))
>>> small.verdict, small.needed_per_arm
('not enough data yet', 74)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from onevoice.domain.errors import InvalidInput

Floats = NDArray[np.float64]

INTERVAL = "Welch (unpooled) normal 95% interval; relative lift by the delta method"
POWER = 0.80


@dataclass(frozen=True)
class Lift:
    """One treated arm against its control on one outcome."""

    n: int
    mean: float
    control_n: int
    control_mean: float
    lift: float
    lower: float
    upper: float
    relative: float
    relative_lower: float
    relative_upper: float
    p_value: float
    needed_per_arm: int | None

    @property
    def enough(self) -> bool:
        """The interval is narrow enough to tell the sign of the lift."""
        return self.lower > 0 or self.upper < 0

    @property
    def verdict(self) -> str:
        if self.lower > 0:
            return "lift"
        if self.upper < 0:
            return "loss"
        return "not enough data yet"


@dataclass(frozen=True)
class LiftRow:
    """A :class:`Lift` with what it is about: group (or ``""``), arm and outcome."""

    group: str
    arm: str
    outcome: str
    result: Lift


def lift(treated: Floats, control: Floats, *, level: float = 0.95) -> Lift:
    """Lift of ``treated`` over ``control`` (one value per customer), see the module doc."""
    n_t, n_c = len(treated), len(control)
    if n_t == 0 or n_c == 0:
        raise InvalidInput("both the treated arm and the control need at least one customer")
    z = NormalDist().inv_cdf(0.5 + level / 2)
    mean_t, mean_c = float(np.mean(treated)), float(np.mean(control))
    var_t = float(np.var(treated, ddof=1)) if n_t > 1 else math.nan
    var_c = float(np.var(control, ddof=1)) if n_c > 1 else math.nan
    v_mean_t, v_mean_c = var_t / n_t, var_c / n_c
    diff = mean_t - mean_c
    se = math.sqrt(v_mean_t + v_mean_c)
    relative = rel_lower = rel_upper = math.nan
    if mean_c != 0:
        relative = mean_t / mean_c - 1
        rel_se = math.sqrt(v_mean_t / mean_c**2 + mean_t**2 * v_mean_c / mean_c**4)
        rel_lower, rel_upper = relative - z * rel_se, relative + z * rel_se
    lower, upper = diff - z * se, diff + z * se
    if math.isnan(se):
        lower, upper = -math.inf, math.inf
    p_value = _p_value(diff, se)
    needed = None
    if not (lower > 0 or upper < 0):
        needed = needed_per_arm(var_t, var_c, diff, level=level)
    return Lift(
        n=n_t,
        mean=mean_t,
        control_n=n_c,
        control_mean=mean_c,
        lift=diff,
        lower=lower,
        upper=upper,
        relative=relative,
        relative_lower=rel_lower,
        relative_upper=rel_upper,
        p_value=p_value,
        needed_per_arm=needed,
    )


def needed_per_arm(
    var_t: float, var_c: float, effect: float, *, level: float = 0.95, power: float = POWER
) -> int | None:
    """Customers per arm to tell a true lift of ``effect`` from zero with ``power``.

    >>> needed_per_arm(0.09, 0.09, 0.01)
    14128
    >>> needed_per_arm(0.09, 0.09, 0.0) is None
    True
    """
    if effect == 0 or math.isnan(var_t) or math.isnan(var_c):
        return None
    z = NormalDist().inv_cdf(0.5 + level / 2) + NormalDist().inv_cdf(power)
    return math.ceil(z**2 * (var_t + var_c) / effect**2)


def _p_value(diff: float, se: float) -> float:
    if math.isnan(se):
        return math.nan
    if se == 0:
        return 1.0 if diff == 0 else 0.0
    return math.erfc(abs(diff / se) / math.sqrt(2))


def lift_table(
    arms: Sequence[str],
    control: str,
    outcomes: Mapping[str, Floats],
    groups: Sequence[str] | None = None,
    *,
    level: float = 0.95,
) -> list[LiftRow]:
    """Every arm other than ``control`` against it, per outcome and per group.

    ``arms`` and ``groups`` give each customer's arm and group; each outcome array has one
    value per customer. Groups without a customer in the control or in an arm are skipped
    for that arm. Rows come sorted by group, arm and then in the order of ``outcomes``.

    >>> arms = ["a", "c", "a", "c", "a", "c"]
    >>> rows = lift_table(arms, "c", {"buy": np.array([1.0, 0, 1, 0, 0, 1])})
    >>> [(r.arm, r.outcome, round(r.result.lift, 3)) for r in rows]
    [('a', 'buy', 0.333)]
    """
    arm_of = np.asarray(arms, dtype=object)
    if control not in set(arms):
        raise InvalidInput(
            f"no customer in the control arm {control!r}; arms are {sorted(set(arms))}",
            field="control",
        )
    group_of = np.asarray(groups if groups is not None else [""] * len(arms), dtype=object)
    rows: list[LiftRow] = []
    for group in sorted(set(group_of.tolist())):
        in_group = group_of == group
        in_control = in_group & (arm_of == control)
        for arm in sorted(set(arm_of[in_group].tolist()) - {control}):
            in_arm = in_group & (arm_of == arm)
            if not in_control.any():
                continue
            for name, values in outcomes.items():
                result = lift(values[in_arm], values[in_control], level=level)
                rows.append(LiftRow(group=group, arm=arm, outcome=name, result=result))
    return rows
