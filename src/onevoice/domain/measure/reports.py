"""What every action, program, channel and segment really earns, from the decision log.

Each report is a list of frozen rows, data first: the CLI prints them, the API returns
them as JSON for the Studio to chart (every estimate with its ``lower`` and ``upper``).

**Lift** compares decisions randomized apart. ``against="control"``: decisions that
showed a marketing action against those where the per-action random control withheld
it (per action, program, channel, segment — the full engine's decisions only).
``against="holdout"``: every decision of the engine (shown, withheld or nothing) against
the universal holdout's, i.e. what the whole policy earns per decision it makes (per
channel and segment; a holdout decision has no action, so not per action or program).
The outcome of a decision is what the customer did in the attribution window after it:
``conversion`` (ordered at all) and ``revenue``.

**Intervals.** Customers, not decisions, are the independent units (the holdout is per
customer, and one customer's decisions are alike), so each arm's mean is a ratio over
customer clusters with the cluster-robust variance
``G/(G−1)·Σ(Sᵢ − m·Nᵢ)² / (ΣN)²`` (``Sᵢ``, ``Nᵢ``: customer ``i``'s outcome sum and
decisions). The lift interval is then Welch's normal one, as in :mod:`.lift`, and "not
enough data yet" comes with the decisions per arm needed, from the design-effect-adjusted
variances.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import NDArray

from onevoice.domain.errors import InvalidInput
from onevoice.domain.measure.decision_log import (
    CONTROL,
    FULL_ENGINE,
    HOLDOUT,
    MESSAGE_CHANNELS,
    TREATED,
    DecisionLog,
)
from onevoice.domain.measure.lift import Lift, needed_per_arm

Z95 = NormalDist().inv_cdf(0.975)
OUTCOMES = ("conversion", "revenue")
#: Fewer decisions than this in an arm is "not enough data yet", whatever the interval
#: says: the normal approximation is not to be trusted on a handful of customers.
MIN_ARM = 30
AGAINST = ("control", "holdout")
_BY_AGAINST = {
    "control": ("action", "program", "channel", "segment", "all"),
    "holdout": ("channel", "segment", "all"),
}


@dataclass(frozen=True)
class LiftRow:
    """One key's lift on one outcome (``estimate`` per decision, with its interval)."""

    by: str
    key: str
    outcome: str
    against: str
    treated_n: int
    treated_mean: float
    control_n: int
    control_mean: float
    estimate: float
    lower: float
    upper: float
    relative: float
    relative_lower: float
    relative_upper: float
    p_value: float
    verdict: str
    needed_per_arm: int | None


@dataclass(frozen=True)
class RoiRow:
    """Incremental conversions and revenue, contact cost, net, ROI of one key."""

    by: str
    key: str
    rank: int
    contacts: int
    cost: float
    incremental_conversions: float
    conversions_lower: float
    conversions_upper: float
    incremental_revenue: float
    revenue_lower: float
    revenue_upper: float
    net: float
    net_lower: float
    net_upper: float
    roi: float
    roi_lower: float
    roi_upper: float
    cost_per_incremental_conversion: float
    cpic_lower: float
    cpic_upper: float
    verdict: str
    needed_per_arm: int | None


@dataclass(frozen=True)
class RespectRow:
    """How hard a key leans on the base: messages, unsubscribes, complaints, erosion."""

    by: str
    key: str
    contacts: int
    messages: int
    customers: int
    messages_per_customer_week: float
    unsubscribes: int
    unsubscribe_rate: float
    unsubscribe_lower: float
    unsubscribe_upper: float
    complaints: int
    complaint_rate: float
    complaint_lower: float
    complaint_upper: float
    erosion_per_year: float


@dataclass(frozen=True)
class ComponentRow:
    """What one part of the engine earns: the full engine against the arm without it."""

    component: str
    outcome: str
    full_n: int
    full_mean: float
    arm_n: int
    arm_mean: float
    estimate: float
    lower: float
    upper: float
    p_value: float
    verdict: str
    needed_per_arm: int | None


