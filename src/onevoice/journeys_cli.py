"""``onevoice journeys map|friction|gap|value|conformance``: journey reports as tables
(or ``--csv``), over the database or a Parquet/JSON Lines export of events."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import polars as pl

from onevoice.domain.errors import InvalidEvent, InvalidInput, OnevoiceError
from onevoice.domain.events import parse_time
from onevoice.domain.journeys import DesignedJourney
from onevoice.journeys.analytics import Filters, JourneyAnalytics

F = TypeVar("F", bound=Callable[..., Any])


def _options(func: F) -> F:
    decorators = [
        click.option(
            "--database",
            default=None,
            help="SQLite path or postgresql:// URL (default: ONEVOICE_DATABASE_URL)",
        ),
        click.option(
            "--file",
            "file",
            type=click.Path(path_type=Path),
            default=None,
            help="read events from a Parquet or JSON Lines export instead",
        ),
        click.option("--from", "start", default=None, help="ISO time: events at or after"),
        click.option("--to", "end", default=None, help="ISO time: events before"),
        click.option(
            "--segment", default=None, help="single-channel, multi-channel or channel:NAME"
        ),
        click.option(
            "--gap-hours",
            type=float,
            default=None,
            help="silence that ends a journey (default: ONEVOICE_JOURNEY_GAP_HOURS, 24)",
        ),
        click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout instead of a table"),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _fail_cleanly(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OnevoiceError as error:
            where = f" ({error.field})" if error.field else ""
            click.echo(f"error{where}: {error.message}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _time(text: str | None, field: str) -> datetime | None:
    try:
        return parse_time(text, field) if text else None
    except InvalidEvent as error:
        raise InvalidInput(error.message, field=field) from None


def _run(
    options: dict[str, Any],
    report: Callable[[JourneyAnalytics, Filters], Any],
    *,
    entry: str | None = None,
    granularity: str = "reason",
) -> Any:
    from onevoice.config import Settings
    from onevoice.journeys.analytics import rules_from

    settings = Settings.from_env(os.environ, database_url=options["database"])
    rules = rules_from(settings, gap_hours=options["gap_hours"], granularity=granularity)
    filters = Filters(
        options["segment"], _time(options["start"], "from"), _time(options["end"], "to"), entry
    )
    if options["file"] is not None:
        from onevoice.journeys.sources import from_file

        path: Path = options["file"]
        return report(JourneyAnalytics(lambda s, e: from_file(path, s, e), *rules), filters)
    from onevoice.bootstrap import bootstrap
    from onevoice.journeys.sources import from_store, shown_from_store

    ov = bootstrap(settings)
    try:
        ov.processor.run_until_idle()
        reports = JourneyAnalytics(
            lambda s, e: from_store(ov.store, s, e),
            *rules,
            shown=lambda s, e: shown_from_store(ov.store, s, e),
        )
        return report(reports, filters)
    finally:
        ov.close()


def _show(frame: pl.DataFrame, title: str, as_csv: bool) -> None:
    if as_csv:
        click.echo(frame.write_csv(), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for name in frame.columns:
        table.add_column(name, overflow="fold")
    for row in frame.iter_rows():
        table.add_row(*("" if v is None else _cell(v) for v in row))
    Console().print(table)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


@click.group()
def journeys() -> None:
    """Journeys as customers take them: map, friction, conformance, gap, value."""


@journeys.command("map")
@_options
@click.option("--entry", default=None, help="journeys whose first step is this step or event")
@click.option(
    "--granularity",
    type=click.Choice(["reason", "event", "channel"]),
    default="reason",
    show_default=True,
    help="what names a step",
)
@click.option("--top", type=int, default=20, show_default=True, help="paths and end steps shown")
@click.option(
    "--part",
    type=click.Choice(["edges", "nodes", "paths", "ends"]),
    default=None,
    help="only this part (with --csv: one table)",
)
@_fail_cleanly
def map_command(
    entry: str | None, granularity: str, top: int, part: str | None, **options: Any
) -> None:
    """The discovered journey map: steps, transitions (count, share, median wait), the
    most common paths and where journeys end. With --csv, the edges unless --part."""
    found = _run(options, lambda a, f: a.map(f, top=top), entry=entry, granularity=granularity)
    paths = found.paths.drop("sequence")  # the path spells it out
    parts = {"nodes": found.nodes, "edges": found.edges, "paths": paths, "ends": found.ends}
    chosen = [part] if part else (["edges"] if options["as_csv"] else list(parts))
    if not options["as_csv"]:
        click.echo(f"{found.journeys:,} journeys of {found.customers:,} customers", err=True)
    for name in chosen:
        _show(parts[name], name, options["as_csv"])


@journeys.command("friction")
@_options
@click.option("--journeys", "per_journey", is_flag=True, help="list the flagged journeys")
@_fail_cleanly
def friction_command(per_journey: bool, **options: Any) -> None:
    """Repeat contacts, channel hopping, dead ends and long waits: how many journeys,
    and where (with --journeys: each flagged journey)."""
    found = _run(options, lambda a, f: a.friction(f))
    if per_journey:
        flags = ("repeat_contact", "channel_hopping", "dead_end", "long_wait")
        flagged = found.journeys.filter(pl.any_horizontal(*[pl.col(c) for c in flags]))
        _show(flagged.drop("hops"), "flagged journeys", options["as_csv"])
        return
    _show(found.summary, "friction", options["as_csv"])
    if not options["as_csv"]:
        _show(found.where, "where", False)


@journeys.command("gap")
@_options
@_fail_cleanly
def gap_command(**options: Any) -> None:
    """The five signs of the engagement gap, and week by week."""
    found = _run(options, lambda a, f: a.gap(f))
    rows = [
        {
            "sign": s["sign"],
            "value": s["value"],
            "unit": s["unit"],
            "detail": ", ".join(f"{k} {v}" for k, v in s["detail"].items() if k != "weekly"),
        }
        for s in found["signs"]
    ]
    _show(
        pl.DataFrame(
            rows, schema={"sign": pl.Utf8, "value": pl.Float64, "unit": pl.Utf8, "detail": pl.Utf8}
        ),
        "engagement gap",
        options["as_csv"],
    )
    if not options["as_csv"] and found["weekly"]:
        _show(pl.DataFrame(found["weekly"]), "by week", False)


@journeys.command("value")
@_options
@_fail_cleanly
def value_command(**options: Any) -> None:
    """Lifetime value, conversion and retention by channel mix."""
    _show(_run(options, lambda a, f: a.value(f)), "value by channel mix", options["as_csv"])


@journeys.command("conformance")
@click.argument("design_file", type=click.Path(path_type=Path))
@_options
@_fail_cleanly
def conformance_command(design_file: Path, **options: Any) -> None:
    """How journeys follow the designed journey in DESIGN_FILE (YAML or JSON:
    name and steps such as "web:Card Not Working", "Call Received")."""
    import yaml

    if not design_file.exists():
        raise InvalidInput(f"{design_file} does not exist", field="design_file")
    try:
        data = yaml.safe_load(design_file.read_text())
    except yaml.YAMLError as error:
        raise InvalidInput(
            f"{design_file.name} is not YAML or JSON: {error}", field="design_file"
        ) from None
    design = DesignedJourney.parse(data)
    found = _run(options, lambda a, f: a.conformance(design, f)).to_json()
    summary = pl.DataFrame(
        [
            {
                k: found[k]
                for k in (
                    "journeys",
                    "entered",
                    "followed",
                    "completed",
                    "follow_share",
                    "complete_share",
                )
            }
        ]
    )
    _show(summary, f"conformance to {design.name}", options["as_csv"])
    if not options["as_csv"]:
        _show(pl.DataFrame(found["leaves"]), "where they leave", False)
        _show(pl.DataFrame(found["undesigned_paths"]), "undesigned paths", False)
