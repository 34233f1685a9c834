"""Where the events come from: the store (stored records reduced to frame rows) or a file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from onevoice.journeys.frame import SCHEMA, from_rows, read_events, row_of
from onevoice.services.ports import Store


def from_store(store: Store, since: datetime | None, until: datetime | None) -> pl.LazyFrame:
    """The filed events of ``since <= ts < until`` as a frame, read in chunks."""
    parts = [
        from_rows(row_of(pid, record) for pid, record in chunk)
        for chunk in store.event_records(since, until)
    ]
    if not parts:
        return pl.DataFrame(schema=SCHEMA).lazy()
    return pl.concat(parts).lazy()


def from_file(path: Path, since: datetime | None, until: datetime | None) -> pl.LazyFrame:
    """The events of a Parquet or JSON Lines export, in the window."""
    lazy = read_events(path)
    if since is not None:
        lazy = lazy.filter(pl.col("ts") >= since)
    if until is not None:
        lazy = lazy.filter(pl.col("ts") < until)
    return lazy


def shown_from_store(store: Store, since: datetime | None, until: datetime | None) -> pl.DataFrame:
    """The actions the decision log's conversations showed, one row per action shown."""
    return pl.DataFrame(
        store.shown_actions(since, until),
        schema={"conversation": pl.Utf8, "subject": pl.Utf8, "channel": pl.Utf8, "action": pl.Utf8},
        orient="row",
    )
