"""Events in the shape of the Segment Tracking API, validated and normalised.

``parse_event`` turns one raw call (a JSON object) into an :class:`Event` or raises
:class:`InvalidEvent` naming the field. It decides the channel, corrects the client's
clock with ``sentAt`` the way Segment does, and gathers every identifier the event
carries (``userId``, ``anonymousId``, ``context.identifiers``, email/phone/crm_id traits,
``context.device.id``).

>>> from datetime import datetime, timezone
>>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> e = parse_event({"type": "page", "anonymousId": "a1", "messageId": "m1"}, received_at=now)
>>> (e.channel, [str(i) for i in e.identifiers])
('web', ['anonymousId:a1'])
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from onevoice.domain import identifiers as ids
from onevoice.domain.errors import InvalidEvent, InvalidIdentifier
from onevoice.domain.identifiers import Identifier

EVENT_TYPES = ("identify", "track", "page", "screen", "group", "alias")
CHANNELS = (
    "web",
    "app",
    "email",
    "sms",
    "push",
    "call_centre",
    "chat",
    "branch",
    "social",
    "ivr",
    "other",
)
_CHANNEL_ALIASES = {
    "call_center": "call_centre",
    "callcentre": "call_centre",
    "callcenter": "call_centre",
    "contact_centre": "call_centre",
    "contact_center": "call_centre",
    "phone": "call_centre",
    "mobile": "app",
    "ios": "app",
    "android": "app",
    "browser": "web",
    "store": "branch",
    "server": "other",
}
_MOBILE_OS = ("ios", "android", "ipados")
_TRAIT_IDENTIFIERS = (ids.EMAIL, ids.PHONE, ids.CRM_ID)
MAX_MESSAGE_ID_LENGTH = 256
MAX_NAME_LENGTH = 512

UTC = UTC


@dataclass(frozen=True, slots=True)
class Event:
    """One accepted interaction. Immutable; ``timestamp`` is when it happened (UTC)."""

    message_id: str
    type: str
    channel: str
    timestamp: datetime
    received_at: datetime
    identifiers: tuple[Identifier, ...]
    name: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    previous_id: str | None = None
    group_id: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
    traits: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)
    integrations: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""

    def to_record(self, *, copy: bool = True) -> dict[str, Any]:
        """A JSON-ready dict in Segment's shape, plus onevoice's ``channel`` and ids.

        ``copy=False`` for a record serialised at once and dropped (the append): it shares
        the event's ``properties``, ``traits``, ``context`` and ``integrations`` when they
        are plain dicts, where the default copies them so the caller may change its record.
        """
        mapping = dict if copy else _as_dict
        record: dict[str, Any] = {
            "messageId": self.message_id,
            "type": self.type,
            "channel": self.channel,
            "timestamp": format_time(self.timestamp),
            "receivedAt": format_recurring_time(self.received_at),
            "identifiers": [{"type": i.type, "value": i.value} for i in self.identifiers],
        }
        # written field by field: this runs for every event stored (the ingest hot path)
        if self.name is not None:
            record["event" if self.type == "track" else "name"] = self.name
        if self.user_id is not None:
            record["userId"] = self.user_id
        if self.anonymous_id is not None:
            record["anonymousId"] = self.anonymous_id
        if self.previous_id is not None:
            record["previousId"] = self.previous_id
        if self.group_id is not None:
            record["groupId"] = self.group_id
        if self.properties:
            record["properties"] = mapping(self.properties)
        if self.traits:
            record["traits"] = mapping(self.traits)
        if self.context:
            record["context"] = mapping(self.context)
        if self.integrations:
            record["integrations"] = mapping(self.integrations)
        if self.source:
            record["source"] = self.source
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Event:
        """Rebuild an event stored by :meth:`to_record` (no validation: it was validated)."""
        return _new_event(
            record["messageId"],
            record["type"],
            record["channel"],
            parse_stored_time(record["timestamp"], "timestamp"),
            parse_stored_time(record["receivedAt"], "receivedAt"),
            tuple([_stored_identifier(i["type"], i["value"]) for i in record["identifiers"]]),
            record.get("event") if record["type"] == "track" else record.get("name"),
            record.get("userId"),
            record.get("anonymousId"),
            record.get("previousId"),
            record.get("groupId"),
            record.get("properties") or {},
            record.get("traits") or {},
            record.get("context") or {},
            record.get("integrations") or {},
            record.get("source") or "",
        )

    @property
    def all_traits(self) -> Mapping[str, Any]:
        """What the event says about the person: ``traits`` and ``context.traits``."""
        context_traits = self.context.get("traits")
        if self.type == "group":
            # group traits describe the group (a company), not the person
            return context_traits if isinstance(context_traits, dict) else {}
        if isinstance(context_traits, dict) and context_traits:
            return {**context_traits, **self.traits}
        return self.traits


def _as_dict(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """``mapping`` itself if it is a dict, else a dict copy of it."""
    return mapping if type(mapping) is dict else dict(mapping)


class _EventDraft:
    """An :class:`Event`'s fields in a writable class of the same layout (the same slots),
    which :func:`_new_event` fills and then turns into the Event."""

    __slots__ = Event.__slots__  # the same slots: Python then allows the assignment

    def __init__(
        self,
        message_id: str,
        event_type: str,
        channel: str,
        timestamp: datetime,
        received_at: datetime,
        identifiers: tuple[Identifier, ...],
        name: str | None,
        user_id: str | None,
        anonymous_id: str | None,
        previous_id: str | None,
        group_id: str | None,
        properties: Mapping[str, Any],
        traits: Mapping[str, Any],
        context: Mapping[str, Any],
        integrations: Mapping[str, Any],
        source: str,
    ) -> None:
        self.message_id = message_id
        self.type = event_type
        self.channel = channel
        self.timestamp = timestamp
        self.received_at = received_at
        self.identifiers = identifiers
        self.name = name
        self.user_id = user_id
        self.anonymous_id = anonymous_id
        self.previous_id = previous_id
        self.group_id = group_id
        self.properties = properties
        self.traits = traits
        self.context = context
        self.integrations = integrations
        self.source = source


_set_attribute = object.__setattr__


def _new_event(*values: Any) -> Event:
    """``Event(*values)`` with every field given positionally, for the two hot paths (each
    accepted event is built once when parsed and once when the processor reads it back).

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``, and
    even the slots' own setters are calls (callgrind: 12,500 instructions for the sixteen).
    Plain attribute stores on a writable class of the same slots, then one ``__class__``
    assignment (Python allows it between classes whose layouts are the same), build the
    same Event for half of that; it stays as frozen as any other.
    """
    draft = _EventDraft(*values)
    _set_attribute(draft, "__class__", Event)
    return draft  # type: ignore[return-value]


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a ``Z``: ``2025-10-02T00:35:33.000Z``.

    Every stored event formats its timestamp once, and ``isoformat`` builds its text
    through C ``sprintf`` plus the UTC offset it then has to cut off (under callgrind,
    16,000 instructions a call: a tenth of the API's whole cost of an ingested event);
    the day's text is cached and the time's pieces come from tables, at a third of that.
    """
    if moment.tzinfo is not UTC:  # onevoice keeps every time in UTC: rarely converted
        moment = moment.astimezone(UTC)
    return (
        f"{_day_text(moment.year, moment.month, moment.day)}{_TWO_DIGITS[moment.hour]}:"
        f"{_TWO_DIGITS[moment.minute]}:{_TWO_DIGITS[moment.second]}."
        f"{_THREE_DIGITS[moment.microsecond // 1000]}Z"
    )


