"""What every action, program, channel and segment really earns, from the decision log.

Each report is a list of frozen rows, data first: the CLI prints them, the API returns
them as JSON for the Studio to chart (every estimate with its ``lower`` and ``upper``).

**Lift** compares decisions randomized apart. ``against="control"``: decisions that
showed a marketing action against those where the per-action random control withheld
it (per action, program, channel, segment — the full engine's decisions only).
The outcome of a decision is what the customer did in the attribution window after it:
``conversion`` (ordered at all) and ``revenue``.
``against="holdout"``: *customers* the engine decided for against the universal
holdout's, each from their first decision in the period to its end (membership is fixed
per customer and nothing was done to anyone before their first decision, so the two
groups are comparable), outcome ``conversion`` (ordered at all) and ``revenue``: what
the whole policy earns per customer (per channel and segment of the first decision; a
holdout customer has no action, so not per action or program). ROI against the holdout
charges the treated customers' every contact.

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
_BITMAP_LIMIT = 64_000_000
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
    """Incremental conversions and revenue, contact cost, net, ROI of one key (against the
    holdout, conversions are customers who ordered)."""

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
    return lift_of(_Arm.of(subject, treated, size), _Arm.of(subject, control, size), values)


@dataclass(frozen=True)
class _Arm:
    """The rows of one arm and their customers, found once and reused for each outcome."""

    rows: NDArray[np.int64]
    who: NDArray[np.int64]
    clusters: int
    size: int

    @classmethod
    def of(cls, subject: NDArray[np.int64], mask: NDArray[np.bool_], size: int) -> _Arm:
        rows = np.flatnonzero(mask)
        who = subject[rows]
        clusters = int(np.count_nonzero(np.bincount(who, minlength=size))) if rows.size else 0
        return cls(rows, who, clusters, size)

    def moments(self, values: NDArray[np.float64]) -> tuple[int, float, float] | None:
        """Decisions, mean and cluster-robust variance of the mean (see the module)."""
        n = self.rows.size
        if n == 0:
            return None
        y = values[self.rows]
        mean = float(y.mean())
        if n == 1 or self.clusters < 2:
            return n, mean, math.nan
        sums = np.bincount(self.who, weights=y - mean, minlength=self.size)
        variance = self.clusters / (self.clusters - 1) * float(np.dot(sums, sums)) / n**2
        return n, mean, variance


def lift_of(treated: _Arm, control: _Arm, values: NDArray[np.float64]) -> Lift | None:
    return lift_from(treated.moments(values), control.moments(values))


def lift_from(
    first: tuple[int, float, float] | None, second: tuple[int, float, float] | None
) -> Lift | None:
    """The lift of one arm's (n, mean, variance of the mean) over another's."""
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


def _size(log: DecisionLog) -> int:
    return int(log.subject.max()) + 1 if len(log) else 0


def _arms(log: DecisionLog, against: str) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    if against == "control":
        full = log.component == FULL_ENGINE
        return full & (log.group == TREATED), full & (log.group == CONTROL)
    if against == "holdout":
        first = np.zeros(len(log), dtype=bool)
        first[log.first_decisions] = True
        held = log.group == HOLDOUT
        return first & ~held, first & held
    raise InvalidInput(f"against must be control or holdout, not {against!r}", field="against")


def _outcome(log: DecisionLog, outcome: str, against: str = "control") -> NDArray[np.float64]:
    if outcome == "conversion":
        if against == "holdout":
            converted: NDArray[np.float64] = (log.later_orders > 0).astype(np.float64)
            return converted
        return log.converted
    if outcome == "revenue":
        return log.later_revenue if against == "holdout" else log.revenue
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
    size = _size(log)
    rows: list[LiftRow] = []
    for code, name in enumerate(names):
        here = codes == code
        t = _Arm.of(log.subject, treated & here, size)
        c = _Arm.of(log.subject, control & here, size)
        for outcome in outcomes:
            result = lift_of(t, c, _outcome(log, outcome, against))
            if result is None:
                continue
            rows.append(
                LiftRow(by, name, outcome, against, result.n, result.mean, result.control_n,
                        result.control_mean, result.lift, result.lower, result.upper,
                        result.relative, result.relative_lower, result.relative_upper,
                        result.p_value, verdict(result), result.needed_per_arm)
            )  # fmt: skip
    return rows


def roi_report(log: DecisionLog, by: str = "program", against: str = "control") -> list[RoiRow]:
    """Incremental revenue − contact cost, ROI and cost per incremental conversion per key
    (against the per-action random control, or the holdout: see the module), ranked by
    net incremental revenue."""
    _check_by(by, against)
    codes, names = log.dimension(by)
    treated, control = _arms(log, against)
    size = _size(log)
    cost = log.cost
    shown = (log.group == TREATED).astype(np.float64)
    if against == "holdout":  # a customer's row carries all its contacts and their cost
        per_customer = np.bincount(log.subject, weights=log.cost, minlength=size)
        cost = np.where(treated, per_customer[log.subject], 0.0)
        contacts = np.bincount(log.subject, weights=shown, minlength=size)
        shown = np.where(treated, contacts[log.subject], 0.0)
    found: list[RoiRow] = []
    for code, name in enumerate(names):
        here = codes == code
        t = _Arm.of(log.subject, treated & here, size)
        c = _Arm.of(log.subject, control & here, size)
        conv = lift_of(t, c, _outcome(log, "conversion", against))
        rev = lift_of(t, c, _outcome(log, "revenue", against))
        if conv is None or rev is None:
            continue
        n = conv.n
        spent = float(cost[t.rows].sum())
        net = (rev.lift * n - spent, rev.lower * n - spent, rev.upper * n - spent)
        roi = [x / spent if spent > 0 else math.nan for x in net]
        found.append(
            RoiRow(
                by, name, 0, int(shown[t.rows].sum()), spent,
                conv.lift * n, conv.lower * n, conv.upper * n,
                rev.lift * n, rev.lower * n, rev.upper * n,
                net[0], net[1], net[2], roi[0], roi[1], roi[2],
                _per(spent, conv.lift * n), _per(spent, conv.upper * n),
                _per(spent, conv.lower * n),
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
    shown = np.flatnonzero(log.group == TREATED)
    key = codes[shown].astype(np.int64)
    keep = key >= 0
    shown, key = shown[keep], key[keep]
    k = len(names)
    message_codes = [c for c, name in enumerate(log.channels) if name in MESSAGE_CHANNELS]
    is_message = np.isin(log.channel[shown], message_codes)
    unsub, complained = log.unsubscribed[shown], log.complained[shown]
    contacts = np.bincount(key, minlength=k)
    messages = np.bincount(key, weights=is_message, minlength=k)
    unsubscribes = np.bincount(key, weights=unsub, minlength=k)
    complaints = np.bincount(key, weights=complained, minlength=k)
    size = _size(log)
    base = max(int(np.count_nonzero(np.bincount(log.subject, minlength=size))), 1)
    who = log.subject[shown]
    customers = _distinct_per_key(key, who, k, size)
    lost = _distinct_per_key(key[unsub], who[unsub], k, size)
    years = log.weeks / 52.18
    rows: list[RespectRow] = []
    for code, name in enumerate(names):
        n = int(contacts[code])
        if n == 0:
            continue
        u, c = int(unsubscribes[code]), int(complaints[code])
        rows.append(
            RespectRow(
                by, name, n, int(messages[code]), int(customers[code]),
                float(messages[code]) / base / log.weeks,
                u, u / n, *wilson(u, n), c, c / n, *wilson(c, n),
                float(lost[code]) / base / years if years > 0 else math.nan,
            )
        )  # fmt: skip
    return rows


def _distinct_per_key(
    key: NDArray[np.int64], who: NDArray[np.int64], keys: int, size: int
) -> NDArray[np.int64]:
    """How many distinct customers each key has among the rows (a bitmap of keys ×
    customers when it is small enough, else by sorting the pairs)."""
    if key.size == 0:
        return np.zeros(keys, dtype=np.int64)
    if keys * size <= _BITMAP_LIMIT:
        seen = np.zeros((keys, size), dtype=bool)
        seen[key, who] = True
        counted: NDArray[np.int64] = np.count_nonzero(seen, axis=1).astype(np.int64)
        return counted
    pairs = np.unique(key * size + who)
    result: NDArray[np.int64] = np.bincount(pairs // size, minlength=keys)
    return result


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
    size = _size(log)
    everything = _Arm.of(log.subject, full, size)
    engine = {outcome: everything.moments(y) for outcome, y in values.items()}
    rows: list[ComponentRow] = []
    for k, name in enumerate(log.components, start=1):
        arm = _Arm.of(log.subject, log.component == k, size)
        for outcome, y in values.items():
            result = lift_from(engine[outcome], arm.moments(y))
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