def clustered_lift(
    values: NDArray[np.float64],
    subject: NDArray[np.int64],
    treated: NDArray[np.bool_],
    control: NDArray[np.bool_],
) -> Lift | None:
    """Lift of the ``treated`` rows' mean over the ``control`` rows', customers as clusters
    (see the module); None when an arm is empty.

    >>> y = np.array([1.0, 0, 1, 1, 0, 0, 0, 1])
    >>> who = np.arange(8)
    >>> t = np.array([True] * 4 + [False] * 4)
    >>> round(clustered_lift(y, who, t, ~t).lift, 2)
    0.5
    """
    size = int(subject.max()) + 1 if subject.size else 0
    first = _moments(values, subject, treated, size)
    second = _moments(values, subject, control, size)
    if first is None or second is None:
        return None
    (n_t, m_t, v_t), (n_c, m_c, v_c) = first, second
    diff = m_t - m_c
    se = math.sqrt(v_t + v_c) if not math.isnan(v_t + v_c) else math.nan
    lower, upper = (
        (diff - Z95 * se, diff + Z95 * se) if not math.isnan(se) else (-math.inf, math.inf)
    )
    relative = rel_lower = rel_upper = math.nan
    if m_c != 0 and not math.isnan(se):
        relative = m_t / m_c - 1
        rel_se = math.sqrt(v_t / m_c**2 + m_t**2 * v_c / m_c**4)
        rel_lower, rel_upper = relative - Z95 * rel_se, relative + Z95 * rel_se
    if math.isnan(se):
        p = math.nan
    elif se == 0:
        p = 1.0 if diff == 0 else 0.0
    else:
        p = math.erfc(abs(diff / se) / math.sqrt(2))
    needed = None
    if not (lower > 0 or upper < 0):
        needed = needed_per_arm(v_t * n_t, v_c * n_c, diff)
    if min(n_t, n_c) < MIN_ARM:
        needed = max(needed or 0, MIN_ARM)
    return Lift(n_t, m_t, n_c, m_c, diff, lower, upper, relative, rel_lower, rel_upper, p, needed)


def verdict(result: Lift) -> str:
    """lift, loss, or "not enough data yet" (also when an arm is under :data:`MIN_ARM`)."""
    if min(result.n, result.control_n) < MIN_ARM:
        return "not enough data yet"
    return result.verdict


def _moments(
    values: NDArray[np.float64], subject: NDArray[np.int64], mask: NDArray[np.bool_], size: int
) -> tuple[int, float, float] | None:
    """Decisions, mean and cluster-robust variance of the mean of the masked rows."""
    rows = np.flatnonzero(mask)
    n = rows.size
    if n == 0:
        return None
    who = subject[rows]
    y = values[rows]
    mean = float(y.mean())
    if n == 1:
        return n, mean, math.nan
    sums = np.bincount(who, weights=y - mean, minlength=size)
    clusters = int(np.count_nonzero(np.bincount(who, minlength=size)))
    if clusters < 2:
        return n, mean, math.nan
    variance = clusters / (clusters - 1) * float(np.dot(sums, sums)) / n**2
    return n, mean, variance


def _arms(log: DecisionLog, against: str) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    full = log.component == FULL_ENGINE
    if against == "control":
        return full & (log.group == TREATED), full & (log.group == CONTROL)
    if against == "holdout":
        return full & (log.group != HOLDOUT), log.group == HOLDOUT
    raise InvalidInput(f"against must be control or holdout, not {against!r}", field="against")


def _outcome(log: DecisionLog, outcome: str) -> NDArray[np.float64]:
    if outcome == "conversion":
        return log.converted
    if outcome == "revenue":
        return log.revenue
    raise InvalidInput(f"outcome must be conversion or revenue, not {outcome!r}", field="outcome")


def _check_by(by: str, against: str) -> None:
    allowed = _BY_AGAINST.get(against)
    if allowed is None:
        raise InvalidInput(f"against must be control or holdout, not {against!r}", field="against")
    if by not in allowed:
        raise InvalidInput(
            f"lift against the {against} is by {', '.join(allowed)}, not {by!r}", field="by"
        )


def lift_report(
    log: DecisionLog,
    by: str = "action",
    against: str = "control",
    outcomes: Sequence[str] = OUTCOMES,
) -> list[LiftRow]:
    """Lift per key of ``by`` on each outcome (keys with an empty arm are left out)."""
    _check_by(by, against)
    codes, names = log.dimension(by)
    treated, control = _arms(log, against)
    rows: list[LiftRow] = []
    for code, name in enumerate(names):
        here = codes == code
        t, c = treated & here, control & here
        for outcome in outcomes:
            result = clustered_lift(_outcome(log, outcome), log.subject, t, c)
            if result is None:
                continue
            rows.append(
                LiftRow(by, name, outcome, against, result.n, result.mean, result.control_n,
                        result.control_mean, result.lift, result.lower, result.upper,
                        result.relative, result.relative_lower, result.relative_upper,
                        result.p_value, verdict(result), result.needed_per_arm)
            )  # fmt: skip
    return rows


