"""Contact policy: may this action reach this customer on this channel now?

Pure functions over plain data. Each rule returns a :class:`Verdict` with a sentence a
person can read; ``check`` runs them all and a decision records every refusal.

The rules, in the order they are checked:

- **live** — the action is not paused and is inside its validity window;
- **consent** — marketing needs consent granted for marketing on the channel (or on
  ``*``); an unsubscribe on the channel counts as withdrawn. Service needs only that
  service was not withdrawn there: a legal withdrawal stops everything;
- **quiet hours** — no outbound contact between ``quiet_start`` and ``quiet_end`` on the
  customer's own clock (their ``timezone`` trait, an IANA name; ``Policy.default_timezone``
  when unknown). A request made while the customer is there (``inbound``) is not an
  interruption and passes;
- **complaint and dismissal cooldowns** — a complaint stops all marketing for
  ``complaint_cooldown``; a dismissal stops that action for ``dismiss_cooldown`` and all
  marketing on that channel for ``dismiss_channel_cooldown``;
- **action limits** — the action's own ``cooldown`` since it was last shown and its
  ``max_per_customer`` (within ``max_window`` if set);
- **frequency caps** — marketing contacts per channel and overall (``"*"``) in rolling
  windows of a day (24 h), a week (7 days) and a month (30 days);
- **fatigue budget** — every contact adds its channel's points, halving every
  ``fatigue_half_life``; marketing may not push the total over ``fatigue_budget``.

Service actions pass caps and the fatigue budget (never consent withdrawn by law).

>>> from datetime import datetime, timezone
>>> now = datetime(2026, 3, 2, 21, 30, tzinfo=timezone.utc)
>>> check_quiet_hours("marketing", "sms", now, "Europe/London", inbound=False).reason
'quiet hours 21:00–08:00 in Europe/London (it is 21:30 there)'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from onevoice.domain._humanize import ago, plural, span
from onevoice.domain.actions import MARKETING, Action

OUTCOMES = ("impression", "click", "accept", "dismiss", "convert", "complaint", "unsubscribe")
PERIODS: Mapping[str, timedelta] = {
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=30),
}
ALL_CHANNELS = "*"


@dataclass(frozen=True, slots=True)
class Contact:
    """An action shown or sent to the customer."""

    action_id: str
    channel: str
    purpose: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Response:
    """What the customer did with an action (one of :data:`OUTCOMES`)."""

    action_id: str
    channel: str
    outcome: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ContactHistory:
    """Recent contacts and responses of one customer (at least the longest window)."""

    contacts: tuple[Contact, ...] = ()
    responses: tuple[Response, ...] = ()


@dataclass(frozen=True, slots=True)
class Consent:
    """Consent per (purpose, channel); the channel ``*`` stands for every channel.

    A specific channel wins over ``*``; withdrawn wins over granted for the same key.
    """

    granted: frozenset[tuple[str, str]] = frozenset()
    withdrawn: frozenset[tuple[str, str]] = frozenset()

    def state(self, purpose: str, channel: str) -> str:
        """``"granted"``, ``"withdrawn"`` or ``"unknown"``."""
        for key in ((purpose, channel), (purpose, ALL_CHANNELS)):
            if key in self.withdrawn:
                return "withdrawn"
            if key in self.granted:
                return "granted"
        return "unknown"

    @classmethod
    def from_traits(cls, traits: Mapping[str, Any]) -> Consent:
        """Read a ``consent`` trait shaped ``{"marketing": {"email": true, "*": false}}``.

        >>> Consent.from_traits({"consent": {"marketing": {"email": True}}}).state(
        ...     "marketing", "email")
        'granted'
        """
        raw = traits.get("consent")
        granted: set[tuple[str, str]] = set()
        withdrawn: set[tuple[str, str]] = set()
        if isinstance(raw, Mapping):
            for purpose, channels in raw.items():
                if not isinstance(channels, Mapping):
                    continue
                for channel, given in channels.items():
                    if given is True:
                        granted.add((str(purpose), str(channel)))
                    elif given is False:
                        withdrawn.add((str(purpose), str(channel)))
        return cls(frozenset(granted), frozenset(withdrawn))


def _default_caps() -> dict[str, dict[str, int]]:
    return {
        "email": {"day": 1, "week": 3, "month": 8},
        "sms": {"day": 1, "week": 2, "month": 4},
        "push": {"day": 1, "week": 3, "month": 10},
        "call_centre": {"day": 1, "week": 2, "month": 4},
        ALL_CHANNELS: {"day": 4, "week": 12, "month": 30},
    }


def _default_points() -> dict[str, float]:
    return {"email": 1.0, "sms": 2.0, "push": 1.0, "call_centre": 3.0, "web": 0.5, "app": 0.5}


@dataclass(frozen=True, slots=True)
class Policy:
    """Contact policy settings, each with a default a careful brand would choose."""

    caps: Mapping[str, Mapping[str, int]] = field(default_factory=_default_caps)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    quiet_hours_for_service: bool = True
    default_timezone: str = "UTC"
    complaint_cooldown: timedelta = timedelta(days=30)
    dismiss_cooldown: timedelta = timedelta(days=14)
    dismiss_channel_cooldown: timedelta = timedelta(days=1)
    fatigue_points: Mapping[str, float] = field(default_factory=_default_points)
    default_fatigue_points: float = 1.0
    fatigue_half_life: timedelta = timedelta(days=7)
    fatigue_budget: float = 8.0
    #: The customer's own budget (``POST /v1/me/budget``), shaped like ``caps``: a hard cap
    #: checked before the brand's caps.
    own_caps: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def points(self, channel: str) -> float:
        return self.fatigue_points.get(channel, self.default_fatigue_points)


DEFAULT_POLICY = Policy()


@dataclass(frozen=True, slots=True)
class Verdict:
    """One rule's answer: allowed or not, which rule, and why in words."""

    allowed: bool
    rule: str
    reason: str = ""


