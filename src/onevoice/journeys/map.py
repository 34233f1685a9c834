"""The discovered journey map: a directly-follows graph of steps, the most common full
paths and where journeys end.

Nodes are steps (``channel:label``) with how often they occur; an edge ``a → b`` counts
how often ``b`` directly follows ``a`` inside one journey, its share of everything that
leaves ``a``, and the median seconds between the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

ARROW = " → "


@dataclass(frozen=True, slots=True)
class JourneyMap:
    """The map as frames (``nodes``, ``edges``, ``paths``, ``ends``) and totals."""

    nodes: pl.DataFrame
    edges: pl.DataFrame
    paths: pl.DataFrame
    ends: pl.DataFrame
    journeys: int
    customers: int

    def to_json(self) -> dict[str, Any]:
        return {
            "journeys": self.journeys,
            "customers": self.customers,
            "nodes": self.nodes.to_dicts(),
            "edges": self.edges.to_dicts(),
            "paths": self.paths.to_dicts(),
            "ends": self.ends.to_dicts(),
        }


def build(steps: pl.LazyFrame, *, top_paths: int = 20, max_path_steps: int = 12) -> JourneyMap:
    """The map of ``steps`` (from :func:`onevoice.journeys.sessions.steps`)."""
    frame = steps.select("customer", "journey", "ts", "step", "label", "channel", "goal").collect()
    first = pl.col("journey") != pl.col("journey").shift(1)
    last = pl.col("journey") != pl.col("journey").shift(-1)
    marked = frame.with_columns(
        first.fill_null(True).alias("first"), last.fill_null(True).alias("last")
    )
    nodes = (
        marked.group_by("step")
        .agg(
            pl.col("label").first(),
            pl.col("channel").first(),
            pl.len().alias("count"),
            pl.col("first").sum().alias("starts"),
            pl.col("last").sum().alias("ends"),
        )
        .rename({"step": "id"})
        .sort(["count", "id"], descending=[True, False])
    )
    pairs = marked.with_columns(
        pl.col("step").shift(-1).alias("target"),
        ((pl.col("ts").shift(-1) - pl.col("ts")).dt.total_milliseconds() / 1000).alias("wait"),
    ).filter(~pl.col("last"))
    edges = (
        pairs.group_by("step", "target")
        .agg(pl.len().alias("count"), pl.col("wait").median().alias("median_seconds"))
        .rename({"step": "source"})
        .with_columns(
            (pl.col("count") / pl.col("count").sum().over("source")).round(4).alias("share"),
            pl.col("median_seconds").round(1),
        )
        .select("source", "target", "count", "share", "median_seconds")
        .sort(["count", "source", "target"], descending=[True, False, False])
    )
    journeys = marked.group_by("journey", maintain_order=True).agg(
        pl.col("customer").first(),
        pl.col("step").head(max_path_steps).alias("head"),
        pl.len().alias("length"),
        pl.col("goal").any().alias("goal"),
        ((pl.col("ts").max() - pl.col("ts").min()).dt.total_milliseconds() / 1000).alias("secs"),
        pl.col("step").last().alias("end"),
    )
    total = journeys.height
    paths = _top_paths(journeys, total, top_paths, max_path_steps)
    ends = (
        journeys.group_by("end")
        .agg(pl.len().alias("journeys"), pl.col("goal").mean().round(4).alias("goal_share"))
        .with_columns((pl.col("journeys") / max(total, 1)).round(4).alias("share"))
        .rename({"end": "step"})
        .sort(["journeys", "step"], descending=[True, False])
        .head(top_paths)
    )
    customers = journeys.get_column("customer").n_unique() if total else 0
    return JourneyMap(nodes, edges, paths, ends, total, customers)


def _top_paths(journeys: pl.DataFrame, total: int, top: int, max_steps: int) -> pl.DataFrame:
    """The ``top`` most common paths. Paths are grouped by a hash of their steps, and
    only the groups that can make the top are spelled out (millions of journeys)."""
    longer = pl.col("length") > max_steps
    groups = (
        journeys.with_columns(pl.col("head").hash().alias("key"), longer.alias("cut"))
        .group_by("key", "cut")
        .agg(
            pl.len().alias("journeys"),
            pl.col("customer").n_unique().alias("customers"),
            pl.col("goal").mean().round(4).alias("goal_share"),
            pl.col("secs").median().round(1).alias("median_seconds"),
            pl.col("length").first().alias("steps"),
            pl.col("head").first(),
        )
    )
    if groups.height > top:  # keep every group tied with the last one that makes the top
        cutoff = groups.get_column("journeys").sort(descending=True)[top - 1]
        groups = groups.filter(pl.col("journeys") >= cutoff)
    suffix = pl.when(pl.col("cut")).then(pl.lit(ARROW + "…")).otherwise(pl.lit(""))
    return (
        groups.with_columns((pl.col("head").list.join(ARROW) + suffix).alias("path"))
        .with_columns((pl.col("journeys") / max(total, 1)).round(4).alias("share"))
        .sort(["journeys", "path"], descending=[True, False])
        .head(top)
        .select(
            "path",
            pl.col("head").alias("sequence"),
            "steps",
            "journeys",
            "customers",
            "share",
            "goal_share",
            "median_seconds",
        )
    )
