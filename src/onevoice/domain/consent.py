"""The consent ledger: every consent change as a fact with its source, time and legal basis.

Consent arrives three ways — an ``identify`` trait ``consent`` shaped
``{"marketing": {"email": true}}``, a ``track`` event named ``Consent Updated`` with
properties ``{purpose, channel, granted}``, and the customer's own ``POST /v1/me/consent``.
Each change is kept (never overwritten); the latest change per (purpose, channel) is the
consent in force, and :func:`in_force` folds it over what the profile's traits say.

>>> from datetime import datetime, timezone
>>> at = datetime(2026, 3, 2, tzinfo=timezone.utc)
>>> old = ConsentChange("marketing", "email", True, "identify", "consent", at)
>>> new = ConsentChange("marketing", "email", False, "me", "consent", at.replace(day=3))
>>> latest([old, new])[("marketing", "email")].granted
False
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from onevoice.domain.errors import InvalidInput
from onevoice.domain.events import Event
from onevoice.domain.policy import ALL_CHANNELS, Consent

CONSENT_EVENT = "Consent Updated"
PURPOSES = ("marketing", "service", "profiling")
LEGAL_BASES = (
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
)
_MAX_NAME = 64


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """One change: consent for ``purpose`` on ``channel`` (``*``: all) granted or withdrawn."""

    purpose: str
    channel: str
    granted: bool
    source: str
    legal_basis: str
    at: datetime
    message_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "channel": self.channel,
            "granted": self.granted,
            "source": self.source,
            "legal_basis": self.legal_basis,
            "at": self.at,
            "message_id": self.message_id,
        }


def check_change(
    purpose: object, channel: object, granted: object, legal_basis: object = "consent"
) -> tuple[str, str, bool, str]:
    """Validate the parts of a change; raise :class:`InvalidInput` naming the bad field."""
    if not isinstance(purpose, str) or purpose not in PURPOSES:
        raise InvalidInput(f"purpose must be one of {', '.join(PURPOSES)}", field="purpose")
    if not isinstance(channel, str) or not channel or len(channel) > _MAX_NAME:
        raise InvalidInput(
            f"channel must be a channel name (or '*' for all), up to {_MAX_NAME} characters",
            field="channel",
        )
    if not isinstance(granted, bool):
        raise InvalidInput("granted must be true or false", field="granted")
    if not isinstance(legal_basis, str) or legal_basis not in LEGAL_BASES:
        raise InvalidInput(
            f"legal_basis must be one of {', '.join(LEGAL_BASES)}", field="legal_basis"
        )
    return purpose, channel, granted, legal_basis


def changes_of(event: Event) -> list[ConsentChange]:
    """The consent changes an event carries (none for most events; bad parts are skipped).

    >>> from datetime import datetime, timezone
    >>> at = datetime(2026, 3, 2, tzinfo=timezone.utc)
    >>> e = Event("m1", "track", "web", at, at, (), name="Consent Updated",
    ...           properties={"purpose": "marketing", "channel": "sms", "granted": True})
    >>> [(c.purpose, c.channel, c.granted, c.source) for c in changes_of(e)]
    [('marketing', 'sms', True, 'track')]
    """
    source = f"{event.type}:{event.source}" if event.source else event.type
    if event.type == "track" and event.name == CONSENT_EVENT:
        props = event.properties
        basis = props.get("legal_basis", props.get("legalBasis", "consent"))
        try:
            purpose, channel, granted, basis = check_change(
                props.get("purpose"),
                props.get("channel", ALL_CHANNELS),
                props.get("granted"),
                basis,
            )
        except InvalidInput:
            return []
        return [
            ConsentChange(
                purpose, channel, granted, source, basis, event.timestamp, event.message_id
            )
        ]
    if event.type != "identify":
        return []
    raw = event.all_traits.get("consent")
    if not isinstance(raw, Mapping):
        return []
    found = []
    for purpose, channels in raw.items():
        if not isinstance(channels, Mapping):
            continue
        for channel, given in channels.items():
            try:
                p, c, g, b = check_change(purpose, channel, given)
            except InvalidInput:
                continue
            found.append(ConsentChange(p, c, g, source, b, event.timestamp, event.message_id))
    return found


def grants_consent(event: Event) -> bool:
    """Whether the event gives some consent (which lifts an erasure tombstone)."""
    return any(change.granted for change in changes_of(event))


def latest(changes: Iterable[ConsentChange]) -> dict[tuple[str, str], ConsentChange]:
    """The change in force per (purpose, channel): the latest by time (later entries win ties)."""
    found: dict[tuple[str, str], ConsentChange] = {}
    for change in changes:
        key = (change.purpose, change.channel)
        held = found.get(key)
        if held is None or change.at >= held.at:
            found[key] = change
    return found


def in_force(traits: Mapping[str, Any], changes: Iterable[ConsentChange]) -> Consent:
    """Consent as decisions read it: the ledger's latest state over the ``consent`` trait."""
    base = Consent.from_traits(traits)
    granted = set(base.granted)
    withdrawn = set(base.withdrawn)
    for key, change in latest(changes).items():
        granted.discard(key)
        withdrawn.discard(key)
        (granted if change.granted else withdrawn).add(key)
    return Consent(frozenset(granted), frozenset(withdrawn))
