"""The contact policy as marketers edit it: read, check, preview its effect, save.

The policy starts from the settings (``ONEVOICE_QUIET_HOURS``…, caps from
:class:`onevoice.domain.policy.Policy`'s defaults). A version saved in the Studio is
stored with who saved it and when, and from then on is the policy decide uses (also
after a restart). Every field is checked and a bad one named, like an API error.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import time, timedelta
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from onevoice.domain.actions import MARKETING, TREATMENT_FIELDS
from onevoice.domain.decide import Arbitration
from onevoice.domain.errors import InvalidInput
from onevoice.domain.policy import ALL_CHANNELS, PERIODS, Consent, Policy
from onevoice.domain.policy_effect import CapEffect, cap_effect
from onevoice.services.clock import Clock
from onevoice.services.decisions import Decisions
from onevoice.services.ports import PolicyVersion, Store

_MONTH = timedelta(days=30)
#: seconds the effect of the policy in force over the last week is reused
EFFECT_TTL = 60.0


def policy_to_dict(policy: Policy, arbitration: Arbitration) -> dict[str, Any]:
    """The editable form of a policy (what the Studio shows and stores)."""
    return {
        "caps": {scope: dict(periods) for scope, periods in policy.caps.items()},
        "quiet_hours": f"{policy.quiet_start:%H:%M}-{policy.quiet_end:%H:%M}",
        "quiet_hours_for_service": policy.quiet_hours_for_service,
        "default_timezone": policy.default_timezone,
        "complaint_cooldown_days": policy.complaint_cooldown / timedelta(days=1),
        "dismiss_cooldown_days": policy.dismiss_cooldown / timedelta(days=1),
        "fatigue_budget": policy.fatigue_budget,
        "holdout_share": arbitration.holdout_share,
        "control_share": arbitration.control_share,
    }


def parse_policy(
    raw: Mapping[str, Any], policy: Policy, arbitration: Arbitration
) -> tuple[Policy, Arbitration]:
    """``policy`` and ``arbitration`` with the fields of ``raw`` applied (missing: kept)."""
    unknown = sorted(set(raw) - set(policy_to_dict(policy, arbitration)))
    if unknown:
        raise InvalidInput(f"unknown policy field {unknown[0]!r}", field=unknown[0])
    changes: dict[str, Any] = {}
    if "caps" in raw:
        changes["caps"] = _caps(raw["caps"])
    if "quiet_hours" in raw:
        changes["quiet_start"], changes["quiet_end"] = _quiet(raw["quiet_hours"])
    if "quiet_hours_for_service" in raw:
        if not isinstance(raw["quiet_hours_for_service"], bool):
            raise InvalidInput("must be true or false", field="quiet_hours_for_service")
        changes["quiet_hours_for_service"] = raw["quiet_hours_for_service"]
    if "default_timezone" in raw:
        changes["default_timezone"] = _zone(raw["default_timezone"])
    for name, attribute in (
        ("complaint_cooldown_days", "complaint_cooldown"),
        ("dismiss_cooldown_days", "dismiss_cooldown"),
    ):
        if name in raw:
            changes[attribute] = timedelta(days=_number(raw[name], name, 0, 3650))
    if "fatigue_budget" in raw:
        changes["fatigue_budget"] = _number(raw["fatigue_budget"], "fatigue_budget", 0, 1000)
    holdout, control = arbitration.holdout_share, arbitration.control_share
    if "holdout_share" in raw:
        holdout = _number(raw["holdout_share"], "holdout_share", 0, 1)
    if "control_share" in raw:
        control = _number(raw["control_share"], "control_share", 0, 1)
    return (
        replace(policy, **changes),
        replace(arbitration, holdout_share=holdout, control_share=control),
    )


class ContactPolicies:
    """The policy in force, its saved versions, and what a change would have done."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        decisions: Decisions,
        *,
        delivery_events: Collection[str] = (),
    ) -> None:
        self._store = store
        self._clock = clock
        self._decisions = decisions
        self._base = (decisions.policy, decisions.arbitration)
        self._delivery = tuple(delivery_events)
        self._cached: tuple[Policy, float, CapEffect] | None = None

    def apply_stored(self) -> PolicyVersion | None:
        """Decide with the newest saved version, if there is one (at start-up)."""
        versions = self._store.policy_versions(1)
        if versions:
            self._decisions.use_policy(*parse_policy(versions[0].body, *self._base))
        return versions[0] if versions else None

    def current(self) -> dict[str, Any]:
        return policy_to_dict(self._decisions.policy, self._decisions.arbitration)

    def history(self, limit: int = 10) -> list[PolicyVersion]:
        return self._store.policy_versions(limit)

    def check(self, raw: Mapping[str, Any]) -> tuple[Policy, Arbitration]:
        """The policy ``raw`` describes, on top of the one in force; InvalidInput if wrong."""
        return parse_policy(raw, self._decisions.policy, self._decisions.arbitration)

    def save(self, raw: Mapping[str, Any], changed_by: str) -> int:
        policy, arbitration = self.check(raw)
        version = self._store.add_policy_version(
            policy_to_dict(policy, arbitration), changed_by, self._clock()
        )
        self._decisions.use_policy(policy, arbitration)
        return version

    def consent_reach(self, limit: int = 20_000) -> tuple[int, dict[str, dict[str, int]]]:
        """How many of the ``limit`` most recently active customers marketing may reach on
        each channel (consent granted), and how many withdrew it: (customers, per channel)."""
        traits = self._store.consent_traits(limit)
        reach: dict[str, dict[str, int]] = {
            channel: {"granted": 0, "withdrawn": 0} for channel in TREATMENT_FIELDS
        }
        for trait in traits:
            if trait is None:
                continue
            consent = Consent.from_traits({"consent": trait})
            for channel, counts in reach.items():
                verdict = consent.state(MARKETING, channel)
                if verdict != "unknown":
                    counts[verdict] += 1
        return len(traits), reach

    def effect(self, policy: Policy | None = None, *, days: float = 7) -> CapEffect:
        """How many of the last ``days``' marketing contacts ``policy``'s caps would block.

        The answer for the policy in force over the last week is kept for
        :data:`EFFECT_TTL` seconds (a week's replay barely moves in a minute; a save, which
        replaces the policy, starts afresh).
        """
        if policy is None and days == 7:
            in_force = self._decisions.policy
            cached = self._cached
            if cached and cached[0] is in_force and monotonic() < cached[1]:
                return cached[2]
            found = self._effect(in_force, days)
            self._cached = (in_force, monotonic() + EFFECT_TTL, found)
            return found
        return self._effect(policy or self._decisions.policy, days)

    def _effect(self, policy: Policy, days: float) -> CapEffect:
        now = self._clock()
        since = now - timedelta(days=days)
        contacts = self._store.contacts_between(since - _MONTH, now, self._delivery)
        return cap_effect(contacts, policy, since=since)


