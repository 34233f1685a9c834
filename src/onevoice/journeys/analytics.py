"""The journeys facade: one object answers map, friction, conformance, gap and value
for a window, a segment and an entry step, over events from the store or a file.

Segments: ``single-channel`` and ``multi-channel`` (customers by the channels they came
to themselves in the window), ``channel:NAME`` (customers who used that channel).
``entry`` keeps the journeys whose first step is that step id (``web:Mortgages``) or
that event name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from onevoice.config import Settings
from onevoice.domain.errors import InvalidInput
from onevoice.domain.journeys import (
    OUTBOUND_CHANNELS,
    DesignedJourney,
    FrictionRules,
    GapRules,
    JourneyRules,
)
from onevoice.journeys import conformance, friction, gap, sessions, value
from onevoice.journeys.map import JourneyMap, build

Loader = Callable[[datetime | None, datetime | None], pl.LazyFrame]
Shown = Callable[[datetime | None, datetime | None], pl.DataFrame]
SEGMENTS = ("single-channel", "multi-channel", "channel:NAME")


@dataclass(frozen=True, slots=True)
class Filters:
    segment: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    entry: str | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.start >= self.end:
            raise InvalidInput("from must be before to", field="from")
        if self.segment and not (
            self.segment in ("single-channel", "multi-channel")
            or (self.segment.startswith("channel:") and len(self.segment) > 8)
        ):
            raise InvalidInput(
                f"unknown segment {self.segment!r}; use {', '.join(SEGMENTS)}", field="segment"
            )


@dataclass
class JourneyAnalytics:
    """Reports over the events ``load`` gives for a window."""

    load: Loader
    journey_rules: JourneyRules = field(default_factory=JourneyRules)
    friction_rules: FrictionRules = field(default_factory=FrictionRules)
    gap_rules: GapRules = field(default_factory=GapRules)
    shown: Shown | None = None  # the decision log's shown actions, when there is one
    _last: tuple[Filters, pl.DataFrame] | None = field(default=None, repr=False)

    def events(self, filters: Filters) -> pl.LazyFrame:
        """The window's events, cached as a frame, of the segment's customers."""
        frame = self.load(filters.start, filters.end).collect()
        if filters.segment:
            frame = frame.join(_segment(frame, filters.segment), on="customer", how="semi")
        return frame.lazy()

    def journeys(self, filters: Filters) -> pl.LazyFrame:
        """The window's events cut into journeys (the last answer is kept: a map and a
        friction report of one window sort the events once)."""
        if self._last is not None and self._last[0] == filters:
            return self._last[1].lazy()
        assigned = sessions.assign(self.events(filters), self.journey_rules).collect()
        if filters.entry:
            first = assigned.group_by("journey").agg(
                pl.col("step").first(), pl.col("event").first()
            )
            keep = first.filter(
                (pl.col("step") == filters.entry) | (pl.col("event") == filters.entry)
            )
            assigned = assigned.join(keep.select("journey"), on="journey", how="semi")
        self._last = (filters, assigned)
        return assigned.lazy()

    def map(self, filters: Filters, *, top: int = 20) -> JourneyMap:
        return build(sessions.steps(self.journeys(filters), self.journey_rules), top_paths=top)

    def friction(self, filters: Filters) -> friction.FrictionReport:
        end = filters.end
        return friction.report(
            self.journeys(filters), self.journey_rules, self.friction_rules, data_end=end
        )

    def conformance(
        self, design: DesignedJourney, filters: Filters, *, top: int = 10
    ) -> conformance.Conformance:
        steps = sessions.steps(self.journeys(filters), self.journey_rules)
        return conformance.check(steps, design, top=top)

    def gap(self, filters: Filters, *, by_week: bool = True) -> dict[str, Any]:
        assigned = self.journeys(filters)
        shown = self.shown(filters.start, filters.end) if self.shown else None
        if shown is not None and filters.segment:
            customers = self.events(filters).select("customer").unique().collect()
            shown = shown.join(customers, left_on="subject", right_on="customer", how="semi")
        result: dict[str, Any] = {
            "segment": filters.segment,
            "signs": gap.signs(assigned, self.journey_rules, self.gap_rules, shown),
        }
        if by_week:
            result["weekly"] = gap.weekly(assigned, self.journey_rules, self.gap_rules)
        return result

    def value(self, filters: Filters) -> pl.DataFrame:
        return value.by_mix(value.customers(self.events(filters)))


def _segment(frame: pl.DataFrame, segment: str) -> pl.DataFrame:
    """The customers of ``segment`` (one column, ``customer``)."""
    if segment.startswith("channel:"):
        channel = segment.partition(":")[2]
        return frame.filter(pl.col("channel") == channel).select("customer").unique()
    own = frame.filter(~pl.col("channel").is_in([*OUTBOUND_CHANNELS, "other"]))
    counts = own.group_by("customer").agg(pl.col("channel").n_unique().alias("n"))
    wanted = pl.col("n") >= 2 if segment == "multi-channel" else pl.col("n") == 1
    return counts.filter(wanted).select("customer")


def rules_from(
    settings: Settings, *, gap_hours: float | None = None, granularity: str = "reason"
) -> tuple[JourneyRules, FrictionRules, GapRules]:
    """The journey, friction and gap rules of ``settings`` (``ONEVOICE_JOURNEY_*``, and
    the contact policy's quiet hours and default time zone)."""

    def names(text: str) -> tuple[str, ...]:
        return tuple(part.strip() for part in text.split(",") if part.strip())

    hours = settings.journey_gap_hours if gap_hours is None else gap_hours
    journey = JourneyRules(
        gap=timedelta(hours=hours),
        end_events=names(settings.journey_end_events),
        start_events=names(settings.journey_start_events),
        granularity=granularity,
    )
    friction_rules = FrictionRules(
        repeat_within=timedelta(days=settings.journey_repeat_days),
        long_wait=timedelta(hours=settings.journey_long_wait_hours),
    )
    policy = settings.policy()
    gap_rules = GapRules(
        quiet_start_hour=policy.quiet_start.hour,
        quiet_end_hour=policy.quiet_end.hour,
        default_timezone=settings.default_timezone,
    )
    return journey, friction_rules, gap_rules
