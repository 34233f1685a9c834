"""Journeys: the rules that cut a customer's events into journeys, judge friction and
describe a designed journey. Plain data; the crunching lives in :mod:`onevoice.journeys`.

A *journey* is an episode around a goal: it starts with a customer's first event after
``gap`` of silence (or, when ``start_events`` are given, at the first of those), and ends
at a goal event (``end_events``), or when the customer falls silent for ``gap``.

>>> rules = JourneyRules()
>>> rules.gap.total_seconds() / 3600, "Case Resolved" in rules.end_events
(24.0, True)
>>> design = {"name": "fix card", "steps": ["app:Freeze Card", "Case Resolved"]}
>>> DesignedJourney.parse(design).steps[0]
DesignedStep(event='Freeze Card', channel='app', reason=None)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from onevoice.domain.errors import InvalidInput

GRANULARITIES = ("reason", "event", "channel")
#: Goals that end a journey by default: a sale, a solved case, a closed account.
DEFAULT_END_EVENTS = (
    "Order Completed",
    "Case Resolved",
    "Account Closed",
    "Application Submitted",
)
#: Channels where a person answers the customer: a contact there is a "contact".
ASSISTED_CHANNELS = ("call_centre", "chat", "branch", "ivr", "social")
#: Channels the brand sends on (they do not count as the customer hopping).
OUTBOUND_CHANNELS = ("email", "sms", "push")
#: Events that say a message reached the customer, and that they opted out.
MESSAGE_EVENTS = (
    "Email Delivered",
    "SMS Delivered",
    "Push Notification Received",
    "Promotion Viewed",
    "Message Delivered",
)
OPT_OUT_EVENTS = (
    "Unsubscribed",
    "SMS Opted Out",
    "Push Notifications Disabled",
    "Email Unsubscribed",
)
CHURN_EVENTS = ("Account Closed",)


@dataclass(frozen=True, slots=True)
class JourneyRules:
    """How events become journeys and steps. ``granularity`` names a step by its
    event and reason (``Call Received (card problem)``), its event, or its channel only."""

    gap: timedelta = timedelta(hours=24)
    end_events: tuple[str, ...] = DEFAULT_END_EVENTS
    start_events: tuple[str, ...] = ()
    ignore_types: tuple[str, ...] = ("identify", "alias", "group")
    granularity: str = "reason"
    collapse_repeats: bool = True

    def __post_init__(self) -> None:
        if self.gap <= timedelta(0):
            raise InvalidInput("the inactivity gap must be positive", field="gap")
        if self.granularity not in GRANULARITIES:
            raise InvalidInput(
                f"granularity must be one of {', '.join(GRANULARITIES)}", field="granularity"
            )


@dataclass(frozen=True, slots=True)
class FrictionRules:
    """What counts as friction: the same reason again within ``repeat_within``, at least
    ``hop_switches`` channel switches without reaching a goal, a wait over ``long_wait``;
    a contact reason is goal-directed when ``goal_reason_share`` of its journeys reach a
    goal (see :mod:`onevoice.journeys.friction`)."""

    repeat_within: timedelta = timedelta(days=7)
    hop_switches: int = 2
    long_wait: timedelta = timedelta(hours=8)
    goal_reason_share: float = 0.1
    assisted_channels: tuple[str, ...] = ASSISTED_CHANNELS
    outbound_channels: tuple[str, ...] = OUTBOUND_CHANNELS

    def __post_init__(self) -> None:
        if self.hop_switches < 1:
            raise InvalidInput("hop_switches must be at least 1", field="hop_switches")


@dataclass(frozen=True, slots=True)
class GapRules:
    """The engagement gap's knobs: quiet hours (local time of the customer), how long after
    a goal a message about it is too late, and the event names that mean what."""

    quiet_start_hour: int = 21
    quiet_end_hour: int = 8
    after_goal: timedelta = timedelta(days=7)
    default_timezone: str = "UTC"
    message_events: tuple[str, ...] = MESSAGE_EVENTS
    opt_out_events: tuple[str, ...] = OPT_OUT_EVENTS
    churn_events: tuple[str, ...] = CHURN_EVENTS


@dataclass(frozen=True, slots=True)
class DesignedStep:
    """One step of a designed journey; ``channel`` and ``reason`` narrow it when given."""

    event: str
    channel: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class DesignedJourney:
    """The journey a business drew: an ordered list of steps."""

    name: str
    steps: tuple[DesignedStep, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> DesignedJourney:
        """From ``{"name", "steps": [...]}``; a step is ``"Event"``, ``"channel:Event"``
        or ``{"event", "channel", "reason"}``. Errors name the field."""
        if not isinstance(data, Mapping):
            raise InvalidInput("a designed journey is an object with name and steps", field="")
        name = data.get("name", "designed")
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("name must be a non-empty string", field="name")
        raw = data.get("steps")
        if not isinstance(raw, list) or len(raw) < 2:
            raise InvalidInput("steps must be a list of at least two steps", field="steps")
        return cls(name.strip(), tuple(_step(item, f"steps[{n}]") for n, item in enumerate(raw)))


def _step(item: Any, where: str) -> DesignedStep:
    if isinstance(item, str):
        channel, sep, event = item.partition(":")
        if not sep:
            channel, event = "", item
        if not event.strip():
            raise InvalidInput("a step needs an event name", field=where)
        return DesignedStep(event.strip(), channel.strip() or None)
    if isinstance(item, Mapping):
        name = item.get("event")
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("a step needs an event name", field=f"{where}.event")
        for key in ("channel", "reason"):
            if item.get(key) is not None and not isinstance(item.get(key), str):
                raise InvalidInput(f"{key} must be a string", field=f"{where}.{key}")
        return DesignedStep(name.strip(), item.get("channel"), item.get("reason"))
    raise InvalidInput("a step is a string or an object with an event", field=where)


def nps(scores: list[float]) -> float | None:
    """Net Promoter Score: % promoters (9–10) minus % detractors (0–6).

    >>> nps([10, 9, 8, 3])
    25.0
    """
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return 100.0 * (promoters - detractors) / len(scores)
