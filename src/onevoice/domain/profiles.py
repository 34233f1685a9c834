"""The live profile: what every event a person made adds up to.

A profile's state is a commutative monoid: ``apply`` folds one event in, ``merge`` joins
two states, and merging the states of any split of a person's events gives the same
state as folding all of them into one. That is what makes identity merges lossless and
never double-counting: a merge is ``merge(a, b)``, whatever the order events came in.
Traits are last-writer-wins by (event time, messageId), counters add, times take min/max.

>>> from datetime import datetime, timezone
>>> from onevoice.domain.events import parse_event
>>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> e = parse_event({"type": "track", "userId": "u1", "event": "Order Completed",
...                  "properties": {"revenue": 19.99}, "messageId": "m1"}, received_at=now)
>>> state = apply(EMPTY, e)
>>> (state.orders, state.revenue_cents, lifecycle_stage(state, {"userId"}, now))
(1, 1999, 'customer')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from onevoice.domain.events import Event, format_recurring_time, parse_stored_time
from onevoice.domain.identifiers import KNOWN_TYPES

LIFECYCLE_STAGES = ("anonymous", "known", "customer", "repeat", "lapsed")


@dataclass(frozen=True, slots=True)
class ProfileRules:
    """What counts as an order and how lifecycle stages are decided (configurable)."""

    order_events: frozenset[str] = frozenset(
        {"Order Completed", "order_completed", "Purchase", "purchase", "Order Placed"}
    )
    value_properties: tuple[str, ...] = ("revenue", "total", "value")
    repeat_after_orders: int = 2
    lapsed_after: timedelta = timedelta(days=90)


DEFAULT_RULES = ProfileRules()


@dataclass(frozen=True, slots=True)
class Trait:
    """A trait's latest value, with the channel and time it was last stated."""

    value: Any
    channel: str
    at: datetime
    message_id: str

    def newer_than(self, other: Trait) -> bool:
        return (self.at, self.message_id) > (other.at, other.message_id)


@dataclass(frozen=True, slots=True)
class ChannelStats:
    """How often and when a person used one channel."""

    count: int
    first_seen: datetime
    last_seen: datetime

    def plus(self, other: ChannelStats) -> ChannelStats:
        return ChannelStats(
            self.count + other.count,
            min(self.first_seen, other.first_seen),
            max(self.last_seen, other.last_seen),
        )


