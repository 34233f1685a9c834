"""``onevoice report lift|roi|budget|respect|components``: the decision log's reports as
tables, CSV (``--csv``) or a self-contained HTML chart (``--html FILE``).

Exit codes: 0 with a table, 2 for an option that cannot be used (one line on stderr).
"""

from __future__ import annotations

import csv
import math
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from onevoice.domain.errors import InvalidInput
from onevoice.domain.measure.reports import as_dicts
from onevoice.report_charts import curve_chart as budget_chart
from onevoice.report_charts import interval_chart, write_html

Column = tuple[str, Callable[[Any], str]]

KINDS = ("lift", "roi", "budget", "respect", "components")
_HELP = """Reports over the decision log of a period (default: the last 28 days).

\b
  lift        lift of shown over withheld (--against control: per decision, by
              action, program, channel, segment) or of the engine's customers
              over the universal holdout's (--against holdout: per customer from
              the first decision on, by channel, segment): conversion and revenue,
              95% intervals, p-value, "not enough data yet"
  roi         incremental conversions and revenue, contact cost, net, ROI and
              cost per incremental conversion, programs ranked (--by); --against
              holdout: the whole engine's, per customer (--by all, channel, segment)
  budget      what ±X% contacts (--change, repeatable) would bring per program,
              from a diminishing-returns curve with a bootstrap band
  respect     messages per customer per week, unsubscribe and complaint rates,
              database erosion per year (--by action, program, channel, all)
  components  what each part of the engine earns: the full engine against each
              component-experiment arm (ONEVOICE_COMPONENT_SHARE)
"""


def _g(value: float | None, digits: int = 4) -> str:
    if value is None or math.isnan(value):
        return "—"
    return "∞" if math.isinf(value) else f"{value:.{digits}g}"


def _money(value: float) -> str:
    if math.isnan(value):
        return "—"
    return "∞" if math.isinf(value) else f"{value:+,.0f}"


def _interval(est: float, lo: float, hi: float, fmt: Callable[[float], str] = _g) -> str:
    return f"{fmt(est)} [{fmt(lo)}, {fmt(hi)}]"


def _p(value: float) -> str:
    if math.isnan(value):
        return "—"
    return "<1e-12" if value < 1e-12 else f"{value:.2g}"


def _verdict(verdict: str, needed: int | None) -> str:
    if verdict == "not enough data yet" and needed is not None:
        return f"not enough data yet (~{needed:,} per arm)"
    return verdict


COLUMNS: dict[str, list[Column]] = {
    "lift": [
        ("key", lambda r: r.key),
        ("outcome", lambda r: r.outcome),
        ("treated", lambda r: f"{r.treated_n:,}"),
        ("mean", lambda r: _g(r.treated_mean)),
        ("control", lambda r: f"{r.control_n:,}"),
        ("control mean", lambda r: _g(r.control_mean)),
        ("lift [95%]", lambda r: _interval(r.estimate, r.lower, r.upper)),
        ("relative", lambda r: "—" if math.isnan(r.relative) else f"{r.relative:+.1%}"),
        ("p", lambda r: _p(r.p_value)),
        ("verdict", lambda r: _verdict(r.verdict, r.needed_per_arm)),
    ],
    "roi": [
        ("rank", lambda r: str(r.rank)),
        ("key", lambda r: r.key),
        ("contacts", lambda r: f"{r.contacts:,}"),
        ("cost", lambda r: f"{r.cost:,.0f}"),
        ("incr. conversions", lambda r: _interval(r.incremental_conversions,
                                                  r.conversions_lower, r.conversions_upper,
                                                  lambda v: f"{v:+,.1f}")),
        ("incr. revenue", lambda r: _interval(r.incremental_revenue, r.revenue_lower,
                                              r.revenue_upper, _money)),
        ("net", lambda r: _interval(r.net, r.net_lower, r.net_upper, _money)),
        ("ROI", lambda r: _interval(r.roi, r.roi_lower, r.roi_upper,
                                    lambda v: "—" if math.isnan(v) else f"{v:+.0%}")),
        ("cost / incr. conv.", lambda r: _interval(r.cost_per_incremental_conversion,
                                                   r.cpic_lower, r.cpic_upper)),
        ("verdict", lambda r: _verdict(r.verdict, r.needed_per_arm)),
    ],
    "budget": [
        ("rank", lambda r: str(r.rank) if r.rank else "—"),
        ("program", lambda r: r.program),
        ("change", lambda r: f"{r.change:+.0%}"),
        ("contacts", lambda r: f"{r.contacts:,.0f}"),
        ("Δ incr. revenue [95%]", lambda r: _interval(r.delta, r.delta_lower, r.delta_upper,
                                                      _money)),
        ("next contact earns", lambda r: _interval(r.marginal_revenue, r.marginal_lower,
                                                   r.marginal_upper)),
        ("cost", lambda r: _g(r.cost_per_contact, 3)),
        ("note", lambda r: r.note),
    ],
    "respect": [
        ("key", lambda r: r.key),
        ("contacts", lambda r: f"{r.contacts:,}"),
        ("messages", lambda r: f"{r.messages:,}"),
        ("msgs/customer/week", lambda r: _g(r.messages_per_customer_week, 3)),
        ("unsubscribe rate [95%]", lambda r: _interval(r.unsubscribe_rate, r.unsubscribe_lower,
                                                       r.unsubscribe_upper, _pct)),
        ("complaint rate [95%]", lambda r: _interval(r.complaint_rate, r.complaint_lower,
                                                     r.complaint_upper, _pct)),
        ("erosion/year", lambda r: _pct(r.erosion_per_year)),
    ],
    "components": [
        ("component", lambda r: r.component),
        ("outcome", lambda r: r.outcome),
        ("full engine", lambda r: f"{r.full_n:,} × {_g(r.full_mean)}"),
        ("arm", lambda r: f"{r.arm_n:,} × {_g(r.arm_mean)}"),
        ("earns [95%]", lambda r: _interval(r.estimate, r.lower, r.upper)),
        ("p", lambda r: _p(r.p_value)),
        ("verdict", lambda r: _verdict(r.verdict, r.needed_per_arm)),
    ],
}  # fmt: skip


