"""Budget what-if: a diminishing-returns response curve per program, with a bootstrap band.

The history is cut into periods (days, or weeks for long logs). In each period a program
made ``x`` contacts (decisions that showed one of its actions) and earned an incremental
revenue ``y = Σ revenue of those decisions − x × m`` where ``m`` is the revenue per
decision of the program's random controls over the whole log (what the same decisions
would have earned without the contact). Through these points we fit

    y(x) = a · (1 − exp(−x / b))

— zero at zero contacts, rising with slope ``a/b`` and flattening towards ``a`` (the
saturation the extra contact meets: the same customers, more tired) — by least squares.
Given ``b`` the best ``a`` is a one-line regression, so the fit scans ``b`` over a fine
log-spaced grid (variable projection) — exact to the grid's 1.3%, never stuck in a local
minimum, and vectorised over all bootstrap resamples at once (what a per-sample
``curve_fit`` took seconds for takes milliseconds). "What would ±X% budget bring" is
``y(x₀·(1+X)) − y(x₀)`` per period at today's level ``x₀`` (the mean contacts per
period), times the periods; the next contact earns ``y′(x₀) = a/b·exp(−x₀/b)`` minus its
cost. The 95% band comes from refitting on periods resampled with replacement (bootstrap,
seeded). With few periods, or contacts that hardly varied, the band is wide: the history
cannot say much about budgets it never tried, and the band says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from onevoice.domain.errors import InvalidInput
from onevoice.domain.measure.decision_log import CONTROL, FULL_ENGINE, TREATED, DecisionLog

DAY = 86400.0
MIN_PERIODS = 4
#: the grid of saturation scales ``b``, relative to the most contacts seen in a period
GRID = np.geomspace(1 / 20, 1000, 800)
_BATCH = 25


@dataclass(frozen=True)
class BudgetRow:
    """One program at one budget change: what it would bring, with its band."""

    program: str
    change: float
    periods: int
    period_days: float
    contacts_per_period: float
    contacts: float
    incremental_revenue: float
    revenue_lower: float
    revenue_upper: float
    delta: float
    delta_lower: float
    delta_upper: float
    marginal_revenue: float
    marginal_lower: float
    marginal_upper: float
    cost_per_contact: float
    marginal_net: float
    rank: int
    note: str


@dataclass(frozen=True)
class CurvePoint:
    """A point of a program's fitted curve and its band (for charting)."""

    program: str
    contacts_per_period: float
    estimate: float
    lower: float
    upper: float


def saturating(x: NDArray[np.float64], a: float, b: float) -> NDArray[np.float64]:
    """``a·(1 − e^(−x/b))``: the response curve.

    >>> round(float(saturating(np.array([1e9]), 5.0, 2.0)[0]), 6)
    5.0
    """
    result: NDArray[np.float64] = a * -np.expm1(-x / b)
    return result