@dataclass(frozen=True, slots=True)
class ProfileState:
    """Everything computed from a person's events. ``EMPTY`` is the identity element."""

    event_count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    traits: Mapping[str, Trait] = field(default_factory=dict)
    channels: Mapping[str, ChannelStats] = field(default_factory=dict)
    orders: int = 0
    revenue_cents: int = 0
    last_order_at: datetime | None = None

    @property
    def lifetime_value(self) -> float:
        return self.revenue_cents / 100

    def to_record(self) -> dict[str, Any]:
        return {
            "event_count": self.event_count,
            "first_seen": _fmt(self.first_seen),
            "last_seen": _fmt(self.last_seen),
            "traits": {
                k: [t.value, t.channel, format_recurring_time(t.at), t.message_id]
                for k, t in self.traits.items()
            },
            "channels": {
                k: [
                    c.count,
                    format_recurring_time(c.first_seen),
                    format_recurring_time(c.last_seen),
                ]
                for k, c in self.channels.items()
            },
            "orders": self.orders,
            "revenue_cents": self.revenue_cents,
            "last_order_at": _fmt(self.last_order_at),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ProfileState:
        return cls(
            event_count=record["event_count"],
            first_seen=_parse(record["first_seen"]),
            last_seen=_parse(record["last_seen"]),
            traits={
                k: Trait(v[0], v[1], parse_stored_time(v[2], k), v[3])
                for k, v in record["traits"].items()
            },
            channels={
                k: ChannelStats(v[0], parse_stored_time(v[1], k), parse_stored_time(v[2], k))
                for k, v in record["channels"].items()
            },
            orders=record["orders"],
            revenue_cents=record["revenue_cents"],
            last_order_at=_parse(record["last_order_at"]),
        )


EMPTY = ProfileState()


def apply(state: ProfileState, event: Event, rules: ProfileRules = DEFAULT_RULES) -> ProfileState:
    """Fold one event into a profile state."""
    return merge(state, of_event(event, rules))


def apply_all(
    state: ProfileState, events: Iterable[Event], rules: ProfileRules = DEFAULT_RULES
) -> ProfileState:
    """``apply`` each event in turn, in one pass: the same state, built once, not per event."""
    traits = dict(state.traits)
    channels = dict(state.channels)
    count, first, last = state.event_count, state.first_seen, state.last_seen
    orders, revenue, last_order = state.orders, state.revenue_cents, state.last_order_at
    for event in events:
        at, channel, message_id = event.timestamp, event.channel, event.message_id
        for key, value in event.all_traits.items():
            mine = traits.get(key)
            if mine is None or (at, message_id) > (mine.at, mine.message_id):
                traits[key] = Trait(value, channel, at, message_id)
        stats = channels.get(channel)
        channels[channel] = (
            ChannelStats(1, at, at)
            if stats is None
            else ChannelStats(stats.count + 1, min(stats.first_seen, at), max(stats.last_seen, at))
        )
        count += 1
        first = at if first is None else min(first, at)
        last = at if last is None else max(last, at)
        if event.type == "track" and event.name in rules.order_events:
            orders += 1
            revenue += _order_value_cents(event.properties, rules)
            last_order = at if last_order is None else max(last_order, at)
    return ProfileState(count, first, last, traits, channels, orders, revenue, last_order)


def fold(events: Iterable[Event], rules: ProfileRules = DEFAULT_RULES) -> ProfileState:
    """The state of a person from all their events (used to rebuild after an undo)."""
    state = EMPTY
    for event in events:
        state = apply(state, event, rules)
    return state


def of_event(event: Event, rules: ProfileRules = DEFAULT_RULES) -> ProfileState:
    """The state that one event alone contributes."""
    at = event.timestamp
    traits = {
        key: Trait(value, event.channel, at, event.message_id)
        for key, value in event.all_traits.items()
    }
    is_order = event.type == "track" and event.name in rules.order_events
    return ProfileState(
        event_count=1,
        first_seen=at,
        last_seen=at,
        traits=traits,
        channels={event.channel: ChannelStats(1, at, at)},
        orders=1 if is_order else 0,
        revenue_cents=_order_value_cents(event.properties, rules) if is_order else 0,
        last_order_at=at if is_order else None,
    )


def merge(a: ProfileState, b: ProfileState) -> ProfileState:
    """Join two states without losing or double-counting anything. Commutative, associative."""
    if a.event_count == 0 and not a.traits:
        return b
    if b.event_count == 0 and not b.traits:
        return a
    traits = dict(a.traits)
    for key, trait in b.traits.items():
        mine = traits.get(key)
        if mine is None or trait.newer_than(mine):
            traits[key] = trait
    channels = dict(a.channels)
    for key, stats in b.channels.items():
        mine_c = channels.get(key)
        channels[key] = stats if mine_c is None else mine_c.plus(stats)
    return ProfileState(
        event_count=a.event_count + b.event_count,
        first_seen=_min(a.first_seen, b.first_seen),
        last_seen=_max(a.last_seen, b.last_seen),
        traits=traits,
        channels=channels,
        orders=a.orders + b.orders,
        revenue_cents=a.revenue_cents + b.revenue_cents,
        last_order_at=_max(a.last_order_at, b.last_order_at),
    )


def lifecycle_stage(
    state: ProfileState,
    identifier_types: Iterable[str],
    now: datetime,
    rules: ProfileRules = DEFAULT_RULES,
) -> str:
    """anonymous → known → customer → repeat, and lapsed once a customer goes quiet."""
    if state.orders and state.last_seen is not None and now - state.last_seen > rules.lapsed_after:
        return "lapsed"
    if state.orders >= rules.repeat_after_orders:
        return "repeat"
    if state.orders:
        return "customer"
    if KNOWN_TYPES.intersection(identifier_types):
        return "known"
    return "anonymous"


def _order_value_cents(properties: Mapping[str, Any], rules: ProfileRules) -> int:
    for key in rules.value_properties:
        value = properties.get(key)
        if value is None or isinstance(value, bool):
            continue
        try:
            return int((Decimal(str(value)) * 100).to_integral_value())
        except (InvalidOperation, ValueError, OverflowError):
            continue
    return 0


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _fmt(moment: datetime | None) -> str | None:
    return None if moment is None else format_recurring_time(moment)


def _parse(text: str | None) -> datetime | None:
    return None if text is None else parse_stored_time(text, "time")