def roi_report(log: DecisionLog, by: str = "program") -> list[RoiRow]:
    """Incremental revenue − contact cost, ROI and cost per incremental conversion per key
    (against the per-action random control), ranked by net incremental revenue."""
    _check_by(by, "control")
    codes, names = log.dimension(by)
    treated, control = _arms(log, "control")
    found: list[RoiRow] = []
    for code, name in enumerate(names):
        here = codes == code
        t, c = treated & here, control & here
        conv = clustered_lift(log.converted, log.subject, t, c)
        rev = clustered_lift(log.revenue, log.subject, t, c)
        if conv is None or rev is None:
            continue
        n = conv.n
        cost = float(log.cost[t].sum())
        net = (rev.lift * n - cost, rev.lower * n - cost, rev.upper * n - cost)
        roi = [x / cost if cost > 0 else math.nan for x in net]
        found.append(
            RoiRow(
                by, name, 0, n, cost,
                conv.lift * n, conv.lower * n, conv.upper * n,
                rev.lift * n, rev.lower * n, rev.upper * n,
                net[0], net[1], net[2], roi[0], roi[1], roi[2],
                _per(cost, conv.lift * n), _per(cost, conv.upper * n),
                _per(cost, conv.lower * n),
                verdict(rev), rev.needed_per_arm,
            )
        )  # fmt: skip
    found.sort(key=lambda r: r.net, reverse=True)
    return [_ranked(r, k + 1) for k, r in enumerate(found)]


def _per(cost: float, conversions: float) -> float:
    return cost / conversions if conversions > 0 else math.inf


def _ranked(row: RoiRow, rank: int) -> RoiRow:
    values = dict(row.__dict__)
    values["rank"] = rank
    return RoiRow(**values)


def respect_report(log: DecisionLog, by: str = "action") -> list[RespectRow]:
    """Messages per customer per week, unsubscribe and complaint rates per contact (Wilson
    95% intervals) and the base eroded per year, per key; ``by="all"`` for the totals."""
    if by == "segment":
        raise InvalidInput("respect is by action, program, channel or all", field="by")
    codes, names = log.dimension(by)
    shown = log.group == TREATED
    message_codes = [k for k, name in enumerate(log.channels) if name in MESSAGE_CHANNELS]
    is_message = shown & np.isin(log.channel, message_codes)
    base = max(int(np.unique(log.subject).size), 1)
    years = log.weeks / 52.18
    rows: list[RespectRow] = []
    for code, name in enumerate(names):
        here = shown & (codes == code)
        contacts = int(np.count_nonzero(here))
        if contacts == 0:
            continue
        messages = int(np.count_nonzero(is_message & (codes == code)))
        unsub = int(np.count_nonzero(log.unsubscribed & here))
        complaints = int(np.count_nonzero(log.complained & here))
        lost = int(np.unique(log.subject[log.unsubscribed & here]).size)
        rows.append(
            RespectRow(
                by, name, contacts, messages, int(np.unique(log.subject[here]).size),
                messages / base / log.weeks,
                unsub, unsub / contacts, *wilson(unsub, contacts),
                complaints, complaints / contacts, *wilson(complaints, contacts),
                lost / base / years if years > 0 else math.nan,
            )
        )  # fmt: skip
    return rows


def wilson(successes: int, n: int) -> tuple[float, float]:
    """The Wilson 95% interval of a rate (sound for rare events such as complaints).

    >>> [round(x, 4) for x in wilson(0, 100)]
    [0.0, 0.037]
    """
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    z2 = Z95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def components_report(log: DecisionLog) -> list[ComponentRow]:
    """For each component arm: the full engine's outcome per decision minus the arm's, i.e.
    what the part the arm switches off earns (net = revenue − contact cost)."""
    full = (log.component == FULL_ENGINE) & (log.group != HOLDOUT)
    values = {
        "conversion": log.converted,
        "revenue": log.revenue,
        "net": log.revenue - log.cost,
        "contacts": (log.group == TREATED).astype(np.float64),
    }
    rows: list[ComponentRow] = []
    for k, name in enumerate(log.components, start=1):
        arm = log.component == k
        for outcome, y in values.items():
            result = clustered_lift(y, log.subject, full, arm)
            if result is None:
                continue
            rows.append(
                ComponentRow(name, outcome, result.n, result.mean, result.control_n,
                             result.control_mean, result.lift, result.lower, result.upper,
                             result.p_value, verdict(result), result.needed_per_arm)
            )  # fmt: skip
    return rows


def as_dicts(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows as plain dicts, infinite and undefined figures as None (for JSON and CSV)."""
    return [
        {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in r.__dict__.items()
        }
        for r in rows
    ]
