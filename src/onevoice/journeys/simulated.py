"""A simulated world's events as a journeys frame, column by column (no dict per event),
so benchmarks can export millions of events to Parquet in seconds.

Names, reasons and offers match what :mod:`onevoice.sim.segment` sends as Segment calls.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from onevoice.sim import catalog as cat
from onevoice.sim.runner import World


def _names() -> tuple[list[str], list[str], list[str | None]]:
    """Per (content, channel) code: type, event name and reason."""
    types, events, reasons = [], [], []
    for content in range(len(cat.CONTENT)):
        item = cat.CONTENT[content]
        for channel in cat.CHANNELS:
            name, reason = item.name, None
            props = item.properties
            for key in ("reason", "topic", "menu", "query"):
                if isinstance(props.get(key), str):
                    reason = props[key]
                    break
            if content in (cat.DELIVERED, cat.CLICKED, cat.UNSUBSCRIBED):
                names = cat.DELIVERY_EVENTS.get(channel, ("", "", "", ""))
                name = names[(cat.DELIVERED, cat.CLICKED, cat.UNSUBSCRIBED).index(content)]
            elif content == cat.COMPLAINED:
                name = "Email Marked as Spam" if channel == "email" else "Complaint Logged"
            elif content == cat.LANDING:
                name = "Landing Page"
            types.append(item.type)
            events.append(name or item.name)
            reasons.append(reason)
    return types, events, reasons


def world_frame(world: World) -> pl.DataFrame:
    """Every event of ``world`` (identify calls left out) as a journeys frame; customers
    are the simulator's integer ids."""
    rows = world.rows
    keep = rows.content != cat.IDENTIFY
    content = rows.content[keep].astype(np.int64)
    channel = rows.channel[keep].astype(np.int64)
    code = content * cat.N_CHANNELS + channel
    types, events, reasons = _names()
    action = rows.action[keep].astype(np.int64)
    offers = [a.name for a in cat.ACTIONS]
    is_offer = (action >= 0) & (content != cat.ORDER)
    zones = [z for z, _ in cat.TIMEZONES]
    frame = pl.DataFrame(
        {
            "customer": rows.customer[keep].astype(np.int64),
            "ts": rows.at[keep],
            "code": code,
            "channel": channel,
            "action": np.where(is_offer, action, -1),
            "revenue": np.where(content == cat.ORDER, rows.amount[keep], np.nan),
            "zone": world.people.timezone[rows.customer[keep]].astype(np.int64),
        }
    )
    return frame.select(
        "customer",
        pl.col("ts").cast(pl.Datetime("ms")).dt.replace_time_zone("UTC"),
        pl.col("code").replace_strict(list(range(len(types))), pl.Series(types)).alias("type"),
        pl.col("code").replace_strict(list(range(len(events))), pl.Series(events)).alias("event"),
        pl.col("channel").replace_strict(list(range(cat.N_CHANNELS)), list(cat.CHANNELS)),
        pl.col("code")
        .replace_strict(
            list(range(len(reasons))), pl.Series(reasons, dtype=pl.Utf8), return_dtype=pl.Utf8
        )
        .alias("reason"),
        pl.when(pl.col("action") >= 0)
        .then(pl.col("action").replace_strict(list(range(len(offers))), offers, default=None))
        .alias("offer"),
        pl.lit(None, pl.Utf8).alias("survey"),
        pl.lit(None, pl.Float64).alias("score"),
        pl.col("revenue").fill_nan(None),
        pl.col("zone").replace_strict(list(range(len(zones))), zones).alias("timezone"),
        pl.lit(None, pl.Datetime("ms", "UTC")).alias("expires"),
    )
