"""Friction, per journey and in aggregate: repeat contacts for the same reason, channel
hopping without resolution, dead ends and long waits.

- **repeat contact**: a contact (not a goal event nor a survey answer) on an assisted
  channel (call centre, chat, branch, ivr, social) for a reason (``properties.reason``,
  ``topic``…, else the event) the customer already contacted about within
  ``repeat_within``;
- **channel hopping**: at least ``hop_switches`` switches between the customer's own
  channels (messages the brand sent do not count) in a journey that reached no goal;
- **dead end**: a journey that reached no goal although it was after one (it had a
  contact, or began with a start event) and is over (silent for the journey gap since);
- **long wait**: a wait longer than ``long_wait`` between two steps of one journey.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from onevoice.domain.journeys import FrictionRules, JourneyRules

FLAGS = ("repeat_contact", "channel_hopping", "dead_end", "long_wait")


@dataclass(frozen=True, slots=True)
class FrictionReport:
    """``journeys``: one row per journey with its flags; ``summary``: one row per flag;
    ``where``: the top reasons, end steps and channel sequences behind each flag."""

    journeys: pl.DataFrame
    summary: pl.DataFrame
    where: pl.DataFrame

    def to_json(self, limit: int = 100) -> dict[str, Any]:
        flagged = self.journeys.filter(pl.any_horizontal(*[pl.col(f) for f in FLAGS]))
        return {
            "summary": self.summary.to_dicts(),
            "where": self.where.to_dicts(),
            "journeys": flagged.head(limit).to_dicts(),
            "flagged_journeys": flagged.height,
        }


def report(
    assigned: pl.LazyFrame,
    journey_rules: JourneyRules,
    rules: FrictionRules,
    *,
    data_end: datetime | None = None,
) -> FrictionReport:
    frame = assigned.select(
        "customer", "journey", "ts", "event", "channel", "reason", "step", "goal", "survey"
    ).collect()
    if data_end is None and frame.height:
        data_end = frame.get_column("ts").max()  # type: ignore[assignment]
    # a contact: the customer reaching a person; not the goal itself, not a survey answer
    assisted = (
        pl.col("channel").is_in(list(rules.assisted_channels))
        & ~pl.col("goal")
        & pl.col("survey").is_null()
    )
    key = pl.coalesce(pl.col("reason"), pl.col("event")).alias("key")
    within_ms = int(rules.repeat_within.total_seconds() * 1000)
    contacts = (
        frame.filter(assisted)
        .with_columns(key)
        .sort(["customer", "key", "ts"], maintain_order=True)
        .with_columns(
            (
                (pl.col("customer") == pl.col("customer").shift(1))
                & (pl.col("key") == pl.col("key").shift(1))
                & ((pl.col("ts") - pl.col("ts").shift(1)).dt.total_milliseconds() <= within_ms)
            )
            .fill_null(False)
            .alias("repeat")
        )
    )
    repeats = contacts.group_by("journey").agg(
        pl.col("repeat").sum().alias("repeat_contacts"), pl.len().alias("contacts")
    )
    own = frame.filter(~pl.col("channel").is_in(list(rules.outbound_channels)))
    switches = (
        own.with_columns(
            (
                (pl.col("journey") == pl.col("journey").shift(1))
                & (pl.col("channel") != pl.col("channel").shift(1))
            )
            .fill_null(False)
            .alias("switch")
        )
        .group_by("journey")
        .agg(
            pl.col("switch").sum().alias("switches"),
            pl.col("channel")
            .filter(
                pl.col("switch") | (pl.col("journey") != pl.col("journey").shift(1)).fill_null(True)
            )
            .str.join(" → ")
            .alias("hops"),
        )
    )
    long_ms = int(rules.long_wait.total_seconds() * 1000)
    waits = frame.with_columns(
        pl.when(pl.col("journey") == pl.col("journey").shift(1))
        .then((pl.col("ts") - pl.col("ts").shift(1)).dt.total_milliseconds())
        .otherwise(None)
        .alias("wait")
    )
    journeys = waits.group_by("journey", maintain_order=True).agg(
        pl.col("customer").first(),
        pl.col("ts").min().alias("start"),
        pl.col("ts").max().alias("end"),
        pl.col("step").first().alias("first_step"),
        pl.col("step").last().alias("last_step"),
        pl.col("goal").any().alias("reached_goal"),
        (pl.col("wait") > long_ms).sum().alias("long_waits"),
        (pl.col("wait").max() / 1000).alias("longest_wait_seconds"),
    )
    journeys = (
        journeys.join(repeats, on="journey", how="left")
        .join(switches, on="journey", how="left")
        .with_columns(
            pl.col("repeat_contacts").fill_null(0),
            pl.col("contacts").fill_null(0),
            pl.col("switches").fill_null(0),
        )
    )
    gap_ms = int(journey_rules.gap.total_seconds() * 1000)
    over = (
        (pl.lit(data_end) - pl.col("end")).dt.total_milliseconds() >= gap_ms
        if data_end is not None
        else pl.lit(True)
    )
    after_goal = pl.lit(True) if journey_rules.start_events else pl.col("contacts") > 0
    journeys = journeys.with_columns(
        (pl.col("repeat_contacts") > 0).alias("repeat_contact"),
        ((pl.col("switches") >= rules.hop_switches) & ~pl.col("reached_goal")).alias(
            "channel_hopping"
        ),
        (~pl.col("reached_goal") & after_goal & over).alias("dead_end"),
        (pl.col("long_waits") > 0).alias("long_wait"),
    ).sort("journey")
    total = max(journeys.height, 1)
    summary = pl.DataFrame(
        [
            {
                "flag": flag,
                "journeys": int(journeys.get_column(flag).sum()),
                "share": round(int(journeys.get_column(flag).sum()) / total, 4),
                "customers": journeys.filter(pl.col(flag)).get_column("customer").n_unique(),
            }
            for flag in FLAGS
        ],
        schema={"flag": pl.Utf8, "journeys": pl.Int64, "share": pl.Float64, "customers": pl.Int64},
    )
    where = pl.concat(
        [
            _top(contacts.filter(pl.col("repeat")), "key", "repeat_contact"),
            _top(journeys.filter(pl.col("channel_hopping")), "hops", "channel_hopping"),
            _top(journeys.filter(pl.col("dead_end")), "last_step", "dead_end"),
            _top(journeys.filter(pl.col("long_wait")), "first_step", "long_wait"),
        ]
    )
    return FrictionReport(journeys, summary, where)


def _top(frame: pl.DataFrame, column: str, flag: str, limit: int = 5) -> pl.DataFrame:
    return (
        frame.group_by(pl.col(column).cast(pl.Utf8).alias("what"))
        .agg(pl.len().alias("count"))
        .sort(["count", "what"], descending=[True, False])
        .head(limit)
        .select(pl.lit(flag).alias("flag"), "what", pl.col("count").cast(pl.Int64))
    )
