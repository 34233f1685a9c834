"""``onevoice simulate``: run a simulated world into the collector or a file."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from onevoice.sim.export import TRUTH_FORMATS, describe, write_events, write_truth
from onevoice.sim.policies import PENDING, POLICIES
from onevoice.sim.runner import MAX_CUSTOMERS, World, WorldConfig
from onevoice.sim.runner import simulate as run_world

END_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


@click.command()
@click.option(
    "--customers",
    type=click.IntRange(1, MAX_CUSTOMERS),
    default=10_000,
    show_default=True,
    help="how many customers",
)
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=30,
    show_default=True,
    help="how many days, ending at --end",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="same seed, size and policy: same world, same messageIds",
)
@click.option(
    "--end",
    "end",
    type=click.DateTime(END_FORMATS),
    default=None,
    help="UTC end of the period (default: now; never later)",
)
@click.option(
    "--policy",
    type=click.Choice([*POLICIES, *PENDING]),
    default="batch-and-blast",
    show_default=True,
    help="who decides what the brand sends",
)
@click.option(
    "--database",
    default=None,
    help="SQLite path or postgresql:// URL to collect into (default: "
    "ONEVOICE_DATABASE_URL or ./onevoice.db)",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="write Segment calls as JSON Lines here instead (see `onevoice import`)",
)
@click.option(
    "--truth",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="write the ground truth here (customers, episodes, contacts, daily)",
)
@click.option(
    "--truth-format", type=click.Choice(TRUTH_FORMATS), default="parquet", show_default=True
)
def simulate(
    customers: int,
    days: int,
    seed: int,
    end: datetime | None,
    policy: str,
    database: str | None,
    out: Path | None,
    truth: Path | None,
    truth_format: str,
) -> None:
    """Simulate Harbour Bank's customers and collect their events (or write them to --out).

    Deterministic for a seed: running the same world again adds nothing (same messageIds).
    """
    if policy in PENDING:
        raise click.ClickException(f"the {policy} policy {PENDING[policy]}")
    end_utc = end.replace(tzinfo=UTC) if end is not None else None
    if end_utc is not None and end_utc > datetime.now(UTC):
        raise click.BadParameter("must not be in the future", param_hint="--end")
    console = Console(stderr=True)
    started = time.perf_counter()
    chosen = POLICIES[policy]()
    try:
        with _progress(console) as bar:
            task = bar.add_task("simulating", total=days)
            world = run_world(
                WorldConfig(customers=customers, days=days, seed=seed, end=end_utc),
                chosen,
                on_day=lambda _day: bar.advance(task),
            )
    finally:
        close = getattr(chosen, "close", None)
        if callable(close):
            close()
    console.print(f"{describe(world)} in {time.perf_counter() - started:.1f}s")
    if truth is not None:
        paths = write_truth(world, truth, format=truth_format)
        console.print(f"ground truth: {', '.join(str(p) for p in paths)}")
    if out is not None:
        with _progress(console) as bar:
            task = bar.add_task(f"writing {out}", total=len(world.rows))
            written = write_events(world, out, on_chunk=lambda n: bar.advance(task, n))
        console.print(f"wrote {written:,} events to {out} (load them with `onevoice import`)")
        return
    _collect(world, database, console)


def _collect(world: World, database: str | None, console: Console) -> None:
    from onevoice.cli import opened  # the CLI imports this module: import it when run
    from onevoice.sim.feed import feed, process

    with opened(database) as ov:
        waiting = ov.store.count_events()
        with _progress(console) as bar:
            task = bar.add_task("collecting", total=len(world.rows))
            fed = feed(world, ov.collector, on_batch=lambda n: bar.advance(task, n))
            todo = bar.add_task("processing", total=fed.accepted)
            processed = process(ov.processor, on_step=lambda n: bar.advance(todo, n))
        console.print(
            f"collected {fed.accepted:,} new events ({fed.duplicates:,} already there, "
            f"{fed.rejected:,} rejected); processed {processed:,}; "
            f"the store held {waiting:,} events before"
        )
        if fed.rejected:
            for line in fed.errors:
                console.print(f"  rejected {line}")
            raise click.ClickException(f"{fed.rejected} simulated events were rejected")


def _progress(console: Console) -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