def check(
    action: Action,
    channel: str,
    now: datetime,
    *,
    consent: Consent,
    history: ContactHistory,
    policy: Policy = DEFAULT_POLICY,
    timezone: str | None = None,
    inbound: bool = False,
    continuing: bool = False,
) -> tuple[Verdict, ...]:
    """Every rule's verdict for ``action`` on ``channel`` at ``now`` (refusals included);
    ``continuing``: the action's open conversation is carried here (see
    :func:`check_action_limits`)."""
    live = check_live(action, now)
    consent_verdict, quiet, caps, tired = check_channel(
        action.purpose,
        channel,
        now,
        consent=consent,
        history=history,
        policy=policy,
        timezone=timezone,
        inbound=inbound,
    )
    cooldown = check_cooldowns(action, channel, history, now, policy)
    limits = check_action_limits(action, history, now, channel=channel if continuing else None)
    return (live, consent_verdict, quiet, cooldown, limits, caps, tired)


def check_channel(
    purpose: str,
    channel: str,
    now: datetime,
    *,
    consent: Consent,
    history: ContactHistory,
    policy: Policy = DEFAULT_POLICY,
    timezone: str | None = None,
    inbound: bool = False,
) -> tuple[Verdict, Verdict, Verdict, Verdict]:
    """The rules that depend only on purpose and channel: consent, quiet hours, caps, fatigue.

    The same for every action of a purpose, so a decision checks them once per purpose.
    """
    return (
        check_consent(purpose, channel, consent, history),
        check_quiet_hours(purpose, channel, now, timezone, inbound=inbound, policy=policy),
        check_caps(purpose, channel, history, now, policy),
        check_fatigue(purpose, channel, history, now, policy),
    )


def refusals(verdicts: Iterable[Verdict]) -> tuple[Verdict, ...]:
    return tuple(v for v in verdicts if not v.allowed)


