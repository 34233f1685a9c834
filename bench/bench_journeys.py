"""Journeys benchmark: the journey map and the friction report from 1,000,000 and
10,000,000 simulated events read from a Parquet export (targets ≤ 5 s and ≤ 60 s,
memory ≤ 8 GB). ``--quick`` runs 200,000 events. The world is simulated and exported in
a child process, so the peak memory reported is the journeys' own."""

from __future__ import annotations

import multiprocessing
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from onevoice.journeys.analytics import Filters, JourneyAnalytics
from onevoice.journeys.simulated import world_frame
from onevoice.journeys.sources import from_file
from onevoice.sim import WorldConfig, simulate
from onevoice.sim.policies import BatchAndBlast

#: a batch-and-blast world makes ~0.62 events per customer-day; the export is cut to size
SIZES = {1_000_000: (50_000, 30), 10_000_000: (500_000, 30)}
QUICK = {200_000: (11_000, 30)}
TARGETS = {1_000_000: 5.0, 10_000_000: 60.0}


def _export(events: int, customers: int, days: int, folder: Path) -> tuple[Path, int]:
    world = simulate(WorldConfig(customers=customers, days=days, seed=5), BatchAndBlast())
    frame = world_frame(world)
    del world
    if frame.height > events:
        frame = frame.sort("ts").head(events)
    path = folder / f"events-{events}.parquet"
    frame.write_parquet(path)
    return path, frame.height


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def bench_journeys(options: dict[str, Any]) -> list[dict[str, Any]]:
    sizes = QUICK if options.get("quick") else SIZES
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for events, (customers, days) in sizes.items():
            # the world is made in a child process: the peak memory below is the analysis'
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(1, mp_context=spawn) as child:
                path, height = child.submit(_export, events, customers, days, Path(tmp)).result()
            reports = JourneyAnalytics(lambda s, e, p=path: from_file(p, s, e))
            started = time.perf_counter()
            found = reports.map(Filters())
            mapped = time.perf_counter() - started
            started = time.perf_counter()
            friction = reports.friction(Filters())
            frictioned = time.perf_counter() - started
            total = mapped + frictioned
            target = TARGETS.get(events)
            flagged = int(friction.summary.get_column("journeys").sum())
            rows.append(
                {
                    "benchmark": f"journeys map + friction, {height:,} events (Parquet)",
                    "result": f"{total:.1f} s (map {mapped:.1f} s, friction {frictioned:.1f} s)",
                    "target": f"≤ {target:.0f} s, ≤ 8 GB" if target else "(quick size)",
                    "note": f"{found.journeys:,} journeys, {found.edges.height:,} edges, "
                    f"{flagged:,} flags; peak RSS {_peak_gb():.1f} GB; "
                    f"{pl.thread_pool_size()} threads",
                }
            )
    return rows


SUITES = {"journeys": bench_journeys}
