"""``onevoice lift`` and ``onevoice ope obd``: measuring on files, tables on stdout.

Exit codes: 0 with a table, 2 for a file or an option that cannot be used (one line on
stderr naming the culprit).
"""

from __future__ import annotations

import csv
import functools
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from onevoice.domain.errors import OnevoiceError
from onevoice.domain.measure.bts import DRAWS, thompson_slate_distribution
from onevoice.domain.measure.lift import INTERVAL, LiftRow, lift_table
from onevoice.domain.measure.ope import evaluate_slate_policy
from onevoice.measure_io import read_experiment, read_obd

F = TypeVar("F", bound=Callable[..., Any])

_LIFT_HELP = """Lift of each arm over the control in a randomized experiment.

\b
FILE is a CSV with one row per customer: the arm it was assigned to (--arm),
one or more outcomes (--outcome; 0/1, yes/no, true/false or numbers) and
optionally a group to split by (--by):
  onevoice lift hillstrom.csv --arm segment --control "No E-Mail" \\
      --outcome visit --outcome conversion --outcome spend --by zip_code

\b
Per arm and outcome (and group): the arm's size and mean, the control's mean,
the absolute lift with its 95% interval (lower, upper: Welch/unpooled normal),
the relative lift with a delta-method interval, the p-value, and a verdict:
lift, loss, or "not enough data yet" when the interval contains zero, with the
customers needed per arm to tell a lift of the observed size from zero 80% of
the time.
"""


def _fail_cleanly(func: F) -> F:
    """Errors the core raises on purpose become one line on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OnevoiceError as error:
            where = f" ({error.field})" if error.field else ""
            click.echo(f"error{where}: {error.message}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _g(value: float, digits: int = 4) -> str:
    return "—" if math.isnan(value) else f"{value:.{digits}g}"


def _pct(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:+.1%}"


def _p(value: float) -> str:
    if math.isnan(value):
        return "—"
    return "<1e-12" if value < 1e-12 else f"{value:.2g}"


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    for line in (header, ["-" * w for w in widths], *rows):
        cells = (cell.ljust(w) for cell, w in zip(line, widths, strict=True))
        click.echo("  ".join(cells).rstrip())


def _print_csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(header)
    out.writerows(rows)


def _verdict(row: LiftRow) -> str:
    r = row.result
    if r.enough:
        return r.verdict
    if r.needed_per_arm is None:
        return f"{r.verdict} (no size can be given)"
    return f"{r.verdict} (~{r.needed_per_arm:,} per arm)"


@click.command("lift", help=_LIFT_HELP)
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--arm", required=True, help="the column naming each customer's arm")
@click.option("--control", required=True, help="the arm value of the control group")
@click.option("--outcome", "outcomes", multiple=True, required=True, help="outcome column")
@click.option("--by", default=None, help="a column to split the results by")
@click.option("--csv", "as_csv", is_flag=True, help="print CSV (full precision) instead")
@_fail_cleanly
def lift_command(
    file: Path, arm: str, control: str, outcomes: tuple[str, ...], by: str | None, as_csv: bool
) -> None:
    experiment = read_experiment(file, arm=arm, outcomes=outcomes, by=by)
    rows = lift_table(experiment.arms, control, experiment.outcomes, experiment.groups)
    lead = [by] if by else []
    if as_csv:
        header = [*lead, "arm", "outcome", "n", "mean", "control_n", "control_mean", "lift"]
        header += ["lower", "upper", "relative_lift", "relative_lower", "relative_upper"]
        header += ["p_value", "verdict", "needed_per_arm"]
        _print_csv(
            header,
            [
                [
                    *([row.group] if by else []),
                    row.arm,
                    row.outcome,
                    row.result.n,
                    row.result.mean,
                    row.result.control_n,
                    row.result.control_mean,
                    row.result.lift,
                    row.result.lower,
                    row.result.upper,
                    row.result.relative,
                    row.result.relative_lower,
                    row.result.relative_upper,
                    row.result.p_value,
                    row.result.verdict,
                    "" if row.result.needed_per_arm is None else row.result.needed_per_arm,
                ]
                for row in rows
            ],
        )
        return
    header = [*lead, "arm", "outcome", "n", "mean", "control", "lift", "lower", "upper"]
    header += ["relative (95%)", "p", "verdict"]
    _print_table(
        header,
        [
            [
                *([row.group] if by else []),
                row.arm,
                row.outcome,
                f"{row.result.n:,}",
                _g(row.result.mean),
                _g(row.result.control_mean),
                _g(row.result.lift),
                _g(row.result.lower),
                _g(row.result.upper),
                f"{_pct(row.result.relative)} "
                f"[{_pct(row.result.relative_lower)}, {_pct(row.result.relative_upper)}]",
                _p(row.result.p_value),
                _verdict(row),
            ]
            for row in rows
        ],
    )
    click.echo(f"\ncontrol {control!r}; {INTERVAL}.")


@click.group()
def ope() -> None:
    """Off-policy evaluation: what another policy would have earned, from logs."""


@ope.command("obd")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--campaign", required=True, help="campaign name, e.g. all or men")
@click.option(
    "--draws", type=int, default=DRAWS, show_default=True, help="Monte Carlo draws of BTS"
)
@click.option("--seed", type=int, default=0, show_default=True, help="seed of draws and folds")
@click.option("--csv", "as_csv", is_flag=True, help="print CSV (full precision) instead")
@_fail_cleanly
def ope_obd(folder: Path, campaign: str, draws: int, seed: int, as_csv: bool) -> None:
    """Value of the Bernoulli TS policy of an Open Bandit Dataset campaign, from its
    uniform-random logs, by IPS, SNIPS and DR, against its on-policy click rate.

    \b
    FOLDER holds random/NAME/NAME.csv, bts/NAME/NAME.csv and prior_bts.yaml.
    The BTS policy's probability of each item in each position is estimated
    from its Beta priors by --draws seeded Monte Carlo draws; DR uses a
    click rate per (item, position), cross-fitted on 5 folds.
    """
    data = read_obd(folder, campaign)
    logs = data.random
    slots = int(max(logs.slots.max(), data.bts.slots.max())) + 1
    dist = thompson_slate_distribution(data.alpha, data.beta, slots=slots, draws=draws, seed=seed)
    estimates = evaluate_slate_policy(
        logs.items, logs.slots, logs.clicks, logs.propensities, dist, seed=seed
    )
    on_policy = float(data.bts.clicks.mean())
    table = [
        (e, abs(e.value - on_policy) / on_policy if on_policy else math.nan) for e in estimates
    ]
    if as_csv:
        header = ["estimator", "estimate", "lower", "upper", "on_policy", "relative_error"]
        _print_csv(
            header, [[e.estimator, e.value, e.lower, e.upper, on_policy, err] for e, err in table]
        )
        return
    click.echo(
        f"campaign {campaign}: {len(logs.clicks):,} uniform-random rows "
        f"({int(logs.clicks.sum())} clicks); BTS from {draws:,} draws (seed {seed})"
    )
    _print_table(
        ["estimator", "estimate", "95% interval", "on-policy value", "relative error"],
        [
            [
                e.estimator,
                f"{e.value:.5f}",
                f"[{e.lower:.5f}, {e.upper:.5f}]",
                f"{on_policy:.5f}",
                "—" if math.isnan(err) else f"{err:.1%}",
            ]
            for e, err in table
        ],
    )