def check_live(action: Action, now: datetime) -> Verdict:
    """Paused, not yet valid and expired actions are never shown."""
    if action.paused:
        return Verdict(False, "paused", f"{action.id} is paused")
    if action.valid_from is not None and now < action.valid_from:
        return Verdict(
            False, "validity", f"{action.id} starts {action.valid_from:%Y-%m-%d %H:%M} UTC"
        )
    if action.valid_until is not None and now >= action.valid_until:
        return Verdict(
            False, "validity", f"{action.id} expired {action.valid_until:%Y-%m-%d %H:%M} UTC"
        )
    return Verdict(True, "validity")


def check_consent(purpose: str, channel: str, consent: Consent, history: ContactHistory) -> Verdict:
    """Marketing needs consent granted; nothing passes a withdrawal."""
    state = consent.state(purpose, channel)
    if state == "withdrawn":
        return Verdict(False, "consent", f"{purpose} consent withdrawn for {channel}")
    if purpose != MARKETING:
        return Verdict(True, "consent")
    for response in history.responses:
        if response.outcome == "unsubscribe" and response.channel == channel:
            return Verdict(False, "consent", f"unsubscribed from {channel} marketing")
    if state != "granted":
        return Verdict(False, "consent", f"no marketing consent for {channel}")
    return Verdict(True, "consent")


def local_time(
    now: datetime, timezone: str | None, policy: Policy = DEFAULT_POLICY
) -> tuple[datetime, str]:
    """``now`` on the customer's clock, and the zone used (the default when unknown)."""
    for name in (timezone, policy.default_timezone):
        if not name:
            continue
        try:
            return now.astimezone(ZoneInfo(name)), name
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return now, "UTC"


def check_quiet_hours(
    purpose: str,
    channel: str,
    now: datetime,
    timezone: str | None,
    *,
    inbound: bool,
    policy: Policy = DEFAULT_POLICY,
) -> Verdict:
    """No outbound contact during quiet hours on the customer's clock (DST-aware)."""
    if inbound or (purpose != MARKETING and not policy.quiet_hours_for_service):
        return Verdict(True, "quiet_hours")
    local, zone = local_time(now, timezone, policy)
    start, end = policy.quiet_start, policy.quiet_end
    clock = local.time().replace(tzinfo=None)
    quiet = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not quiet:
        return Verdict(True, "quiet_hours")
    return Verdict(
        False,
        "quiet_hours",
        f"quiet hours {start:%H:%M}–{end:%H:%M} in {zone} (it is {local:%H:%M} there)",
    )


def check_cooldowns(
    action: Action,
    channel: str,
    history: ContactHistory,
    now: datetime,
    policy: Policy = DEFAULT_POLICY,
) -> Verdict:
    """A complaint or a dismissal buys the customer some quiet (marketing only)."""
    if not action.is_marketing:
        return Verdict(True, "cooldown")
    for response in sorted(history.responses, key=lambda r: r.at, reverse=True):
        elapsed = now - response.at
        if response.outcome == "complaint" and elapsed < policy.complaint_cooldown:
            return Verdict(
                False,
                "cooldown",
                f"complained {ago(elapsed)} (no marketing for {span(policy.complaint_cooldown)})",
            )
        if response.outcome != "dismiss":
            continue
        if response.action_id == action.id and elapsed < policy.dismiss_cooldown:
            return Verdict(
                False,
                "cooldown",
                f"dismissed {action.id} {ago(elapsed)} (cooldown {span(policy.dismiss_cooldown)})",
            )
        if response.channel == channel and elapsed < policy.dismiss_channel_cooldown:
            return Verdict(
                False,
                "cooldown",
                f"dismissed a message on {channel} {ago(elapsed)} "
                f"(cooldown {span(policy.dismiss_channel_cooldown)})",
            )
    return Verdict(True, "cooldown")