def _pct(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.2%}"


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date or time (ISO 8601)", field=name) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    for line in (header, ["-" * w for w in widths], *rows):
        cells = (cell.ljust(w) for cell, w in zip(line, widths, strict=True))
        click.echo("  ".join(cells).rstrip())


def emit(kind: str, rows: Sequence[Any], as_csv: bool) -> None:
    """Print ``rows`` of a report as a table, or as CSV at full precision."""
    if as_csv:
        plain = as_dicts(rows)
        if plain:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(plain[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(plain)
        return
    if not rows:
        click.echo("no decisions to report in this period", err=True)
        return
    columns = COLUMNS[kind]
    print_table([h for h, _f in columns], [[f(r) for _h, f in columns] for r in rows])


@click.command("report", help=_HELP)
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--since", default=None, help="start of the period (ISO 8601, UTC if no zone)")
@click.option("--until", default=None, help="end of the period (default: now)")
@click.option("--by", default=None, help="action, program, channel, segment or all")
@click.option(
    "--against", type=click.Choice(("control", "holdout")), default="control",
    help="lift against the per-action random control or the universal holdout",
)  # fmt: skip
@click.option(
    "--change", "changes", type=float, multiple=True,
    help="budget change as a fraction (-0.1 = 10% fewer contacts); repeatable",
)  # fmt: skip
@click.option("--csv", "as_csv", is_flag=True, help="CSV with every figure, full precision")
@click.option("--html", "html", type=click.Path(path_type=Path), default=None,
              help="also write a self-contained HTML chart to this file")  # fmt: skip
@click.option("--database", default=None, help="SQLite path or postgresql:// URL")
def report_command(
    kind: str,
    since: str | None,
    until: str | None,
    by: str | None,
    against: str,
    changes: tuple[float, ...],
    as_csv: bool,
    html: Path | None,
    database: str | None,
) -> None:
    from onevoice.cli import opened  # the CLI's own bootstrap; imported late, cli imports us

    with opened(database) as ov:
        start, end = _time(since, "--since"), _time(until, "--until")
        reports = ov.reports
        title = f"onevoice {kind}"
        rows: Sequence[Any]
        if kind == "lift":
            rows = reports.lift(start, end, by=by or "action", against=against)
            chart = interval_chart(title, rows, label=lambda r: f"{r.key} · {r.outcome}")
        elif kind == "roi":
            default = "program" if against == "control" else "all"
            rows = reports.roi(start, end, by=by or default, against=against)
            chart = interval_chart(
                title, rows, label=lambda r: r.key,
                value=lambda r: (r.net, r.net_lower, r.net_upper),
            )  # fmt: skip
        elif kind == "budget":
            rows, curves = reports.budget(start, end, changes=changes or (-0.2, -0.1, 0.1, 0.2))
            chart = budget_chart(title, curves)
        elif kind == "respect":
            rows = reports.respect(start, end, by=by or "action")
            chart = interval_chart(
                title, rows, label=lambda r: r.key,
                value=lambda r: (r.unsubscribe_rate, r.unsubscribe_lower, r.unsubscribe_upper),
            )  # fmt: skip
        else:
            rows = reports.components(start, end)
            chart = interval_chart(title, rows, label=lambda r: f"{r.component} · {r.outcome}")
        emit(kind, rows, as_csv)
        if html is not None:
            write_html(html, title, chart)
            click.echo(f"wrote {html}", err=True)