_TWO_DIGITS = tuple(f"{n:02d}" for n in range(100))
_THREE_DIGITS = tuple(f"{n:03d}" for n in range(1000))


@lru_cache(maxsize=4096)
def _day_text(year: int, month: int, day: int) -> str:
    """``YYYY-MM-DDT`` (the year padded to four digits, as ``isoformat`` pads it)."""
    return f"{year:04d}-{month:02d}-{day:02d}T"


@lru_cache(maxsize=65_536)
def format_recurring_time(moment: datetime) -> str:
    """:func:`format_time` for times written again and again (a batch's ``receivedAt``, a
    profile's trait and channel times each time the profile is saved)."""
    return format_time(moment)


@lru_cache(maxsize=8192)
def _stored_time(text: str) -> datetime:
    if text.endswith("Z"):  # what format_time writes: fromisoformat reads it as it is
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if moment.tzinfo is UTC:
                return moment
    return parse_time(text, "time")


# identifiers recur in every event of a person: one object per identifier, not per event
_stored_identifier = lru_cache(maxsize=65_536)(Identifier)


def forget_cached_identifiers() -> None:
    """Erasure: drop the identifiers kept for reuse (they are personal data)."""
    _stored_identifier.cache_clear()


def parse_stored_time(value: object, field_name: str) -> datetime:
    """:func:`parse_time` for times onevoice wrote itself, cached (a batch shares many)."""
    if isinstance(value, str):
        try:
            return _stored_time(value)
        except InvalidEvent:
            pass
    return parse_time(value, field_name)


