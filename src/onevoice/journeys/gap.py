"""The engagement gap: five signs that the brand answers customers worse than they need.

1. **inconsistent responses** — of the journeys in which messages were shown on two or
   more channels, and of the decision log's conversations that showed actions on two or
   more channels, the share shown different offers (one voice would show one);
2. **channel-specific handling** — of the journeys that switched channel, the share in
   which the customer raised the same reason again on the new channel (started over);
3. **disconnected conversations** — NPS (−100…100) and mean Customer Effort Score from
   ``nps``/``ces`` survey events, with their weekly trend;
4. **mistimed or expired messages** — the share of messages delivered in quiet hours
   (the customer's local time; outbound channels), after their ``valid_until``, or within
   ``after_goal`` after the customer reached a goal; and the opt-out rate per message;
5. **database erosion** — the share of the contactable base (customers the brand sent to)
   lost to an opt-out or a closed account, per year.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

import polars as pl

from onevoice.domain.journeys import GapRules, JourneyRules, nps

SIGNS = (
    "inconsistent_responses",
    "channel_specific_handling",
    "disconnected_conversations",
    "mistimed_messages",
    "database_erosion",
)
_ZONES = zoneinfo.available_timezones()


def signs(
    assigned: pl.LazyFrame,
    journey_rules: JourneyRules,
    rules: GapRules,
    shown: pl.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """The five signs of the events in ``assigned`` (journeys already cut), and of the
    decision log's conversations when ``shown`` holds the actions they showed
    (``conversation``, ``channel``, ``action``)."""
    frame = assigned.select(
        "customer",
        "journey",
        "ts",
        "event",
        "channel",
        "reason",
        "offer",
        "survey",
        "score",
        "timezone",
        "expires",
        "goal",
    ).collect()
    return [
        _inconsistent(frame, rules, shown),
        _started_over(frame, journey_rules, rules),
        _surveys(frame),
        _mistimed(frame, rules),
        _erosion(frame, rules),
    ]


def weekly(
    assigned: pl.LazyFrame, journey_rules: JourneyRules, rules: GapRules
) -> list[dict[str, Any]]:
    """The signs week by week (by the week each journey started)."""
    lazy = assigned.with_columns(pl.col("ts").min().over("journey").dt.truncate("1w").alias("week"))
    weeks = lazy.select(pl.col("week").unique().sort()).collect().get_column("week").to_list()
    rows = []
    for week in weeks:
        values = signs(lazy.filter(pl.col("week") == week), journey_rules, rules)
        rows.append({"week": week.date().isoformat(), **{v["sign"]: v["value"] for v in values}})
    return rows


def _sign(name: str, value: float | None, unit: str, **detail: Any) -> dict[str, Any]:
    return {
        "sign": name,
        "value": None if value is None else round(value, 4),
        "unit": unit,
        "detail": detail,
    }


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _messages(frame: pl.DataFrame, rules: GapRules) -> pl.DataFrame:
    return frame.filter(pl.col("event").is_in(list(rules.message_events)))


def _inconsistent(
    frame: pl.DataFrame, rules: GapRules, shown: pl.DataFrame | None
) -> dict[str, Any]:
    """Journeys (messages seen in events) and decision-log conversations shown actions
    on two or more channels, and how many of those showed different ones."""
    per = (
        _messages(frame, rules)
        .filter(pl.col("offer").is_not_null())
        .group_by("journey")
        .agg(
            pl.col("channel").n_unique().alias("channels"),
            pl.col("offer").n_unique().alias("offers"),
        )
        .filter(pl.col("channels") >= 2)
    )
    mixed = per.filter(pl.col("offers") >= 2).height
    conversations = mixed_conversations = 0
    if shown is not None and shown.height:
        logged = (
            shown.group_by("conversation")
            .agg(
                pl.col("channel").n_unique().alias("channels"),
                pl.col("action").n_unique().alias("actions"),
            )
            .filter(pl.col("channels") >= 2)
        )
        conversations = logged.height
        mixed_conversations = logged.filter(pl.col("actions") >= 2).height
    return _sign(
        SIGNS[0],
        _share(mixed + mixed_conversations, per.height + conversations),
        "share of journeys and conversations",
        journeys=per.height,
        inconsistent=mixed,
        conversations=conversations,
        inconsistent_conversations=mixed_conversations,
    )


def _started_over(
    frame: pl.DataFrame, journey_rules: JourneyRules, rules: GapRules
) -> dict[str, Any]:
    del journey_rules
    own = frame.filter(~pl.col("event").is_in(list(rules.message_events)))
    switching = (
        own.group_by("journey")
        .agg(pl.col("channel").n_unique().alias("channels"))
        .filter(pl.col("channels") >= 2)
        .select("journey")
    )
    repeated = (
        own.join(switching, on="journey")
        .filter(pl.col("reason").is_not_null())
        .group_by("journey", "reason")
        .agg(pl.col("channel").n_unique().alias("channels"))
        .filter(pl.col("channels") >= 2)
        .get_column("journey")
        .n_unique()
    )
    return _sign(
        SIGNS[1],
        _share(repeated, switching.height),
        "share of journeys",
        switching=switching.height,
        started_over=repeated,
    )


def _surveys(frame: pl.DataFrame) -> dict[str, Any]:
    answers = frame.filter(pl.col("survey").is_not_null() & pl.col("score").is_not_null())
    nps_scores = answers.filter(pl.col("survey") == "nps").get_column("score").to_list()
    ces = answers.filter(pl.col("survey") == "ces").get_column("score")
    trend = []
    for (week,), part in answers.sort("ts").group_by(
        pl.col("ts").dt.truncate("1w").alias("week"), maintain_order=True
    ):
        scores = part.filter(pl.col("survey") == "nps").get_column("score").to_list()
        effort = part.filter(pl.col("survey") == "ces").get_column("score")
        trend.append(
            {
                "week": week.date().isoformat(),
                "nps": _round(nps(scores)),
                "ces": _round(effort.mean() if effort.len() else None),  # type: ignore[arg-type]
                "answers": part.height,
            }
        )
    value = nps(nps_scores)
    return _sign(
        SIGNS[2],
        value,
        "NPS",
        nps_answers=len(nps_scores),
        ces=_round(ces.mean() if ces.len() else None),  # type: ignore[arg-type]
        ces_answers=ces.len(),
        nps_trend_per_week=_slope([r["nps"] for r in trend]),
        weekly=trend,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def _slope(values: list[float | None]) -> float | None:
    """Least-squares change per week of the known values."""
    points = [(x, y) for x, y in enumerate(values) if y is not None]
    if len(points) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return round(sum((x - mean_x) * (y - mean_y) for x, y in points) / spread, 2)


def _local_hour(rules: GapRules, zones: list[str]) -> pl.Expr:
    default = rules.default_timezone if rules.default_timezone in _ZONES else "UTC"
    expr = pl.col("ts").dt.convert_time_zone(default).dt.hour()
    for zone in zones:
        if zone in _ZONES and zone != default:
            local = pl.col("ts").dt.convert_time_zone(zone).dt.hour()
            expr = pl.when(pl.col("timezone") == zone).then(local).otherwise(expr)
    return expr.alias("hour")


def _mistimed(frame: pl.DataFrame, rules: GapRules) -> dict[str, Any]:
    messages = _messages(frame, rules).sort("ts")
    zones = [z for z in messages.get_column("timezone").unique().to_list() if z]
    start, end = rules.quiet_start_hour, rules.quiet_end_hour
    hour = pl.col("hour")
    in_quiet = (hour >= start) | (hour < end) if start > end else (hour >= start) & (hour < end)
    goals = (
        frame.filter(pl.col("goal"))
        .select("customer", pl.col("ts").alias("goal_at"))
        .sort("goal_at")
    )
    marked = (
        messages.with_columns(_local_hour(rules, zones))
        .join_asof(
            goals,
            left_on="ts",
            right_on="goal_at",
            by="customer",
            strategy="backward",
            check_sortedness=False,
        )
        .with_columns(
            (in_quiet & pl.col("channel").is_in(["email", "sms", "push"])).alias("quiet"),
            (pl.col("expires").is_not_null() & (pl.col("ts") > pl.col("expires"))).alias("expired"),
            (
                pl.col("goal_at").is_not_null()
                & ((pl.col("ts") - pl.col("goal_at")) <= pl.lit(rules.after_goal))
            ).alias("after_goal"),
        )
        .with_columns((pl.col("quiet") | pl.col("expired") | pl.col("after_goal")).alias("bad"))
    )
    sent = marked.height
    opt_outs = frame.filter(pl.col("event").is_in(list(rules.opt_out_events))).height
    return _sign(
        SIGNS[3],
        _share(int(marked.get_column("bad").sum()), sent),
        "share of messages",
        messages=sent,
        quiet_hours=int(marked.get_column("quiet").sum()),
        expired=int(marked.get_column("expired").sum()),
        after_goal=int(marked.get_column("after_goal").sum()),
        opt_outs=opt_outs,
        opt_out_rate=_round4(_share(opt_outs, sent)),
    )


def _round4(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _erosion(frame: pl.DataFrame, rules: GapRules) -> dict[str, Any]:
    if frame.height == 0:
        return _sign(SIGNS[4], None, "share of base per year", contactable=0, lost=0, days=0)
    base = _messages(frame, rules).filter(pl.col("channel").is_in(["email", "sms", "push"]))
    first_sent = base.group_by("customer").agg(pl.col("ts").min().alias("first"))
    lost_events = frame.filter(
        pl.col("event").is_in(list(rules.opt_out_events) + list(rules.churn_events))
    )
    lost = (
        lost_events.join(first_sent, on="customer")
        .filter(pl.col("ts") >= pl.col("first"))
        .get_column("customer")
        .n_unique()
    )
    span = frame.select((pl.col("ts").max() - pl.col("ts").min()).dt.total_milliseconds()).item()
    days = max(float(span) / 86_400_000, 1.0)
    contactable = first_sent.height
    share = _share(lost, contactable)
    yearly = None if share is None else min(1.0, share * 365.0 / days)
    return _sign(
        SIGNS[4],
        yearly,
        "share of base per year",
        contactable=contactable,
        lost=lost,
        days=round(days, 1),
    )
