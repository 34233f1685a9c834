"""Cutting events into journeys and naming their steps, with Polars expressions only.

Events are sorted by customer and time once; a journey starts where the customer changes,
after ``gap`` of silence, or after a goal event, and (with ``start_events``) not before
its first start event. Each event gets a ``journey`` number, a ``step`` id
(``channel:label``) and a ``goal`` flag.
"""

from __future__ import annotations

import polars as pl

from onevoice.domain.journeys import JourneyRules


def assign(events: pl.LazyFrame, rules: JourneyRules) -> pl.LazyFrame:
    """Every journey event with ``journey``, ``step``, ``label`` and ``goal``."""
    lazy = events.filter(~pl.col("type").is_in(list(rules.ignore_types)).fill_null(False))
    lazy = lazy.sort(["customer", "ts"], maintain_order=True)
    goal = pl.col("event").is_in(list(rules.end_events))
    gap_ms = int(rules.gap.total_seconds() * 1000)
    new = (
        (pl.col("customer") != pl.col("customer").shift(1))
        | ((pl.col("ts") - pl.col("ts").shift(1)).dt.total_milliseconds() > gap_ms)
        | goal.shift(1)
    ).fill_null(True)
    lazy = lazy.with_columns(
        goal.alias("goal"), new.cast(pl.Int64).cum_sum().set_sorted().alias("journey")
    )
    if rules.start_events:
        started = pl.col("event").is_in(list(rules.start_events)).cast(pl.Int32)
        lazy = lazy.filter(started.cum_sum().over("journey") > 0)
    return lazy.with_columns(_label(rules.granularity)).with_columns(
        (pl.col("channel") + pl.lit(":") + pl.col("label")).alias("step")
    )


def _label(granularity: str) -> pl.Expr:
    if granularity == "channel":
        return pl.col("channel").alias("label")
    if granularity == "event":
        return pl.col("event").alias("label")
    with_reason = pl.col("event") + pl.lit(" (") + pl.col("reason") + pl.lit(")")
    return pl.coalesce(with_reason, pl.col("event")).alias("label")


def steps(assigned: pl.LazyFrame, rules: JourneyRules) -> pl.LazyFrame:
    """The journeys' steps: consecutive repeats of one step folded into the first when
    ``collapse_repeats`` (a web session's three pages of one kind are one step)."""
    if not rules.collapse_repeats:
        return assigned
    repeat = (pl.col("journey") == pl.col("journey").shift(1)) & (
        pl.col("step") == pl.col("step").shift(1)
    )
    return assigned.filter(~repeat.fill_null(False))