def fit(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[float, float] | None:
    """Least-squares ``(a, b)`` of :func:`saturating`; None without any contacts.

    >>> x = np.array([10.0, 20, 40, 80, 160])
    >>> a, b = fit(x, saturating(x, 100.0, 50.0))
    >>> abs(a / 100 - 1) < 0.02, abs(b / 50 - 1) < 0.02
    (True, True)
    """
    fits = fit_many(x[None, :], y[None, :])
    return None if fits is None else (float(fits[0][0]), float(fits[1][0]))


def fit_many(
    x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """:func:`fit` for each row of ``x`` and ``y`` (samples × periods) at once."""
    top = float(x.max()) if x.size else 0.0
    if top <= 0:
        return None
    scales = GRID * top
    a = np.empty(x.shape[0])
    b = np.empty(x.shape[0])
    for begin in range(0, x.shape[0], _BATCH):
        xs, ys = x[begin : begin + _BATCH], y[begin : begin + _BATCH]
        g = -np.expm1(-xs[:, None, :] / scales[None, :, None])
        gy = np.einsum("sgp,sp->sg", g, ys)
        gg = np.einsum("sgp,sgp->sg", g, g)
        gain = np.divide(gy**2, gg, out=np.zeros_like(gy), where=gg > 0)
        best = np.argmax(gain, axis=1)
        rows = np.arange(xs.shape[0])
        chosen = gg[rows, best]
        a[begin : begin + _BATCH] = np.divide(
            gy[rows, best], chosen, out=np.zeros_like(chosen), where=chosen > 0
        )
        b[begin : begin + _BATCH] = scales[best]
    return a, b


def periods_of(log: DecisionLog) -> tuple[NDArray[np.int64], int, float]:
    """Each decision's period, the number of periods and their length in days: days,
    or weeks when the log is longer than 12 weeks. Periods run from the first decision
    to the last (days before the engine decided anything say nothing about budgets).

    >>> from onevoice.sim.decision_logs import synthetic_log
    >>> periods_of(synthetic_log(1000, days=3))[1:]
    (3, 1.0)
    """
    if len(log) == 0:
        return np.zeros(0, dtype=np.int64), 0, 1.0
    first = float(log.at.min())
    days = max((float(log.at.max()) - first) / DAY, 1e-9)
    length = 7.0 if days > 84 else 1.0
    count = max(1, math.ceil(days / length))
    period = np.minimum(((log.at - first) / (length * DAY)).astype(np.int64), count - 1)
    return np.maximum(period, 0), count, length


def budget_report(
    log: DecisionLog,
    changes: Sequence[float] = (-0.2, -0.1, 0.1, 0.2),
    *,
    draws: int = 200,
    seed: int = 0,
    curve_points: int = 21,
) -> tuple[list[BudgetRow], list[CurvePoint]]:
    """What each program would bring at each budget ``change`` (−0.1 = 10% fewer
    contacts), ranked by what the next contact earns net of its cost; and the curves."""
    if any(not -1.0 <= c <= 10.0 for c in changes):
        raise InvalidInput(
            "a budget change must be between -1 (none) and 10 (+1000%)", field="change"
        )
    period, count, length = periods_of(log)
    program = log.program
    full = log.component == FULL_ENGINE
    rows: list[BudgetRow] = []
    curves: list[CurvePoint] = []
    rng = np.random.default_rng(seed)
    for code, name in enumerate(log.programs):
        mine = full & (program == code)
        shown = mine & (log.group == TREATED)
        held = mine & (log.group == CONTROL)
        if not shown.any():
            continue
        baseline = float(log.revenue[held].mean()) if held.any() else math.nan
        x = np.bincount(period[shown], minlength=count).astype(np.float64)
        earned = np.bincount(period[shown], weights=log.revenue[shown], minlength=count)
        y = earned - x * baseline
        cost_per_contact = float(log.cost[shown].mean())
        x0 = float(x.mean())
        params = fit(x, y) if not math.isnan(baseline) and count >= MIN_PERIODS else None
        note = _note(baseline, count, params)
        boot = _bootstrap(x, y, draws, rng) if params is not None else []
        for change in changes:
            at = x0 * (1 + change)
            rows.append(
                _row(name, change, count, length, x0, at, params, boot, cost_per_contact, note)
            )
        if params is not None:
            for xs in np.linspace(0.0, 2.0 * max(x0, 1.0), curve_points):
                est, lo, hi = _band(params, boot, float(xs))
                curves.append(CurvePoint(name, float(xs), est, lo, hi))
    best = sorted(
        {r.program: r.marginal_net for r in rows if not math.isnan(r.marginal_net)}.items(),
        key=lambda kv: kv[1],
        reverse=True,
    )
    rank = {name: k + 1 for k, (name, _v) in enumerate(best)}
    rows = [_with_rank(r, rank.get(r.program, 0)) for r in rows]
    rows.sort(key=lambda r: (r.rank == 0, r.rank, r.change))
    return rows, curves


def _note(baseline: float, count: int, params: tuple[float, float] | None) -> str:
    if math.isnan(baseline):
        return "no random controls: incremental revenue unknown"
    if count < MIN_PERIODS:
        return f"not enough data yet: {count} periods, {MIN_PERIODS} needed"
    if params is None:
        return "the curve did not converge"
    return ""


def _bootstrap(
    x: NDArray[np.float64], y: NDArray[np.float64], draws: int, rng: np.random.Generator
) -> list[tuple[float, float]]:
    picks = rng.integers(0, x.size, (draws, x.size))
    fits = fit_many(x[picks], y[picks])
    if fits is None:
        return []
    return list(zip(fits[0].tolist(), fits[1].tolist(), strict=True))


def _band(
    params: tuple[float, float], boot: Sequence[tuple[float, float]], at: float
) -> tuple[float, float, float]:
    point = float(saturating(np.array([at]), *params)[0])
    if not boot:
        return point, math.nan, math.nan
    a, b = np.array(boot).T
    values = a * -np.expm1(-at / b)
    return point, float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def _slope_band(
    params: tuple[float, float], boot: Sequence[tuple[float, float]], at: float
) -> tuple[float, float, float]:
    point = params[0] / params[1] * math.exp(-at / params[1])
    if not boot:
        return point, math.nan, math.nan
    a, b = np.array(boot).T
    values = a / b * np.exp(-at / b)
    return point, float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def _row(
    name: str,
    change: float,
    count: int,
    length: float,
    x0: float,
    at: float,
    params: tuple[float, float] | None,
    boot: Sequence[tuple[float, float]],
    cost: float,
    note: str,
) -> BudgetRow:
    if params is None:
        nan = math.nan
        return BudgetRow(name, change, count, length, x0, at * count, nan, nan, nan, nan, nan,
                         nan, nan, nan, nan, cost, nan, 0, note)  # fmt: skip
    est, lo, hi = _band(params, boot, at)
    a, b = np.array(boot).T if boot else (np.array([params[0]]), np.array([params[1]]))
    deltas = a * (np.expm1(-x0 / b) - np.expm1(-at / b)) * count
    delta = (
        float(saturating(np.array([at]), *params)[0])
        - float(saturating(np.array([x0]), *params)[0])
    ) * count
    d_lo, d_hi = (
        (float(np.percentile(deltas, 2.5)), float(np.percentile(deltas, 97.5)))
        if boot
        else (math.nan, math.nan)
    )
    slope, s_lo, s_hi = _slope_band(params, boot, x0)
    return BudgetRow(name, change, count, length, x0, at * count, est * count, lo * count,
                     hi * count, delta, d_lo, d_hi, slope, s_lo, s_hi, cost, slope - cost, 0,
                     note)  # fmt: skip


def _with_rank(row: BudgetRow, rank: int) -> BudgetRow:
    values = dict(row.__dict__)
    values["rank"] = rank
    return BudgetRow(**values)