def parse_time(value: object, field_name: str) -> datetime:
    """Parse an ISO 8601 timestamp; a time without an offset is taken as UTC."""
    if not isinstance(value, str):
        raise InvalidEvent(f"{field_name} must be an ISO 8601 string", field=field_name)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEvent(
            f"{field_name} {value!r} is not an ISO 8601 date-time", field=field_name
        ) from None
    if moment.tzinfo is UTC:  # a ``Z`` or ``+00:00``: already as onevoice keeps it
        return moment
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_event(
    raw: object,
    *,
    received_at: datetime,
    source: str = "",
    max_future: timedelta = timedelta(hours=24),
    default_type: str | None = None,
) -> Event:
    """Validate and normalise one raw Segment call. Raises :class:`InvalidEvent`."""
    if not isinstance(raw, dict):
        raise InvalidEvent("an event must be a JSON object", field=None)
    event_type = raw.get("type", default_type)
    if default_type is not None and event_type != default_type:
        raise InvalidEvent(
            f"type {event_type!r} does not match the endpoint /v1/{default_type}", field="type"
        )
    if event_type not in EVENT_TYPES:
        raise InvalidEvent(
            f"type must be one of {', '.join(EVENT_TYPES)}, not {event_type!r}", field="type"
        )
    context = _object(raw, "context")
    properties = _object(raw, "properties")
    traits = _object(raw, "traits")
    integrations = _object(raw, "integrations")

    user_id = _optional_id(raw, "userId")
    anonymous_id = _optional_id(raw, "anonymousId")
    name = _name(raw, event_type)
    previous_id = _optional_id(raw, "previousId")
    group_id = _optional_id(raw, "groupId")
    if event_type == "alias":
        if previous_id is None:
            raise InvalidEvent("alias needs previousId", field="previousId")
        if user_id is None:
            raise InvalidEvent("alias needs userId", field="userId")
    if event_type == "group" and group_id is None:
        raise InvalidEvent("group needs groupId", field="groupId")

    timestamp = _event_time(raw, received_at)
    if timestamp - received_at > max_future:
        raise InvalidEvent(
            f"timestamp {format_time(timestamp)} is more than {max_future} in the future",
            field="timestamp",
        )
    found = _identifiers(user_id, anonymous_id, traits if event_type != "group" else {}, context)
    if not found:
        raise InvalidEvent(
            "an event needs userId or anonymousId (or an identifier in context.identifiers)",
            field="userId",
        )
    return _new_event(
        _message_id(raw, received_at),
        event_type,
        infer_channel(event_type, context),
        timestamp,
        received_at,
        found,
        name,
        user_id,
        anonymous_id,
        previous_id,
        group_id,
        properties,
        traits,
        context,
        integrations,
        source,
    )


def infer_channel(event_type: str, context: Mapping[str, Any]) -> str:
    """``context.channel`` if given (validated), else inferred from the call and its context."""
    given = context.get("channel")
    if given is not None:
        if not isinstance(given, str):
            raise InvalidEvent("context.channel must be a string", field="context.channel")
        name = given.strip().lower().replace("-", "_").replace(" ", "_")
        name = _CHANNEL_ALIASES.get(name, name)
        if name not in CHANNELS:
            raise InvalidEvent(
                f"context.channel {given!r} is not one of {', '.join(CHANNELS)}",
                field="context.channel",
            )
        return name
    if event_type == "screen" or _is_mobile(context):
        return "app"
    if event_type == "page" or "page" in context or "userAgent" in context:
        return "web"
    return "other"


def _is_mobile(context: Mapping[str, Any]) -> bool:
    if isinstance(context.get("app"), dict):
        return True
    device = context.get("device")
    os_info = context.get("os")
    if isinstance(device, dict) and (
        str(device.get("type", "")).lower() in _MOBILE_OS or "advertisingId" in device
    ):
        return True
    return isinstance(os_info, dict) and str(os_info.get("name", "")).lower() in _MOBILE_OS


