"""Simulator benchmarks: ``simulate`` (100,000 customers × 30 days, target < 2 minutes)
and ``policies`` (every reference policy on one world, against doing nothing)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from onevoice.bootstrap import bootstrap
from onevoice.config import Settings
from onevoice.sim import WorldConfig, simulate
from onevoice.sim.compare import SERIES, PolicyReport, compare, targets
from onevoice.sim.export import write_events
from onevoice.sim.feed import feed, process
from onevoice.sim.policies import PENDING, POLICIES, BatchAndBlast
from onevoice.sim.rows import EventRows
from onevoice.sim.runner import World

COLLECT_SAMPLE = 50_000
#: The policies world: smaller than the simulator can do, because the onevoice policy
#: asks the real decide path at every moment (20,000 × 91 days would take ~20 minutes).
POLICIES_CUSTOMERS, POLICIES_DAYS = 5_000, 56
POLICIES_END = datetime(2026, 11, 2, tzinfo=UTC)
_SPARK = "▁▂▃▄▅▆▇█"


def bench_simulate(options: dict[str, Any]) -> list[dict[str, Any]]:
    customers = 10_000 if options.get("quick") else 100_000
    config = WorldConfig(customers=customers, days=30, seed=1)
    started = time.perf_counter()
    world = simulate(config, BatchAndBlast())
    generated = time.perf_counter() - started
    events = len(world.rows)
    rows = [
        {
            "benchmark": f"simulate {customers:,} customers × 30 days (generation)",
            "result": f"{generated:.1f} s ({events:,} events, {events / generated:,.0f}/s)",
            "target": "< 120 s" if customers == 100_000 else "(quick size)",
            "note": "numpy day loop incl. policy, responses and ground truth",
        }
    ]
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        write_events(world, Path(folder) / "events.jsonl")
        written = time.perf_counter() - started
        rows.append(
            {
                "benchmark": "… as Segment calls to JSON Lines",
                "result": f"{written:.1f} s ({events / written:,.0f} events/s)",
                "target": "",
                "note": f"generation + file: {generated + written:.1f} s",
            }
        )
        rows.extend(_collect_rows(world, Path(folder)))
    return rows


def _collect_rows(world: World, folder: Path) -> list[dict[str, Any]]:
    """The collect path on the first events of the world (all of it would take minutes)."""
    sample = _head(world, COLLECT_SAMPLE)
    ov = bootstrap(Settings(database_url=str(folder / "bench.db"), secret_key="bench"))
    try:
        started = time.perf_counter()
        fed = feed(sample, ov.collector)
        collected = time.perf_counter() - started
        started = time.perf_counter()
        processed = process(ov.processor)
        processing = time.perf_counter() - started
    finally:
        ov.close()
    rate = fed.accepted / (collected + processing)
    whole = len(world.rows) / rate
    return [
        {
            "benchmark": f"… through collect + process (SQLite, first {len(sample.rows):,})",
            "result": f"collect {fed.accepted / collected:,.0f}/s, process "
            f"{processed / processing:,.0f}/s",
            "target": "",
            "note": f"the whole world would take ~{whole / 60:.0f} min this way",
        }
    ]


def _head(world: World, count: int) -> World:
    index = slice(0, min(count, len(world.rows)))
    rows = EventRows(*(getattr(world.rows, f)[index] for f in EventRows.__slots__))
    return World(world.config, world.policy, world.start, world.end, world.people, rows,
                 world.truth, world.final)  # fmt: skip


def bench_policies(options: dict[str, Any]) -> list[dict[str, Any]]:
    quick = bool(options.get("quick"))
    # onevoice runs the real decide path (~500 decisions/s): a world it plays in minutes,
    # the same world for every policy
    # a fixed end (midnight UTC): a world ending "now" would shift with the hour it runs at
    config = WorldConfig(customers=1_000 if quick else POLICIES_CUSTOMERS,
                         days=28 if quick else POLICIES_DAYS, seed=3,
                         end=POLICIES_END)  # fmt: skip
    console = Console()
    started = time.perf_counter()
    reports = compare(config, POLICIES, on_policy=lambda name: _playing(console, name, started))
    console.print(_table(config, reports))
    console.print(_chart(reports))
    console.print(_targets(reports))
    rows = [
        {
            "benchmark": f"policy {r.policy}",
            "result": f"{r.conversions:,} conversions ({_signed(r.incremental_conversions)}), "
            f"{r.sent:,} sent, erosion {r.erosion_per_year:.0%}/yr",
            "target": "",
            "note": f"{config.customers:,} customers × {config.days} days, seed {config.seed}",
        }
        for r in reports
    ]
    rows.extend(
        {"benchmark": f"policy {name}", "result": "pending", "target": "", "note": reason}
        for name, reason in PENDING.items()
    )
    return rows


def _playing(console: Console, name: str, started: float) -> None:
    console.print(f"  playing {name}… ({time.perf_counter() - started:.0f} s)", style="dim")


def _targets(reports: list[PolicyReport]) -> Table:
    table = Table(title="Issue 4's targets for onevoice on this world")
    for column in ("target", "holds", "measured"):
        table.add_column(column)
    for target in targets(reports):
        table.add_row(target.name, "yes" if target.holds else "NO", target.detail)
    return table


def _signed(value: float | None, money: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:+,.0f}" if not money else f"{'+' if value >= 0 else '−'}£{abs(value):,.0f}"


def _table(config: WorldConfig, reports: list[PolicyReport]) -> Table:
    """One column per policy (a row per measure keeps it readable in 80 columns)."""
    table = Table(
        title=f"Policies on one world: {config.customers:,} customers × {config.days} days, "
        f"seed {config.seed}",
        caption="incremental = vs doing nothing on the same draws (truth's expectation in "
        "brackets); a smaller world than the simulator can do, so that onevoice (the real "
        "decide and responses path, in-process on SQLite) plays it in minutes"
        + "".join(f"; {n}: pending, {why}" for n, why in PENDING.items()),
    )
    table.add_column("")
    for r in reports:
        table.add_column(r.policy, justify="right")
    measures: list[tuple[str, Callable[[PolicyReport], str]]] = [
        ("conversions", lambda r: f"{r.conversions:,}"),
        ("incremental conversions", lambda r: f"{_signed(r.incremental_conversions)} "
                                              f"({r.expected_incremental_conversions:+,.0f})"),
        ("revenue", lambda r: f"£{r.revenue:,.0f}"),
        ("incremental revenue", lambda r: f"{_signed(r.incremental_revenue, money=True)} "
                                          f"({_signed(r.expected_incremental_revenue, True)})"),
        ("messages sent", lambda r: f"{r.sent:,}"),
        ("offers shown in session", lambda r: f"{r.shown:,}"),
        ("messages per customer per week", lambda r: f"{r.messages_per_customer_week:.2f}"),
        ("responses", lambda r: f"{r.responses:,}"),
        ("unsubscribes", lambda r: f"{r.unsubscribes:,}"),
        ("complaints", lambda r: f"{r.complaints:,}"),
        ("customers who left", lambda r: f"{r.churned:,}"),
        ("contactable at start", lambda r: f"{r.contactable_start:,}"),
        ("contactable at end", lambda r: f"{r.contactable_end:,}"),
        ("database erosion per year", lambda r: f"{r.erosion_per_year:.1%}"),
    ]  # fmt: skip
    for label, cell in measures:
        table.add_row(label, *(cell(r) for r in reports))
    return table


def _chart(reports: list[PolicyReport]) -> Table:
    table = Table(title="Week by week (one scale per series across policies; last week's value)")
    table.add_column("series")
    for r in reports:
        table.add_column(r.policy)
    for key in SERIES:
        series = [r.weekly[key] for r in reports]
        low = min(min(s) for s in series)
        high = max(max(s) for s in series)
        table.add_row(key, *(f"{_spark(s, low, high)} {s[-1]:,.0f}" for s in series))
    return table


def _spark(values: list[float], low: float, high: float) -> str:
    span = (high - low) or 1.0
    return "".join(_SPARK[int((v - low) / span * (len(_SPARK) - 1))] for v in values)


SUITES = {"simulate": bench_simulate, "policies": bench_policies}