def _caps(raw: object) -> dict[str, dict[str, int]]:
    if not isinstance(raw, Mapping):
        raise InvalidInput("caps must map channels to limits per period", field="caps")
    caps: dict[str, dict[str, int]] = {}
    for scope, periods in raw.items():
        where = f"caps.{scope}"
        if scope != ALL_CHANNELS and scope not in TREATMENT_FIELDS:
            raise InvalidInput(f"{scope!r} is not a channel (or '*' for all)", field=where)
        if not isinstance(periods, Mapping):
            raise InvalidInput("limits must map day, week or month to a number", field=where)
        caps[scope] = {}
        for period, limit in periods.items():
            if period not in PERIODS:
                raise InvalidInput("a period is day, week or month", field=f"{where}.{period}")
            if limit is None or limit == "":
                continue
            if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 1000:
                raise InvalidInput(
                    "a cap is a whole number from 0 to 1000", field=f"{where}.{period}"
                )
            caps[scope][period] = limit
    return caps


def _quiet(raw: object) -> tuple[time, time]:
    text = raw if isinstance(raw, str) else ""
    start, _sep, end = text.partition("-")
    try:
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise InvalidInput(
            f"quiet hours look like 21:00-08:00, not {raw!r}", field="quiet_hours"
        ) from None


def _zone(raw: object) -> str:
    if not isinstance(raw, str) or not raw:
        raise InvalidInput(
            "a time zone is an IANA name like Europe/London", field="default_timezone"
        )
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {raw!r}", field="default_timezone") from None
    return raw


def _number(raw: object, name: str, low: float, high: float) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise InvalidInput("must be a number", field=name)
    if not low <= raw <= high:
        raise InvalidInput(f"must be between {low:g} and {high:g}", field=name)
    return float(raw)