def _object(raw: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidEvent(f"{key} must be a JSON object", field=key)
    return value


def _optional_id(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if type(value) is str:  # the usual case: nothing to convert ("" strips to None below)
        text = value.strip()
    else:
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InvalidEvent(f"{key} must be a string", field=key)
        text = str(value).strip()
    if len(text) > ids.MAX_VALUE_LENGTH:
        raise InvalidEvent(f"{key} is longer than {ids.MAX_VALUE_LENGTH} characters", field=key)
    return text or None


def _name(raw: Mapping[str, Any], event_type: str) -> str | None:
    key = "event" if event_type == "track" else "name"
    value = raw.get(key)
    if value is None and event_type == "track":
        raise InvalidEvent("track needs an event name", field="event")
    if value is None:
        return None
    if not isinstance(value, str) or (event_type == "track" and not value.strip()):
        raise InvalidEvent(f"{key} must be a non-empty string", field=key)
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidEvent(f"{key} is longer than {MAX_NAME_LENGTH} characters", field=key)
    return value


def _event_time(raw: Mapping[str, Any], received_at: datetime) -> datetime:
    """When it happened, corrected for the client's clock skew (Segment's rule)."""
    if raw.get("timestamp") is None:
        return received_at
    timestamp = parse_time(raw["timestamp"], "timestamp")
    if raw.get("sentAt") is not None:
        sent_at = parse_time(raw["sentAt"], "sentAt")
        skew = received_at - sent_at
        if abs(skew) > timedelta(seconds=1):
            try:
                return timestamp + skew
            except OverflowError:  # found by fuzzing: year 1470 with a sentAt in 3495
                raise InvalidEvent(
                    "timestamp corrected by the sentAt clock skew falls outside years 1-9999",
                    field="sentAt",
                ) from None
    return timestamp


def _message_id(raw: Mapping[str, Any], received_at: datetime) -> str:
    value = raw.get("messageId")
    if value is None or value == "":
        if raw.get("timestamp") is None:
            return f"ov-{uuid.uuid4().hex}"
        # a retried body without a messageId still deduplicates: its content is its id
        canonical = json.dumps(
            {k: v for k, v in raw.items() if k not in ("sentAt", "writeKey")},
            sort_keys=True,
            default=str,
        )
        return "ov-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidEvent("messageId must be a string", field="messageId")
    text = str(value)
    if len(text) > MAX_MESSAGE_ID_LENGTH:
        raise InvalidEvent(
            f"messageId is longer than {MAX_MESSAGE_ID_LENGTH} characters", field="messageId"
        )
    return text


def _identifiers(
    user_id: str | None,
    anonymous_id: str | None,
    traits: Mapping[str, Any],
    context: Mapping[str, Any],
) -> tuple[Identifier, ...]:
    found: dict[tuple[str, str], Identifier] = {}
    # userId and anonymousId were checked by _optional_id (a stripped, bounded string)
    if user_id is not None:
        found[(ids.USER_ID, user_id)] = ids.new_identifier(ids.USER_ID, user_id)
    if anonymous_id is not None:
        found[(ids.ANONYMOUS_ID, anonymous_id)] = ids.new_identifier(ids.ANONYMOUS_ID, anonymous_id)
    extra = context.get("identifiers")
    if isinstance(extra, dict):
        for key, value in extra.items():
            if value is not None and value != "":
                _add(found, key, value, f"context.identifiers.{key}")
    elif isinstance(extra, list):
        for n, item in enumerate(extra):
            if not isinstance(item, dict) or "type" not in item or "value" not in item:
                raise InvalidEvent(
                    "each of context.identifiers must be {type, value}",
                    field=f"context.identifiers[{n}]",
                )
            _add(found, str(item["type"]), item["value"], f"context.identifiers[{n}]")
    elif extra is not None:
        raise InvalidEvent(
            "context.identifiers must be an object or a list", field="context.identifiers"
        )
    context_traits = context.get("traits")
    for where, source in (("traits", traits), ("context.traits", context_traits)):
        if isinstance(source, dict) and source:
            for key in _TRAIT_IDENTIFIERS:
                value = source.get(key)
                if value is not None and value != "":
                    _add(found, key, value, f"{where}.{key}")
    device = context.get("device")
    if isinstance(device, dict) and device.get("id"):
        _add(found, ids.DEVICE_ID, device["id"], "context.device.id")
    if len(found) == 1:
        return tuple(found.values())
    if len(found) == 2:  # the usual case after one: two keys to compare, nothing to sort
        first, second = found.values()  # (their strengths differ: so do their type and value)
        return (second, first) if _strength(second) < _strength(first) else (first, second)
    return tuple(sorted(found.values(), key=_strength))


def _add(found: dict[tuple[str, str], Identifier], id_type: str, value: object, where: str) -> None:
    """Add one identifier the event carries (the first of equal ones is kept)."""
    try:
        identifier = ids.make(id_type, value)
    except InvalidIdentifier as error:
        raise InvalidEvent(f"{where}: {error.message}", field=where) from None
    found.setdefault((identifier.type, identifier.value), identifier)


def _strength(identifier: Identifier) -> tuple[int, str, str]:
    return ids.priority(identifier), identifier.type, identifier.value
