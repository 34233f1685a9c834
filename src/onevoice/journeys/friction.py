"""Friction, per journey and in aggregate: repeat contacts for the same reason, channel
hopping without resolution, dead ends and long waits.

A *contact* is an event on an assisted channel (call centre, chat, branch, ivr, social)
that is neither a goal nor a survey answer; its *reason* is ``properties.reason``
(``topic``, ``menu``, ``query``), else its event name. A journey is *after a goal* when
it reached one, when it raised a reason for which at least ``goal_reason_share`` of the
journeys raising it reach a goal (a card problem: yes; cash and cheques: no), or when
journeys are cut by start events. Routine visits are not friction.

- **repeat contact**: a contact for a reason the customer already contacted about within
  ``repeat_within`` (flagged on the journey of the repeat);
- **channel hopping**: a journey after a goal with at least ``hop_switches`` switches
  between the customer's own channels (messages the brand sent do not count) that
  reached no goal;
- **dead end**: a journey after a goal that did not reach it and is over (silent for the
  journey gap since);
- **long wait**: in a journey after a goal, more than ``long_wait`` between two of the
  customer's own steps.
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
    contacts = _contacts(frame, rules)
    per_journey = _per_journey(frame, rules)
    goal_reasons = (
        contacts.select("journey", "key")
        .unique()
        .join(per_journey.select("journey", "reached_goal"), on="journey")
        .group_by("key")
        .agg(pl.col("reached_goal").mean().alias("goal_share"))
        .filter(pl.col("goal_share") >= rules.goal_reason_share)
        .get_column("key")
    )
    repeats = contacts.group_by("journey").agg(
        pl.col("repeat").sum().alias("repeat_contacts"),
        pl.len().alias("contacts"),
        pl.col("key").is_in(goal_reasons.implode()).any().alias("goal_reason"),
    )
    journeys = per_journey.join(repeats, on="journey", how="left").with_columns(
        pl.col("repeat_contacts").fill_null(0),
        pl.col("contacts").fill_null(0),
        pl.col("goal_reason").fill_null(False),
    )
    gap_ms = int(journey_rules.gap.total_seconds() * 1000)
    over = (
        (pl.lit(data_end) - pl.col("end")).dt.total_milliseconds() >= gap_ms
        if data_end is not None
        else pl.lit(True)
    )
    after_goal = (
        pl.lit(True)
        if journey_rules.start_events
        else pl.col("reached_goal") | pl.col("goal_reason")
    )
    journeys = journeys.with_columns(after_goal.alias("after_goal")).with_columns(
        (pl.col("repeat_contacts") > 0).alias("repeat_contact"),
        (
            pl.col("after_goal")
            & ~pl.col("reached_goal")
            & (pl.col("switches") >= rules.hop_switches)
        ).alias("channel_hopping"),
        (pl.col("after_goal") & ~pl.col("reached_goal") & over).alias("dead_end"),
        (pl.col("after_goal") & (pl.col("long_waits") > 0)).alias("long_wait"),
    )
    journeys = journeys.drop("goal_reason").sort("journey")
    return FrictionReport(journeys, _summary(journeys), _where(contacts, journeys))


def _contacts(frame: pl.DataFrame, rules: FrictionRules) -> pl.DataFrame:
    """Contacts with their reason (``key``) and whether each repeats an earlier one."""
    assisted = (
        pl.col("channel").is_in(list(rules.assisted_channels))
        & ~pl.col("goal")
        & pl.col("survey").is_null()
    )
    within_ms = int(rules.repeat_within.total_seconds() * 1000)
    same = (pl.col("customer") == pl.col("customer").shift(1)) & (
        pl.col("key") == pl.col("key").shift(1)
    )
    soon = (pl.col("ts") - pl.col("ts").shift(1)).dt.total_milliseconds() <= within_ms
    return (
        frame.filter(assisted)
        .with_columns(pl.coalesce(pl.col("reason"), pl.col("event")).alias("key"))
        .sort(["customer", "key", "ts"], maintain_order=True)
        .with_columns((same & soon).fill_null(False).alias("repeat"))
    )


def _per_journey(frame: pl.DataFrame, rules: FrictionRules) -> pl.DataFrame:
    """Per journey: who, when, first and last step, goal, and over the customer's own
    steps (not the brand's messages) the channel switches and the waits."""
    summary = frame.group_by("journey").agg(
        pl.col("customer").first(),
        pl.col("ts").min().alias("start"),
        pl.col("ts").max().alias("end"),
        pl.col("step").first().alias("first_step"),
        pl.col("step").last().alias("last_step"),
        pl.col("goal").any().alias("reached_goal"),
    )
    same = pl.col("journey") == pl.col("journey").shift(1)
    own = frame.filter(~pl.col("channel").is_in(list(rules.outbound_channels))).with_columns(
        (same & (pl.col("channel") != pl.col("channel").shift(1))).fill_null(False).alias("switch"),
        pl.when(same)
        .then((pl.col("ts") - pl.col("ts").shift(1)).dt.total_milliseconds())
        .alias("wait"),
        (~same).fill_null(True).alias("opens"),
    )
    long_ms = int(rules.long_wait.total_seconds() * 1000)
    moves = own.group_by("journey").agg(
        pl.col("switch").sum().alias("switches"),
        (pl.col("wait") > long_ms).sum().alias("long_waits"),
        (pl.col("wait").max() / 1000).alias("longest_wait_seconds"),
    )
    # the channel sequence, spelled out only where channels switched (few journeys)
    switched = moves.filter(pl.col("switches") > 0).select("journey")
    hops = (
        own.join(switched, on="journey", how="semi")
        .filter(pl.col("switch") | pl.col("opens"))
        .group_by("journey")
        .agg(pl.col("channel").str.join(" → ").alias("hops"))
    )
    return (
        summary.join(moves, on="journey", how="left")
        .join(hops, on="journey", how="left")
        .with_columns(pl.col("switches").fill_null(0), pl.col("long_waits").fill_null(0))
    )


def _summary(journeys: pl.DataFrame) -> pl.DataFrame:
    total = max(journeys.height, 1)
    rows = []
    for flag in FLAGS:
        flagged = journeys.filter(pl.col(flag))
        rows.append(
            {
                "flag": flag,
                "journeys": flagged.height,
                "share": round(flagged.height / total, 4),
                "customers": flagged.get_column("customer").n_unique(),
            }
        )
    schema = {"flag": pl.Utf8, "journeys": pl.Int64, "share": pl.Float64, "customers": pl.Int64}
    return pl.DataFrame(rows, schema=schema)


def _where(contacts: pl.DataFrame, journeys: pl.DataFrame) -> pl.DataFrame:
    return pl.concat(
        [
            _top(contacts.filter(pl.col("repeat")), "key", "repeat_contact"),
            _top(journeys.filter(pl.col("channel_hopping")), "hops", "channel_hopping"),
            _top(journeys.filter(pl.col("dead_end")), "last_step", "dead_end"),
            _top(journeys.filter(pl.col("long_wait")), "first_step", "long_wait"),
        ]
    )


def _top(frame: pl.DataFrame, column: str, flag: str, limit: int = 5) -> pl.DataFrame:
    return (
        frame.group_by(pl.col(column).cast(pl.Utf8).alias("what"))
        .agg(pl.len().alias("count"))
        .sort(["count", "what"], descending=[True, False])
        .head(limit)
        .select(pl.lit(flag).alias("flag"), "what", pl.col("count").cast(pl.Int64))
    )
