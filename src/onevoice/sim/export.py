"""Writing a world out: its events as JSON Lines for ``onevoice import``, its truth as
Parquet or CSV files beside them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from onevoice.sim import catalog as cat
from onevoice.sim.population import STAGES
from onevoice.sim.runner import World
from onevoice.sim.segment import Identities, calls, people_tag
from onevoice.sim.truth import OUTCOMES, Columns

TRUTH_FORMATS = ("parquet", "csv")


def write_events(world: World, path: Path, *, on_chunk: Callable[[int], None] | None = None) -> int:
    """Write the world's Segment calls, one per line; return how many."""
    written = 0
    with path.open("wb") as out:
        for chunk in calls(world):
            out.write(b"".join(orjson.dumps(call) + b"\n" for call in chunk))
            written += len(chunk)
            if on_chunk is not None:
                on_chunk(len(chunk))
    return written


def truth_tables(world: World) -> dict[str, Columns]:
    """The ground-truth tables with readable labels, ready to write."""
    people = world.people
    ids = Identities(people_tag(world.config.seed, world.config.customers))
    n = people.size
    customers: Columns = {
        "customer": np.arange(n, dtype=np.int32),
        "userId": np.array([ids.user_id(i) for i in range(n)]),
        "email": np.array([ids.email(i) for i in range(n)]),
        "stage": np.array(STAGES)[people.stage],
        "timezone": np.array([z for z, _ in cat.TIMEZONES])[people.timezone],
        "value": people.value,
        "price_sensitivity": people.price_sensitivity,
        "has_app": people.has_app,
        "left": ~world.final.alive,
        "has_account_at_end": world.final.known,
    }
    for code in cat.INBOUND:
        customers[f"prefers_{cat.CHANNELS[code]}"] = people.pref[:, code]
    for code in cat.OUTBOUND:
        name = cat.CHANNELS[code]
        customers[f"consent_{name}"] = people.consent[:, code]
        customers[f"unsubscribed_{name}"] = world.final.unsubscribed[:, code]
    episodes = dict(world.truth.episodes)
    episodes["intent"] = np.array([i.name for i in cat.INTENTS])[episodes["intent"]]
    episodes["outcome"] = np.array(OUTCOMES)[episodes["outcome"]]
    episodes["start"] = _times(episodes["start"])
    episodes["end"] = _times(episodes["end"])
    contacts = dict(world.truth.contacts)
    if contacts["customer"].size:
        contacts["action"] = np.array([a.name for a in cat.ACTIONS])[contacts["action"]]
        contacts["channel"] = np.array(list(cat.CHANNELS))[contacts["channel"]]
        contacts["at"] = _times(contacts["at"])
    daily: Columns = {}
    if world.truth.daily:
        for key in world.truth.daily[0]:
            daily[key] = np.array([row[key] for row in world.truth.daily])
        daily["date"] = _times(daily["date"].astype(np.int64))
    return {"customers": customers, "episodes": episodes, "contacts": contacts, "daily": daily}


def write_truth(world: World, folder: Path, *, format: str = "parquet") -> list[Path]:
    """Write ``customers``, ``episodes`` (true intents over time), ``contacts`` (true
    response probabilities and incremental effects) and ``daily``; return the paths."""
    import pyarrow as pa

    if format not in TRUTH_FORMATS:
        raise ValueError(f"format must be one of {', '.join(TRUTH_FORMATS)}")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, columns in truth_tables(world).items():
        table = pa.table({k: _arrow(v) for k, v in columns.items()})
        path = folder / f"{name}.{format}"
        if format == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, path)
        else:
            import pyarrow.csv as pacsv

            pacsv.write_csv(table, path)
        written.append(path)
    return written


def _times(ms: Any) -> Any:
    """Milliseconds since the epoch to ISO strings ('' where -1: not ended)."""
    text = np.datetime_as_string(np.asarray(ms).astype("datetime64[ms]"), unit="ms")
    return np.where(np.asarray(ms) < 0, "", np.char.add(text.astype(str), "Z"))


def _arrow(values: Any) -> Any:
    array = np.asarray(values)
    return array.astype(str).tolist() if array.dtype.kind == "U" else array


def describe(world: World) -> str:
    """One line about a world, for the command line."""
    truth = world.truth.daily
    conversions = sum(day["conversions"] for day in truth)
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    return (
        f"[{stamp}] {world.config.customers:,} customers × {world.config.days} days "
        f"({world.start:%Y-%m-%d} → {world.end:%Y-%m-%d %H:%M}Z), policy {world.policy}: "
        f"{len(world.rows):,} events, {conversions:,} conversions, "
        f"{len(world.truth.episodes['episode']):,} intents"
    )