def check_action_limits(
    action: Action, history: ContactHistory, now: datetime, *, channel: str | None = None
) -> Verdict:
    """The action's own cooldown since it was last shown, and its maximum per customer.

    With ``channel`` — an open conversation carried to that channel — the cooldown counts
    only the showings on that channel: saying on email what the website showed an hour ago
    is one voice, not a repeat (showing the same banner again is). The maximum still
    counts every showing.
    """
    shown = [c for c in history.contacts if c.action_id == action.id]
    spaced = shown if channel is None else [c for c in shown if c.channel == channel]
    if action.cooldown is not None and spaced:
        last = max(c.at for c in spaced)
        if now - last < action.cooldown:
            return Verdict(
                False,
                "action_cooldown",
                f"{action.id} shown {ago(now - last)} (cooldown {span(action.cooldown)})",
            )
    if action.max_per_customer is not None:
        window = action.max_window
        count = sum(1 for c in shown if window is None or now - c.at < window)
        if count >= action.max_per_customer:
            within = "" if window is None else f" in {span(window)}"
            return Verdict(
                False,
                "action_maximum",
                f"{action.id} already shown {plural(count, 'time')}{within} "
                f"(maximum {action.max_per_customer})",
            )
    return Verdict(True, "action_limits")


def count_contacts(
    history: ContactHistory, channel: str, since: datetime, *, purpose: str = MARKETING
) -> int:
    """Contacts of ``purpose`` on ``channel`` (``*``: all) after ``since``."""
    return sum(
        1
        for c in history.contacts
        if c.purpose == purpose
        and c.at > since
        and (channel == ALL_CHANNELS or c.channel == channel)
    )


def check_caps(
    purpose: str,
    channel: str,
    history: ContactHistory,
    now: datetime,
    policy: Policy = DEFAULT_POLICY,
) -> Verdict:
    """Marketing frequency caps per channel and overall, in rolling windows."""
    if purpose != MARKETING:
        return Verdict(True, "frequency_cap")
    for scope in (channel, ALL_CHANNELS):
        for period, limit in policy.own_caps.get(scope, {}).items():
            count = count_contacts(history, scope, now - PERIODS[period])
            if count >= limit:
                where = "all channels" if scope == ALL_CHANNELS else scope
                return Verdict(
                    False,
                    "own_budget",
                    f"the customer's own budget: at most {plural(limit, 'marketing message')} "
                    f"a {period} on {where} ({count} already)",
                )
    for scope in (channel, ALL_CHANNELS):
        for period, limit in policy.caps.get(scope, {}).items():
            count = count_contacts(history, scope, now - PERIODS[period])
            if count >= limit:
                where = "overall" if scope == ALL_CHANNELS else f"{scope}"
                return Verdict(
                    False,
                    "frequency_cap",
                    f"{where} cap reached: {plural(count, 'marketing contact')} "
                    f"in the last {period} (limit {limit})",
                )
    return Verdict(True, "frequency_cap")


def fatigue(history: ContactHistory, now: datetime, policy: Policy = DEFAULT_POLICY) -> float:
    """Fatigue points of past contacts, each halving every ``fatigue_half_life``."""
    half_life = policy.fatigue_half_life.total_seconds()
    total = 0.0
    for contact in history.contacts:
        age = max(0.0, (now - contact.at).total_seconds())
        total += policy.points(contact.channel) * 0.5 ** (age / half_life)
    return total


def check_fatigue(
    purpose: str,
    channel: str,
    history: ContactHistory,
    now: datetime,
    policy: Policy = DEFAULT_POLICY,
) -> Verdict:
    """Marketing may not push the customer's fatigue over the budget."""
    if purpose != MARKETING:
        return Verdict(True, "fatigue")
    current = fatigue(history, now, policy)
    after = current + policy.points(channel)
    if after > policy.fatigue_budget:
        return Verdict(
            False,
            "fatigue",
            f"fatigue budget: {current:.1f} points now, {after:.1f} with this {channel} contact "
            f"(budget {policy.fatigue_budget:g})",
        )
    return Verdict(True, "fatigue")
