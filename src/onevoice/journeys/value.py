"""Cross-channel value: single- vs. multi-channel customers compared on lifetime value,
conversion and retention.

A customer's channels are those they came to by themselves (not the ones the brand sent
on, nor ``other``). Lifetime value is the revenue of their orders in the period;
converted means at least one order; retained means no closed account and active in the
last ``recent`` of the period.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from onevoice.domain.journeys import CHURN_EVENTS, OUTBOUND_CHANNELS


def customers(events: pl.LazyFrame, *, recent: timedelta = timedelta(days=30)) -> pl.DataFrame:
    """One row per customer: channels used, lifetime value, converted, retained."""
    frame = events.select("customer", "ts", "event", "channel", "revenue").collect()
    if frame.height == 0:
        return pl.DataFrame(
            schema={
                "customer": pl.Utf8,
                "channels": pl.UInt32,
                "mix": pl.Utf8,
                "lifetime_value": pl.Float64,
                "converted": pl.Boolean,
                "retained": pl.Boolean,
            }
        )
    end = frame.get_column("ts").max()
    own = ~pl.col("channel").is_in([*OUTBOUND_CHANNELS, "other"])
    per = frame.group_by("customer").agg(
        pl.col("channel").filter(own).n_unique().alias("channels"),
        pl.col("revenue").sum().alias("lifetime_value"),
        pl.col("revenue").is_not_null().any().alias("converted"),
        pl.col("event").is_in(list(CHURN_EVENTS)).any().alias("churned"),
        pl.col("ts").max().alias("last_seen"),
    )
    return per.with_columns(
        pl.when(pl.col("channels") >= 2)
        .then(pl.lit("multi-channel"))
        .when(pl.col("channels") == 1)
        .then(pl.lit("single-channel"))
        .otherwise(pl.lit("no own channel"))
        .alias("mix"),
        (~pl.col("churned") & (pl.col("last_seen") >= pl.lit(end) - pl.lit(recent))).alias(
            "retained"
        ),
    ).drop("churned", "last_seen")


def by_mix(per_customer: pl.DataFrame) -> pl.DataFrame:
    """Per channel mix (and per number of channels): customers, mean lifetime value,
    conversion and retention rates."""
    total = max(per_customer.height, 1)
    count = (
        pl.when(pl.col("channels") >= 3)
        .then(pl.lit("3+ channels"))
        .otherwise(pl.col("channels").cast(pl.Utf8) + pl.lit(" channel(s)"))
    )
    aggregations = [
        pl.len().alias("customers"),
        pl.col("lifetime_value").mean().round(2).alias("mean_lifetime_value"),
        pl.col("converted").mean().round(4).alias("conversion_rate"),
        pl.col("retained").mean().round(4).alias("retention_rate"),
    ]
    mix = per_customer.group_by(pl.col("mix").alias("group")).agg(aggregations)
    counts = (
        per_customer.filter(pl.col("channels") >= 1)
        .group_by(count.alias("group"))
        .agg(aggregations)
    )
    return (
        pl.concat([mix.sort("group"), counts.sort("group")])
        .with_columns((pl.col("customers") / total).round(4).alias("share"))
        .select(
            "group",
            "customers",
            "share",
            "mean_lifetime_value",
            "conversion_rate",
            "retention_rate",
        )
    )
